// Subnet routes in the data plane's tables, without sockets: the peer table's longest-prefix match
// (where a packet for a LAN address goes, who may send from a LAN, what we write to our TUN), and the
// gateway choice between redundant gateways on a virtual clock (best path wins, a dead path moves the
// subnet at once, a recovered better gateway takes it back only after routing's hysteresis hold).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Cidr } from '../../src/config/types.js';
import { GatewayChoice, type GatewayPath } from '../../src/forward/gateway-choice.js';
import { ipv4ToNumber, ipv6ToKey } from '../../src/forward/ip-packet.js';
import { PeerTable } from '../../src/forward/peer-table.js';
import type { RouteChange } from '../../src/routing/path-selector.js';
import { DEFAULT_ROUTING_PARAMS } from '../../src/routing/routing-params.js';

const [A, B, C, D] = [1, 2, 3, 4];
const LAN = '192.168.50.0/24';

function cidr(text: string): Cidr {
  const [address, len] = text.split('/');
  return { address, prefixLength: Number(len), family: address.includes(':') ? 6 : 4 };
}

/** a, b, c, d; b and c are redundant gateways for the LAN, c alone for 192.168.60.0/24 and fd60::/64. */
function table(self: number): PeerTable {
  const subnets: Record<number, string[]> = {
    [B]: [LAN],
    [C]: [LAN, '192.168.60.0/24', 'fd60::/64'],
  };
  return new PeerTable(
    [A, B, C, D].map((id) => ({
      id,
      name: 'xabcd'[id],
      publicKey: Buffer.alloc(32, id),
      address: `10.77.0.${id}`,
      address6: `fd77::${id}`,
      subnets: (subnets[id] ?? []).map((s) => ({ prefix: cidr(s) })),
    })),
    self,
  );
}

const v4 = ipv4ToNumber;

describe('peer table with subnets', () => {
  it('routes a LAN address to the gateway in use, the longest match first, and nothing else', () => {
    const t = table(A);
    assert.equal(t.routeIpv4(v4('192.168.60.7'))?.name, 'c');
    assert.equal(t.routeIpv6(ipv6ToKey('fd60::7'))?.name, 'c');
    assert.equal(t.routeIpv4(v4('192.168.50.7'))?.name, 'b', 'first listed until the choice runs');
    assert.equal(t.routeIpv4(v4('10.77.0.4'))?.name, 'd', 'overlay addresses still route to members');
    assert.equal(t.routeIpv4(v4('192.168.51.1')), undefined);
  });

  it('lets a gateway send from its subnets only, and a member only from its own address', () => {
    const t = table(A);
    const [b, c, d] = [t.get(B)!, t.get(C)!, t.get(D)!];
    assert.equal(t.isSourceIpv4(b, v4('192.168.50.9')), true);
    assert.equal(t.isSourceIpv4(c, v4('192.168.50.9')), true, 'both redundant gateways');
    assert.equal(t.isSourceIpv4(b, v4('192.168.60.9')), false, "c's other subnet");
    assert.equal(t.isSourceIpv4(d, v4('192.168.50.9')), false, 'not a gateway');
    assert.equal(t.isSourceIpv4(d, v4('10.77.0.4')), true);
    assert.equal(t.isSourceIpv4(d, v4('10.77.0.2')), false);
    assert.equal(t.isSourceIpv6(c, ipv6ToKey('fd60::1')), true);
    assert.equal(t.isSourceIpv6(b, ipv6ToKey('fd60::1')), false);
  });

  it('at a gateway: its own subnets are accepted for the TUN and never routed out', () => {
    const t = table(C);
    for (const addr of ['10.77.0.3', '192.168.50.200', '192.168.60.1'])
      assert.equal(t.accepted.acceptsIpv4(v4(addr)), true, addr);
    for (const addr of ['10.77.0.2', '192.168.51.1', '10.0.0.1'])
      assert.equal(t.accepted.acceptsIpv4(v4(addr)), false, addr);
    assert.equal(t.accepted.acceptsIpv6(ipv6ToKey('fd60::1')), true);
    assert.equal(t.routeIpv4(v4('192.168.50.7')), undefined, 'our LAN is not sent to b');
    // A member that is not a gateway accepts no LAN at all.
    assert.equal(table(D).accepted.acceptsIpv4(v4('192.168.50.7')), false);
  });
});

