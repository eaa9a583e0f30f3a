// Seeded randomness for the simulator: every run with the same seed is the same run.

/** mulberry32: small, fast, good enough for simulation (not for keys). Returns [0, 1). */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A stable pseudo-random value in [0, 1) for the unordered pair {a, b} and a salt: lets the underlay
 * give each of the N² pairs its own properties (blocked, lossy, jitter) without storing N² numbers.
 */
export function pairHash(seed: number, a: number, b: number, salt: number): number {
  const lo = Math.min(a, b);
  const hi = Math.max(a, b);
  let h =
    (seed ^
      Math.imul(lo + 1, 0x9e3779b1) ^
      Math.imul(hi + 1, 0x85ebca77) ^
      Math.imul(salt + 1, 0xc2b2ae3d)) >>>
    0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  h ^= h >>> 16;
  return (h >>> 0) / 4294967296;
}
