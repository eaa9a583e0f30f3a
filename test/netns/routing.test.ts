// Routing acceptance on real daemons in namespaces, with latency from the lab's delay emulator:
// policy-distorted paths, cut and lossy links, dead relays, partitions, and no flapping.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { labSkipReason } from '../lab/lab-prereqs.js';
import { closeLab, OverlayLab } from '../lab/overlay-lab.js';
import { createTwoRelayLab, startTcpTransfer } from '../lab/scenarios.js';

const skip = labSkipReason({ latency: true });

describe('policy-distorted triangle: A–C 100 ms, A–B and B–C 20 ms', { skip }, () => {
  let ol: OverlayLab;
  before(async () => {
    ol = await OverlayLab.create({ sites: ['a', 'b', 'c'], latency: true });
    await ol.lab.setLatency('a', 'c', 100);
    await ol.lab.setLatency('a', 'b', 20);
    await ol.lab.setLatency('b', 'c', 20);
    ol.startAll();
    await ol.waitConverged(30_000);
  });
  after(() => closeLab(ol));

  it('sends A→C traffic via B, and A and C agree on the path', async () => {
    await ol.waitPath('a', 'c', ['a', 'b', 'c']);
    await ol.waitPath('c', 'a', ['c', 'b', 'a']);
    const r = await ol.lab.ping('a', ol.addressOf('c'), { count: 10, intervalS: 0.2 });
    assert.equal(r.received, 10);
    // 2 × (20 + 20) ms through B, not 2 × 100 ms direct; the bound leaves room for a loaded machine.
    assert.ok(r.rttAvgMs! > 70 && r.rttAvgMs! < 130, `ping RTT ${r.rttAvgMs} ms should be near 80 ms`);
  });
});

describe('cut link: A→C moves to A→B→C with no lost TCP connection', { skip }, () => {
  let ol: OverlayLab;
  before(async () => {
    ol = await OverlayLab.create({ sites: ['a', 'b', 'c'], latency: true });
    await ol.lab.setLatency('a', 'c', 5);
    await ol.lab.setLatency('a', 'b', 10);
    await ol.lab.setLatency('b', 'c', 10);
    ol.startAll();
    await ol.waitConverged(30_000);
    await ol.waitPath('a', 'c', ['a', 'c']);
  });
  after(() => closeLab(ol));

  it('keeps a ping and a TCP transfer going across the cut; checksums match', async () => {
    // 8 Mbit/s for ~6 s: the transfer is in flight when the cut comes at ~2 s.
    const transfer = await startTcpTransfer(ol, 'a', 'c', {
      port: 5202,
      bytes: 6_000_000,
      rateMbit: 8,
      name: 'cut',
    });
    const ping = ol.lab.ping('a', ol.addressOf('c'), { count: 60, intervalS: 0.1, waitS: 1 });
    await new Promise((r) => setTimeout(r, 2000));
    await ol.lab.cut('a', 'c');
    const [{ sent, got }, pingResult] = await Promise.all([transfer.done, ping]);
    assert.equal(got.bytes, 6_000_000);
    assert.equal(got.sha256, sent.sha256);
    assert.deepEqual(await ol.pathOf('a', 'c'), ['a', 'b', 'c']);
    // Pings every 100 ms for 6 s: a sub-second outage loses a handful at most.
    assert.ok(pingResult.received >= 50, `ping: ${pingResult.received}/60 answered`);
  });

  it('moves back to the direct path after the hold when the link returns', async () => {
    await ol.lab.restore('a', 'c');
    await ol.waitPath('a', 'c', ['a', 'c'], 30_000);
    const changes = (await ol.paths('a')).changes.filter((c) => c.destination === 'c');
    assert.equal(changes.at(-1)?.reason, 'better');
  });
});

