// Counters by cause, for stats() records that list every cause even before it happened (status, the
// benchmarks and Prometheus read a 0 rather than a missing key).

/** A counter per key, all 0. */
export function zeroCounts<K extends string>(keys: readonly K[]): Record<K, number> {
  return Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;
}
