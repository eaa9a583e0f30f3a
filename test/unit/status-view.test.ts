// The text of `overlayd status`: 100 columns whatever the names and endpoints, no comforting 0% beside
// a dead link, no stale RTT, and an unreachable member's row saying why.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cut, fitTable } from '../../src/cli/format.js';
import { renderStatus } from '../../src/cli/status-view.js';
import type { MemberStatus, NodeStatus } from '../../src/control/status.js';
import { unreachableReason, type ReachabilityFacts } from '../../src/control/unreachable-reason.js';
import { zeroCounts } from '../../src/counts.js';
import { WAKE_CAUSES } from '../../src/node/control-plane.js';
import { emptyTraffic } from '../../src/node/control-traffic.js';
import { SET_CHANGES } from '../../src/probe/probe-set.js';

const NOW = Date.parse('2026-12-01T12:00:00Z');

function member(name: string, over: Partial<MemberStatus> = {}): MemberStatus {
  return {
    name,
    id: '0a0b0c0d',
    address: '10.77.0.2',
    self: false,
    reachable: true,
    path: ['a', name],
    hops: 1,
    costMs: 2.1,
    pathAgeMs: 60_000,
    direct: {
      alive: true,
      origin: 'listed',
      endpoint: '198.51.100.7:7946',
      transport: 'udp',
      srttMs: 12.34,
      recentRttMs: 12,
      lossRatio: 0,
      jitterMs: 0.5,
    },
    endpoint: '198.51.100.7:7946',
    endpoints: [{ endpoint: '198.51.100.7:7946', configured: true, alive: true }],
    session: {
      established: true,
      ageMs: 30_000,
      handshakeAttempts: 0,
      lastHandshakeAgoMs: 65_000,
      lastHandshakeTookMs: 3,
    },
    traffic: { txPackets: 1, txBytes: 1500, rxPackets: 1, rxBytes: 3000, relayedPackets: 0, relayedBytes: 0 },
    handshakeFailures: {},
    ...over,
  };
}

function status(members: MemberStatus[]): NodeStatus {
  return {
    node: {
      name: 'a',
      id: '01020304',
      address: '10.77.0.1',
      address6: 'fd77::1',
      interface: 'ovl0',
      port: 7946,
      uptimeMs: 3_600_000,
      version: '0.1.0',
      config: '/etc/overlayd/peers.yaml',
      configSha256: 'ab'.repeat(32),
      configLoadedAt: new Date(NOW - 120_000).toISOString(),
    },
    members: [member('a', { self: true, path: null }), ...members],
    drops: { 'no-route': 3, replay: 0 },
    handshakeRejects: {},
    control: { probeBytesSent: 0, probeBytesReceived: 0, controlBytesSent: 0, controlBytesReceived: 0 },
    links: [],
    controlPlane: {
      name: 'a',
      members: 1 + members.length,
      routes: members.length,
      probed: members.length,
      wakeups: 0,
      wakeupsBy: zeroCounts(WAKE_CAUSES),
      uptimeMs: 3_600_000,
      sent: emptyTraffic(),
      sealedBytesSent: 0,
      memory: { rss: 0, heapTotal: 0, heapUsed: 0, external: 0, arrayBuffers: 0 },
      probes: {
        probesSent: 0,
        probesUnsent: 0,
        repliesReceived: 0,
        repliesLate: 0,
        repliesUnknown: 0,
        probesAnswered: 0,
        probesLost: 0,
        activations: 0,
        activationsBy: { data: 0, relay: 0, handshake: 0, punch: 0, suspect: 0 },
        bytesSent: 0,
        bytesReceived: 0,
        sentBySchedule: { punch: 0, candidate: 0, dead: 0, suspect: 0, confirm: 0, active: 0, idle: 0 },
        setChangesBy: zeroCounts(SET_CHANGES),
      },
      advertsOriginatedBy: { urgent: 0, prompt: 0, news: 0, drift: 0, refresh: 0 },
      advertDriftBy: { rtt: 0, loss: 0, unmeasured: 0, displaced: 0 },
      advertDriftFaded: 0,
      flooding: {
        advertsReceived: 0,
        advertsAccepted: 0,
        advertsDuplicate: 0,
        advertsForwarded: 0,
        advertsPushed: 0,
        announcementsSent: 0,
        requestsSent: 0,
        requestsUnanswered: 0,
      },
    },
    nat: {
      reflexive: [],
      observations: [],
      punches: { success: 0, failed: 0, rateLimited: 0, unsolicited: 0 },
      punchSuccessMs: [],
      keepalivesSent: 0,
    },
    mtu: {
      tooBigIcmpSent: 0,
      tooBigIcmpLimited: 0,
      fragmented: 0,
      mssClamped: 0,
      probesSent: 0,
      repliesReceived: 0,
    },
  };
}

const rowOf = (text: string, name: string): string => {
  // A row starts with the member's name, whole or cut short with '…'.
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`${name} `) || (l.startsWith(name) && /^\S*… /.test(l)));
  assert.ok(line, `no row for ${name} in\n${text}`);
  return line;
};

