// The JavaScript side of the outbound fast lane (native/fast-lane.h, the TUN's FastLanePort): which
// destinations native code may seal and send to without entering V8, with what, for how long; and what
// it carried, told to those who would have seen each packet on the JS path.
//
// Why it is safe to decide ahead: what outbound.ts decides per run — keypair, route, first hop and its
// endpoint, path MTU — changes only when JavaScript runs (a timer, a received batch, a TUN batch it
// handled) or with time (a keypair's age, an active window's end). So:
//   - after those events the data plane calls sync() (fast-lanes.ts: every timer wake-up and reload,
//     batches at most every 10 ms): every entry is decided again from the same forwarding table the JS
//     path uses, and replaced, or removed if the destination no longer qualifies. A dead link (a timer's
//     verdict) reaches the lane in the wake-up that found it; what a batch teaches, within 10 ms;
//   - an entry is valid no longer than the keypair may seal, the prober's active window on the first
//     hop and the path watch's data window on the destination (so a packet the lane sends never finds
//     the prober or the watch believing the path idle), and FAST_LANE_LEASE_MS (what an event outside
//     the data plane could leave stale).
//   - a destination qualifies only after the JS path sent it data (want()), so the first packet after
//     a quiet spell always goes through JavaScript: it marks the link active, starts the path watch and
//     asks for a handshake if needed, exactly as before.
// What the lane sent is read back at each sync: the member's counters, the prober's "link in use" and
// the path watch's "carries data" (at the sync's time: while a destination is busy the prober wakes
// every 50 ms, so the windows it keeps are late by at most that).
//
// Only packets to a member's own overlay address take the lane (not its subnets: gateway choice is
// another input), and only on a transport that can hand out a socket (UDP, not ws).
import type { NodeId } from '../identity/node-id.js';
import { FastStat, type FastLaneEntry, type FastLanePort } from '../tun/tun-device.js';
import type { ForwardContext } from './context.js';
import type { ForwardingTable } from './forwarding-table.js';
import { sameRelays } from './path-liveness.js';
import type { PathWatch } from './path-watch.js';

/** Longest an entry is used without JavaScript deciding it again. */
export const FAST_LANE_LEASE_MS = 1000;
/**
 * An entry whose decision has not changed is handed to native code again only when less than this is
 * left of it: a sync then costs one native call per lane (the take), not one per address and session.
 */
export const FAST_LANE_RENEW_MS = FAST_LANE_LEASE_MS / 2;

interface Installed {
  /** One slot per overlay address of the member, in `addrs` order. */
  slots: number[];
  addrs: Uint8Array[];
  /** What `addrs` were made from (Member.addr4, addr6Key): a reload may change them. */
  addr4: number;
  addr6Key: string | undefined;
  nextHop: NodeId;
  /** What native code holds: the decision (less its validity) and until when (our clock). */
  decision: Decision | undefined;
}

type Decision = Omit<FastLaneEntry, 'addr' | 'validUntilMs'> & {
  until: number;
  nextHop: NodeId;
  /** The route's relays, and the first hop's endpoint (interned: identity says "same"). */
  relays: readonly NodeId[];
  endpoint: unknown;
};

export class FastLane {
  private readonly wanted = new Set<NodeId>();
  /** Wanted destinations the last sync could not install. */
  private readonly refused = new Set<NodeId>();
  private readonly installed = new Map<NodeId, Installed>();
  private free: number[] = [];
  private generation = Number.NaN;

  constructor(
    private readonly ctx: ForwardContext,
    private readonly table: ForwardingTable,
    private readonly watch: PathWatch,
    /** Largest IP packet for `dst` the JS path would seal (its path MTU, within a datagram). */
    private readonly maxPacket: (dst: NodeId, now: number) => number,
    private readonly port: FastLanePort,
  ) {}

  /** The JS path just sealed data for `dst`: the lane may carry what follows. */
  want(dst: NodeId): void {
    if (!this.installed.has(dst)) this.wanted.add(dst);
  }

  /**
   * Destinations the JS path just sent to that the lane does not hold yet, and did not refuse at the
   * last sync (a ws endpoint, full slots): those wait for the next regular sync, or a flow to one of
   * them would sync the lanes after every batch.
   */
  get waiting(): boolean {
    for (const dst of this.wanted) if (!this.refused.has(dst)) return true;
    return false;
  }

  /** Destinations the lane holds now. */
  get size(): number {
    return this.installed.size;
  }

  /**
   * After each event of the data plane: read back what the lane sent, then decide every entry again.
   * Throws only if the device does (closed under us): FastLanes then turns the lane off.
   */
  sync(now: number): void {
    if (this.installed.size === 0 && this.wanted.size === 0) return;
    const port = this.port;
    if (port.generation !== this.generation) {
      // First use, or the device was created again: its slots are all empty. What they held is decided
      // again below.
      this.generation = port.generation;
      for (const dst of this.installed.keys()) this.wanted.add(dst);
      this.installed.clear();
      this.free = Array.from({ length: port.slots }, (_, k) => port.slots - 1 - k);
    }
    const offset = port.clockMs() - now;
    this.pull(now);
    for (const dst of this.installed.keys()) if (!this.wanted.has(dst)) this.refresh(dst, now, offset);
    this.refused.clear();
    for (const dst of this.wanted) {
      this.refresh(dst, now, offset);
      if (!this.installed.has(dst)) this.refused.add(dst);
    }
    this.wanted.clear();
  }

  /** Drops the entries of a member that left the configuration. */
  forget(dst: NodeId): void {
    this.wanted.delete(dst);
    const inst = this.installed.get(dst);
    if (inst !== undefined) this.remove(dst, inst);
  }

  /** Empties every slot (the lane is being turned off). */
  clearAll(): void {
    this.port.clear(-1);
  }

