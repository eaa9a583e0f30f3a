// Two whole nodes whose UDP underlay (a MemoryNetwork) is cut, each with a real WebSocket transport
// (the `ws` package) on loopback: UDP never answers, so each dials the other's ws endpoint, the
// Noise handshake and probes cross TCP, packets are delivered, and the direct link is reported as ws.
// When UDP comes back the prober prefers it again (ws penalty), within the dead-probe interval.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseConfig } from '../../src/config/parse.js';
import { generateSeed, keyPairFromSeed } from '../../src/identity/keys.js';
import { silentLogger } from '../../src/log.js';
import { OverlayNode } from '../../src/node.js';
import { MemoryNetwork } from '../../src/transport/memory-transport.js';
import { WsDualTransport } from '../../src/transport/ws-dual-transport.js';
import { WsTransport } from '../../src/transport/ws-transport.js';
import { maxDatagramBytes } from '../../src/wire/sizes.js';
import { MemoryTun } from '../../src/tun/memory-tun.js';
import { ipv4Udp, udpPayload } from './ip-builder.js';
import { sleep, waitFor } from './cluster.js';

const PORT = 20000 + Math.floor(Math.random() * 20000);
const HOSTS = ['127.0.0.1', '127.0.0.2'];

describe('ws fallback between two nodes whose UDP is cut', () => {
  const net = new MemoryNetwork();
  const nodes: OverlayNode[] = [];
  const tuns: MemoryTun[] = [];
  const ws: WsTransport[] = [];

  before(async () => {
    const keys = HOSTS.map(() => keyPairFromSeed(generateSeed()));
    const yaml = [
      'network:',
      '  prefix: 10.78.0.0/24',
      `  port: ${PORT}`,
      'peers:',
      ...HOSTS.flatMap((host, i) => [
        `  - name: n${i}`,
        `    publicKey: ${keys[i]!.publicKey.toString('base64')}`,
        `    address: 10.78.0.${i + 1}`,
        `    endpoints: [${host}:${PORT}]`,
      ]),
    ].join('\n');
    const config = parseConfig(yaml, 'peers.yaml');
    net.cut(HOSTS[0]!, HOSTS[1]!);
    for (const [i, host] of HOSTS.entries()) {
      const node = await OverlayNode.start({
        config,
        keyPair: keys[i]!,
        interfaceName: `w${i}`,
        log: silentLogger,
        openTun: (o) => (tuns[i] = new MemoryTun({ name: o.name, mtu: o.mtu })),
        openTransport: async (port, mtu) => {
          const t = await WsTransport.open({
            port,
            host4: host,
            host6: null,
            maxFrameBytes: maxDatagramBytes(mtu),
            log: silentLogger,
          });
          ws[i] = t;
          return new WsDualTransport(net.attach(host, port), t);
        },
        sessionParams: { retryDelaysMs: [100, 200, 400, 800] },
      });
      nodes.push(node);
    }
  });
  after(async () => {
    for (const n of nodes) await n.stop();
  });

  async function deliver(from: number, to: number, text: string, timeoutMs: number): Promise<number> {
    const start = Date.now();
    const payload = Buffer.from(text);
    const packet = ipv4Udp(`10.78.0.${from + 1}`, `10.78.0.${to + 1}`, payload);
    while (Date.now() - start < timeoutMs) {
      tuns[from]!.inject(packet);
      await sleep(50);
      if (tuns[to]!.written.some((p) => udpPayload(p).equals(payload))) return Date.now() - start;
    }
    throw new Error(`n${from} → n${to}: not delivered within ${timeoutMs} ms`);
  }

  it('delivers over ws when UDP gets no reply, and the link is a ws link', async () => {
    const ms = await deliver(0, 1, 'over tcp', 10_000);
    await deliver(1, 0, 'and back', 2000);
    const link = nodes[0]!.prober.link(nodes[1]!.self.id);
    assert.ok(link?.alive, 'direct link alive');
    assert.match(link.endpointKey, /^ws:\/\//);
    assert.ok(ws[0]!.counters.framesSent > 0 && ws[1]!.counters.framesReceived > 0);
    assert.equal(net.delivered, 0, 'nothing crossed the cut UDP network');
    console.log(`# first delivery over ws after ${ms} ms; ws link srtt ${link.srttMs.toFixed(2)} ms`);
  });

  it('returns to UDP once UDP answers again', async () => {
    net.restore(HOSTS[0]!, HOSTS[1]!);
    const start = Date.now();
    await waitFor(
      () => !nodes[0]!.prober.link(nodes[1]!.self.id)!.endpointKey.startsWith('ws://'),
      12_000,
      'UDP preferred again',
    );
    console.log(`# back on UDP ${Date.now() - start} ms after UDP was restored`);
    const udpBefore = net.delivered;
    await deliver(0, 1, 'over udp again', 2000);
    assert.ok(net.delivered > udpBefore);
  });
});
