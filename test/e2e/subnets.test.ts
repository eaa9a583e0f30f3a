// Site LANs behind members, end to end in one process: three real nodes over the memory network, b and c
// both listing 192.168.50.0/24 (redundant gateways), c alone listing 192.168.60.0/24. A packet a reads
// from its TUN for an address in a subnet reaches the TUN of a gateway; when that gateway stops, the
// next packets reach the other within the sub-second failover of any path; an address no member serves
// is dropped and counted.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildPaths, buildStatus } from '../../src/control/status.js';
import { renderStatus } from '../../src/cli/status-view.js';
import { ipv4ToNumber } from '../../src/forward/ip-packet.js';
import { buildMetricsRegistry } from '../../src/metrics/registry.js';
import { Cluster, sleep, waitFor } from './cluster.js';
import { ipv4Udp, udpPayload } from './ip-builder.js';

const LAN = '192.168.50.0/24';

describe('subnet routes between in-process nodes', () => {
  let c: Cluster;
  const logs: string[] = [];

  before(async () => {
    c = await Cluster.create(['a', 'b', 'c'], {
      logLines: logs,
      subnets: { b: [LAN], c: [LAN, '192.168.60.0/24'] },
    });
    await c.deliver('a', 'b', Buffer.from('warm ab'));
    await c.deliver('a', 'c', Buffer.from('warm ac'));
    // a knows the b–c link: when a's own link to the gateway dies, routing still has a path to it (via
    // the other gateway), and only the gateway choice's reaction to the dead path moves the subnet.
    const names = new Map([...c.members.values()].map((m) => [m.node.self.id, m.name]));
    await waitFor(
      () =>
        c
          .get('a')
          .node.router.linkState()
          .some((l) => [names.get(l.a), names.get(l.b)].sort().join() === 'b,c'),
      10_000,
      'a to learn the b–c link',
    );
  });
  after(() => c?.close());

  /** Injects into a's TUN a UDP packet from a to `dst` carrying `tag`. */
  const sendFromA = (dst: string, tag: string): void =>
    c.get('a').tun.inject(ipv4Udp(c.get('a').address, dst, Buffer.from(tag)));
  /** The member whose TUN got the packet tagged `tag`, if any. */
  const receivedBy = (tag: string): string | undefined =>
    ['b', 'c'].find((n) => c.get(n).tun.written.some((p) => udpPayload(p).toString() === tag));
  const gatewayAtA = (): string | null =>
    buildStatus(c.get('a').node, performance.now()).subnets?.find((s) => s.subnet === LAN)?.gateway ?? null;

  it('sends a packet for a subnet address to its gateway, keeping the inner addresses', async () => {
    await waitFor(() => gatewayAtA() !== null, 5000, 'a to choose a gateway for the LAN');
    sendFromA('192.168.60.7', 'only-c');
    await waitFor(() => receivedBy('only-c') !== undefined, 3000, 'the 192.168.60.0/24 packet');
    assert.equal(receivedBy('only-c'), 'c');
    const p = c.get('c').tun.written.find((x) => udpPayload(x).toString() === 'only-c')!;
    assert.equal([...p.subarray(16, 20)].join('.'), '192.168.60.7', 'inner destination untouched');
    assert.equal([...p.subarray(12, 16)].join('.'), c.get('a').address, 'inner source is a');

    const gw = gatewayAtA();
    sendFromA('192.168.50.10', 'lan-1');
    await waitFor(() => receivedBy('lan-1') !== undefined, 3000, 'the LAN packet');
    assert.equal(receivedBy('lan-1'), gw, 'it went to the gateway status names');
  });

  it('drops and counts a packet for an address in no member subnet', async () => {
    const node = c.get('a').node;
    const before = node.counters.drops.get('no-member') ?? 0;
    sendFromA('192.168.99.1', 'nobody');
    await waitFor(() => (node.counters.drops.get('no-member') ?? 0) > before, 2000, 'the drop');
    await sleep(100);
    assert.equal(receivedBy('nobody'), undefined);
  });

  /**
   * Sends to the LAN every 20 ms while `during` runs (so a probes its gateway at the active rate, as under
   * a real session), then returns how long after `during` began the first packet reached `to`.
   */
  async function flowUntilAt(to: string, during: () => Promise<void>): Promise<number> {
    let n = 0;
    let running = true;
    const sent: number[] = [];
    const pump = (async () => {
      while (running) {
        sent.push(performance.now());
        sendFromA('192.168.50.10', `flow-${n++}`);
        await sleep(20);
      }
    })();
    // Stopped however this ends: a failed wait left the pump running, and the file never finished.
    try {
      await sleep(300);
      const from = n;
      const t0 = performance.now();
      await during();
      let first: number | undefined;
      await waitFor(
        () => {
          for (let i = from; i < n && first === undefined; i++) if (receivedBy(`flow-${i}`) === to) first = i;
          return first !== undefined;
        },
        3000,
        `packets to reach ${to}`,
      );
      return sent[first!] - t0;
    } finally {
      running = false;
      await pump;
    }
  }

  it('moves the subnet at once when the path to its gateway dies, though the gateway is still reachable', async () => {
    const gw = gatewayAtA()!;
    const other = gw === 'b' ? 'c' : 'b';
    let movedMs = 0;
    const firstMs = await flowUntilAt(other, async () => {
      const t0 = performance.now();
      c.net.cut(c.get('a').host, c.get(gw).host);
      await waitFor(() => gatewayAtA() === other, 3000, `a to move the LAN to ${other}`);
      movedMs = performance.now() - t0;
    });
    // Routing still reaches the old gateway, through the new one, at a higher cost: the hysteresis alone
    // would have kept the subnet there for its 3 s hold. The dead path moves it at once.
    // (Waited for: on a loaded CI machine the route through the new gateway was once not there yet.)
    const routeAtA = (): string[] | undefined =>
      c.get('a').node.router.route(c.get(gw).node.self.id)?.nodes.map(c.get('a').node.nameOf);
    await waitFor(() => routeAtA() !== undefined, 1000, `a's route to ${gw}`).catch(() => undefined);
    assert.deepEqual(routeAtA(), ['a', other, gw]);
    assert.ok(movedMs < 1000, `gateway moved ${Math.round(movedMs)} ms after the cut`);
    assert.ok(firstMs < 1000, `first packet at ${other} sent ${Math.round(firstMs)} ms after the cut`);
    const line = logs.find((l) => l.includes(`subnet ${LAN}: gateway ${gw} ⇒ ${other}`));
    assert.match(line ?? '', /path to the gateway in use died/);
    const paths = buildPaths(c.get('a').node, performance.now());
    assert.ok(paths.gatewayChanges?.some((g) => g.from === gw && g.to === other && g.reason === 'dead'));
    const lan = paths.subnets?.find((s) => s.subnet === LAN);
    assert.equal(lan?.gateway, other);
    assert.deepEqual(
      lan?.alternatives.map((x) => [x.gateway, x.path]),
      [[gw, ['a', other, gw]]],
    );

    // The direct path comes back: both gateways cost the same again, and the subnet stays where it is
    // (equal is never clearly better) past the hold time.
    // A dead link is re-probed every 5 s at most, and the route then waits for the hysteresis hold.
    c.net.restore(c.get('a').host, c.get(gw).host);
    await waitFor(
      () => c.get('a').node.router.route(c.get(gw).node.self.id)?.nodes.length === 2,
      15_000,
      `a's direct path to ${gw} back`,
    );
    await sleep(3500);
    assert.equal(gatewayAtA(), other, 'no move between two equally good gateways');
  });

  it('moves the subnet to the other gateway when the one in use stops', async () => {
    const gw = gatewayAtA()!;
    const other = gw === 'b' ? 'c' : 'b';
    const firstMs = await flowUntilAt(other, () => c.get(gw).node.stop());
    assert.ok(firstMs < 1000, `first packet at ${other} sent ${Math.round(firstMs)} ms after the stop`);
    await waitFor(
      () => buildPaths(c.get('a').node, performance.now()).subnets?.[0]?.alternatives[0]?.path === null,
      10_000,
      `${gw} unreachable`,
    );
    const text = renderStatus(buildStatus(c.get('a').node, performance.now()), { wide: false });
    assert.match(text, new RegExp(`^192\\.168\\.50\\.0/24 +${other} +b,c `, 'm'));
  });
});

