// V8's tiering budget for the daemon, set once it has started. An idle tunnel's packet path — a
// ping, an ssh keystroke, a DNS query — runs a few times a second: with V8's default budget (about
// 132 kB of bytecode executed per function before TurboFan optimizes it) it stays in baseline code for
// minutes, and each of the four passes through the daemons of a round trip costs 100–230 µs of
// unoptimized JavaScript on a cold CPU (perf trace of one idle ping, benchmarks/README.md). A budget of
// 4 kB optimizes the packet path after a few dozen packets: idle ping p50 0.66–1.12 ms instead of
// 0.98–1.19 ms, min 0.21–0.36 instead of 0.41–0.54 ms on this 2-core VM (three interleaved A/B runs).
//
// Not from the first line: with 4 kB, start-up optimizes everything it runs a few times (config, the
// first handshake with every member, the first adverts), and at 25 daemons on 2 cores that was 11–20 s
// of CPU per daemon against 3 s, and the sockets up after 34–39 s against 16 s. So the budget changes
// once the daemon has settled: a route to every member, or START_UP_MS after it started while its
// event loop keeps time. Functions already warm take the new budget at their next tiering check (V8
// reads the flag whenever it resets a function's budget).
//
// Not on a starved daemon either: optimizing with a 4 kB budget is TurboFan compiling hundreds of
// control-plane functions, 1-20 ms of CPU each. With 100 daemons on 2 cores still converging after
// 2 minutes, the time limit alone set it in every daemon at once: 38 % of all daemon CPU was TurboFan
// on V8's worker threads during convergence (perf, benchmarks/README.md), on a machine already out of
// CPU. A daemon whose timers run late waits until they run on time, it has settled, or HOLD_MAX_MS.
//
// Nor does TurboFan run at all before then (holdOptimizer): at start-up every daemon compiles the
// same functions for itself, and start-up at N = 100 on 2 cores is minutes of handshakes, adverts and
// route computations, long enough for V8's default budget to send hundreds of them to TurboFan:
// 37 % of all CPU in a 60 s profile of that start-up was TurboFan (benchmarks/README.md), on a
// machine already saturated, where late replies then keep it so. Until the daemon has settled it
// runs in baseline (Sparkplug) code; once settled it turns TurboFan on with the 4 kB budget, so the
// packet path is optimized within a few dozen packets as before.
//
// OVERLAYD_V8_TIERING=default keeps V8's own tiering from the first line (for before/after
// measurements).
import { setFlagsFromString } from 'node:v8';

/** Bytes of bytecode a function executes before V8 considers optimizing it. */
export const INTERRUPT_BUDGET_BYTES = 4096;
/** The latest the budget changes after start, settled or not (a partition may keep routes missing). */
export const START_UP_MS = 120_000;
/**
 * The latest TurboFan is held off, starved or not. A member can keep us from settling (it never
 * answers, so one route is always missing) and a flood can keep our timers late; held off for good,
 * every packet of that flood would run in baseline code, several times the CPU per packet.
 */
export const HOLD_MAX_MS = 600_000;
const CHECK_EVERY_MS = 1000;

/** TurboFan on, with the 4 kB budget. */
export function tierUp(): void {
  setFlagsFromString(`--opt --interrupt-budget=${INTERRUPT_BUDGET_BYTES}`);
}

/** Keeps TurboFan off until tierUpOnceSettled turns it on: call first thing at daemon start. */
export function holdOptimizer(apply: () => void = () => setFlagsFromString('--no-opt')): void {
  if (process.env.OVERLAYD_V8_TIERING !== 'default') apply();
}

/**
 * Turns TurboFan on with the 4 kB budget as soon as `settled()` is true (checked every second), once
 * START_UP_MS has passed and `starved()` is false, or at HOLD_MAX_MS whatever. Returns a function
 * that cancels it. `apply` and `now` are for tests.
 */
export function tierUpOnceSettled(
  settled: () => boolean,
  starved: () => boolean,
  apply: () => void = tierUp,
  now: () => number = () => performance.now(),
): () => void {
  if (process.env.OVERLAYD_V8_TIERING === 'default') return () => {};
  const startedAt = now();
  let timer: NodeJS.Timeout;
  const check = (): void => {
    const age = now() - startedAt;
    if (settled() || (age >= START_UP_MS && !starved()) || age >= HOLD_MAX_MS) apply();
    else arm();
  };
  const arm = (): void => {
    timer = setTimeout(check, CHECK_EVERY_MS);
    timer.unref();
  };
  arm();
  return () => clearTimeout(timer);
}
