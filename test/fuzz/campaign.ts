// A fuzz run over several targets: the inputs are shared out by the targets' weights, and the time
// limit is shared out as the run goes (each target may use an equal part of what is left, so time a
// quick target leaves unused goes to the slower ones after it). Used by the command (run.ts) and by
// the seeded test that `npm test` runs.
import { runTarget, type TargetReport } from './engine.js';
import type { FuzzTarget } from './target.js';
import { TARGETS } from './targets/index.js';

export interface CampaignOptions {
  seed: number;
  /** Inputs over all targets. */
  inputs: number;
  /** Wall-clock limit for the whole run. */
  seconds: number;
  /** Target names; all when empty. */
  targets?: readonly string[];
  /** Called after each target (progress lines). */
  onTarget?: (r: TargetReport) => void;
}

/** The targets named (all if none); throws on an unknown name. */
export function selectTargets(names: readonly string[] = []): FuzzTarget[] {
  if (names.length === 0) return [...TARGETS];
  return names.map((n) => {
    const t = TARGETS.find((x) => x.name === n);
    if (!t) throw new RangeError(`unknown target ${n} (known: ${TARGETS.map((x) => x.name).join(', ')})`);
    return t;
  });
}

/** Inputs per target, proportional to weight, at least one each. */
export function shareInputs(targets: readonly FuzzTarget[], inputs: number): number[] {
  const total = targets.reduce((s, t) => s + t.weight, 0);
  return targets.map((t) => Math.max(1, Math.round((inputs * t.weight) / total)));
}

export async function runCampaign(opts: CampaignOptions): Promise<TargetReport[]> {
  const targets = selectTargets(opts.targets);
  const shares = shareInputs(targets, opts.inputs);
  const end = performance.now() + opts.seconds * 1000;
  const reports: TargetReport[] = [];
  for (const [i, target] of targets.entries()) {
    const left = targets.length - i;
    const deadline = performance.now() + (end - performance.now()) / left;
    const r = await runTarget(target, { seed: opts.seed, inputs: shares[i], deadline });
    reports.push(r);
    opts.onTarget?.(r);
  }
  return reports;
}