describe('gateway choice between redundant gateways', () => {
  /** Routing's view at a, set by the test: cost of the selected path to each gateway (absent = none). */
  function setup() {
    const t = table(A);
    const costs = new Map<number, number>([
      [B, 10],
      [C, 20],
    ]);
    const pathTo = (id: number): GatewayPath | undefined => {
      const cost = costs.get(id);
      return cost === undefined ? undefined : { nodes: [A, id], cost };
    };
    const choice = new GatewayChoice(DEFAULT_ROUTING_PARAMS, pathTo);
    const lan = t.subnets.routes().find((r) => r.prefix === LAN)!;
    const died = (dst: number, now: number): RouteChange => ({ dst, reason: 'dead', at: now });
    return { t, costs, choice, lan, died };
  }

  it('picks the gateway routing reaches at the lowest cost', () => {
    const { t, costs, choice, lan } = setup();
    costs.set(B, 30);
    const changes = choice.setRoutes(t.subnets.routes(), 0);
    assert.deepEqual(
      changes.filter((c) => c.prefix === LAN).map((c) => [c.from, c.to, c.reason]),
      [[undefined, C, 'new']],
    );
    assert.equal(lan.gateway?.name, 'c');
    assert.equal(t.routeIpv4(v4('192.168.50.7'))?.name, 'c', 'the packet path follows the choice');
  });

  it('moves at once when the path to the gateway in use dies, and back only after the hold', () => {
    const { t, costs, choice, lan, died } = setup();
    choice.setRoutes(t.subnets.routes(), 0);
    assert.equal(lan.gateway?.name, 'b');

    // b's path dies; routing still reaches b through c, at a higher cost. The subnet moves now.
    costs.set(B, 35);
    const moved = choice.onRouteChange(died(B, 1000), 1000);
    assert.deepEqual(
      moved.map((c) => [c.from, c.to, c.reason]),
      [[B, C, 'dead']],
    );
    assert.equal(lan.gateway?.name, 'c');

    // b's direct path is back (cost 10 < 20·0.9 - 1, but not under half): the 3 s hold applies.
    costs.set(B, 12);
    for (let now = 2000; now < 5000; now += 100) {
      assert.deepEqual(choice.tick(now), [], `no move at ${now} ms`);
      assert.equal(lan.gateway?.name, 'c');
    }
    const back = choice.tick(5000);
    assert.deepEqual(
      back.map((c) => [c.from, c.to, c.reason, c.at]),
      [[C, B, 'better', 5000]],
    );
    assert.equal(lan.gateway?.name, 'b');
  });

  it('does not move between two equally good gateways, nor for a gain within the margin', () => {
    const { t, costs, choice, lan } = setup();
    choice.setRoutes(t.subnets.routes(), 0);
    costs.set(C, 9.5); // cheaper, but not by 10 % and 1 ms
    for (let now = 100; now <= 10_000; now += 100) assert.deepEqual(choice.tick(now), []);
    assert.equal(lan.gateway?.name, 'b');
  });

  it('a much better gateway takes over after the short hold; a blip resets the timer', () => {
    const { t, costs, choice, lan } = setup();
    costs.set(B, 100);
    choice.setRoutes(t.subnets.routes(), 0); // c at 20 would already be better: b is not chosen
    assert.equal(lan.gateway?.name, 'c');
    costs.set(C, 250); // c turns lossy: b (100) is less than half (125 - 5 ms)
    assert.deepEqual(choice.tick(100), []);
    costs.set(C, 20); // a blip
    assert.deepEqual(choice.tick(300), []);
    costs.set(C, 250);
    assert.deepEqual(choice.tick(400), []);
    assert.deepEqual(choice.tick(850), [], 'the short hold restarted at 400 ms');
    assert.deepEqual(
      choice.tick(900).map((c) => [c.from, c.to, c.reason]),
      [[C, B, 'better']],
    );
  });

  it('with no gateway reachable, says so and takes the first one routing reaches again at once', () => {
    const { t, costs, choice, lan } = setup();
    choice.setRoutes(t.subnets.routes(), 0);
    costs.clear();
    const gone = choice.onRouteChange({ dst: B, reason: 'unreachable', at: 10 }, 10);
    assert.deepEqual(
      gone.filter((c) => c.prefix === LAN).map((c) => [c.from, c.to, c.reason]),
      [[B, undefined, 'unreachable']],
    );
    assert.equal(choice.selected(LAN), undefined);
    costs.set(C, 50);
    const found = choice.onRouteChange({ dst: C, reason: 'new', at: 20 }, 20);
    assert.deepEqual(
      found.filter((c) => c.prefix === LAN).map((c) => [c.from, c.to, c.reason]),
      [[undefined, C, 'new']],
    );
    assert.equal(lan.gateway?.name, 'c');
  });
});