  /** Counters, "in use" and "carries data" for what the lane sent since the last sync. */
  private pull(now: number): void {
    const st = this.port.take();
    const fields = this.port.statFields;
    let packets = 0;
    let dropped = 0;
    let errno = 0;
    for (const [dst, inst] of this.installed) {
      let n = 0;
      let bytes = 0;
      let largest = 0;
      for (const slot of inst.slots) {
        const o = slot * fields;
        n += st[o + FastStat.Packets]!;
        bytes += st[o + FastStat.Bytes]!;
        largest = Math.max(largest, st[o + FastStat.Largest]!);
        if (st[o + FastStat.Drops]! > 0) {
          dropped += st[o + FastStat.Drops]!;
          errno = st[o + FastStat.Errno]!;
        }
      }
      if (n === 0) continue;
      packets += n;
      const t = this.ctx.counters.peer(dst);
      t.txPackets += n;
      t.txBytes += bytes;
      this.ctx.prober.markActive(inst.nextHop, now);
      this.watch.noteData(dst, largest + 1, now); // + the inner-kind byte, as the JS path counts
    }
    if (packets === 0) return;
    this.ctx.counters.fastLanePackets += packets;
    this.ctx.transport.countFastSends?.(packets - dropped, dropped, errno);
  }

  private refresh(dst: NodeId, now: number, offset: number): void {
    const d = this.decide(dst, now);
    let inst = this.installed.get(dst);
    if (d === undefined) {
      if (inst !== undefined) this.remove(dst, inst);
      return;
    }
    const m = this.ctx.peers.get(dst)!;
    const addrs = this.addresses(dst);
    if (inst !== undefined && inst.slots.length !== addrs.length) {
      this.remove(dst, inst); // a reload changed the member's addresses
      inst = undefined;
    }
    if (inst === undefined) {
      if (this.free.length < addrs.length) return; // full: the JS path carries it
      const slots = addrs.map(() => this.free.pop()!);
      inst = {
        slots,
        addrs,
        addr4: m.addr4,
        addr6Key: m.addr6Key,
        nextHop: d.nextHop,
        decision: undefined,
      };
      this.installed.set(dst, inst);
    }
    if (
      inst.addrs === addrs &&
      sameDecision(inst.decision, d) &&
      inst.decision!.until - now >= FAST_LANE_RENEW_MS
    )
      return; // native code holds this very decision, with time to spare
    inst.addrs = addrs;
    inst.addr4 = m.addr4;
    inst.addr6Key = m.addr6Key;
    inst.nextHop = d.nextHop;
    inst.decision = d;
    const validUntilMs = d.until + offset;
    for (let k = 0; k < addrs.length; k++) {
      this.port.set(inst.slots[k]!, {
        addr: addrs[k]!,
        keypairState: d.keypairState,
        header: d.header,
        headerLength: d.headerLength,
        maxPacket: d.maxPacket,
        fd: d.fd,
        record: d.record,
        validUntilMs,
        clampSyn: d.clampSyn,
      });
    }
  }

  /** What the JS path would do for `dst` now, if the lane may do it too; undefined if not. */
  private decide(dst: NodeId, now: number): Decision | undefined {
    const { ctx } = this;
    if (dst === ctx.self || !ctx.peers.has(dst)) return undefined;
    const entry = this.table.lookup(dst, now);
    if (typeof entry === 'string') return undefined;
    const { keypair, target } = entry;
    const route = ctx.transport.fastRoute?.(target.endpoint);
    if (route === undefined) return undefined;
    const until = Math.min(
      now + FAST_LANE_LEASE_MS,
      ctx.prober.activeUntil?.(target.nextHop) ?? -Infinity,
      this.watch.dataUntil(dst),
      keypair.expiresAt ?? -Infinity,
    );
    if (!(until > now)) return undefined;
    return {
      keypairState: keypair.state,
      header: entry.header,
      headerLength: entry.headerLength,
      maxPacket: this.maxPacket(dst, now),
      fd: route.fd,
      record: route.record,
      clampSyn: ctx.mssClamp === true,
      until,
      nextHop: target.nextHop,
      relays: target.relays,
      endpoint: target.endpoint,
    };
  }

  /** The member's overlay addresses as the lane matches them (IPv4, then IPv6 if it has one). */
  private addresses(dst: NodeId): Uint8Array[] {
    const m = this.ctx.peers.get(dst)!;
    const inst = this.installed.get(dst);
    if (inst !== undefined && inst.addr4 === m.addr4 && inst.addr6Key === m.addr6Key) return inst.addrs;
    const a4 = Buffer.alloc(4);
    a4.writeUInt32BE(m.addr4 >>> 0);
    return m.addr6Key === undefined ? [a4] : [a4, Buffer.from(m.addr6Key, 'latin1')];
  }

  private remove(dst: NodeId, inst: Installed): void {
    for (const slot of inst.slots) {
      this.port.clear(slot);
      this.free.push(slot);
    }
    this.installed.delete(dst);
  }
}

/**
 * True if `b` decides what `a` did, and lasts no shorter (a shorter validity must reach native code).
 * The header is the forwarding table's buffer, encoded again only when relays, first hop or endpoint
 * change, so those stand for it.
 */
function sameDecision(a: Decision | undefined, b: Decision): boolean {
  return (
    a !== undefined &&
    a.keypairState === b.keypairState &&
    sameRelays(a.relays, b.relays) &&
    a.nextHop === b.nextHop &&
    a.endpoint === b.endpoint &&
    a.headerLength === b.headerLength &&
    a.maxPacket === b.maxPacket &&
    a.fd === b.fd &&
    a.record === b.record &&
    a.clampSyn === b.clampSyn &&
    b.until >= a.until
  );
}
