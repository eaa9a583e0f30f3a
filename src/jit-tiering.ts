// V8's tiering budget for the daemon, set before any of overlayd's code runs (main.ts imports this
// first). An idle tunnel's packet path — a ping, an ssh keystroke, a DNS query — runs a few times a
// second: with V8's default budget (about 132 kB of bytecode executed per function before TurboFan
// optimizes it) it stays in baseline code for minutes, and each of the four passes through the daemons
// of a round trip costs 100–230 µs of unoptimized JavaScript on a cold CPU (perf trace of one idle ping,
// benchmarks/README.md). A budget of 4 kB optimizes the packet path after a few dozen packets: idle
// ping p50 0.66–1.12 ms instead of 0.98–1.19 ms, min 0.21–0.36 instead of 0.41–0.54 ms on this 2-core
// VM (three interleaved A/B runs). The bulk path is optimized within milliseconds either way; the cost
// is some more optimizing compilation early in the daemon's life (on V8's compiler thread).
//
// OVERLAYD_V8_TIERING=default keeps V8's own budget (for before/after measurements).
import { setFlagsFromString } from 'node:v8';

/** Bytes of bytecode a function executes before V8 considers optimizing it. */
export const INTERRUPT_BUDGET_BYTES = 4096;

if (process.env.OVERLAYD_V8_TIERING !== 'default') {
  setFlagsFromString(`--interrupt-budget=${INTERRUPT_BUDGET_BYTES}`);
}
