// Operating a live lab the way an operator does: the CLI against running daemons (status, paths,
// ping, trace, with --json parsed), the "not running" message, a second daemon refused with a reason
// (port in use, interface busy), a relative --control path, reload (SIGHUP / overlayd reload) adding a
// site and refusing a broken file while traffic keeps flowing (logged by the daemon too), and an error
// escaping every handler of a running daemon: logged with context, the daemon still routing.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { NodeStatus, PathsReport } from '../../src/control/status.js';
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

  it('status prints a table (endpoint in use, time since handshake) and --json with every member', async () => {
    const table = await cli('a', ['status']);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^overlayd \S+ a \(/);
    assert.match(table.stdout, /^MEMBER\s+ADDRESS\s+REACH\s+PATH\s+DIRECT\s+LOSS\s+ENDPOINT\s+HANDSHAKE$/m);
    const b4 = ol.lab.addressOf('b', 4).replace(/\./g, '\\.');
    assert.match(
      table.stdout,
      new RegExp(
        `\\nb\\s+10\\.77\\.0\\.2\\s+yes\\s+a→b\\s+[\\d.]+ ms\\s+[\\d.]+%\\s+(${b4}:7946|\\[fd\\S+\\]:7946)\\s+\\d+s\\n`,
      ),
    );
    for (const line of table.stdout.split('\n')) assert.ok(line.length <= 100, line);
    const json = JSON.parse((await cli('a', ['status', '--json'])).stdout) as NodeStatus;
    assert.equal(json.node.name, 'a');
    for (const name of ['b', 'c']) {
      const m = json.members.find((x) => x.name === name);
      assert.ok(m?.reachable && m.session.established, `${name} reachable with a session`);
      assert.deepEqual(m.path, ['a', name]);
      assert.ok(
        m.endpoint && m.endpoints.some((e) => e.endpoint === m.endpoint && e.alive),
        `${name} endpoint`,
      );
      assert.ok(m.session.lastHandshakeAgoMs !== null && m.session.lastHandshakeAgoMs < 180_000);
    }
    // One peers.yaml everywhere: the same hash at every site.
    const hashes = await Promise.all(
      ['a', 'b', 'c'].map(async (x) => (await ol.status(x)).node.configSha256),
    );
    assert.equal(new Set(hashes).size, 1, hashes.join(' '));
  });

  it('a second daemon is refused with the reason: UDP port in use, or interface busy (exit 1)', async () => {
    const second = async (args: string[]): Promise<{ code: number | null; stderr: string }> =>
      ol.lab.exec(
        'a',
        [
          process.execPath,
          OVERLAYD_BIN,
          'up',
          '--peers',
          ol.peersFile,
          '--key',
          ol.site('a').keyFile,
          '--no-metrics',
          ...args,
        ],
        { timeoutMs: 30_000 },
      );
    const port = await second(['--interface', 'ovl1', '--control', ol.lab.path('second.sock')]);
    assert.equal(port.code, 1, port.stderr);
    assert.match(
      port.stderr,
      /^overlayd: UDP port 7946 is in use \(another overlayd\? 'ss -ulpn sport = :7946' shows who\)/m,
    );
    const busy = await second([
      '--interface',
      'ovl0',
      '--port',
      '7947',
      '--control',
      ol.lab.path('second.sock'),
    ]);
    assert.equal(busy.code, 1, busy.stderr);
    assert.match(busy.stderr, /^overlayd: interface ovl0 is in use by another process \(another overlayd\?/m);
    for (const r of [port, busy]) assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
    assert.ok(ol.site('a').process!.isAlive(), 'the running daemon is untouched');
    assert.equal((await cli('a', ['status'])).code, 0);
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

  it('adds a fourth site on SIGHUP, which becomes reachable (d started with a relative --control)', async () => {
    ol.writePeers(['a', 'b', 'c', 'd']);
    for (const s of ['a', 'b', 'c']) ol.site(s).process!.kill('SIGHUP');
    const sock = ol.site('d').socket;
    ol.start('d', [], { control: basename(sock), cwd: dirname(sock) });
    await ol.waitConverged(30_000, ['a', 'b', 'c', 'd']);
    const r = await ol.lab.ping('a', ol.addressOf('d'), { count: 3, intervalS: 0.1 });
    assert.equal(r.received, 3);
    assert.match(readFileSync(ol.site('a').process!.stderrPath, 'utf8'), /reloaded .*added \[d\]/);
  });

  it('keeps the running configuration and traffic when the new file is broken', async () => {
    const good = readFileSync(ol.peersFile, 'utf8');
    try {
      writeFileSync(ol.peersFile, good.replace('address: 10.77.0.2', 'address: 10.99.0.2'));
      ol.site('a').process!.kill('SIGHUP');
      await ol.lab.waitFor(
        () =>
          /error reload \(SIGHUP\) rejected, running configuration kept: .*peers\.yaml:\d+: peers\[1\]\.address: .*outside/.test(
            readFileSync(ol.site('a').process!.stderrPath, 'utf8'),
          ),
        { timeoutMs: 10_000, what: 'the reload error in a’s log' },
      );
      const viaCli = await cli('a', ['reload']);
      assert.equal(viaCli.code, 78, 'a configuration error');
      assert.match(viaCli.stderr, /peers\[1\]\.address/);
      assert.match(
        readFileSync(ol.site('a').process!.stderrPath, 'utf8'),
        /error reload \(control socket\) rejected, running configuration kept: .*peers\[1\]\.address/,
        'the daemon logs a reload refused over the CLI too',
      );
      const r = await ol.lab.ping('a', ol.addressOf('b'), { count: 3, intervalS: 0.1 });
      assert.equal(r.received, 3, 'traffic still flows');
    } finally {
      writeFileSync(ol.peersFile, good);
    }
    assert.equal((await cli('a', ['reload'])).code, 0);
  });

  it('logs an error that escaped every handler with its context, and keeps routing', async () => {
    // A fault injected into the real daemon (node --import): a throw from a timer and a rejection nobody
    // awaits, once c is up (8 s: well after start, even on a loaded machine). Without the last-resort handler the first one ends the process.
    const fault = ol.lab.path('fault.mjs');
    writeFileSync(
      fault,
      [
        "setTimeout(() => { throw new Error('injected fault in a timer'); }, 8000).unref();",
        "setTimeout(() => { Promise.reject(new Error('injected rejection')); }, 8500).unref();",
        '',
      ].join('\n'),
    );
    await ol.site('c').process!.stop();
    const c = ol.start('c', [], { nodeArgs: ['--import', fault] });
    await ol.lab.waitFor(() => /injected rejection/.test(readFileSync(c.stderrPath, 'utf8')), {
      timeoutMs: 20_000,
      what: 'both injected faults in c’s log',
    });
    const log = readFileSync(c.stderrPath, 'utf8');
    assert.match(
      log,
      /error last-resort: uncaught exception escaped every handler \(phase running, up \d+ s, 1 in the last 60 s, 1 since start\); the daemon keeps running .*\nError: injected fault in a timer\n\s+at /,
    );
    assert.match(log, /unhandled promise rejection escaped every handler .*; the daemon keeps running/);
    assert.ok(c.isAlive(), 'c is still running');
    await ol.waitConverged(30_000, ['a', 'b', 'c', 'd']);
    const r = await ol.lab.ping('a', ol.addressOf('c'), { count: 3, intervalS: 0.1 });
    assert.equal(r.received, 3, 'traffic reaches c');
    const metrics = await ol.lab.execOk('c', [
      process.execPath,
      '-e',
      `fetch('http://127.0.0.1:9477/metrics').then((r) => r.text()).then((t) => process.stdout.write(t))`,
    ]);
    assert.match(metrics, /^overlayd_escaped_errors_total\{node="c"\} 2$/m);
  });
});
