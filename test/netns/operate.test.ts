// Operating a live lab the way an operator does: the CLI against running daemons (status, paths,
// ping, trace, with --json parsed), the "not running" message, and reload (SIGHUP / overlayd reload)
// adding a site, and refusing a broken file while traffic keeps flowing.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { PathsReport } from '../../src/control/status.js';
import { labSkipReason } from '../lab/lab-prereqs.js';
import { closeLab, OVERLAYD_BIN, OverlayLab } from '../lab/overlay-lab.js';

const skip = labSkipReason();

describe('operating a running lab with the CLI', { skip }, () => {
  let ol: OverlayLab;

  before(async () => {
    // d has a namespace and a key from the start, but joins peers.yaml only at the reload.
    ol = await OverlayLab.create({ sites: ['a', 'b', 'c', 'd'] });
    ol.writePeers(['a', 'b', 'c']);
    for (const s of ['a', 'b', 'c']) ol.start(s);
    await ol.waitConverged(20_000, ['a', 'b', 'c']);
    for (const to of ['b', 'c']) {
      await ol.lab.waitFor(async () => (await ol.pathOf('a', to))?.length === 2, {
        timeoutMs: 20_000,
        what: `a→${to} direct`,
      });
    }
  });

  after(() => closeLab(ol));

  const cli = async (
    site: string,
    args: string[],
  ): Promise<{ code: number | null; stdout: string; stderr: string }> =>
    ol.lab.exec(site, [process.execPath, OVERLAYD_BIN, ...args, '--socket', ol.site(site).socket], {
      timeoutMs: 30_000,
    });

  it('status prints a table and --json with every member', async () => {
    const table = await cli('a', ['status']);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^overlayd a \(/);
    assert.match(table.stdout, /MEMBER\s+ADDRESS\s+REACH\s+PATH/);
    assert.match(table.stdout, /\nb\s+10\.77\.0\.2\s+yes\s+a→b/);
    const json = JSON.parse((await cli('a', ['status', '--json'])).stdout) as {
      node: { name: string };
      members: Array<{
        name: string;
        reachable: boolean;
        path: string[] | null;
        session: { established: boolean };
      }>;
    };
    assert.equal(json.node.name, 'a');
    for (const name of ['b', 'c']) {
      const m = json.members.find((x) => x.name === name);
      assert.ok(m?.reachable && m.session.established, `${name} reachable with a session`);
      assert.deepEqual(m.path, ['a', name]);
    }
  });

  it('paths lists the route table and the changes that made it', async () => {
    const json = JSON.parse((await cli('a', ['paths', '--json'])).stdout) as PathsReport;
    assert.deepEqual(json.paths.map((p) => p.destination).sort(), ['b', 'c']);
    assert.ok(json.changes.some((c) => c.destination === 'c' && c.reason === 'new'));
    const text = await cli('a', ['paths']);
    assert.match(text.stdout, /DESTINATION\s+PATH\s+HOPS\s+COST/);
  });

  it('ping measures the chosen path and the direct link; trace shows the hops', async () => {
    const ping = JSON.parse((await cli('a', ['ping', 'c', '-c', '3', '--json'])).stdout) as {
      target: string;
      path: string[];
      pathRttMs: Array<number | null>;
      directRttMs: Array<number | null>;
    };
    assert.equal(ping.target, 'c');
    assert.equal(ping.pathRttMs.length, 3);
    assert.ok(
      ping.pathRttMs.every((r) => r !== null && r > 0),
      `path RTTs ${ping.pathRttMs}`,
    );
    assert.ok(
      ping.directRttMs.every((r) => r !== null && r > 0),
      `direct RTTs ${ping.directRttMs}`,
    );
    // Addresses work as targets too; trace through a relay once a–c is cut.
    await ol.lab.cut('a', 'c');
    await ol.waitPath('a', 'c', ['a', 'b', 'c'], 10_000);
    const trace = JSON.parse((await cli('a', ['trace', '10.77.0.3', '--json'])).stdout) as {
      path: string[];
      hops: Array<{ hop: number; name: string; rttMs: number | null }>;
    };
    assert.deepEqual(trace.path, ['a', 'b', 'c']);
    assert.deepEqual(
      trace.hops.map((h) => h.name),
      ['b', 'c'],
    );
    assert.ok(
      trace.hops.every((h) => h.rttMs !== null),
      'every hop answered',
    );
    const viaB = JSON.parse((await cli('a', ['ping', 'c', '-c', '2', '--json'])).stdout) as {
      pathRttMs: Array<number | null>;
      directRttMs: Array<number | null>;
    };
    assert.ok(
      viaB.pathRttMs.every((r) => r !== null),
      'the relayed path answers',
    );
    assert.ok(
      viaB.directRttMs.every((r) => r === null),
      'the cut direct link does not',
    );
    await ol.lab.restore('a', 'c');
  });

  it('says clearly when the daemon is not running', async () => {
    const r = await ol.lab.exec('a', [
      process.execPath,
      OVERLAYD_BIN,
      'status',
      '--socket',
      ol.lab.path('nobody.sock'),
    ]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /overlayd: overlayd is not running \(no control socket at .*nobody\.sock\)/);
  });

  it('adds a fourth site on SIGHUP, which becomes reachable', async () => {
    ol.writePeers(['a', 'b', 'c', 'd']);
    for (const s of ['a', 'b', 'c']) ol.site(s).process!.kill('SIGHUP');
    ol.start('d');
    await ol.waitConverged(30_000, ['a', 'b', 'c', 'd']);
    const r = await ol.lab.ping('a', ol.addressOf('d'), { count: 3, intervalS: 0.1 });
    assert.equal(r.received, 3);
    assert.match(readFileSync(ol.site('a').process!.stderrPath, 'utf8'), /reloaded .*added \[d\]/);
  });

  it('keeps the running configuration and traffic when the new file is broken', async () => {
    const good = readFileSync(ol.peersFile, 'utf8');
    writeFileSync(ol.peersFile, good.replace('address: 10.77.0.2', 'address: 10.99.0.2'));
    ol.site('a').process!.kill('SIGHUP');
    await ol.lab.waitFor(
      () =>
        /reload failed, running configuration kept: .*peers\.yaml:\d+: peers\[1\]\.address: .*outside/.test(
          readFileSync(ol.site('a').process!.stderrPath, 'utf8'),
        ),
      { timeoutMs: 10_000, what: 'the reload error in a’s log' },
    );
    const viaCli = await cli('a', ['reload']);
    assert.equal(viaCli.code, 1);
    assert.match(viaCli.stderr, /peers\[1\]\.address/);
    const r = await ol.lab.ping('a', ol.addressOf('b'), { count: 3, intervalS: 0.1 });
    assert.equal(r.received, 3, 'traffic still flows');
    writeFileSync(ol.peersFile, good);
    assert.equal((await cli('a', ['reload'])).code, 0);
  });
});
