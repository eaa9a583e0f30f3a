// Attack 8 of issue 10, in process: a stranger replays a captured initiation, and sends garbage and
// forged (valid mac1) initiations, from thousands of spoofed sources at a node, while a member of the
// overlay re-handshakes with it, directly and through a relay. Whole nodes, real timers, the
// MemoryNetwork standing for the underlay.
//
// Each re-handshake must complete within 1 s; the replays must cost the victim no Diffie-Hellman at all
// (counted by the session table), the forged ones only until the victim is under load; and nothing the
// victim sends back to the spoofed sources may be larger than what triggered it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { randomBytes } from 'node:crypto';
import { systemClock } from '../../src/clock.js';
import { COOKIE_REPLY_BODY_BYTES, sealCookieReply } from '../../src/session/cookie-reply.js';
import { cookieReplyKey } from '../../src/session/mac.js';
import { INITIAL_TTL, PacketType } from '../../src/wire/constants.js';
import { parseRoutedHeader, routedHeaderBytes, writeRoutedHeader } from '../../src/wire/routed-header.js';
import { Cluster, sleep, waitFor } from '../e2e/cluster.js';
import { HandshakeFlooder, type FloodKind } from './handshake-flooder.js';

const FLOOD_PER_SECOND = 10_000;
const SOURCES = 2000;

