// Sliding-window replay filter over packet counters (RFC 6479, as in WireGuard's replay.go).
//
// The window is a ring of 32-bit blocks. Moving forward clears whole blocks instead of shifting bits,
// so an update costs O(1) amortised no matter how far the counter jumps. One block is kept as slack
// (the block being recycled), so the window proper is `bits - 32` counters behind the highest seen.
//
// Counters are JS numbers: exact up to 2^53 - 1, which is also the highest counter accepted. Block and
// bit positions are computed with division, not shifts, because shifts truncate to 32 bits.

const BLOCK_BITS = 32;

export class ReplayWindow {
  /** How far behind the highest accepted counter a counter may still be accepted. */
  readonly windowSize: number;
  private readonly ring: Uint32Array;
  private readonly blocks: number;
  private readonly limit: number;
  /** Highest counter accepted so far (0 before any: counter 0 then lands inside the window). */
  private last = 0;

  /**
   * @param bits  ring size, a power of two >= 64 (window = bits - 32)
   * @param limit counters >= limit are refused (defaults to 2^53, i.e. every exact integer)
   */
  constructor(bits = 8192, limit = Number.MAX_SAFE_INTEGER + 1) {
    if (!Number.isInteger(bits) || bits < 64 || (bits & (bits - 1)) !== 0) {
      throw new RangeError(`replay window bits must be a power of two >= 64, got ${bits}`);
    }
    this.blocks = bits / BLOCK_BITS;
    this.ring = new Uint32Array(this.blocks);
    this.windowSize = bits - BLOCK_BITS;
    this.limit = Math.min(limit, Number.MAX_SAFE_INTEGER + 1);
  }

  /**
   * Cheap pre-check before decrypting: true if `counter` could still be accepted (new, or inside the
   * window and not seen). Does not change the window: an unauthenticated packet must not move it.
   */
  check(counter: number): boolean {
    if (!this.valid(counter)) return false;
    if (counter > this.last) return true;
    if (this.last - counter > this.windowSize) return false;
    return (this.ring[this.blockOf(counter)] & bitOf(counter)) === 0;
  }

  /**
   * Records `counter` after the packet authenticated. Returns false if it is too old or was already
   * accepted (for instance by a duplicate that was decrypted in between).
   */
  accept(counter: number): boolean {
    if (!this.valid(counter)) return false;
    if (counter > this.last) {
      // Clear the blocks the window slides over; more than a full ring clears everything.
      const current = Math.floor(this.last / BLOCK_BITS);
      const target = Math.floor(counter / BLOCK_BITS);
      const steps = Math.min(target - current, this.blocks);
      for (let i = 1; i <= steps; i++) this.ring[(current + i) % this.blocks] = 0;
      this.last = counter;
    } else if (this.last - counter > this.windowSize) {
      return false;
    }
    const block = this.blockOf(counter);
    const bit = bitOf(counter);
    if ((this.ring[block] & bit) !== 0) return false;
    this.ring[block] |= bit;
    return true;
  }

  /** Highest counter accepted so far (0 if none). */
  get highest(): number {
    return this.last;
  }

  private valid(counter: number): boolean {
    return Number.isInteger(counter) && counter >= 0 && counter < this.limit;
  }

  private blockOf(counter: number): number {
    return Math.floor(counter / BLOCK_BITS) % this.blocks;
  }
}

function bitOf(counter: number): number {
  // `1 << 31` is negative as an int32; the & and |= on the Uint32Array still see the same 32 bits.
  return 1 << (counter % BLOCK_BITS);
}