// The same LAN behind b and c, now with different link delays (a–b 10 ms, a–c 15 ms, b–c 10 ms one
// way): b is the better gateway. When a's path to b dies the LAN moves to c at once; when it comes
// back, b is clearly better again (RTT ~20 ms against ~30 ms: beyond the 10 % + 1 ms margin, and far
// from routing's fast switch below half the cost minus 5 ms — 20 against 40 sat on that edge, and c's
// RTT jittering up under load then gave a 0.5 s fast hold) and takes the LAN back only after routing's
// 3 s hold — the hysteresis, not the first sample.
describe('redundant gateways of different cost', () => {
  let c: Cluster;
  const logs: string[] = [];
  const HOLD_MS = 3000;

  before(async () => {
    c = await Cluster.create(['a', 'b', 'c'], { logLines: logs, subnets: { b: [LAN], c: [LAN] } });
    const host = (n: string) => c.get(n).host;
    c.net.setDelay(host('a'), host('b'), 10);
    c.net.setDelay(host('a'), host('c'), 15);
    c.net.setDelay(host('b'), host('c'), 10);
    await c.deliver('a', 'b', Buffer.from('warm ab'));
    await c.deliver('a', 'c', Buffer.from('warm ac'));
  });
  after(() => c?.close());

  const gatewayAtA = (): string | null =>
    buildStatus(c.get('a').node, performance.now()).subnets?.find((s) => s.subnet === LAN)?.gateway ?? null;
  const metricsAtA = (): Promise<string> => buildMetricsRegistry(c.get('a').node).metrics();
  /** Routing's cost from a to a member (the cost the gateway choice compares). */
  const costAtA = (n: string): number =>
    c.get('a').node.router.route(c.get(n).node.self.id)?.cost ?? Infinity;

  it('prefers the better gateway, fails over at once, and comes back only after the hold', async (t) => {
    await waitFor(() => gatewayAtA() === 'b', 20_000, 'a to send the LAN to b, the cheaper gateway');

    // Traffic from a to b keeps the link to the gateway in use: that is the failover that must be
    // sub-second. (An idle link is noticed at its next idle probe, up to 8 s away: probe-params.ts.)
    const traffic = setInterval(() => c.send('a', 'b', Buffer.from('in use')), 20);
    await sleep(300);
    const cutAt = performance.now();
    c.net.cut(c.get('a').host, c.get('b').host);
    try {
      await waitFor(() => gatewayAtA() === 'c', 3000, 'a to move the LAN to c');
    } finally {
      clearInterval(traffic);
    }
    const failoverMs = performance.now() - cutAt;
    assert.ok(failoverMs < 1000, `failover ${Math.round(failoverMs)} ms after the cut`);
    const during = await metricsAtA();
    assert.match(
      during,
      /^overlay_subnet_gateway_info\{subnet="192\.168\.50\.0\/24",gateway="c",node="a"\} 1$/m,
    );
    assert.doesNotMatch(during, /gateway="b"/, 'one gateway carries the subnet');
    assert.match(
      during,
      /^overlay_subnet_gateway_changes_total\{subnet="192\.168\.50\.0\/24",reason="dead",node="a"\} 1$/m,
    );

    c.net.restore(c.get('a').host, c.get('b').host);
    const restoredAt = performance.now();
    // Sample every 10 ms: when b first became clearly better than c, and when the LAN moved back.
    // (Costs drift with every measurement, so the hold may restart; it can never end sooner.)
    const params = c.get('a').node.router.params;
    let firstBetter: number | undefined;
    let backAt: number | undefined;
    const until = performance.now() + 20_000;
    while (backAt === undefined && performance.now() < until) {
      const [b, cc] = [costAtA('b'), costAtA('c')];
      if (b < cc * (1 - params.switchRatio) - params.switchMarginMs) firstBetter ??= performance.now();
      if (gatewayAtA() === 'b') backAt = performance.now();
      await sleep(10);
    }
    assert.ok(backAt !== undefined, 'the LAN went back to b');
    assert.ok(firstBetter !== undefined, 'b was clearly better before it went back');
    const heldMs = backAt - firstBetter;
    // 3 s from the first evaluation that found b better; our sampling can see that up to a tick late.
    assert.ok(heldMs >= HOLD_MS - 150, `moved back ${Math.round(heldMs)} ms after b became clearly better`);
    t.diagnostic(
      `failover ${Math.round(failoverMs)} ms after the cut; back to b ${Math.round(heldMs)} ms after it ` +
        `first became clearly better (${Math.round(backAt - restoredAt)} ms after the restore)`,
    );
    const changes = buildPaths(c.get('a').node, performance.now()).gatewayChanges ?? [];
    assert.deepEqual(
      changes.slice(-2).map((g) => [g.from, g.to, g.reason]),
      [
        ['b', 'c', 'dead'],
        ['c', 'b', 'better'],
      ],
    );
    assert.ok(logs.some((l) => /subnet 192\.168\.50\.0\/24: gateway c ⇒ b, reason: clearly better/.test(l)));
    const back = await metricsAtA();
    assert.match(
      back,
      /^overlay_subnet_gateway_info\{subnet="192\.168\.50\.0\/24",gateway="b",node="a"\} 1$/m,
    );
    assert.match(back, /^overlay_subnet_gateways_reachable\{subnet="192\.168\.50\.0\/24",node="a"\} 2$/m);
  });
});

