// The real data plane (forward/) of a few members over in-memory batch doubles: MemoryTun (with or
// without offload emulation) and MemoryTransport on a MemoryNetwork, real PeerTables and SessionTables
// with completed handshakes, and small fakes for what the data plane asks the prober and the router:
// which links are alive and which path each destination takes. No timers: the clock is manual, and
// delivery over the network is a setImmediate, which `settle()` lets run.
import { ManualClock } from '../../src/clock.js';
import { DataPlaneCounters } from '../../src/forward/counters.js';
import { DataPlane } from '../../src/forward/data-plane.js';
import { PeerTable } from '../../src/forward/peer-table.js';
import type { EndpointPort, LinkPort, PathPort, ProbePort, RoutePort } from '../../src/forward/ports.js';
import type { NodeId } from '../../src/identity/node-id.js';
import { silentLogger } from '../../src/log.js';
import { SessionTable } from '../../src/session/session-table.js';
import { MemoryTun } from '../../src/tun/memory-tun.js';
import { datagramSlotBytes } from '../../src/wire/sizes.js';
import type { FastLaneEntry, FastLanePort, TunOffloads, TunWriteTarget } from '../../src/tun/tun-device.js';
import { MemoryNetwork, type MemoryTransport } from '../../src/transport/memory-transport.js';
import {
  endpointKey,
  type Endpoint,
  type FastReceiveEntry,
  type FastReceivePort,
} from '../../src/transport/transport.js';
import { member, type Member } from './session-fixtures.js';
import { K } from './session-fixtures.js';

export const PORT = 7946;
export const MTU = 1380;

/** What the prober would say: which direct links are alive, and what the data plane reported. */
export class FakeProber implements ProbePort {
  readonly links = new Map<NodeId, LinkPort>();
  readonly active: NodeId[] = [];
  readonly relayed: NodeId[] = [];
  readonly sessionsUp: NodeId[] = [];
  link(m: NodeId): LinkPort | undefined {
    return this.links.get(m);
  }
  endpoints(m: NodeId): EndpointPort[] {
    const link = this.links.get(m);
    return link ? [{ endpointKey: link.endpointKey, alive: link.alive, srttMs: link.srttMs ?? 0 }] : [];
  }
  onReply(): boolean {
    return false;
  }
  onProbeReceived(): void {}
  learnEndpoint(): boolean {
    return false;
  }
  /** Active windows as markActive opened them (the prober's is 2 s). */
  readonly activeUntils = new Map<NodeId, number>();
  markActive(m: NodeId, now: number): void {
    this.active.push(m);
    this.activeUntils.set(m, now + 2000);
  }
  activeUntil(m: NodeId): number {
    return this.activeUntils.get(m) ?? -Infinity;
  }
  noteRelayed(m: NodeId): void {
    this.relayed.push(m);
  }
  sessionUp(m: NodeId): void {
    this.sessionsUp.push(m);
  }
  /** Members a bounded probe set leaves to relays (no punch for them). */
  readonly leftToRelays = new Set<NodeId>();
  wantsDirectLink(m: NodeId): boolean {
    return !this.leftToRelays.has(m);
  }
  readonly punched: NodeId[] = [];
  punch(m: NodeId): string[] {
    this.punched.push(m);
    return [];
  }
}

/** What the router would say: one path per destination, set by the test. */
export class FakeRouter implements RoutePort {
  readonly paths = new Map<NodeId, PathPort>();
  readonly control: Array<{ from: NodeId; message: Buffer }> = [];
  route(dst: NodeId): PathPort | undefined {
    return this.paths.get(dst);
  }
  receiveControl(from: NodeId, message: Uint8Array): void {
    this.control.push({ from, message: Buffer.from(message) });
  }
  avoid(): void {}
  /** Link MTUs as their origins would advertise them, by `${from}>${to}`; set by the test. */
  readonly linkMtus = new Map<string, number>();
  /** What the data plane published about its own links. */
  readonly ownLinkMtus = new Map<NodeId, number | undefined>();
  linkMtu(from: NodeId, to: NodeId): number | undefined {
    return this.linkMtus.get(`${from}>${to}`);
  }
  setOwnLinkMtu(neighbor: NodeId, datagram: number | undefined): void {
    this.ownLinkMtus.set(neighbor, datagram);
  }
}

export interface Site {
  name: string;
  m: Member;
  index: number;
  address: string;
  address6: string;
  endpoint: Endpoint;
  tun: MemoryTun;
  transport: MemoryTransport;
  peers: PeerTable;
  sessions: SessionTable;
  prober: FakeProber;
  router: FakeRouter;
  counters: DataPlaneCounters;
  dp: DataPlane;
  /** With HarnessOptions.fastLane. */
  lane: RecordingFastLane | undefined;
  rx: RecordingFastReceive | undefined;
}

