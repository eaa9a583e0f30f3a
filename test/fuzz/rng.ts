// The fuzzer's one source of choices. Every target draws from its own stream, seeded from the run's
// seed and the target's name, so `--seed N --target T` replays exactly the inputs T got in the full run.
import { seededRandom } from '../sim/rng.js';

export class FuzzRng {
  private readonly next: () => number;

  constructor(seed: number) {
    this.next = seededRandom(seed);
  }

  /** The stream for `name` within a run seeded with `seed`. */
  static forTarget(seed: number, name: string): FuzzRng {
    return new FuzzRng(mixSeed(seed, name));
  }

  /** Uniform [0, 1). */
  float(): number {
    return this.next();
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Uniform integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  u32(): number {
    return (this.next() * 0x1_0000_0000) >>> 0;
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  fill(buf: Uint8Array): Uint8Array {
    for (let i = 0; i < buf.length; i++) buf[i] = this.int(256);
    return buf;
  }
}

/** FNV-1a over the name, mixed with the seed: a 32-bit seed per (run, target). */
export function mixSeed(seed: number, name: string): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  return (h ^ (h >>> 15)) >>> 0;
}
