// The whole daemon on virtual time: three OverlayNodes on one event queue (their clock and timers)
// over a memory underlay with 10 ms links. Nothing sleeps, so timings are exact: a cut link carrying
// data is routed around within the probe-based detection time, and every wait below is virtual.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Cluster } from './cluster.js';

describe('three nodes on virtual time', () => {
  let c: Cluster;
  before(async () => {
    c = await Cluster.create(['a', 'b', 'c'], { virtual: { latencyMs: 10 } });
    await c.run(5000);
  });
  after(async () => {
    await c?.close();
  });

  it('converges and delivers between every pair, in virtual time', async () => {
    for (const from of ['a', 'b', 'c'])
      for (const to of ['a', 'b', 'c'])
        if (from !== to) assert.ok((await c.deliver(from, to, Buffer.from(`${from}>${to}`))) <= 100);
  });

  it('routes a flow around a cut link within half a second of virtual time', async () => {
    const a = c.get('a').node;
    const cId = c.get('c').node.self.id;
    // Data a→c keeps the direct link on the 50 ms probe schedule.
    for (let i = 0; i < 40; i++) {
      c.send('a', 'c', Buffer.from(`flow ${i}`));
      await c.run(50);
    }
    assert.equal(a.router.route(cId)?.nodes.length, 2, 'direct before the cut');
    c.net.cut(c.get('a').host, c.get('c').host);
    const cutAt = c.queue?.now ?? 0;
    let movedAt: number | undefined;
    for (let i = 0; i < 40 && movedAt === undefined; i++) {
      c.send('a', 'c', Buffer.from(`after ${i}`));
      await c.run(25);
      if (a.router.route(cId)?.nodes.length === 3) movedAt = c.queue?.now;
    }
    assert.ok(movedAt !== undefined, 'a moved to a→b→c');
    assert.ok(movedAt - cutAt < 500, `rerouted after ${movedAt - cutAt} virtual ms`);
    c.net.restore(c.get('a').host, c.get('c').host);
  });

  it('an idle node only wakes for its own schedule (a few times a second)', async () => {
    const b = c.get('b').node;
    const before = b.plane.scheduler.wakeups;
    await c.run(10_000);
    const perSecond = (b.plane.scheduler.wakeups - before) / 10;
    assert.ok(perSecond > 0.5 && perSecond < 20, `${perSecond} timer wake-ups per second`);
  });
});