describe('status view', () => {
  it('fits 100 columns with long names, long paths and IPv6 endpoints', () => {
    const long = 'site-with-a-rather-long-name-01';
    const v6 = '[2001:db8:1234:5678:9abc:def0:1234:5678]:7946';
    const text = renderStatus(
      status([
        member(long, {
          path: ['a', 'relay-in-frankfurt', 'relay-in-new-york', long],
          endpoint: v6,
          endpoints: [{ endpoint: v6, configured: true, alive: true }],
        }),
        member('b'),
      ]),
      { wide: false, now: NOW },
    );
    for (const line of text.split('\n')) assert.ok(line.length <= 100, `${line.length}: ${line}`);
    // The endpoint is cut in the middle: the port survives.
    const row = rowOf(text, 'site-with');
    assert.match(
      row,
      /^site-with-a-rathe…\s+10\.77\.0\.2\s+yes\s+a→relay-in-frank…\s/,
      'names and paths cut at the end',
    );
    assert.match(row, /\s\[2001:db.*….*\]:7946\s/, 'the endpoint cut in the middle, the port kept');
    assert.match(text, /^overlayd 0\.1\.0 a \(01020304\) 10\.77\.0\.1 fd77::1 on ovl0, udp 7946, up 1h00m$/m);
    assert.match(text, /^config sha256 abababababab, loaded 2m00s ago from \/etc\/overlayd\/peers\.yaml$/m);
    assert.match(text, /^drops: no-route=3$/m);
  });

  it('shows the endpoint in use and the time since the last handshake', () => {
    const row = rowOf(renderStatus(status([member('b')]), { wide: false, now: NOW }), 'b');
    assert.match(row, /^b\s+10\.77\.0\.2\s+yes\s+a→b\s+12\.3 ms\s+0%\s+198\.51\.100\.7:7946\s+1m05s$/);
    const never = member('c', {
      session: {
        established: false,
        ageMs: null,
        handshakeAttempts: 0,
        lastHandshakeAgoMs: null,
        lastHandshakeTookMs: null,
      },
    });
    assert.match(rowOf(renderStatus(status([never]), { wide: false, now: NOW }), 'c'), /\snever$/);
  });

  it('never shows 0% or an RTT beside a dead link', () => {
    const unmeasured = member('b', {
      path: ['a', 'c', 'b'],
      direct: {
        alive: false,
        origin: 'listed',
        endpoint: '198.51.100.7:7946',
        transport: 'udp',
        srttMs: 12,
        recentRttMs: 12,
        lossRatio: 0,
        jitterMs: 1,
      },
      endpoint: null,
    });
    const row = rowOf(renderStatus(status([unmeasured]), { wide: false, now: NOW }), 'b');
    assert.match(row, /^b\s+10\.77\.0\.2\s+yes\s+a→c→b\s+dead\s+-\s+-\s+1m05s$/);
    assert.doesNotMatch(row, /0%|12/);
    // Loss that was measured is still worth seeing.
    const lossy = member('b', {
      direct: {
        alive: false,
        origin: 'listed',
        endpoint: '198.51.100.7:7946',
        transport: 'udp',
        srttMs: 12,
        recentRttMs: 12,
        lossRatio: 0.4,
        jitterMs: 1,
      },
      endpoint: null,
    });
    assert.match(rowOf(renderStatus(status([lossy]), { wide: false, now: NOW }), 'b'), /\sdead\s+40%\s/);
  });

  it("gives an unreachable member's row the reason instead of empty cells", () => {
    const down = member('d', {
      reachable: false,
      path: null,
      hops: null,
      costMs: null,
      direct: null,
      endpoint: null,
      unreachableReason: 'no reply to 7 handshakes: down, blocked, or lacks our key',
    });
    const text = renderStatus(status([member('b'), down]), { wide: false, now: NOW });
    assert.match(
      rowOf(text, 'd'),
      /^d\s+10\.77\.0\.2\s+NO\s+no reply to 7 handshakes: down, blocked, or lacks our key$/,
    );
    // The sentence does not widen the PATH column for the other rows.
    assert.match(rowOf(text, 'b'), /^b\s+10\.77\.0\.2\s+yes\s+a→b {3}12\.3 ms/);
  });

  it('--wide adds hops, cost, jitter, session and traffic, and shortens nothing', () => {
    const long = 'site-with-a-rather-long-name-01';
    const text = renderStatus(status([member(long, { path: ['a', 'x'.repeat(40), long] })]), {
      wide: true,
      now: NOW,
    });
    assert.match(
      text,
      /MEMBER\s+ADDRESS\s+REACH\s+PATH\s+HOPS\s+COST\s+DIRECT\s+LOSS\s+JITTER\s+ENDPOINT\s+LINK\s+HANDSHAKE\s+SESSION\s+TX\s+RX\s+RELAYED/,
    );
    assert.ok(text.includes(`a→${'x'.repeat(40)}→${long}`));
    assert.match(text, /1\.5 KB\s+3\.0 KB\s+0 B$/m);
    assert.doesNotMatch(text, /…/);
    assert.ok(text.includes('ab'.repeat(32)), 'the full config hash');
  });
});