describe('lossy link: 30 % random loss on A–C moves traffic to A→B→C', { skip }, () => {
  let ol: OverlayLab;
  before(async () => {
    ol = await OverlayLab.create({ sites: ['a', 'b', 'c'] });
    ol.startAll();
    await ol.waitConverged(30_000);
    await ol.waitPath('a', 'c', ['a', 'c']);
  });
  after(() => closeLab(ol));

  it('routes around the loss', async () => {
    await ol.lab.setLoss('a', 'c', 30);
    // Traffic keeps the A–C link on the fast probe schedule, so the loss estimate fills quickly.
    const ping = ol.lab.ping('a', ol.addressOf('c'), { count: 150, intervalS: 0.1 });
    await ol.waitPath('a', 'c', ['a', 'b', 'c'], 30_000);
    await ping;
    const after = await ol.lab.ping('a', ol.addressOf('c'), { count: 20, intervalS: 0.05 });
    assert.equal(after.received, 20, 'no loss once routed via b');
  });
});

describe('dead relay: traffic finds another relay (4 sites)', { skip }, () => {
  let ol: OverlayLab;
  before(async () => {
    ol = await createTwoRelayLab();
  });
  after(() => closeLab(ol));

  it('switches to the other relay when the relay’s daemon is killed', async () => {
    const ping = ol.lab.ping('a', ol.addressOf('c'), { count: 40, intervalS: 0.1, waitS: 1 });
    await new Promise((r) => setTimeout(r, 1000));
    ol.site('b').process!.kill('SIGKILL');
    const r = await ping;
    assert.deepEqual(await ol.pathOf('a', 'c'), ['a', 'd', 'c']);
    assert.deepEqual(await ol.pathOf('c', 'a'), ['c', 'd', 'a']);
    assert.ok(r.received >= 30, `ping: ${r.received}/40 answered across the relay's death`);
  });
});

describe('partition and heal: every pair reaches every other again', { skip }, () => {
  let ol: OverlayLab;
  const sites = ['a', 'b', 'c', 'd'];
  before(async () => {
    ol = await OverlayLab.create({ sites });
    ol.startAll();
    await ol.waitConverged(30_000);
  });
  after(() => closeLab(ol));

  it('loses the other side during the partition and converges after the heal', async () => {
    await ol.lab.partition([
      ['a', 'b'],
      ['c', 'd'],
    ]);
    await ol.lab.waitFor(
      async () => {
        const s = await ol.status('a');
        return (
          !s.members.find((m) => m.name === 'c')?.reachable &&
          !s.members.find((m) => m.name === 'd')?.reachable
        );
      },
      { timeoutMs: 15_000, what: 'a to lose c and d' },
    );
    assert.equal(
      (await ol.lab.ping('a', ol.addressOf('b'), { count: 3, intervalS: 0.1 })).received,
      3,
      'a–b still talk',
    );
    await ol.lab.heal();
    await ol.waitConverged(30_000);
    for (const from of sites) {
      for (const to of sites) {
        if (from === to) continue;
        const r = await ol.lab.ping(from, ol.addressOf(to), { count: 2, intervalS: 0.1 });
        assert.equal(r.received, 2, `${from} → ${to} after heal`);
      }
    }
    // Link state converged: every node knows all six links of the full mesh.
    await ol.lab.waitFor(
      async () => {
        for (const s of sites) if ((await ol.status(s)).links.length < 6) return false;
        return true;
      },
      { timeoutMs: 20_000, what: 'every node to know the six links' },
    );
  });
});

describe('no flapping: a jittery link close to the alternative', { skip }, () => {
  let ol: OverlayLab;
  before(async () => {
    ol = await OverlayLab.create({ sites: ['a', 'b', 'c'], latency: true });
    // Direct 22 ms ± 10 %; via b 2 × 11 ms = 22 ms: the two paths are within each other's noise.
    await ol.lab.setLatency('a', 'c', 22, { jitterMs: 2.2 });
    await ol.lab.setLatency('a', 'b', 11);
    await ol.lab.setLatency('b', 'c', 11);
    ol.startAll();
    await ol.waitConverged(30_000);
  });
  after(() => closeLab(ol));

  it('makes at most one path change in 20 s of traffic', async () => {
    await new Promise((r) => setTimeout(r, 3000)); // settle on a first choice
    const count = async (): Promise<number> =>
      (await ol.paths('a')).changes.filter((c) => c.destination === 'c' && c.reason !== 'new').length;
    const before = await count();
    await ol.lab.ping('a', ol.addressOf('c'), { count: 200, intervalS: 0.1 });
    const changes = (await count()) - before;
    assert.ok(changes <= 1, `${changes} path changes under jitter`);
  });
});
