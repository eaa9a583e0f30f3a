// The user-visible promise: an ssh session over overlay addresses survives the loss of the direct
// path, and new sessions connect while it is down. A real sshd runs in C's namespace.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { labSkipReason } from '../lab/lab-prereqs.js';
import { closeLab, OverlayLab } from '../lab/overlay-lab.js';
import { sshdSkipReason, startSshd } from '../lab/sshd.js';

const skip = labSkipReason({ latency: true }) || sshdSkipReason();

describe('ssh over the overlay survives a cut of the direct path', { skip }, () => {
  let ol: OverlayLab;
  let sshArgs: string[];

  before(async () => {
    ol = await OverlayLab.create({ sites: ['a', 'b', 'c'], latency: true });
    await ol.lab.setLatency('a', 'c', 5);
    await ol.lab.setLatency('a', 'b', 10);
    await ol.lab.setLatency('b', 'c', 10);
    ol.startAll();
    await ol.waitConverged(30_000);

    sshArgs = await startSshd(ol.lab, 'c', 'a', ol.addressOf('c'));
  });

  after(() => closeLab(ol));

  it('keeps a running session going across the cut and connects a new one while it is down', async () => {
    // 60 lines, one every 100 ms: about 6 s of output; the cut comes after ~2 s.
    const session = ol.lab.spawn(
      'a',
      [...sshArgs, 'for i in $(seq 1 60); do echo line $i; sleep 0.1; done; echo done'],
      {
        name: 'ssh-session',
      },
    );
    await ol.lab.waitFor(() => readFileSync(session.stdoutPath, 'utf8').includes('line 10'), {
      timeoutMs: 15_000,
      what: 'the ssh session to print its first lines',
    });
    await ol.lab.cut('a', 'c');
    const exit = await session.exited;
    const out = readFileSync(session.stdoutPath, 'utf8');
    assert.equal(exit.code, 0, `ssh exited with ${exit.code}: ${session.readLogs()}`);
    assert.match(out, /line 60\ndone\n$/);
    for (let i = 1; i <= 60; i++) assert.ok(out.includes(`line ${i}\n`), `line ${i} missing`);
    assert.deepEqual(await ol.pathOf('a', 'c'), ['a', 'b', 'c'], 'the session moved to the relay');

    // A new connection while a–c is still cut.
    assert.ok(ol.lab.isCut('a', 'c'));
    const fresh = await ol.lab.exec('a', [...sshArgs, 'echo hello from $(hostname) over the overlay'], {
      timeoutMs: 30_000,
    });
    assert.equal(fresh.code, 0, fresh.stderr);
    assert.match(fresh.stdout, /hello from .* over the overlay/);
  });
});
