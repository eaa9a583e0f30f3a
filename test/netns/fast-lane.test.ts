// Both fast lanes against the real kernel: a fixture inside a private namespace opens a TUN and a native
// UDP socket and installs lane entries; a "far side" socket plays the member.
//   Outbound (native/fast-lane.h): the kernel routes pings into the TUN, and the far side opens what the
//   lane sent with the other half of the keypair.
//   Inbound (native/rx-lane.h): the far side seals ICMP echo requests to us; the lane opens them and
//   writes them to the TUN, and the kernel's echo replies show they arrived.
// What must not take a lane (no entry, expired, too big, a SYN under MSS clamping; another source, a
// control kind) must reach the JS handler instead, and what a lane refuses (forged, replayed, spoofed
// inner source) must be counted. Root only; the namespace is this file's and deleted afterwards.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { labSkipReason } from '../lab/lab-prereqs.js';
import { FixtureProcess } from './fixtures/fixture-process.js';

const run = promisify(execFile);
const FIXTURE = fileURLToPath(new URL('./fixtures/fast-lane.js', import.meta.url));

const skip = labSkipReason({ latency: true }); // root, ip, and the TUN binding with /dev/net/tun

const ns = `fastlane-${randomBytes(4).toString('hex')}`;

interface Received {
  kind: number;
  dst: string;
  counter: number;
  routeLen: number;
  len: number;
  index: number;
}
interface Stats {
  js: number;
  jsDsts: string[];
  echoReplies: number;
  received: Received[];
  refused: number;
  lane: [number, number];
  rxJs: number;
  rxJsOpened: number;
  /** [packets, bytes, datagrams, ...refusals in FAST_RECEIVE_DROPS order] */
  rx: number[];
}

/** Pings that get no answer (the lane's packets go to a socket, not a host): the exit status is ignored. */
async function ping(...args: string[]): Promise<void> {
  await run('ip', ['netns', 'exec', ns, 'ping', '-c', '3', '-i', '0.2', '-W', '1', ...args], {
    timeout: 20_000,
  }).catch(() => {});
}

