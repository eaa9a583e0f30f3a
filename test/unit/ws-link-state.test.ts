// The pure parts of the WebSocket transport: reconnect backoff, queue bounds of one connection,
// admission caps, the prober's UDP-over-ws preference, the fallback policy and endpoint keys.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NodeId } from '../../src/identity/node-id.js';
import { WsFallback } from '../../src/node/ws-fallback.js';
import type { EndpointView } from '../../src/probe/link-view.js';
import { newEndpoint, selectBestEndpoint, type MemberState } from '../../src/probe/member-state.js';
import { DEFAULT_PROBE_PARAMS } from '../../src/probe/probe-params.js';
import {
  endpointFromKey,
  endpointKey,
  isWsEndpointKey,
  type Endpoint,
} from '../../src/transport/transport.js';
import { WsAdmission } from '../../src/transport/ws-admission.js';
import { WsBackoff } from '../../src/transport/ws-backoff.js';
import { WsLink, type WsSocketLike } from '../../src/transport/ws-link.js';

class FakeSocket implements WsSocketLike {
  readyState = 0;
  bufferedAmount = 0;
  sent: Buffer[] = [];
  closedWith: number | undefined;
  send(data: Buffer): void {
    this.sent.push(data);
    this.bufferedAmount += data.length;
  }
  close(code?: number): void {
    this.closedWith = code;
    this.readyState = 3;
  }
  terminate(): void {
    this.readyState = 3;
  }
}

describe('ws reconnect backoff', () => {
  it('doubles from the first wait up to the cap, and starts again after a success', () => {
    const b = new WsBackoff({ firstMs: 500, maxMs: 4000, jitterRatio: 0 });
    assert.ok(b.mayDial(0));
    const waits = [0, 1, 2, 3, 4, 5].map(() => b.failed(0));
    assert.deepEqual(waits, [500, 1000, 2000, 4000, 4000, 4000]);
    assert.equal(b.mayDial(3999), false);
    assert.equal(b.mayDial(4000), true);
    b.succeeded();
    assert.equal(b.failed(10_000), 500);
  });

  it('jitters each wait within its ratio', () => {
    const low = new WsBackoff({ firstMs: 1000, maxMs: 1000, jitterRatio: 0.2 }, () => 0);
    const high = new WsBackoff({ firstMs: 1000, maxMs: 1000, jitterRatio: 0.2 }, () => 0.999999);
    assert.equal(low.failed(0), 800);
    assert.ok(Math.abs(high.failed(0) - 1200) < 0.01);
  });
});

describe('ws link queue bounds', () => {
  const limits = { maxBufferedBytes: 1000, maxPendingFrames: 3 };

  it('holds at most maxPendingFrames while dialling and sends them when open', () => {
    const s = new FakeSocket();
    const link = new WsLink(s, { host: '192.0.2.1', port: 1, via: 'ws' }, true, 0, limits);
    const results = [1, 2, 3, 4, 5].map((i) => link.send(Buffer.alloc(10, i)));
    assert.deepEqual(results, ['pending', 'pending', 'pending', 'congested', 'congested']);
    s.readyState = 1;
    assert.equal(link.opened(), 0);
    assert.deepEqual(
      s.sent.map((b) => b[0]),
      [1, 2, 3],
    );
    assert.equal(link.pendingFrames, 0);
  });

  it('drops a frame when the socket already buffers more than the cap', () => {
    const s = new FakeSocket();
    s.readyState = 1;
    const link = new WsLink(s, { host: '192.0.2.1', port: 1, via: 'ws' }, false, 0, limits);
    const results: string[] = [];
    for (let i = 0; i < 5; i++) results.push(link.send(Buffer.alloc(400)));
    // 0, 400, 800 buffered: sent; 1200 > 1000: dropped until the socket drains.
    assert.deepEqual(results, ['sent', 'sent', 'sent', 'congested', 'congested']);
    s.bufferedAmount = 0;
    assert.equal(link.send(Buffer.alloc(400)), 'sent');
  });

  it('reports a closed socket instead of queueing', () => {
    const s = new FakeSocket();
    s.readyState = 3;
    const link = new WsLink(s, { host: '192.0.2.1', port: 1, via: 'ws' }, false, 0, limits);
    assert.equal(link.send(Buffer.alloc(1)), 'closed');
    assert.equal(link.pendingFrames, 0);
  });
});

