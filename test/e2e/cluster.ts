// N real OverlayNodes in one process, joined by a MemoryNetwork and backed by MemoryTuns: the whole
// daemon (sessions, probes, routing, data plane) minus the kernel. Real timers and shortened handshake
// retries so tests run in seconds, or (`virtual`) one event queue as every node's clock and timers and
// the network's delay line, so a test steps the whole cluster through virtual time with run(ms).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/parse.js';
import type { OverlayConfig } from '../../src/config/types.js';
import { generateSeed, keyPairFromSeed, type KeyPair } from '../../src/identity/keys.js';
import { createLogger, silentLogger, type Logger } from '../../src/log.js';
import { OverlayNode, type NodeInputs } from '../../src/node.js';
import type { SessionParamsInput } from '../../src/session/params.js';
import { MemoryTun } from '../../src/tun/memory-tun.js';
import { MemoryNetwork, type MemoryTransport } from '../../src/transport/memory-transport.js';
import type { Transport } from '../../src/transport/transport.js';
import { EventQueue } from '../sim/event-queue.js';
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

export interface ClusterOptions {
  log?: boolean;
  /** Key pairs by member index; default fresh random ones. */
  keys?: KeyPair[];
  /** Virtual time: every node runs on one event queue, and each datagram takes `latencyMs`. */
  virtual?: { latencyMs: number };
  /** Extra lines for the network block of peers.yaml (e.g. `neighbours: 2`). */
  network?: string[];
  /** Further inputs for member i's node (random source, wall clock, parameters). */
  inputs?: (i: number) => Partial<NodeInputs>;
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
  /** Session timing for every node (default: only shortened handshake retries). */
  sessionParams?: SessionParamsInput;
  /** peers.yaml `subnets` per member name (YAML flow items, e.g. '{ prefix: 10.1.0.0/16, masquerade: true }'). */
  subnets?: Record<string, string[]>;
}

export class Cluster {
  readonly net: MemoryNetwork;
  readonly members = new Map<string, ClusterMember>();
  /** The virtual clock and timers, when created with `virtual`. */
  readonly queue: EventQueue | undefined;
  config!: OverlayConfig;

  private constructor(opts: ClusterOptions) {
    const latency = opts.virtual?.latencyMs;
    const queue = latency === undefined ? undefined : new EventQueue();
    this.queue = queue;
    this.net = new MemoryNetwork(
      queue && {
        schedule: (deliver, extraDelayMs) => queue.after((latency ?? 0) + extraDelayMs, deliver),
      },
    );
  }

  static async create(names: string[], opts: ClusterOptions = {}): Promise<Cluster> {
    const c = new Cluster(opts);
    const keys = opts.keys ?? names.map(() => keyPairFromSeed(generateSeed()));
    const yaml = [
      'network:',
      '  prefix: 10.77.0.0/24',
      `  port: ${PORT}`,
      ...(opts.network ?? []).map((line) => `  ${line}`),
      'peers:',
      ...names.flatMap((name, i) => [
        `  - name: ${name}`,
        `    publicKey: ${keys[i].publicKey.toString('base64')}`,
        `    address: 10.77.0.${i + 1}`,
        `    endpoints: [192.0.2.${i + 1}:${PORT}]`,
        ...(opts.subnets?.[name] ? [`    subnets: [${opts.subnets[name].join(', ')}]`] : []),
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
        sessionParams: { retryDelaysMs: [100, 200, 400, 800], ...opts.sessionParams },
        controlSocket: opts.controlDir ? `${opts.controlDir}/${name}.sock` : null,
        ...(c.queue ? { clock: c.queue.clock, timers: c.queue } : {}),
        ...opts.inputs?.(i),
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

  /**
   * Sends `payload` every 50 ms until it arrives or `timeoutMs` passes; resolves to the time it took
   * (virtual ms on a virtual cluster).
   */
  async deliver(from: string, to: string, payload: Uint8Array, timeoutMs = 5000): Promise<number> {
    const now = (): number => this.queue?.now ?? Date.now();
    const start = now();
    while (now() - start < timeoutMs) {
      this.send(from, to, payload);
      await this.wait(50);
      if (this.received(to, payload)) return now() - start;
    }
    throw new Error(`${from} → ${to}: not delivered within ${timeoutMs} ms`);
  }

  /** Lets `ms` pass: virtual time on a virtual cluster, real time otherwise. */
  async wait(ms: number): Promise<void> {
    if (this.queue) await this.run(ms);
    else await sleep(ms);
  }

  /**
   * Runs a virtual cluster for `ms` of virtual time, event by event, each event a macrotask of its
   * own as each timer or datagram is on real timers. After every event it yields to the event loop,
   * so what that event queued goes out before the next one runs, at the same virtual instant: the
   * transports' sends (flushed on process.nextTick) and the memory TUNs' deliveries (setImmediate).
   * Running all of an instant's events in one go instead would hold every node's sends back until
   * the instant's last event, so same-instant datagrams reach the network (and arrive) grouped by
   * sender rather than in the order they were sent, and each node's cores see a different order of
   * inputs than the simulator's nodes (which send at the call).
   */
  async run(ms: number): Promise<void> {
    const q = this.queue;
    if (!q) throw new Error('run() needs a cluster created with `virtual`');
    const until = q.now + ms;
    do await new Promise((r) => setImmediate(r));
    while (q.runNext(until));
    q.runUntil(until);
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