export interface HarnessOptions {
  /** Offloads each site's TUN emulates (default none). */
  offloads?: Record<string, TunOffloads>;
  /** Every site's TUN MTU (default 1380); the transports' send slots follow it (wire/sizes.ts). */
  mtu?: number;
  /** network.mssClamp at every site. */
  mssClamp?: boolean;
  /** Give every site's TUN a RecordingFastLane and its transport a fastRoute (forward/fast-lane.ts). */
  fastLane?: boolean;
}

/** Slots a recording lane keeps (slot → entry), and the counters a test says the lane produced. */
class RecordingSlots<E> {
  readonly slots = 8;
  readonly entries = new Map<number, E>();
  readonly stats: Float64Array;
  private readonly out: Float64Array;

  constructor(readonly statFields: number) {
    this.stats = new Float64Array(this.slots * statFields);
    this.out = new Float64Array(this.slots * statFields);
  }

  /** set() calls so far. */
  sets = 0;

  set(slot: number, entry: E): void {
    this.sets++;
    this.entries.set(slot, entry);
  }
  clear(slot: number): void {
    if (slot < 0) this.entries.clear();
    else this.entries.delete(slot);
  }
  /** take() calls so far: one per sync of the lane. */
  takes = 0;

  take(): Float64Array {
    this.takes++;
    this.out.set(this.stats);
    this.stats.fill(0);
    return this.out;
  }
}

/**
 * A fast lane that records what the data plane installs (slot → entry) and reports what the test says
 * it sent. Its clock runs 5 s ahead of the harness clock, so a missing conversion shows.
 */
export class RecordingFastLane extends RecordingSlots<FastLaneEntry> implements FastLanePort {
  generation = 0;

  constructor(private readonly clock: ManualClock) {
    super(6);
  }

  clockMs(): number {
    return this.clock.now() + 5000;
  }
  override set(slot: number, entry: FastLaneEntry): void {
    super.set(slot, { ...entry, header: Buffer.from(entry.header.subarray(0, entry.headerLength)) });
  }
  /** False: the device fails writes (down), as native-tun.ts knows it. */
  healthy = true;
  /** What noteWrites was told, in order. */
  readonly writes: Array<[number, number, number]> = [];
  noteWrites(written: number, failed: number, errno: number): void {
    this.writes.push([written, failed, errno]);
    if (failed > 0) this.healthy = false; // as native-tun.ts starts bringing the device back
  }
  writeTarget(): TunWriteTarget | undefined {
    return this.healthy ? { fd: 98, vnet: false } : undefined;
  }
  /** The entry whose address is `addr` (dotted IPv4 or the harness's fd77:: IPv6). */
  entryFor(addr: string): FastLaneEntry | undefined {
    for (const e of this.entries.values()) if (addressText(e.addr) === addr) return e;
    return undefined;
  }
  /** Slot of the entry for `addr`. */
  slotOf(addr: string): number {
    for (const [slot, e] of this.entries) if (addressText(e.addr) === addr) return slot;
    return -1;
  }
}

/** The transport's inbound lane, recording as RecordingFastLane does (slot → entry). */
export class RecordingFastReceive extends RecordingSlots<FastReceiveEntry> implements FastReceivePort {
  setups: Array<{ self: number; tun: TunWriteTarget | undefined }> = [];

  constructor() {
    super(14);
  }

  setup(self: number, tun: TunWriteTarget | undefined): void {
    this.setups.push({ self, tun });
  }
  /** The slot of the entry for our receiver index `index`. */
  slotOf(index: number): number {
    for (const [slot, e] of this.entries) if (e.index === index) return slot;
    return -1;
  }
}

function addressText(a: Uint8Array): string {
  if (a.length === 4) return a.join('.');
  return `fd77::${a[15]}`;
}

export class ForwardHarness {
  readonly net = new MemoryNetwork();
  readonly clock = new ManualClock(1_000);
  readonly sites = new Map<string, Site>();

