// Scale benchmark of the control plane, on the discrete-event simulator (test/sim/). Every simulated
// node runs the daemon's own wiring (src/node/control-plane.ts: prober, router, their one timer).
//
//   node dist/benchmarks/scale.js                 probe overhead for 3/10/50 members, then N = 50, 200, 1000
//   node dist/benchmarks/scale.js 50 200          only those sizes
//   node dist/benchmarks/scale.js --probe-only    only the probe overhead table
//   --all-pairs / --bounded                       only that probing mode (default: all-pairs up to 200,
//                                                 bounded K = 8 from 50 up)
//   --neighbours K                                K for the bounded runs (default 8, network.neighbours)
//   --no-partition                                skip the partition and heal
//   --steady S                                    steady-state window in simulated seconds (default 30:
//                                                 one refresh period; nodes that booted together refresh
//                                                 together, so a shorter window may miss or catch them all)
//   --idle A-B,C-D                                instead of the scenario: cold start, then control bytes by
//                                                 type in these idle windows (simulated seconds, no flows)
// N = 1000 needs a bigger heap (npm run bench:scale passes one): node --max-old-space-size=16000 dist/benchmarks/scale.js 1000
// (1000 simulated nodes each hold the whole link-state database: N² state in one process).
//
// For each size: convergence after a cold start (all nodes boot within 0.5 s), after cutting a link
// that carries a flow, after partitioning off a quarter of the nodes and after healing — until every
// pair has a valid loop-free path again, and per broken pair (p50/p95 across pairs); routes that
// visited a node twice (loop check); latency stretch of the selected paths against the best path
// over every working link (the full-mesh optimum); steady-state bytes per node per second by message
// type; route computation time per update (median, p95) measured on real CPU time. Times are
// virtual (the simulated network's clock); "cpu" is what the simulation cost here.
import { CONTROL_BUDGET_BPS } from './lib/budget.js';
import { DEFAULT_NEIGHBOURS } from '../src/config/neighbours.js';
import { PROBE_WIRE_BYTES, TRAFFIC_TYPES, type TrafficType } from '../src/node/control-traffic.js';
import {
  addFlows,
  cutUsedLink,
  heal,
  partitionRegion,
  startUp,
  steadyTraffic,
  type Convergence,
  type SteadyTraffic,
} from '../test/sim/scenarios.js';
import { Simulator, type SimOptions } from '../test/sim/simulator.js';
import { pathStretch } from '../test/sim/stretch.js';

interface Row {
  label: string;
  cells: Record<string, string>;
}

function fmtMs(ms: number | undefined): string {
  return ms === undefined || Number.isNaN(ms)
    ? 'never'
    : ms < 10_000
      ? `${Math.round(ms)} ms`
      : `${(ms / 1000).toFixed(1)} s`;
}

function fmtBps(bps: number): string {
  return bps < 1000 ? `${Math.round(bps)} B/s` : `${(bps / 1000).toFixed(1)} kB/s`;
}

function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
}

/** "all 523 ms; pairs p50/p95 210/400 ms". */
function fmtConvergence(c: Convergence | undefined): string {
  if (!c) return 'not run';
  const pairs = c.pairMs.length
    ? ` (${fmtMs(percentile(c.pairMs, 0.5))}/${fmtMs(percentile(c.pairMs, 0.95))})`
    : '';
  return `${fmtMs(c.allPairsMs)}${pairs}`;
}

function printTable(title: string, rows: Row[]): void {
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r.cells)))];
  const width = (c: string): number => Math.max(c.length, ...rows.map((r) => (r.cells[c] ?? '').length));
  const labelW = Math.max(...rows.map((r) => r.label.length), 4);
  console.log(`\n${title}`);
  console.log(`${''.padEnd(labelW)} | ${cols.map((c) => c.padStart(width(c))).join(' | ')}`);
  console.log(`${'-'.repeat(labelW)}-+-${cols.map((c) => '-'.repeat(width(c))).join('-+-')}`);
  for (const r of rows)
    console.log(
      `${r.label.padEnd(labelW)} | ${cols.map((c) => (r.cells[c] ?? '').padStart(width(c))).join(' | ')}`,
    );
}

/** Probe and control overhead of a small all-pairs network, idle and with every pair active. */
function probeOverhead(n: number): Row {
  const sim = new Simulator({ nodes: n, seed: 11, startSpreadMs: 200, underlay: { blockedFraction: 0 } });
  startUp(sim, 10_000);
  sim.run(40_000 - sim.now()); // past the first refresh, exploration and anti-entropy rounds
  const idle = steadyTraffic(sim, 30_000);
  // Now data to every member: every direct link is probed at the active rate.
  for (let s = 0; s < n; s++) for (let d = s + 1; d < n; d++) sim.addFlow(s, d);
  sim.run(3000);
  const busy = steadyTraffic(sim, 10_000);
  return {
    label: `N=${n}`,
    cells: {
      'probe idle': fmtBps(idle.probeBps),
      'control idle': fmtBps(idle.controlBps),
      'probe, all links active': fmtBps(busy.probeBps),
      'control, all active': fmtBps(busy.controlBps),
      'per member idle': fmtBps(idle.probeBps / (n - 1)),
    },
  };
}

