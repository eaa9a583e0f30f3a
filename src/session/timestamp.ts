// TAI64N timestamps carried (encrypted) in every initiation: a responder accepts an initiation from a
// peer only if its timestamp is strictly greater than the last one it accepted from that peer, so a
// recorded initiation cannot be replayed to reset a session. This is the one place session/ reads the
// wall clock (injected), because the comparison must survive restarts of the initiator.
//
// Layout: u64 big-endian seconds (2^62 + 10 + unix seconds, the TAI64 label) || u32 big-endian nanoseconds.
// Nanoseconds are rounded down to a multiple of 2^24 ns (~16.8 ms) as in WireGuard, so the timestamp
// does not give away the sender's precise clock.

export const TIMESTAMP_BYTES = 12;

const TAI64_BASE = 0x4000_0000_0000_000an;
const WHITEN_STEP = 0x100_0000; // 2^24 ns
const NANOS_PER_SECOND = 1_000_000_000;

/** The TAI64N encoding of `wallMs` (milliseconds since the Unix epoch). */
export function encodeTai64n(wallMs: number): Buffer {
  const ms = Math.floor(wallMs);
  const seconds = Math.floor(ms / 1000);
  const nanos = (ms - seconds * 1000) * 1_000_000;
  return writeTai64n(BigInt(seconds), nanos - (nanos % WHITEN_STEP));
}

/** Orders two timestamps (negative, 0, positive). Big-endian fields make byte order numeric order. */
export function compareTai64n(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}

/**
 * Produces strictly increasing timestamps even if the wall clock stalls or steps back, so two
 * initiations made in the same 16.8 ms step (or after an NTP correction) are both acceptable.
 */
export class TimestampSource {
  private lastSeconds = -1n;
  private lastNanos = 0;

  constructor(private readonly wallClock: () => number = Date.now) {}

  next(): Buffer {
    const fresh = encodeTai64n(this.wallClock());
    let seconds = fresh.readBigUInt64BE(0) - TAI64_BASE;
    let nanos = fresh.readUInt32BE(8);
    if (seconds < this.lastSeconds || (seconds === this.lastSeconds && nanos <= this.lastNanos)) {
      // One whitening step after the last value: still on the coarse grid, still strictly greater.
      seconds = this.lastSeconds;
      nanos = this.lastNanos + WHITEN_STEP;
      if (nanos >= NANOS_PER_SECOND) {
        seconds += 1n;
        nanos = 0;
      }
    }
    this.lastSeconds = seconds;
    this.lastNanos = nanos;
    return writeTai64n(seconds, nanos);
  }
}

function writeTai64n(unixSeconds: bigint, nanos: number): Buffer {
  const out = Buffer.alloc(TIMESTAMP_BYTES);
  out.writeBigUInt64BE(TAI64_BASE + unixSeconds, 0);
  out.writeUInt32BE(nanos, 8);
  return out;
}