describe('handshake flood from spoofed sources (issue 10, attack 8)', () => {
  let c: Cluster;
  let flooder: HandshakeFlooder;
  let captured: Buffer;
  const idOf = (name: string): number => c.get(name).node.self.id;
  const rejects = (reason: string): number => c.get('b').node.counters.handshakeRejects.get(reason) ?? 0;
  const dh = (): number => c.get('b').node.sessions.handshakeStats().responderDh;

  /** a re-handshakes with b now (a forced rekey): the ms it took, or Infinity if not within 1 s. */
  async function rehandshake(): Promise<number> {
    const a = c.get('a').node;
    const done = a.counters.handshakesCompleted;
    const start = performance.now();
    a.dataPlane.control.sendHandshake(idOf('b'), systemClock.now());
    while (performance.now() - start < 1000) {
      if (a.counters.handshakesCompleted > done) return performance.now() - start;
      await sleep(5);
    }
    return Infinity;
  }

  /** Floods b with `mix` while a re-handshakes `times` times, 200 ms apart; the flood always stops. */
  async function duringFlood(mix: Partial<Record<FloodKind, number>>, times: number): Promise<number[]> {
    flooder.start(FLOOD_PER_SECOND, mix, captured);
    try {
      await sleep(300);
      const took: number[] = [];
      for (let i = 0; i < times; i++) {
        took.push(await rehandshake());
        await sleep(200);
      }
      return took;
    } finally {
      flooder.stop();
      await sleep(50);
    }
  }

  const fmt = (times: number[]): string => times.map((t) => t.toFixed(0)).join(', ');

  before(async () => {
    c = await Cluster.create(['a', 'b', 'c']);
    for (const [from, to] of [
      ['a', 'b'],
      ['a', 'c'],
      ['c', 'b'],
    ])
      await c.deliver(from, to, Buffer.from(`warm ${from}${to}`));
    // Capture a genuine initiation from a to b off the wire (b has already processed it).
    c.net.record = true;
    assert.ok((await rehandshake()) < 1000);
    c.net.record = false;
    const init = c.net.wire.find((r) => {
      const h = parseRoutedHeader(r.data, r.data.length);
      return typeof h !== 'string' && h.type === PacketType.HandshakeInit && r.to.host === c.get('b').host;
    });
    assert.ok(init, 'captured an initiation a → b');
    captured = init.data;
    const b = c.get('b');
    flooder = new HandshakeFlooder(
      c.net,
      { host: b.host, port: 7946 },
      b.keyPair.publicKey,
      idOf('a'),
      idOf('b'),
      SOURCES,
    );
  });
  after(async () => {
    await flooder?.close();
    await c?.close();
  });

  it('replays of a captured initiation cost no DH, get no reply, and a re-handshakes within 1 s', async () => {
    const dhBefore = dh();
    const replayedBefore = rejects('replayed-initiation');
    const took = await duringFlood({ replay: 1 }, 3);
    const t = flooder.tally;
    assert.equal(dh() - dhBefore, 3, `b ran Noise for a’s 3 initiations, none of ${t.sent.replay} replays`);
    assert.equal(rejects('replayed-initiation') - replayedBefore, t.sent.replay, 'every replay caught');
    assert.equal(t.replies, 0, 'nothing went back to the spoofed sources');
    assert.ok(Math.max(...took) < 1000, `re-handshakes took ${fmt(took)} ms`);
    assert.ok(t.sent.replay > 5000, `flooded (${t.sent.replay} replays)`);
  });

  it('a mixed flood puts b under load: forged initiations get small cookie replies, not DH; a still gets through', async () => {
    const dhBefore = dh();
    const cookiesBefore = rejects('cookie-required');
    const took = await duringFlood({ replay: 2, garbage: 1, forged: 1 }, 3);
    const t = flooder.tally;
    // Forged initiations reach Noise only until the rate marks b as under load (the first ~100).
    const dhSpent = dh() - dhBefore;
    assert.ok(dhSpent <= 3 + 150, `${dhSpent} DH runs for ${JSON.stringify(t.sent)}`);
    assert.ok(Math.max(...took) < 1000, `re-handshakes took ${fmt(took)} ms`);
    assert.ok(rejects('cookie-required') - cookiesBefore > 100, 'under load, answered with cookies');
    assert.ok(rejects('bad-mac') > 0 && rejects('replayed-initiation') > 0);
    assert.ok(
      t.maxReply <= t.minTrigger,
      `largest reply ${t.maxReply} B, smallest trigger ${t.minTrigger} B`,
    );
    assert.ok(t.replyBytes < t.bytesSent / 2, `${t.replyBytes} B back for ${t.bytesSent} B in`);
    assert.ok(t.sent.forged > 1000, `flooded (${JSON.stringify(t.sent)})`);
  });

  it('through a relay: the cookie goes back via the relay and the retry completes within 1 s', async () => {
    c.net.cut(c.get('a').host, c.get('b').host);
    try {
      // a keeps sending to b, like a session in use: a link carrying data is probed at the fast rate,
      // so the cut is seen in a fraction of a second (an idle link is probed only every few seconds,
      // and how long that takes is not what this test is about).
      const data = Buffer.from('in use');
      await waitFor(
        () => {
          c.send('a', 'b', data);
          return c.get('a').node.router.route(idOf('b'))?.nodes.length === 3;
        },
        10_000,
        'a→c→b',
      );
      const accepted = c.get('a').node.sessions.handshakeStats().cookiesAccepted;
      const took = await duringFlood({ replay: 2, garbage: 1, forged: 1 }, 2);
      const cookies = c.get('a').node.sessions.handshakeStats().cookiesAccepted - accepted;
      assert.ok(cookies > 0, 'b was under load and a took a cookie through c');
      assert.ok(Math.max(...took) < 1000, `relayed re-handshakes took ${fmt(took)} ms`);
    } finally {
      c.net.restore(c.get('a').host, c.get('b').host);
    }
  });

  it('forged and unsolicited cookie replies from an on-path stranger are counted and change nothing', async () => {
    const a = c.get('a');
    const bSessions = c.get('b').node.sessions;
    await waitFor(() => !bSessions.underLoad(systemClock.now()), 3000, 'b no longer under load');
    const aRejects = (reason: string): number => a.node.counters.handshakeRejects.get(reason) ?? 0;
    const before = { bad: aRejects('bad-cookie'), unsolicited: aRejects('unsolicited-cookie') };
    const accepted = a.node.sessions.handshakeStats().cookiesAccepted;
    const stranger = { host: '198.51.100.66', port: 7946 };
    const cookieReply = (body: Buffer): Buffer => {
      const packet = Buffer.alloc(routedHeaderBytes(0) + COOKIE_REPLY_BODY_BYTES);
      writeRoutedHeader(packet, PacketType.CookieReply, INITIAL_TTL, [], idOf('b'), idOf('a'));
      body.copy(packet, routedHeaderBytes(0));
      return packet;
    };
    // Seeing a's initiation go by, the stranger answers first: with its index (it knows b's public key,
    // not the initiation's mac1), and with a random one.
    c.net.tamper = (rec) => {
      const h = parseRoutedHeader(rec.data, rec.data.length);
      if (typeof h === 'string' || h.type !== PacketType.HandshakeInit || rec.from.host !== a.host) return;
      const index = rec.data.readUInt32BE(h.bodyOffset);
      const key = cookieReplyKey(c.get('b').keyPair.publicKey);
      c.net.deliver(
        stranger,
        rec.from,
        cookieReply(sealCookieReply(index, randomBytes(16), key, randomBytes(16))),
      );
      c.net.deliver(stranger, rec.from, cookieReply(randomBytes(COOKIE_REPLY_BODY_BYTES)));
    };
    try {
      assert.ok((await rehandshake()) < 1000, 'the real handshake still completes at once');
    } finally {
      c.net.tamper = undefined;
    }
    assert.equal(aRejects('bad-cookie') - before.bad, 1);
    assert.equal(aRejects('unsolicited-cookie') - before.unsolicited, 1);
    assert.equal(a.node.sessions.handshakeStats().cookiesAccepted, accepted, 'no cookie taken');
  });
});