describe('ws admission', () => {
  it('caps unauthenticated connections per host and in total, and frees them on auth or close', () => {
    const a = new WsAdmission({ maxConnections: 5, maxUnauthenticated: 3, maxUnauthenticatedPerHost: 2 });
    assert.equal(a.admit('h1'), 'ok');
    assert.equal(a.admit('h1'), 'ok');
    assert.equal(a.admit('h1'), 'too-many-from-host');
    assert.equal(a.admit('h2'), 'ok');
    assert.equal(a.admit('h3'), 'too-many-unauthenticated');
    a.authenticated('h1');
    a.authenticated('h2');
    assert.equal(a.admit('h3'), 'ok');
    assert.equal(a.admit('h3'), 'ok');
    assert.equal(a.admit('h4'), 'too-many');
    a.closed('h3', false);
    assert.equal(a.connections, 4);
    assert.equal(a.unauthenticatedConnections, 2);
    assert.equal(a.admit('h4'), 'ok');
  });
});

describe('endpoint preference between UDP and ws', () => {
  const p = DEFAULT_PROBE_PARAMS;
  function member(rtts: Record<string, number>): MemberState {
    const m: MemberState = {
      endpoints: new Map(),
      activeUntil: 0,
      usedUntil: 0,
      lastRelayedAt: -Infinity,
      lastRelayedSrc: 0,
      lastRelayedDst: 0,
      bestKey: undefined,
      probed: true,
    };
    for (const [key, rtt] of Object.entries(rtts)) {
      const ep = newEndpoint(key, true, 0, p);
      for (let i = 0; i < 3; i++) ep.est.onSample(rtt, i);
      m.endpoints.set(key, ep);
    }
    return m;
  }

  it('keeps UDP when both work at the same cost, and moves back to it from ws', () => {
    const m = member({ 'ws://192.0.2.1:7946': 10 });
    selectBestEndpoint(m, p);
    assert.equal(m.bestKey, 'ws://192.0.2.1:7946');
    // UDP comes back as good as ws: it takes over (the ws penalty is larger than the switch margin).
    const udp = member({ '192.0.2.1:7946': 10 }).endpoints.get('192.0.2.1:7946')!;
    m.endpoints.set(udp.key, udp);
    selectBestEndpoint(m, p);
    assert.equal(m.bestKey, '192.0.2.1:7946');
  });

  it('uses ws when it is clearly better than UDP', () => {
    const m = member({ '192.0.2.1:7946': 80, 'ws://192.0.2.1:7946': 10 });
    selectBestEndpoint(m, p);
    assert.equal(m.bestKey, 'ws://192.0.2.1:7946');
  });

  it('does not leave a UDP link for a ws link only slightly faster', () => {
    const m = member({ '192.0.2.1:7946': 12 });
    selectBestEndpoint(m, p);
    const ws = member({ 'ws://192.0.2.1:7946': 10 }).endpoints.get('ws://192.0.2.1:7946')!;
    m.endpoints.set(ws.key, ws);
    selectBestEndpoint(m, p);
    assert.equal(m.bestKey, '192.0.2.1:7946');
  });
});