  constructor(names: string[], opts: HarnessOptions = {}) {
    const members = names.map((name, i) => ({
      name,
      m: member(40 + i),
      index: i + 1,
      address: `10.77.0.${i + 1}`,
      address6: `fd77::${i + 1}`,
    }));
    const inits = members.map((x) => ({
      id: x.m.id,
      name: x.name,
      publicKey: x.m.keyPair.publicKey,
      address: x.address,
      address6: x.address6,
    }));
    let wall = 1_700_000_000_000;
    for (const x of members) {
      const endpoint = { host: `192.0.2.${x.index}`, port: PORT };
      const peers = new PeerTable(inits, x.m.id);
      const sessions = new SessionTable({
        localKeyPair: x.m.keyPair,
        localId: x.m.id,
        peers: members.filter((y) => y !== x).map((y) => ({ id: y.m.id, publicKey: y.m.keyPair.publicKey })),
        wallClock: () => (wall += 1000),
      });
      const mtu = opts.mtu ?? MTU;
      const lane = opts.fastLane ? new RecordingFastLane(this.clock) : undefined;
      const tun = new MemoryTun({
        name: `t${x.name}`,
        mtu,
        offloads: opts.offloads?.[x.name],
        fastLanePort: lane,
      });
      const transport = this.net.attach(endpoint.host, PORT, datagramSlotBytes(mtu));
      if (lane) {
        // A socket number and the endpoint's text as its "record" (one per endpoint, as the native
        // transport caches them): the lane is only recorded here.
        const records = new Map<string, Buffer>();
        transport.fastRoute = (to) => {
          if (to.via === 'ws') return undefined;
          const key = `${to.host}:${to.port}`;
          if (!records.has(key)) records.set(key, Buffer.from(key));
          return { fd: 99, record: records.get(key)! };
        };
        transport.fastReceive = new RecordingFastReceive();
      }
      const prober = new FakeProber();
      const router = new FakeRouter();
      const counters = new DataPlaneCounters();
      const dp = new DataPlane({
        self: x.m.id,
        peers,
        sessions,
        prober,
        router,
        transport,
        tun,
        counters,
        clock: this.clock,
        log: silentLogger,
        wake: () => undefined, // tests run the data plane's timer work themselves
        mssClamp: opts.mssClamp,
      });
      transport.onBatch(dp.inbound.onBatch);
      tun.start(dp.outbound.onTunBatch);
      this.sites.set(x.name, {
        ...x,
        endpoint,
        tun,
        transport,
        peers,
        sessions,
        prober,
        router,
        counters,
        dp,
        lane,
        rx: transport.fastReceive as RecordingFastReceive | undefined,
      });
    }
  }

  site(name: string): Site {
    const s = this.sites.get(name);
    if (!s) throw new Error(`no site ${name}`);
    return s;
  }

  /**
   * A direct link between two sites: each one's prober calls it alive, each endpoint is known and
   * bound to its member (as after a probe answered from it), and the two have a confirmed session.
   */
  async link(a: string, b: string): Promise<void> {
    this.setLink(a, b, true);
    this.setLink(b, a, true);
    await this.handshake(a, b);
  }

  /** `from`'s prober calls its link to `to` alive or dead (one direction). */
  setLink(from: string, to: string, alive: boolean): void {
    const x = this.site(from);
    const y = this.site(to);
    const [key] = x.peers.setEndpoints(y.m.id, [y.endpoint]);
    x.peers.bind(key!, y.m.id, this.clock.now()); // as after a probe answered from there
    x.prober.links.set(y.m.id, { alive, endpointKey: endpointKey(y.endpoint) });
  }

  /** A handshake between two sites' session tables, confirmed by a keepalive through the data plane. */
  async handshake(a: string, b: string): Promise<void> {
    const x = this.site(a);
    const y = this.site(b);
    const now = this.clock.now();
    const init = x.sessions.createInitiation(y.m.id, now);
    const res = y.sessions.consumeInitiation(x.m.id, init, K, now);
    if (!res.ok) throw new Error(`handshake ${a}→${b}: ${res.reason}`);
    const done = x.sessions.consumeResponse(y.m.id, res.response, K, now);
    if (!done.ok) throw new Error(`handshake ${a}←${b}: ${done.reason}`);
    // The responder sends with the new keys only once the initiator used them.
    x.dp.outbound.sendSealed(y.m.id, Buffer.from([0]), now, false);
    x.transport.flush();
    await settle();
  }

  /** `at` routes to `dst` along `path` (site names, `at` first). */
  route(at: string, dst: string, path: string[]): void {
    this.site(at).router.paths.set(this.site(dst).m.id, { nodes: path.map((n) => this.site(n).m.id) });
  }

  /** Total of one drop reason at a site. */
  drops(at: string, reason: string): number {
    return this.site(at).counters.drops.get(reason) ?? 0;
  }
}

/** Lets queued deliveries (setImmediate) and the TUN's batched reads run. */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
}
