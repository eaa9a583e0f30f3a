// N real OverlayNodes in one process, joined by a MemoryNetwork and backed by MemoryTuns: the whole
// daemon (sessions, probes, routing, data plane) minus the kernel. Real timers, shortened handshake
// retries so tests run in seconds.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/parse.js';
import type { OverlayConfig } from '../../src/config/types.js';
import { generateSeed, keyPairFromSeed, type KeyPair } from '../../src/identity/keys.js';
import { createLogger, silentLogger, type Logger } from '../../src/log.js';
import { OverlayNode } from '../../src/node.js';
import { MemoryTun } from '../../src/tun/memory-tun.js';
import { MemoryNetwork, type MemoryTransport } from '../../src/transport/memory-transport.js';
import type { Transport } from '../../src/transport/transport.js';
import { ipv4Udp, udpPayload } from './ip-builder.js';

export interface ClusterMember {
  name: string;
  host: string;
  address: string;
  keyPair: KeyPair;
  node: OverlayNode;
  tun: MemoryTun;
}

const PORT = 7946;

export class Cluster {
  readonly net = new MemoryNetwork();
  readonly members = new Map<string, ClusterMember>();
  config!: OverlayConfig;

  static async create(
    names: string[],
    opts: {
      log?: boolean;
      /** Every log line of every node, prefixed with its name (instead of silence or stderr). */
      logLines?: string[];
      /** Puts something between a node and its underlay socket (test/adversary: a hostile member). */
      wrap?: (name: string, t: MemoryTransport, net: MemoryNetwork) => Transport;
      /**
       * Serve each node's control socket at <controlDir>/<name>.sock (as `overlayd up --control`), and
       * write peers.yaml there (what `overlayd reload` rereads).
       */
      controlDir?: string;
      /** Members listed in peers.yaml (keys, addresses, endpoints) whose node is never started. */
      absent?: string[];
    } = {},
  ): Promise<Cluster> {
    const c = new Cluster();
    const keys = names.map(() => keyPairFromSeed(generateSeed()));
    const yaml = [
      'network:',
      '  prefix: 10.77.0.0/24',
      `  port: ${PORT}`,
      'peers:',
      ...names.flatMap((name, i) => [
        `  - name: ${name}`,
        `    publicKey: ${keys[i].publicKey.toString('base64')}`,
        `    address: 10.77.0.${i + 1}`,
        `    endpoints: [192.0.2.${i + 1}:${PORT}]`,
      ]),
    ].join('\n');
    const file = opts.controlDir ? join(opts.controlDir, 'peers.yaml') : 'peers.yaml';
    if (opts.controlDir) writeFileSync(file, yaml);
    c.config = parseConfig(yaml, file);
    const lines = opts.logLines;
    const log: Logger = lines
      ? createLogger('debug', (line) => lines.push(line))
      : opts.log
        ? createLogger('debug')
        : silentLogger;
    for (const [i, name] of names.entries()) {
      if (opts.absent?.includes(name)) continue;
      const host = `192.0.2.${i + 1}`;
      let tun!: MemoryTun;
      const node = await OverlayNode.start({
        config: c.config,
        keyPair: keys[i],
        interfaceName: `m${name}`,
        log: log.child(name),
        openTun: (o) => (tun = new MemoryTun({ name: o.name, mtu: o.mtu })),
        openTransport: async (port) => {
          const t = c.net.attach(host, port);
          return opts.wrap ? opts.wrap(name, t, c.net) : t;
        },
        sessionParams: { retryDelaysMs: [100, 200, 400, 800] },
        controlSocket: opts.controlDir ? `${opts.controlDir}/${name}.sock` : null,
      });
      c.members.set(name, { name, host, address: `10.77.0.${i + 1}`, keyPair: keys[i], node, tun });
    }
    return c;
  }

  get(name: string): ClusterMember {
    const m = this.members.get(name);
    if (!m) throw new Error(`no member ${name}`);
    return m;
  }

  /** Injects a UDP packet into `from`'s TUN addressed to `to`'s overlay address. */
  send(from: string, to: string, payload: Uint8Array): void {
    this.get(from).tun.inject(ipv4Udp(this.get(from).address, this.get(to).address, payload));
  }

  /** True once `to`'s TUN has received a packet whose UDP payload equals `payload`. */
  received(to: string, payload: Uint8Array): boolean {
    return this.get(to).tun.written.some((p) => udpPayload(p).equals(Buffer.from(payload)));
  }

  /** Sends `payload` every 50 ms until it arrives or `timeoutMs` passes; resolves to arrival time. */
  async deliver(from: string, to: string, payload: Uint8Array, timeoutMs = 5000): Promise<number> {
    const start = Date.now();
    while (Date.now() - start < timeoutMs) {
      this.send(from, to, payload);
      await sleep(50);
      if (this.received(to, payload)) return Date.now() - start;
    }
    throw new Error(`${from} → ${to}: not delivered within ${timeoutMs} ms`);
  }

  async close(): Promise<void> {
    for (const m of this.members.values()) await m.node.stop();
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}
