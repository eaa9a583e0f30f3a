// The native UDP sockets' inbound fast lane (native/rx-lane.h) behind FastReceivePort. Each socket
// (IPv4, IPv6) has its own lane; an entry lives on the socket of its endpoint's family, under the same
// slot number on both, so forward/rx-lane.ts sees one lane.
import type { UdpBinding } from './native-udp-binding.js';
import { FastReceiveStat, type FastReceiveEntry, type FastReceivePort } from './transport.js';

/** What the lane needs of a socket. */
export interface LaneSocket {
  readonly family: 4 | 6;
  readonly handle: Buffer;
}

export class NativeFastReceive implements FastReceivePort {
  readonly slots: number;
  readonly statFields: number;
  private readonly sum: Float64Array;
  private readonly one: Float64Array;

  constructor(
    private readonly b: UdpBinding,
    private readonly sockets: readonly LaneSocket[],
    /** Datagrams this long or longer stay on the JS path (the standing-delay control looks at them). */
    private readonly maxDatagram: number,
  ) {
    this.slots = b.rx_slots;
    this.statFields = b.rx_stat_fields;
    // The counters are read by position: an addon built from another layout would misreport them all.
    if (this.statFields !== FastReceiveStat.Count)
      throw new Error(
        `rx lane: the addon has ${this.statFields} counters per slot, this code reads ${FastReceiveStat.Count}`,
      );
    this.sum = new Float64Array(this.slots * this.statFields);
    this.one = new Float64Array(this.slots * this.statFields);
  }

  setup(self: number, tun: { fd: number; vnet: boolean } | undefined): void {
    for (const s of this.sockets)
      this.b.udp_rx_setup(s.handle, self >>> 0, this.maxDatagram, tun?.fd ?? -1, tun?.vnet ?? false);
  }

  set(slot: number, e: FastReceiveEntry): void {
    const family = e.record[18] === 4 ? 4 : 6;
    for (const s of this.sockets) {
      if (s.family !== family) {
        this.b.udp_rx_clear(s.handle, slot);
        continue;
      }
      this.b.udp_rx_set(
        s.handle,
        slot,
        e.index >>> 0,
        e.peer >>> 0,
        e.record,
        e.keypairState,
        e.addrs,
        e.addrFlags,
        e.validUntilMs,
      );
    }
  }

  clear(slot: number): void {
    for (const s of this.sockets) this.b.udp_rx_clear(s.handle, slot);
  }

  take(): Float64Array {
    this.sum.fill(0);
    for (const s of this.sockets) {
      this.b.udp_rx_take(s.handle, this.one);
      for (let i = 0; i < this.one.length; i++) this.sum[i] += this.one[i]!;
    }
    return this.sum;
  }
}
