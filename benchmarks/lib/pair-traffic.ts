// Which underlay paths a system used: the wan's per-pair counters (lab.pairTraffic) diffed over an
// interval. A relayed a→c flow shows up on a>b and b>c with a>c near zero; a direct one the other way.
import type { Lab, PairTraffic } from '../../test/lab/lab.js';

export type PairSnapshot = Map<string, PairTraffic>;

export async function snapshotPairs(lab: Lab): Promise<PairSnapshot> {
  return new Map((await lab.pairTraffic()).map((t) => [`${t.from}>${t.to}`, t]));
}

export interface PairDelta {
  packets: number;
  bytes: number;
}

/** after − before for every ordered pair (key "a>c"). */
export function diffPairs(before: PairSnapshot, after: PairSnapshot): Map<string, PairDelta> {
  const out = new Map<string, PairDelta>();
  for (const [k, t] of after) {
    const b = before.get(k);
    out.set(k, { packets: t.packets - (b?.packets ?? 0), bytes: t.bytes - (b?.bytes ?? 0) });
  }
  return out;
}

/** Counts an interval: `await measurePairs(lab, () => work())` → the work's result and the deltas. */
export async function measurePairs<T>(
  lab: Lab,
  work: () => Promise<T>,
): Promise<{ result: T; pairs: Map<string, PairDelta> }> {
  const before = await snapshotPairs(lab);
  const result = await work();
  return { result, pairs: diffPairs(before, await snapshotPairs(lab)) };
}
