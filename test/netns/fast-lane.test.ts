// The TUN's outbound fast lane (native/fast-lane.h) against the real kernel: a fixture inside a private
// namespace opens a TUN and a native UDP socket and installs lane entries; the kernel routes pings into
// the TUN, and the fixture's receiver opens what the lane sent with the other half of the keypair.
// What must not take the lane (no entry, expired, too big, a SYN under MSS clamping) must reach the JS
// handler instead. Root only; the namespace is this file's and deleted afterwards.
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
  received: Received[];
  refused: number;
  lane: [number, number];
}

/** Pings that get no answer (the lane's packets go to a socket, not a host): the exit status is ignored. */
async function ping(...args: string[]): Promise<void> {
  await run('ip', ['netns', 'exec', ns, 'ping', '-c', '3', '-i', '0.2', '-W', '1', ...args], {
    timeout: 20_000,
  }).catch(() => {});
}

describe('the outbound fast lane in a network namespace', { skip }, () => {
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
});