describe('the fast lanes, out and in, in a network namespace', { skip }, () => {
  let f: FixtureProcess;

  async function cmd(line: string, event: string): Promise<Record<string, unknown>> {
    f.send(line);
    return f.next(event, 10_000);
  }

  async function stats(): Promise<Stats> {
    return (await cmd('stats', 'stats')) as unknown as Stats;
  }

  /** Zeroes the fixture's figures, runs `setup` (a command and the event that answers it), pings. */
  async function round(setup: [string, string], ...pingArgs: string[]): Promise<Stats> {
    await cmd('reset', 'reset');
    await cmd(...setup);
    await ping(...pingArgs);
    return stats();
  }

  /** The three pings reached the JS handler, and the lane sent nothing. */
  function allToJavaScript(s: Stats): void {
    assert.equal(s.received.length, 0, JSON.stringify(s));
    assert.equal(s.jsDsts.filter((d) => d === '10.98.0.2').length, 3);
    assert.deepEqual(s.lane, [0, 0]);
  }

  before(async () => {
    await run('ip', ['netns', 'add', ns]);
    await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    f = new FixtureProcess(ns, FIXTURE, []);
    await f.next('ready', 10_000);
  });

  after(async () => {
    f?.endInput();
    await f?.kill();
    await run('ip', ['netns', 'del', ns]).catch(() => {});
  });

  test('pings to an entry’s IPv4 address are sealed and sent natively, and open on the far side', async () => {
    const s = await round(['set 10.98.0.2 10000 1400 0 0', 'set'], '10.98.0.2');
    assert.equal(s.refused, 0, 'every datagram authenticates');
    assert.equal(s.received.length, 3, JSON.stringify(s));
    for (const r of s.received) {
      assert.equal(r.kind, 1, 'inner kind: IP packet');
      assert.equal(r.dst, '10.98.0.2');
      assert.equal(r.routeLen, 0);
      assert.equal(r.index, 0x1234, 'the keypair’s receiver index');
      assert.equal(r.len, 84, 'the whole ICMP echo request');
    }
    const counters = s.received.map((r) => r.counter);
    assert.deepEqual(
      counters,
      [...counters].sort((x, y) => x - y),
      'counters in order',
    );
    assert.equal(new Set(counters).size, 3, 'no counter used twice');
    assert.equal(s.jsDsts.filter((d) => d === '10.98.0.2').length, 0, 'none reached JavaScript');
    assert.deepEqual(s.lane, [3, 3 * 84], 'the lane’s counters');
  });

  test('IPv6 too', async () => {
    const s = await round(['set fd98::2 10000 1400 0 0', 'set'], '-6', 'fd98::2');
    const v6 = s.received.filter((r) => r.dst === 'fd980000000000000000000000000002');
    assert.equal(v6.length, 3, JSON.stringify(s));
    assert.equal(s.refused, 0);
  });

  test('a relayed route goes into the header, and the packet is sealed as relayed', async () => {
    const s = await round(['set 10.98.0.2 10000 1400 0 2', 'set'], '10.98.0.2');
    assert.equal(s.refused, 0, 'opened with the relayed path flag');
    assert.equal(s.received.length, 3);
    assert.ok(s.received.every((r) => r.routeLen === 2));
  });

  test('a packet larger than the entry takes goes to JavaScript (too big, fragmentation)', async () => {
    allToJavaScript(await round(['set 10.98.0.2 10000 200 0 0', 'set'], '-s', '500', '10.98.0.2'));
  });

  test('an expired entry sends nothing: JavaScript gets the packets', async () => {
    allToJavaScript(await round(['set 10.98.0.2 0 1400 0 0', 'set'], '10.98.0.2'));
  });

  test('under MSS clamping a TCP SYN goes to JavaScript, while pings take the lane', async () => {
    await cmd('reset', 'reset');
    await cmd('set 10.98.0.2 10000 1400 1 0', 'set');
    // A connect to nowhere: its SYN (and a retry) go into the TUN.
    await run('ip', ['netns', 'exec', ns, 'timeout', '2', 'bash', '-c', 'echo > /dev/tcp/10.98.0.2/9'], {
      timeout: 10_000,
    }).catch(() => {});
    await ping('10.98.0.2');
    const s = await stats();
    assert.ok(s.jsDsts.filter((d) => d === '10.98.0.2').length >= 1, 'the SYN reached JavaScript');
    assert.equal(s.received.length, 3, 'the pings took the lane');
  });

  test('after clear, every packet goes to JavaScript', async () => {
    allToJavaScript(await round(['clear', 'clear'], '10.98.0.2'));
  });

  /** Inbound: a fresh entry (valid for `validMs`), then the far side sends; the outbound lane is off. */
  async function inbound(validMs: number, send: string): Promise<Stats> {
    await cmd('reset', 'reset');
    await cmd('clear', 'clear');
    await cmd(`rxset ${validMs}`, 'rxset');
    await cmd(`rxsend ${send}`, 'rxsent');
    await cmd('rxclear', 'rxclear');
    return stats();
  }

  const drop = (s: Stats, reason: string): number =>
    s.rx[
      3 + ['truncated', 'replayed', 'auth-failed', 'expired', 'not-ip', 'spoofed-source'].indexOf(reason)
    ]!;

  test('inbound: the member’s packets are opened and written to the TUN natively; the kernel answers them', async () => {
    const s = await inbound(10_000, '1 10.98.0.2 3');
    assert.equal(s.rxJs, 0, 'no datagram reached JavaScript');
    assert.deepEqual(s.rx.slice(0, 3), [3, 3 * 44, 3], 'three IP packets written, 44 bytes each');
    assert.equal(s.echoReplies, 3, 'the kernel answered each echo request');
  });

  test('inbound: a spoofed inner source is dropped and counted, never written', async () => {
    const s = await inbound(10_000, '1 10.98.0.9 2');
    assert.equal(s.rxJs, 0);
    assert.equal(drop(s, 'spoofed-source'), 2);
    assert.equal(s.rx[0], 0);
    assert.equal(s.echoReplies, 0);
  });

  test('inbound: a replayed datagram and a forged one are refused and counted', async () => {
    const replay = await inbound(10_000, '1 10.98.0.2 1 replay');
    assert.equal(replay.rx[0], 1, 'the first copy is delivered');
    assert.equal(drop(replay, 'replayed'), 1);
    assert.equal(replay.echoReplies, 1);
    const forged = await inbound(10_000, '1 10.98.0.2 2 forge');
    assert.equal(drop(forged, 'auth-failed'), 2);
    assert.equal(forged.rx[0], 0);
    assert.equal(forged.echoReplies, 0);
  });

  test('inbound: a control kind goes to JavaScript unopened (it can still open it)', async () => {
    const s = await inbound(10_000, '2 10.98.0.2 2');
    assert.equal(s.rxJs, 2);
    assert.equal(s.rxJsOpened, 2, "the lane left the keypair's replay window alone");
    assert.equal(s.rx[2], 0);
  });

  test('inbound: another source address, or an expired entry, leaves everything to JavaScript', async () => {
    const stranger = await inbound(10_000, '1 10.98.0.2 2 stranger');
    assert.equal(stranger.rxJs, 2);
    assert.equal(stranger.rx[2], 0);
    const expired = await inbound(0, '1 10.98.0.2 2');
    assert.equal(expired.rxJs, 2);
    assert.equal(expired.rx[2], 0);
  });
});