// Subnets change by reload (peers.yaml edited at every site): a new subnet is routed at once, a subnet
// that gains a second gateway stays where it is (a reload never moves traffic by itself), and one whose
// gateway stops listing it moves to the gateway that still does.
describe('subnets changed by reload', () => {
  let c: Cluster;
  before(async () => {
    c = await Cluster.create(['a', 'b', 'c'], { subnets: { b: [LAN] } });
    await c.deliver('a', 'b', Buffer.from('warm ab'));
    await c.deliver('a', 'c', Buffer.from('warm ac'));
  });
  after(() => c?.close());

  const reloadAll = (subnets: Record<string, string[]>): void => {
    const cidr = (text: string) => {
      const [address, len] = text.split('/');
      return {
        prefix: { address, prefixLength: Number(len), family: 4 as const },
        masquerade: false,
        line: 0,
      };
    };
    const next = {
      ...c.config,
      peers: c.config.peers.map((p) => ({ ...p, subnets: (subnets[p.name] ?? []).map(cidr) })),
    };
    for (const m of c.members.values()) m.node.reload(next);
  };
  const gatewayAtA = (subnet: string): string | null =>
    buildStatus(c.get('a').node, performance.now()).subnets?.find((s) => s.subnet === subnet)?.gateway ??
    null;
  const reaches = async (dst: string, to: string, tag: string): Promise<void> => {
    c.get('a').tun.inject(ipv4Udp(c.get('a').address, dst, Buffer.from(tag)));
    await waitFor(
      () => c.get(to).tun.written.some((p) => udpPayload(p).toString() === tag),
      3000,
      `${tag} to reach ${to}`,
    );
  };

  it('routes a new subnet, keeps the gateway in use, and moves a subnet its gateway dropped', async () => {
    await waitFor(() => gatewayAtA(LAN) === 'b', 5000, 'a to send the LAN to b');
    await reaches('192.168.50.5', 'b', 'before');

    reloadAll({ b: [LAN, '10.9.0.0/16'], c: [LAN] });
    await waitFor(() => gatewayAtA('10.9.0.0/16') === 'b', 5000, 'the new subnet routed');
    await reaches('10.9.0.5', 'b', 'new subnet');
    await sleep(500);
    assert.equal(gatewayAtA(LAN), 'b', 'a second gateway does not take the LAN by itself');

    reloadAll({ b: ['10.9.0.0/16'], c: [LAN] });
    await waitFor(() => gatewayAtA(LAN) === 'c', 2000, 'the LAN moved to c');
    await reaches('192.168.50.6', 'c', 'after');
    // b no longer accepts the LAN from members: it is not its gateway any more.
    assert.equal(c.get('b').node.peers.accepted.acceptsIpv4(ipv4ToNumber('192.168.50.6')), false);
  });
});
