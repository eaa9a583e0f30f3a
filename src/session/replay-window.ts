// Sliding-window replay filter over packet counters (RFC 6479, as in WireGuard's replay.go), kept in
// native memory (native/aead.c) because the batch open path checks it per packet without returning to
// JS. Each DataKeypair embeds one in its native state; this class is a standalone window over the same
// code, for counter streams that are not Data packets and for the filter's own tests.
//
// The window is a ring of 32-bit blocks; moving forward clears whole blocks, so an update costs O(1)
// amortised however far the counter jumps. One block is slack, so the window proper is `bits - 32`
// counters behind the highest seen. Counters are exact JS integers (below 2^53).
import { packetBinding } from '../native/packet-binding.js';

export class ReplayWindow {
  /** How far behind the highest accepted counter a counter may still be accepted. */
  readonly windowSize: number;
  private readonly state: Buffer;

  /**
   * @param bits  ring size, a power of two >= 64 (window = bits - 32)
   * @param limit counters >= limit are refused (defaults to 2^53, i.e. every exact integer)
   */
  constructor(bits = 8192, limit = Number.MAX_SAFE_INTEGER + 1) {
    const b = packetBinding();
    const bytes = Number.isInteger(bits) ? b.replay_bytes(bits) : -1;
    if (bytes < 0) throw new RangeError(`replay window bits must be a power of two >= 64, got ${bits}`);
    this.state = Buffer.alloc(bytes);
    b.replay_init(this.state, bits, Math.min(limit, Number.MAX_SAFE_INTEGER + 1));
    this.windowSize = bits - 32;
  }

  /**
   * Cheap pre-check before decrypting: true if `counter` could still be accepted (new, or inside the
   * window and not seen). Does not change the window: an unauthenticated packet must not move it.
   */
  check(counter: number): boolean {
    return packetBinding().replay_check(this.state, counter);
  }

  /**
   * Records `counter` after the packet authenticated. Returns false if it is too old or was already
   * accepted (for instance by a duplicate that was decrypted in between).
   */
  accept(counter: number): boolean {
    return packetBinding().replay_accept(this.state, counter);
  }

  /** Highest counter accepted so far (0 if none). */
  get highest(): number {
    return packetBinding().replay_highest(this.state);
  }
}