/** The most recent route computation times of every node (real CPU ms). */
function computeTimes(sim: Simulator): number[] {
  return sim.nodes.flatMap((node) => node.router?.stats().recentComputeMs ?? []);
}

function fmtSpf(sim: Simulator): string {
  const times = computeTimes(sim);
  return `spf p50/p95 ${percentile(times, 0.5).toFixed(2)}/${percentile(times, 0.95).toFixed(2)} ms`;
}

/**
 * steadyTraffic over `ms`, in 5 s pieces reported as they end: at N = 1000 a simulated second
 * costs minutes here, and a run stopped early still says what it measured.
 */
function steadyWindow(
  sim: Simulator,
  ms: number,
  report: (sofar: SteadyTraffic, ms: number) => void,
): SteadyTraffic {
  const sum: SteadyTraffic = {
    probeBps: 0,
    controlBps: 0,
    byType: Object.fromEntries(TRAFFIC_TYPES.map((t) => [t, 0])) as Record<TrafficType, number>,
  };
  const scaled = (done: number): SteadyTraffic => ({
    probeBps: sum.probeBps / done,
    controlBps: sum.controlBps / done,
    byType: Object.fromEntries(TRAFFIC_TYPES.map((t) => [t, sum.byType[t] / done])) as Record<
      TrafficType,
      number
    >,
  });
  for (let done = 0; done < ms;) {
    const step = Math.min(5000, ms - done);
    const t = steadyTraffic(sim, step);
    sum.probeBps += t.probeBps * step;
    sum.controlBps += t.controlBps * step;
    for (const type of TRAFFIC_TYPES) sum.byType[type] += t.byType[type] * step;
    done += step;
    report(scaled(done), done);
  }
  return scaled(ms);
}

/** Cold start, then bytes by type over each idle window [from, to) (virtual seconds, no flows). */
function idleRun(label: string, opts: SimOptions, windows: [number, number][]): Row[] {
  const cpu0 = performance.now();
  const sim = new Simulator(opts);
  const start = startUp(sim, 30_000);
  console.error(`  ${label}: started: ${fmtConvergence(start)}`);
  const rows: Row[] = [];
  for (const [from, to] of windows) {
    sim.run(Math.max(0, from * 1000 - sim.now()));
    const t = steadyWindow(sim, (to - from) * 1000, (sofar, ms) =>
      console.error(
        `  ${label}: idle ${from} s + ${ms / 1000} s: control+probe ${fmtBps(sofar.probeBps + sofar.controlBps)} (cpu ${((performance.now() - cpu0) / 1000).toFixed(0)} s)`,
      ),
    );
    const total = t.probeBps + t.controlBps;
    rows.push({
      label: `${label} idle t=${from}-${to} s`,
      cells: {
        ...Object.fromEntries(
          TRAFFIC_TYPES.filter((x) => x !== 'other').map((x) => [x, fmtBps(t.byType[x])]),
        ),
        total: fmtBps(total),
        'vs 1.25 kB/s': `${(total / CONTROL_BUDGET_BPS).toFixed(2)}×`,
      },
    });
  }
  return rows;
}

interface RunResult {
  row: Row;
  traffic: Row;
}

