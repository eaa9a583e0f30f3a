// The JavaScript side of the inbound fast lane (native/rx-lane.h, the transport's FastReceivePort):
// which receive keypairs native code may open and write to the TUN without entering V8, and what it did.
//
// What inbound.ts does for a Data packet, and why the lane may skip it for an installed keypair:
//   - the routed-header checks, the keypair lookup by receiver index, the src check, the open, the
//     replay window and the inner checks: the lane does them all, natively (inner-check.h);
//   - the standing-delay control: it looks only at datagrams of minDropBytes or more, which the lane
//     leaves to JavaScript;
//   - path learning: an entry takes packets only from an address bound to the member or already known to
//     the prober as one of its endpoints (bound to no one else), from which learning has nothing more to
//     teach, and only direct ones (a relayed packet's reverse route is JavaScript's);
//   - a responder's keypair confirmed and packets that waited for the session released: an entry exists
//     only for a keypair that has received already, and only while nothing waits (hasPending);
//   - control kinds (probes, routing, keepalives): the lane reads the inner kind before opening and
//     leaves anything but an IP packet to JavaScript.
// Entries are installed for what the JS path just delivered (want()), decided again after every event
// of the data plane (sync(), as fast-lane.ts), and valid no longer than the keypair's age limit and a
// lease. What the lane delivered or refused is read back at each sync: the member's counters, the drop
// reasons, the transport's receive count, and the duplicate-key detector's (session, address) pair.
import type { NodeId } from '../identity/node-id.js';
import {
  endpointKey,
  FAST_RECEIVE_DROPS,
  FastReceiveStat,
  type Endpoint,
  type FastReceiveEntry,
  type FastReceivePort,
} from '../transport/transport.js';
import type { FastLanePort } from '../tun/tun-device.js';
import type { ForwardContext } from './context.js';
import { FAST_LANE_LEASE_MS, FAST_LANE_RENEW_MS } from './fast-lane.js';
import type { InnerAddresses } from './deliver-ip.js';

interface Want {
  peer: NodeId;
  from: Endpoint;
}

interface Installed extends Want {
  slot: number;
  /** What native code holds (less its validity), and until when (our clock). */
  held?: Omit<FastReceiveEntry, 'validUntilMs' | 'index'> & { until: number };
}

export class RxLane {
  /** By our receiver index. */
  private readonly wanted = new Map<number, Want>();
  private readonly installed = new Map<number, Installed>();
  /** Wanted receiver indexes the last sync could not install. */
  private readonly refused = new Set<number>();
  private free: number[];
  private tunGeneration = Number.NaN;
  /** The lane has a TUN to write to (a failed write turns it off until the device is healthy). */
  private tunOn = false;

  constructor(
    private readonly ctx: ForwardContext,
    private readonly port: FastReceivePort,
    /** The TUN's lane: its clock, its fd, and whether it was created again. */
    private readonly tun: FastLanePort,
    /** The member's address block for the inner checks (deliver-ip.ts). */
    private readonly addresses: (peer: NodeId) => InnerAddresses | undefined,
    /** Whether packets wait for a session with the member (the JS path releases them on receipt). */
    private readonly hasPending: (peer: NodeId) => boolean,
  ) {
    this.free = Array.from({ length: port.slots }, (_, k) => port.slots - 1 - k);
  }

  /** The JS path delivered a direct IP packet from `peer` at `from` on our receiver index `index`. */
  want(peer: NodeId, index: number, from: Endpoint): void {
    if (!this.installed.has(index)) this.wanted.set(index, { peer, from });
  }

  /** Sessions the JS path just delivered on that the lane does not hold yet, nor refused last (fast-lane.ts). */
  get waiting(): boolean {
    for (const index of this.wanted.keys()) if (!this.refused.has(index)) return true;
    return false;
  }

  /** Receive keypairs the lane holds now. */
  get size(): number {
    return this.installed.size;
  }

  /** Drops the entries of a member that left the configuration. */
  forget(peer: NodeId): void {
    for (const [index, w] of this.wanted) if (w.peer === peer) this.wanted.delete(index);
    for (const [index, inst] of this.installed) if (inst.peer === peer) this.remove(index, inst);
  }

  /** Empties every slot (the lane is being turned off). */
  clearAll(): void {
    this.port.clear(-1);
  }

  /**
   * After each event of the data plane: read back what the lane did, then decide every entry again.
   * Throws only if the sockets or the TUN do (closed under us): FastLanes then turns the lane off.
   */
  sync(now: number): void {
    if (this.installed.size === 0 && this.wanted.size === 0) return;
    const offset = this.tun.clockMs() - now;
    // A write to the TUN failed in the lane: it took nothing since, and takes nothing until the device
    // is healthy again (the JS path's writes meanwhile log the failure and bring it back).
    if (this.pull(now)) this.tunOn = false;
    if (this.tun.generation !== this.tunGeneration || !this.tunOn) {
      // First use, the TUN was created again (a new fd), or it is back after failing.
      this.tunGeneration = this.tun.generation;
      const target = this.tun.writeTarget();
      this.port.setup(this.ctx.self, target);
      this.tunOn = target !== undefined;
    }
    for (const [index, inst] of this.installed) this.refresh(index, inst, now, offset);
    this.refused.clear();
    for (const [index, w] of this.wanted) {
      if (!this.installed.has(index)) this.refresh(index, w, now, offset);
      if (!this.installed.has(index)) this.refused.add(index);
    }
    this.wanted.clear();
  }

