// Attack 6 (issue 10): a relay that passes the small link probes but drops the data it relays. The
// links around it look perfect, so link-state routing keeps the path. End-to-end path liveness sends
// data-sized probes, sealed end to end, along the data's route: the relay cannot tell them from data,
// so it drops them too; within 2 s the source marks the path failed (one log line, a counter) and
// routing moves the destination to a path that avoids the relay.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PacketType } from '../../src/wire/constants.js';
import { waitFor } from '../e2e/cluster.js';
import { adversaryCluster, header, type Adversaries } from './forward-hostile.js';

describe('attack 6: a relay drops data and passes probes', () => {
  let a: Adversaries;
  before(async () => {
    a = await adversaryCluster(['a', 'b', 'c', 'd']);
    a.c.net.cut(a.c.get('a').host, a.c.get('c').host);
    await waitFor(() => a.c.get('a').node.router.route(a.id('c'))?.nodes.length === 3, 10_000, 'a→?→c');
    await a.c.deliver('a', 'c', Buffer.from('warm'));
  });
  after(() => a?.c.close());

  it('the source notices within 2 s and moves to a path avoiding the relay; data flows again', async (t) => {
    const x = a.c.get('a').node.router.route(a.id('c'))!.nodes[1] === a.id('b') ? 'b' : 'd';
    const y = x === 'b' ? 'd' : 'b';
    // x relays small packets (probes, keepalives, control) and silently drops anything larger.
    a.sock(x).inbound = (data) => {
      const h = header(data);
      return h && h.type === PacketType.Data && h.dst !== a.id(x) && data.length > 200 ? 'consumed' : 'pass';
    };
    const failuresBefore = a.c.get('a').node.counters.pathFailures.get(a.id('c')) ?? 0;
    const started = Date.now();
    const traffic = setInterval(() => a.c.send('a', 'c', Buffer.alloc(1000, 0x64)), 20);
    try {
      await waitFor(() => a.c.get('a').node.router.route(a.id('c'))?.nodes[1] === a.id(y), 4000, `a→${y}→c`);
    } finally {
      clearInterval(traffic);
    }
    const change = a.c
      .get('a')
      .node.routeHistory.recent()
      .findLast((r) => r.dst === a.id('c'));
    const detectedMs = (change?.at ?? Infinity) - started;
    t.diagnostic(`path moved ${detectedMs} ms after the relay began dropping`);
    assert.ok(detectedMs <= 2000, `path moved ${detectedMs} ms after the relay began dropping`);
    assert.deepEqual(change?.to, [a.id('a'), a.id(y), a.id('c')]);
    assert.equal(a.c.get('a').node.counters.pathFailures.get(a.id('c')), failuresBefore + 1);
    const lines = a.logs.filter((l) => l.includes('fails end to end'));
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.match(lines[0], new RegExp(`warn a\\.forward: path to c via ${x} fails end to end`));
    // Large data reaches c around the hostile relay, and x still relays nothing large.
    await a.c.deliver('a', 'c', Buffer.alloc(1000, 0x65));
    assert.deepEqual(a.c.get('a').node.router.route(a.id('c'))?.nodes, [a.id('a'), a.id(y), a.id('c')]);
  });
});
