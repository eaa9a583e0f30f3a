// Runs one target: setup, then for each input pick a seed, mutate it, load, execute (timed), judge;
// then the target's own after-run checks. Counts what the issue asks for: inputs, escaped exceptions
// (thrown out of the entry point, thrown later from a callback the input caused, or caught by a
// last-resort handler inside src/), accepted forgeries, time per input and heap growth.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { deterministicRandom } from './deterministic-random.js';
import { LatencyHistogram } from './latency.js';
import { mutate, type Mutant, type Seed } from './mutator.js';
import { FuzzRng, mixSeed } from './rng.js';
import type { FuzzTarget, TargetRun } from './target.js';

/** Failing inputs kept per target for the report (all are counted). */
const KEPT_FAILURES = 5;
/** Bytes of a failing input printed in hex. */
const HEX_BYTES = 256;

export interface Failure {
  kind: 'escape' | 'forgery';
  /** 0-based input number: `--inputs <input + 1>` with the same seed and target reaches it. */
  input: number;
  seed: string;
  ops: string[];
  detail: string;
  hex: string;
}

export interface TargetReport {
  name: string;
  inputs: number;
  escapes: number;
  forgeries: number;
  p999Us: number;
  maxUs: number;
  heapBeforeBytes: number;
  heapAfterBytes: number;
  elapsedMs: number;
  setupMs: number;
  /** Seeds the target started from (after setup). */
  seeds: number;
  /** FNV-1a over every input's bytes when RunLimits.digest is set (same seed → same inputs). */
  digest: number;
  /** The first few failing inputs. */
  failures: Failure[];
  /** The target's after-run checks that failed. */
  finishFailures: string[];
  outcomes: Map<string, number>;
}

export interface RunLimits {
  seed: number;
  inputs: number;
  /** performance.now() after which no new input starts. */
  deadline: number;
  /** Hash the inputs into TargetReport.digest. */
  digest?: boolean;
}

export async function runTarget(target: FuzzTarget, limits: RunLimits): Promise<TargetReport> {
  const targetSeed = mixSeed(limits.seed, target.name);
  const restoreRandom = deterministicRandom(targetSeed);
  const rng = FuzzRng.forTarget(limits.seed, target.name);
  const report: TargetReport = {
    name: target.name,
    inputs: 0,
    escapes: 0,
    forgeries: 0,
    p999Us: NaN,
    maxUs: NaN,
    heapBeforeBytes: 0,
    heapAfterBytes: 0,
    elapsedMs: 0,
    setupMs: 0,
    seeds: 0,
    digest: 0x811c9dc5,
    failures: [],
    finishFailures: [],
    outcomes: new Map(),
  };
  let current: { mutant: Mutant; seed: Seed } | undefined;
  const fail = (kind: Failure['kind'], detail: string, run?: TargetRun): void => {
    if (kind === 'escape') report.escapes++;
    else report.forgeries++;
    if (report.failures.length >= KEPT_FAILURES) return;
    const where = run?.describe?.();
    report.failures.push({
      kind,
      input: report.inputs - 1,
      seed: current?.seed.label ?? '-',
      ops: current?.mutant.ops ?? [],
      detail: where ? `${detail} [${where}]` : detail,
      hex: current ? current.mutant.bytes.subarray(0, HEX_BYTES).toString('hex') : '',
    });
  };
  // Exceptions thrown later by what an input set in motion (a queued delivery, a timer).
  const onAsync = (err: unknown): void => fail('escape', `async: ${describeError(err)}`);
  process.on('uncaughtException', onAsync);
  process.on('unhandledRejection', onAsync);
  const started = performance.now();
  let run: TargetRun | undefined;
  try {
    run = await target.setup(rng);
    report.setupMs = performance.now() - started;
    const { seeds, dictionary } = run;
    report.seeds = seeds.length;
    const latency = new LatencyHistogram();
    let caught = run.caughtInternally?.() ?? 0;
    report.heapBeforeBytes = heapUsed();
    while (report.inputs < limits.inputs && performance.now() < limits.deadline) {
      const seed = rng.pick(seeds);
      const mutant = mutate(seed, seeds, dictionary, rng);
      current = { mutant, seed };
      run.load(mutant, seed, rng);
      if (limits.digest) report.digest = fnv(report.digest, mutant.bytes);
      report.inputs++;
      const t0 = performance.now();
      try {
        run.execute();
      } catch (err) {
        fail('escape', describeError(err), run);
      }
      latency.add((performance.now() - t0) * 1000);
      const forged = run.judge();
      if (forged !== undefined) fail('forgery', forged, run);
      const caughtNow = run.caughtInternally?.() ?? 0;
      if (caughtNow > caught) fail('escape', 'thrown inside src/, caught by its last-resort handler', run);
      caught = caughtNow;
      if (run.idle && report.inputs % (run.idleEvery ?? 1000) === 0) await run.idle();
    }
    current = undefined;
    report.heapAfterBytes = heapUsed();
    report.p999Us = latency.percentile(99.9);
    report.maxUs = latency.max;
    report.finishFailures = (await run.finish?.()) ?? [];
    report.outcomes = run.outcomes?.() ?? new Map();
  } finally {
    await run?.close?.();
    process.off('uncaughtException', onAsync);
    process.off('unhandledRejection', onAsync);
    restoreRandom();
    report.elapsedMs = performance.now() - started;
  }
  return report;
}

function fnv(h: number, bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193) >>> 0;
  return Math.imul(h ^ bytes.length, 0x01000193) >>> 0;
}

function describeError(err: unknown): string {
  if (err instanceof Error) {
    const at = err.stack?.split('\n').find((l) => l.includes('/src/')) ?? '';
    return `${err.name}: ${err.message}${at ? ` ${at.trim()}` : ''}`;
  }
  return String(err);
}

let gc: (() => void) | undefined;

/** Heap in use after full collections (no --expose-gc needed: the flag is set at run time). */
export function heapUsed(): number {
  if (gc === undefined) {
    const exposed = (globalThis as { gc?: () => void }).gc;
    if (exposed) gc = exposed;
    else {
      setFlagsFromString('--expose-gc');
      gc = runInNewContext('gc') as () => void;
    }
  }
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}