function scaleRun(label: string, opts: SimOptions, partition: boolean, steadyMs: number): RunResult {
  const cpu0 = performance.now();
  const progress = (what: string): void =>
    console.error(
      `  ${label}: ${what} at t=${(sim.now() / 1000).toFixed(1)} s (cpu ${((performance.now() - cpu0) / 1000).toFixed(0)} s)`,
    );
  const sim = new Simulator(opts);
  const start = startUp(sim, 30_000);
  progress(`started: ${fmtConvergence(start)}`);
  addFlows(sim, 20, 5);
  const cut = cutUsedLink(sim);
  progress(`cut: ${fmtConvergence(cut?.result)}`);
  sim.run(Math.max(0, 40_000 - sim.now()));
  const stretch = pathStretch(sim, sim.size() > 200 ? 100 : 200);
  progress(
    `stretch p50/p95 ${percentile(stretch.ratios, 0.5).toFixed(3)}/${percentile(stretch.ratios, 0.95).toFixed(3)}, ` +
      `extra ${percentile(stretch.extraMs, 0.5).toFixed(1)}/${percentile(stretch.extraMs, 0.95).toFixed(1)} ms ` +
      `over ${stretch.ratios.length} pairs (${stretch.missing} without a route)`,
  );
  const steady = steadyWindow(sim, steadyMs, (sofar, ms) =>
    progress(
      `steady ${ms / 1000}/${steadyMs / 1000} s: probe ${fmtBps(sofar.probeBps)}, control ${fmtBps(sofar.controlBps)}, ${fmtSpf(sim)}`,
    ),
  );
  const split = partition ? partitionRegion(sim, 0.25) : undefined;
  if (partition) progress(`partitioned: ${fmtConvergence(split)}`);
  sim.run(3000);
  const healed = partition ? heal(sim) : undefined;
  if (partition) progress(`healed: ${fmtConvergence(healed)}`);
  let probed = 0;
  for (const node of sim.nodes) probed += node.prober?.probedMembers().length ?? 0;
  const times = computeTimes(sim);
  const v = sim.verifier;
  const total = steady.probeBps + steady.controlBps;
  return {
    row: {
      label,
      cells: {
        probed: (probed / sim.size()).toFixed(1),
        'start (pairs p50/p95)': fmtConvergence(start),
        'cut: flows': fmtMs(cut?.result.flowsMs),
        'cut: all (pairs)': fmtConvergence(cut?.result),
        partition: fmtConvergence(split),
        heal: fmtConvergence(healed),
        loops: `${sim.checker.loopingRoutes}/${sim.checker.routeChanges}`,
        'stretch p50/p95': `${percentile(stretch.ratios, 0.5).toFixed(2)}/${percentile(stretch.ratios, 0.95).toFixed(2)}`,
        'extra ms p50/p95': `${percentile(stretch.extraMs, 0.5).toFixed(1)}/${percentile(stretch.extraMs, 0.95).toFixed(1)}`,
        'spf p50/p95': `${percentile(times, 0.5).toFixed(2)}/${percentile(times, 0.95).toFixed(2)} ms`,
        verifies: `${v.realVerifications}/${v.calls}`,
        cpu: `${((performance.now() - cpu0) / 1000).toFixed(0)} s`,
      },
    },
    traffic: {
      label,
      cells: {
        ...Object.fromEntries(
          TRAFFIC_TYPES.filter((t) => t !== 'other').map((t) => [t, fmtBps(steady.byType[t])]),
        ),
        total: fmtBps(total),
        'vs 1.25 kB/s': `${(total / CONTROL_BUDGET_BPS).toFixed(1)}×`,
      },
    },
  };
}

function main(): void {
  const args = process.argv.slice(2);
  const probeOnly = args.includes('--probe-only');
  const valueOf = (flag: string): string | undefined => {
    const i = args.indexOf(flag);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const steadyMs = Number(valueOf('--steady') ?? 30) * 1000;
  if (!(steadyMs > 0)) throw new Error('--steady takes a number of seconds');
  const K = Number(valueOf('--neighbours') ?? DEFAULT_NEIGHBOURS);
  if (!(K > 0)) throw new Error('--neighbours takes a positive number');
  const idle = valueOf('--idle')
    ?.split(',')
    .map((w) => w.split('-').map(Number) as [number, number]);
  if (idle?.some(([a, b]) => !(b > a && a >= 0))) throw new Error('--idle takes windows like 40-100,240-300');
  const optionValues = new Set(
    ['--steady', '--neighbours', '--idle'].map((f) => args.indexOf(f) + 1).filter((i) => i > 0),
  );
  const sizes = args.filter((a, i) => /^\d+$/.test(a) && !optionValues.has(i)).map(Number);
  console.log(
    `probe packet: ${PROBE_WIRE_BYTES} bytes on the wire; control messages: payload + 69 bytes (IPv4, direct)`,
  );

  if (idle) {
    const rows: Row[] = [];
    for (const n of sizes.length > 0 ? sizes : [100]) {
      const base = { nodes: n, seed: 3, startSpreadMs: 500, verifyCache: true };
      rows.push(...idleRun(`N=${n} K=${K}`, { ...base, probe: { maxProbedMembers: K } }, idle));
      printTable('Idle control bytes sent per node per second by type (no flows)', rows);
    }
    return;
  }
  if (sizes.length === 0 || probeOnly) {
    printTable(
      'Probe overhead, all-pairs (bytes sent per node per second, probes + echoes)',
      [3, 10, 50].map(probeOverhead),
    );
  }
  if (probeOnly) return;
  const runs: RunResult[] = [];
  const partition = !args.includes('--no-partition');
  const allPairs = !args.includes('--bounded');
  const bounded = !args.includes('--all-pairs');
  const run = (label: string, opts: SimOptions): void => {
    runs.push(scaleRun(label, opts, partition, steadyMs));
    printTable(
      'Scale (virtual times: until every pair is valid, and per broken pair p50/p95; loops = looping routes / route changes; stretch = latency vs the full-mesh optimum; cpu = simulation cost)',
      runs.map((r) => r.row),
    );
    printTable(
      `Control bytes sent per node per second by type (steady window ${steadyMs / 1000} s, 20 flows)`,
      runs.map((r) => r.traffic),
    );
  };
  for (const n of sizes.length > 0 ? sizes : [50, 200, 1000]) {
    const base = { nodes: n, seed: 3, startSpreadMs: 500, verifyCache: true };
    if (allPairs && n <= 200) run(`N=${n} all-pairs`, base);
    if (bounded && n >= 50) run(`N=${n} K=${K}`, { ...base, probe: { maxProbedMembers: K } });
  }
}

main();
