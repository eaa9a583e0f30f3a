// The kernel TUN's outbound fast lane (native/fast-lane.h) behind FastLanePort. The entries live in the
// device's native state: when the device is created again they are gone, and `generation` tells
// forward/fast-lane.ts to install them again.
import type { FastLaneEntry, FastLanePort, TunWriteTarget } from './tun-device.js';

/** What the lane needs of the TUN addon (native/tun.c). */
export interface FastLaneBinding {
  tun_fast_set(
    handle: Buffer,
    slot: number,
    addr: Uint8Array,
    state: Buffer,
    header: Buffer,
    headerLength: number,
    maxPacket: number,
    fd: number,
    record: Uint8Array,
    validUntilMs: number,
    flags: number,
  ): void;
  tun_fast_clear(handle: Buffer, slot: number): void;
  tun_fast_take(handle: Buffer, out: Float64Array): void;
  tun_fast_clock(): number;
  tun_write_target(handle: Buffer, out: Int32Array): void;
  readonly fast_slots: number;
  readonly fast_stat_fields: number;
}

/** native/fast-lane.h FAST_CLAMP_SYN */
const FAST_CLAMP_SYN = 1;

export class NativeFastLane implements FastLanePort {
  readonly slots: number;
  readonly statFields: number;
  private readonly stats: Float64Array;
  private readonly target = new Int32Array(2);

  constructor(
    private readonly b: FastLaneBinding,
    /** The device's current handle (it changes when the device is created again). */
    private readonly handle: () => Buffer,
    /** How many times the device was created again. */
    private readonly recreated: () => number,
    /** False while writes fail (down, deleted) and the device is being brought back. */
    private readonly healthy: () => boolean,
    /** See FastLanePort.noteWrites. */
    readonly noteWrites: (written: number, failed: number, errno: number) => void,
  ) {
    this.slots = b.fast_slots;
    this.statFields = b.fast_stat_fields;
    this.stats = new Float64Array(this.slots * this.statFields);
  }

  get generation(): number {
    return this.recreated();
  }

  clockMs(): number {
    return this.b.tun_fast_clock();
  }

  set(slot: number, e: FastLaneEntry): void {
    this.b.tun_fast_set(
      this.handle(),
      slot,
      e.addr,
      e.keypairState,
      e.header,
      e.headerLength,
      e.maxPacket,
      e.fd,
      e.record,
      e.validUntilMs,
      e.clampSyn ? FAST_CLAMP_SYN : 0,
    );
  }

  clear(slot: number): void {
    this.b.tun_fast_clear(this.handle(), slot);
  }

  take(): Float64Array {
    this.b.tun_fast_take(this.handle(), this.stats);
    return this.stats;
  }

  writeTarget(): TunWriteTarget | undefined {
    if (!this.healthy()) return undefined;
    this.b.tun_write_target(this.handle(), this.target);
    return this.target[0]! < 0 ? undefined : { fd: this.target[0]!, vnet: this.target[1] === 1 };
  }
}