describe('duplicate key', () => {
  it('is said below the table in full, within 100 columns', () => {
    const text = renderStatus(
      status([
        member('b', { duplicateKeySuspected: { addresses: ['198.51.100.7:7946', '203.0.113.9:7946'] } }),
      ]),
      { wide: false, now: NOW },
    );
    assert.match(text, /warning: DUPLICATE KEY suspected for b: two sessions from 198\.51\.100\.7:7946 and/);
    assert.match(text, /203\.0\.113\.9:7946/);
    for (const line of text.split('\n')) assert.ok(line.length <= 100, line);
  });
});

describe('unreachable reasons', () => {
  const facts = (over: Partial<ReachabilityFacts>): ReachabilityFacts => ({
    endpointsKnown: 1,
    sessionEstablished: false,
    handshakeAttempts: 0,
    everHandshaked: false,
    directDead: false,
    ...over,
  });
  it('name what is missing, in at most 60 characters', () => {
    const cases: Array<[Partial<ReachabilityFacts>, RegExp]> = [
      [{ endpointsKnown: 0 }, /^no endpoint known: none in peers\.yaml/],
      [{ handshakeAttempts: 1 }, /^no reply to 1 handshake: /],
      [{ handshakeAttempts: 5 }, /^no reply to 5 handshakes: down, blocked, or lacks our key$/],
      [{}, /^no session yet/],
      [
        { sessionEstablished: true, everHandshaked: true, directDead: true },
        /^every path failed: direct link dead/,
      ],
      [{ sessionEstablished: true, everHandshaked: true }, /^every path failed: no relay reaches it$/],
      [
        { sessionEstablished: true, everHandshaked: true, advertHeld: false, graphLinks: 0 },
        /^no link state from it: /,
      ],
      [{ sessionEstablished: true, everHandshaked: true, advertHeld: true, graphLinks: 0 }, /one-way/],
      [
        { sessionEstablished: true, everHandshaked: true, advertHeld: true, graphLinks: 3 },
        /^every path failed: no relay reaches it$/,
      ],
      [{ handshakeAttempts: 5, lastFailure: 'key-rejected' }, /^key rejected: /],
      [{ lastFailure: 'rate-limited' }, /^handshakes rate-limited/],
      [{ handshakeAttempts: 2, lastFailure: 'no-reply' }, /^no reply to 2 handshakes/],
    ];
    for (const [over, want] of cases) {
      const reason = unreachableReason(facts(over));
      assert.match(reason, want);
      assert.ok(reason.length <= 64, `${reason.length}: ${reason}`);
    }
  });
});

describe('table fitting', () => {
  it('cuts at the end or in the middle, keeping the width', () => {
    assert.equal(cut('abcdefghij', 10), 'abcdefghij');
    assert.equal(cut('abcdefghij', 6), 'abcde…');
    assert.equal(cut('[2001:db8::1]:7946', 11, 'middle'), '[2001…:7946');
  });

  it('narrows only the columns it may, widest first, down to their minimum', () => {
    const rows = [['x'.repeat(30), 'y'.repeat(30), 'z'.repeat(30)]];
    const shrink = new Map([
      [0, 10],
      [1, 20],
    ]);
    const [, row] = fitTable(['A', 'B', 'C'], rows, { maxWidth: 70, shrink }).split('\n');
    assert.equal(row, `${'x'.repeat(15)}…  ${'y'.repeat(19)}…  ${'z'.repeat(30)}`);
    // Past every minimum it stops narrowing rather than cut what it may not.
    const [, tight] = fitTable(['A', 'B', 'C'], rows, { maxWidth: 40, shrink }).split('\n');
    assert.equal(tight, `${'x'.repeat(9)}…  ${'y'.repeat(19)}…  ${'z'.repeat(30)}`);
  });

  it('shows each path MTU with its direct link, and packets answered as too big', () => {
    const b = member('b', { pathMtu: 1231 });
    b.direct!.mtu = { datagramBytes: 1272, ipBytes: 1231, state: 'settled' };
    const c = member('c', { pathMtu: 1380, path: ['a', 'b', 'c'] });
    c.direct!.mtu = { datagramBytes: 1449, ipBytes: 1380, state: 'searching' };
    const s = status([b, c]);
    s.mtu.tooBigIcmpSent = 7;
    const text = renderStatus(s, { wide: false, now: NOW });
    const line = text.split('\n').find((l) => l.startsWith('mtu: '));
    assert.equal(
      line,
      'mtu: b 1231 (link 1272 B), c 1380 (link 1449? B); too big: 7 icmp sent, 0 rate-limited, 0 fragmented',
    );
  });
});