describe('ws fallback policy', () => {
  const A = 1 as NodeId;
  function harness(tcpPort?: number) {
    const views: EndpointView[] = [];
    const applied: Endpoint[][] = [];
    let targets: Endpoint[] = [];
    const routing = { relayed: false };
    const f = new WsFallback(
      {
        apply: (_m, eps) => applied.push(eps),
        setDialTargets: (eps) => (targets = eps),
        udpAlive: () => views.some((e) => e.alive && !isWsEndpointKey(e.endpointKey)),
        relayed: () => routing.relayed,
      },
      tcpPort,
      {
        failAfterMs: 3000,
        neverReachedPerMemberMs: 1200,
        neverReachedMaxMs: 120_000,
        lingerMs: 30_000,
        checkEveryMs: 100,
      },
    );
    return { f, views, applied, targets: () => targets, routing };
  }
  const view = (key: string, alive: boolean): EndpointView => ({ endpointKey: key, alive }) as EndpointView;

  it('adds the ws endpoint only after UDP, which had answered, has had no reply for failAfterMs', () => {
    const h = harness();
    h.f.setEndpoints(A, [{ host: '192.0.2.1', port: 7946 }], 0);
    h.views.push(view('192.0.2.1:7946', true));
    h.f.tick(0);
    h.views[0] = view('192.0.2.1:7946', false);
    h.f.tick(2900);
    assert.equal(h.f.inFallback(A), false);
    h.f.tick(3000);
    assert.equal(h.f.inFallback(A), true);
    assert.deepEqual(h.applied.at(-1), [
      { host: '192.0.2.1', port: 7946 },
      { host: '192.0.2.1', port: 7946, via: 'ws' },
    ]);
    assert.deepEqual(h.targets(), [{ host: '192.0.2.1', port: 7946, via: 'ws' }]);
  });

  it('never falls back while UDP answers, and dials network.tcpPort when set', () => {
    const h = harness(443);
    h.f.setEndpoints(A, [{ host: '192.0.2.1', port: 7946 }], 0);
    h.views.push(view('192.0.2.1:7946', true));
    for (let t = 0; t < 10_000; t += 100) h.f.tick(t);
    assert.equal(h.f.inFallback(A), false);
    h.views[0] = view('192.0.2.1:7946', false); // last seen alive at the tick at 9900
    h.f.tick(12_800);
    assert.equal(h.f.inFallback(A), false);
    h.f.tick(12_900);
    assert.deepEqual(h.targets(), [{ host: '192.0.2.1', port: 443, via: 'ws' }]);
  });

  it('waits 1.2 s per member (up to 2 min) for a member UDP never reached: a big start-up is not a failure', () => {
    const h = harness();
    // 99 other members: the start of a 100-member overlay.
    for (let i = 2; i <= 99; i++) h.f.setEndpoints(i as NodeId, [{ host: `192.0.2.${i}`, port: 7946 }], 0);
    h.f.setEndpoints(A, [{ host: '192.0.2.1', port: 7946 }], 0);
    h.views.push(view('192.0.2.1:7946', false));
    for (let t = 0; t < 118_800; t += 100) h.f.tick(t);
    assert.equal(h.f.inFallback(A), false);
    assert.deepEqual(h.targets(), []);
    h.f.tick(118_800);
    assert.equal(h.f.inFallback(A), true);
    // A small overlay behind a UDP-blocking firewall is not kept waiting: failAfterMs.
    const small = harness();
    small.f.setEndpoints(A, [{ host: '192.0.2.1', port: 7946 }], 0);
    small.views.push(view('192.0.2.1:7946', false));
    small.f.tick(3000);
    assert.equal(small.f.inFallback(A), true);
  });

  it('never dials ws to a member routing reaches through other members', () => {
    const h = harness();
    h.f.setEndpoints(A, [{ host: '192.0.2.1', port: 7946 }], 0);
    h.views.push(view('192.0.2.1:7946', true));
    h.f.tick(0);
    h.views[0] = view('192.0.2.1:7946', false);
    h.routing.relayed = true;
    for (let t = 100; t < 200_000; t += 100) h.f.tick(t);
    assert.equal(h.f.inFallback(A), false, 'relayed: reachable, nothing to dial');
    h.routing.relayed = false; // the relays went too: nobody reaches it now
    h.f.tick(200_000);
    assert.equal(h.f.inFallback(A), true);
  });

  it('drops the ws endpoint after UDP has been up for lingerMs without a break', () => {
    const h = harness();
    h.f.setEndpoints(A, [{ host: '192.0.2.1', port: 7946 }], 0);
    h.views.push(view('192.0.2.1:7946', false), view('ws://192.0.2.1:7946', true));
    h.f.tick(120_000); // one member: failAfterMs even though never reached
    assert.equal(h.f.inFallback(A), true);
    h.views[0] = view('192.0.2.1:7946', true);
    h.f.tick(124_000);
    h.views[0] = view('192.0.2.1:7946', false); // a flap restarts the linger
    h.f.tick(125_000);
    h.views[0] = view('192.0.2.1:7946', true);
    h.f.tick(126_000);
    h.f.tick(155_900);
    assert.equal(h.f.inFallback(A), true);
    h.f.tick(156_000);
    assert.equal(h.f.inFallback(A), false);
    assert.deepEqual(h.targets(), []);
  });
});

describe('ws endpoint keys', () => {
  it('round-trip UDP and ws endpoints, IPv4 and IPv6, and tell ws apart', () => {
    for (const e of [
      { host: '192.0.2.1', port: 7946 },
      { host: '2001:db8::1', port: 443, via: 'ws' as const },
      { host: '192.0.2.1', port: 7946, via: 'ws' as const },
    ]) {
      const key = endpointKey(e);
      assert.deepEqual(endpointFromKey(key), e);
      assert.equal(isWsEndpointKey(key), e.via === 'ws');
    }
    assert.equal(endpointKey({ host: '2001:db8::1', port: 443, via: 'ws' }), 'ws://[2001:db8::1]:443');
  });
});
