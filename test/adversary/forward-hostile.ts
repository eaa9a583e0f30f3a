// Hostile members for the data-plane attacks (SECURITY.md, issue 10 attacks 5, 6, 7, 9): real cluster
// nodes — a real member key, real sessions, the real daemon — whose underlay socket is wrapped, so a
// test can make one strip routes, drop what it relays, spoof its source address, or send packets it
// crafts with the project's own codecs and its own session keys.
import { systemClock } from '../../src/clock.js';
import type { NodeId } from '../../src/identity/node-id.js';
import { listBatch, type MemoryNetwork, type MemoryTransport } from '../../src/transport/memory-transport.js';
import { OneByOneTransport } from '../../src/transport/queued-sends.js';
import { endpointKey, forEachDatagram, type Endpoint, type RxBatch } from '../../src/transport/transport.js';
import { ADDRESS_BYTES, INITIAL_TTL, InnerKind, PacketType } from '../../src/wire/constants.js';
import {
  parseRoutedHeader,
  pathFlagsFor,
  writeRoutedHeader,
  type RoutedHeader,
} from '../../src/wire/routed-header.js';
import { Cluster } from '../e2e/cluster.js';
import { ipv4Udp } from '../e2e/ip-builder.js';

export const PORT = 7946;

type Verdict = 'pass' | 'consumed';

/** A node's underlay socket with hooks on both directions and a raw send (own or spoofed source). */
export class HostileSocket extends OneByOneTransport {
  /** Sees every datagram arriving for the node; 'consumed' keeps it from the node. */
  inbound: ((data: Buffer, from: Endpoint) => Verdict) | undefined;
  /** Sees every datagram the node sends; 'consumed' keeps it off the wire. */
  outbound: ((data: Buffer, to: Endpoint) => Verdict) | undefined;

  // What the node queues leaves one datagram at a time (OneByOneTransport), through the outbound hook.
  constructor(
    readonly inner: MemoryTransport,
    private readonly net: MemoryNetwork,
  ) {
    super();
  }

  get port(): number {
    return this.inner.port;
  }

  get local(): Endpoint {
    return this.inner.local;
  }

  send(data: Buffer, to: Endpoint): void {
    if (this.outbound?.(data, to) !== 'consumed') this.inner.send(data, to);
  }

  /** The node gets each batch minus what the inbound hook consumed. */
  onBatch(handler: (batch: RxBatch) => void): void {
    this.inner.onBatch((batch) => {
      const kept: Array<{ data: Buffer; from: Endpoint }> = [];
      forEachDatagram(batch, (data, from) => {
        if (this.inbound?.(data, from) !== 'consumed') kept.push({ data: Buffer.from(data), from });
      });
      if (kept.length > 0) handler(listBatch(kept));
    });
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  /** Puts `data` on the wire to `to`, from this node's own address or any other (spoofed). */
  raw(data: Buffer, to: Endpoint, from: Endpoint = this.inner.local): void {
    this.net.deliver(from, to, data);
  }
}

export interface Adversaries {
  c: Cluster;
  /** The wrapped socket of a node (every node has one; they pass everything until a test says otherwise). */
  sock(name: string): HostileSocket;
  id(name: string): NodeId;
  ep(name: string): Endpoint;
  key(name: string): string;
  drops(name: string, reason: string): number;
  /** Log lines of every node (warnings of path failures and the like). */
  logs: string[];
}

export async function adversaryCluster(
  names: string[],
  opts: { subnets?: Record<string, string[]> } = {},
): Promise<Adversaries> {
  const socks = new Map<string, HostileSocket>();
  const logs: string[] = [];
  const c = await Cluster.create(names, {
    ...opts,
    logLines: logs,
    wrap: (name, t, net) => {
      const s = new HostileSocket(t, net);
      socks.set(name, s);
      return s;
    },
  });
  const ep = (name: string): Endpoint => ({ host: c.get(name).host, port: PORT });
  return {
    c,
    logs,
    sock: (name) => socks.get(name) as HostileSocket,
    id: (name) => c.get(name).node.self.id,
    ep,
    key: (name) => endpointKey(ep(name)),
    drops: (name, reason) => c.get(name).node.counters.drops.get(reason) ?? 0,
  };
}

/** The routed header of a datagram, or undefined if it has none. */
export function header(data: Buffer): RoutedHeader | undefined {
  const h = parseRoutedHeader(data, data.length);
  return typeof h === 'string' ? undefined : h;
}

/** The same datagram with its route taken out: what a relay would send to pass it off as direct. */
export function stripRoute(data: Buffer, h: RoutedHeader): Buffer {
  const rest = data.subarray(h.addrOffset);
  const out = Buffer.alloc(4 + rest.length);
  out[0] = data[0];
  out[1] = data[1];
  out[2] = 0;
  out[3] = 0;
  rest.copy(out, 4);
  return out;
}

export interface CraftOptions {
  /** The route (relays) written in the header; default none. */
  relays?: NodeId[];
  /** routePos as sent; default 0. */
  pos?: number;
  /** Flags the packet is sealed with; default what the route implies (an honest seal). */
  pathFlags?: number;
}

/**
 * A Data packet sealed by member `from` for member `to` with `from`'s own current session: exactly
 * what a compromised member could put on the wire. Throws if `from` has no session with `to` yet.
 */
export function craft(
  a: Adversaries,
  from: string,
  to: string,
  plaintext: Buffer,
  opts: CraftOptions = {},
): Buffer {
  const relays = opts.relays ?? [];
  const now = systemClock.now();
  const keypair = a.c.get(from).node.sessions.sendKeypair(a.id(to), now);
  if (!keypair) throw new Error(`${from} has no session with ${to}`);
  const buf = Buffer.alloc(4 + 4 * relays.length + ADDRESS_BYTES + 20 + plaintext.length + 16);
  const body = writeRoutedHeader(buf, PacketType.Data, INITIAL_TTL, relays, a.id(from), a.id(to));
  buf[3] = opts.pos ?? 0;
  const end = keypair.seal(
    buf,
    body - ADDRESS_BYTES,
    plaintext,
    now,
    opts.pathFlags ?? pathFlagsFor(relays.length),
  );
  return buf.subarray(0, end);
}

/** Inner plaintext: an IPv4/UDP packet from `src` to `dst` (overlay or any addresses). */
export function innerIp(src: string, dst: string, payload: Buffer): Buffer {
  return Buffer.concat([Buffer.from([InnerKind.IPPacket]), ipv4Udp(src, dst, payload)]);
}

/** An inner probe reply with `id`, as the prober and `overlayd ping` use them. */
export function innerProbeReply(id: number): Buffer {
  const b = Buffer.alloc(5);
  b[0] = InnerKind.ProbeReply;
  b.writeUInt32BE(id >>> 0, 1);
  return b;
}
