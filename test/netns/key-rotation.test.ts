// Rotating a member's key with real daemons, exactly as README.md ("Key rotation") tells an operator:
// c makes a new key beside the old one, peers.yaml lists the new public key, a and b reload
// (`overlayd reload`: "new keys [c]", their sessions with c's old key closed at once, c unreachable),
// then c restarts with the new key and traffic to c resumes within seconds, on fresh handshakes.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { NodeStatus } from '../../src/control/status.js';
import { labSkipReason } from '../lab/lab-prereqs.js';
import { closeLab, OVERLAYD_BIN, OverlayLab } from '../lab/overlay-lab.js';

const skip = labSkipReason();

describe('key rotation of a member: reload everywhere, restart the member', { skip }, () => {
  let ol: OverlayLab;
  let oldId: string;

  before(async () => {
    ol = await OverlayLab.create({ sites: ['a', 'b', 'c'], logLevel: 'info' });
    ol.startAll();
    await ol.waitConverged(20_000);
    oldId = (await ol.status('c')).node.id;
  });

  after(() => closeLab(ol));

  const cli = (site: string, args: string[]) =>
    ol.lab.exec(site, [process.execPath, OVERLAYD_BIN, ...args, '--socket', ol.site(site).socket], {
      timeoutMs: 30_000,
    });
  const memberC = async (from: string) => {
    const m = (await ol.status(from)).members.find((x) => x.name === 'c');
    assert.ok(m);
    return m;
  };

  it('rotates c’s key: old sessions close at the reload, traffic resumes within seconds of c’s restart', async () => {
    // 1. At c: the new key beside the old one.
    const c = ol.site('c');
    const newKey = ol.lab.path('c.key.new');
    const newPub = (
      await ol.lab.execOk('c', [process.execPath, OVERLAYD_BIN, 'keygen', '--out', newKey])
    ).trim();
    assert.notEqual(newPub, c.publicKey);
    // 2. peers.yaml lists c's new public key (same name, same address), checked with the new key.
    c.publicKey = newPub;
    ol.writePeers();
    const check = await ol.lab.exec('c', [
      process.execPath,
      OVERLAYD_BIN,
      'check',
      '--peers',
      ol.peersFile,
      '--key',
      newKey,
    ]);
    assert.equal(check.code, 0, check.stderr);
    assert.match(check.stdout, /this node is c \(10\.77\.0\.3\)/);

    // 3. Every other site reloads: c's old key is dropped there at once.
    for (const site of ['a', 'b']) {
      const r = await cli(site, ['reload']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /added \[\], removed \[\], changed \[\], new keys \[c\]/);
      assert.match(
        readFileSync(ol.site(site).process!.stderrPath, 'utf8'),
        /c: key rotated; sessions with the old key closed, handshaking with the new one/,
      );
    }
    const cut = await memberC('a');
    assert.equal(cut.reachable, false, 'c (still on its old key) is cut off from a');
    assert.equal(cut.session.established, false, 'the old session is closed');
    assert.notEqual(cut.id, oldId, 'c has a new node id, derived from the new key');

    // c's own daemon refuses the new file on reload (its key is not listed any more), and says why.
    const own = await cli('c', ['reload']);
    assert.equal(own.code, 78, own.stdout);
    assert.match(
      own.stderr,
      /this node's public key .* is no longer listed\. If this node's key was rotated, restart it with the new key file/,
    );

    // 4. At c: the new key in place, restart.
    await c.process!.stop();
    c.keyFile = newKey;
    const restartedAt = Date.now();
    ol.start('c');
    await ol.lab.waitFor(
      async () => (await ol.lab.ping('a', ol.addressOf('c'), { count: 1, waitS: 0.5 })).received === 1,
      { timeoutMs: 20_000, intervalMs: 100, what: 'a to reach c on its new key' },
    );
    const resumedMs = Date.now() - restartedAt;
    process.stdout.write(`# traffic a→c resumed ${resumedMs} ms after c restarted with its new key\n`);
    assert.ok(resumedMs < 10_000, `${resumedMs} ms`);

    await ol.waitConverged(20_000);
    for (const from of ['a', 'b']) {
      const m = await memberC(from);
      assert.ok(m.reachable && m.session.established, `${from} has a session with c`);
      assert.ok(
        m.session.lastHandshakeAgoMs !== null && m.session.lastHandshakeAgoMs < 30_000,
        'a fresh handshake',
      );
    }
    const r = await ol.lab.ping('b', ol.addressOf('c'), { count: 5, intervalS: 0.1 });
    assert.equal(r.received, 5);
    const statusC: NodeStatus = await ol.status('c');
    assert.equal(statusC.node.id, (await memberC('a')).id, 'a knows c by its new id');
  });
});