  /**
   * Counters, drops and the duplicate-key detector's pair for what the lane did since the last sync.
   * True if a write to the TUN failed.
   */
  private pull(now: number): boolean {
    const st = this.port.take();
    const fields = this.port.statFields;
    let datagrams = 0;
    let written = 0;
    let tunFailed = 0;
    let tunErrno = 0;
    for (const [index, inst] of this.installed) {
      const o = inst.slot * fields;
      const n = st[o + FastReceiveStat.Datagrams]!;
      if (n === 0) continue;
      datagrams += n;
      const packets = st[o + FastReceiveStat.Packets]!;
      written += packets;
      if (packets > 0) {
        const t = this.ctx.counters.peer(inst.peer);
        t.rxPackets += packets;
        t.rxBytes += st[o + FastReceiveStat.Bytes]!;
        this.ctx.counters.fastLaneReceived += packets;
      }
      for (let k = 0; k < FAST_RECEIVE_DROPS.length; k++) {
        const dropped = st[o + FastReceiveStat.FirstDrop + k]!;
        if (dropped === 0) continue;
        this.ctx.counters.drop(FAST_RECEIVE_DROPS[k]!, dropped);
        if (FAST_RECEIVE_DROPS[k] !== 'tun-error') continue;
        tunFailed += dropped;
        tunErrno = st[o + FastReceiveStat.TunErrno]!;
      }
      // Authenticated direct Data from this (session, address): as path-learning.ts tells it per source.
      this.ctx.observer?.dataFrom(inst.peer, endpointKey(inst.from), index, now);
    }
    if (datagrams === 0) return false;
    this.ctx.transport.countFastReceives?.(datagrams);
    // The device logs a failure once and brings itself back (native-tun.ts), as for its own writes.
    this.tun.noteWrites(written, tunFailed, tunErrno);
    return tunFailed > 0;
  }

  private refresh(index: number, w: Want, now: number, offset: number): void {
    let inst = this.installed.get(index);
    const until = this.validUntil(index, w, now);
    const addrs = until > now ? this.addresses(w.peer) : undefined;
    const record = addrs && this.ctx.transport.fastRoute?.(w.from)?.record;
    const keypair = record && this.ctx.sessions.receiveKeypair(index)?.keypair;
    if (!keypair || !addrs || !record) {
      if (inst !== undefined) this.remove(index, inst);
      return;
    }
    if (inst === undefined) {
      const slot = this.free.pop();
      if (slot === undefined) return; // full: the JS path delivers it
      inst = { ...w, slot };
      this.installed.set(index, inst);
    }
    const h = inst.held;
    // Native code holds this very decision, with time to spare (see FAST_LANE_RENEW_MS).
    if (
      h !== undefined &&
      h.peer === w.peer &&
      h.record === record &&
      h.keypairState === keypair.state &&
      h.addrs === addrs.bytes &&
      h.addrFlags === addrs.flags &&
      until >= h.until &&
      h.until - now >= FAST_LANE_RENEW_MS
    )
      return;
    inst.held = {
      peer: w.peer,
      record,
      keypairState: keypair.state,
      addrs: addrs.bytes,
      addrFlags: addrs.flags,
      until,
    };
    this.port.set(inst.slot, { index, ...inst.held, validUntilMs: until + offset });
  }

  /** Until when the lane may open `index` for `w.peer` from `w.from`; not after `now` if not at all. */
  private validUntil(index: number, w: Want, now: number): number {
    const { ctx } = this;
    const found = ctx.sessions.receiveKeypair(index);
    if (found === undefined || found.peer !== w.peer || !found.keypair.receivedAny) return -Infinity;
    if (found.keypair.isExpired(now) || this.hasPending(w.peer)) return -Infinity;
    if (!this.knownSource(w, now)) return -Infinity;
    return Math.min(now + FAST_LANE_LEASE_MS, found.keypair.expiresAt ?? -Infinity);
  }

  /**
   * Whether the JS path would learn nothing from `w.from` (path-learning.ts): an address bound to the
   * member, or one the prober knows for it already and no other member is bound at. An address new to
   * us must reach JavaScript: it is a candidate to probe (a NAT that rebound), or a conflict to count.
   */
  private knownSource(w: Want, now: number): boolean {
    const key = endpointKey(w.from);
    const owner = this.ctx.peers.boundMember(key, now);
    if (owner !== undefined) return owner === w.peer;
    return this.ctx.prober.endpoints(w.peer).some((e) => e.endpointKey === key);
  }

  private remove(index: number, inst: Installed): void {
    this.port.clear(inst.slot);
    this.free.push(inst.slot);
    this.installed.delete(index);
  }
}
