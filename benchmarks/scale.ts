// Scale benchmark of the routing core, on the discrete-event simulator (test/sim/).
//
//   node dist/benchmarks/scale.js                 probe overhead for 3/10/50 members, then N = 50, 200, 1000
//   node dist/benchmarks/scale.js 50 200          only those sizes
//   node dist/benchmarks/scale.js --probe-only    only the probe overhead table
//   --all-pairs / --bounded                       only that probing mode (default: all-pairs up to 200,
//                                                 bounded K = 8 from 200 up)
//   --no-partition                                skip the partition and heal
//   --steady S                                    steady-state window in simulated seconds (default 30:
//                                                 one refresh period; nodes that booted together refresh
//                                                 together, so a shorter window may miss or catch them all)
// N = 1000 needs a bigger heap (npm run bench:scale passes one): node --max-old-space-size=16000 dist/benchmarks/scale.js 1000
// (1000 simulated nodes each hold the whole link-state database: N² state in one process).
//
// For each size: convergence after a cold start (all nodes boot within 0.5 s), after cutting a link
// that carries a flow (time until the flows, and all pairs, have valid paths again), after
// partitioning off a quarter of the nodes and after healing; steady-state bytes per node per second
// (probes, control); route computation time per update (median, p95) measured on real CPU time.
// Times are virtual (the simulated network's clock); "cpu" is what the simulation cost here.
import { DEFAULT_PROBE_PARAMS } from '../src/probe/probe-params.js';
import {
  addFlows,
  cutUsedLink,
  heal,
  partitionRegion,
  startUp,
  steadyTraffic,
} from '../test/sim/scenarios.js';
import { Simulator, type SimOptions } from '../test/sim/simulator.js';

interface Row {
  label: string;
  cells: Record<string, string>;
}

function fmtMs(ms: number | undefined): string {
  return ms === undefined ? 'never' : ms < 10_000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

function fmtBps(bps: number): string {
  return bps < 1000 ? `${Math.round(bps)} B/s` : `${(bps / 1000).toFixed(1)} kB/s`;
}

function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
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
  report: (sofar: { probeBps: number; controlBps: number }, ms: number) => void,
): { probeBps: number; controlBps: number } {
  const sum = { probeBps: 0, controlBps: 0 };
  for (let done = 0; done < ms;) {
    const step = Math.min(5000, ms - done);
    const t = steadyTraffic(sim, step);
    sum.probeBps += t.probeBps * step;
    sum.controlBps += t.controlBps * step;
    done += step;
    report({ probeBps: sum.probeBps / done, controlBps: sum.controlBps / done }, done);
  }
  return { probeBps: sum.probeBps / ms, controlBps: sum.controlBps / ms };
}

function scaleRun(label: string, opts: SimOptions, partition: boolean, steadyMs: number): Row {
  const cpu0 = performance.now();
  const progress = (what: string): void =>
    console.error(
      `  ${label}: ${what} at t=${(sim.now() / 1000).toFixed(1)} s (cpu ${((performance.now() - cpu0) / 1000).toFixed(0)} s)`,
    );
  const sim = new Simulator(opts);
  const start = startUp(sim, 30_000);
  progress('started');
  addFlows(sim, 20, 5);
  const cut = cutUsedLink(sim);
  progress('cut');
  sim.run(Math.max(0, 40_000 - sim.now()));
  const steady = steadyWindow(sim, steadyMs, (sofar, ms) =>
    progress(
      `steady ${ms / 1000}/${steadyMs / 1000} s: probe ${fmtBps(sofar.probeBps)}, control ${fmtBps(sofar.controlBps)}, ${fmtSpf(sim)}`,
    ),
  );
  const split = partition ? partitionRegion(sim, 0.25) : undefined;
  if (partition) progress('partitioned');
  sim.run(3000);
  const healed = partition ? heal(sim) : undefined;
  if (partition) progress('healed');
  let probed = 0;
  for (const node of sim.nodes) probed += node.prober?.probedMembers().length ?? 0;
  const times = computeTimes(sim);
  const v = sim.verifier;
  return {
    label,
    cells: {
      probed: (probed / sim.size()).toFixed(1),
      start: fmtMs(start.allPairsMs),
      'cut: flows': fmtMs(cut?.result.flowsMs),
      'cut: all': fmtMs(cut?.result.allPairsMs),
      partition: split ? fmtMs(split.allPairsMs) : 'not run',
      heal: healed ? fmtMs(healed.allPairsMs) : 'not run',
      'probe/node': fmtBps(steady.probeBps),
      'control/node': fmtBps(steady.controlBps),
      'spf p50': `${percentile(times, 0.5).toFixed(2)} ms`,
      'spf p95': `${percentile(times, 0.95).toFixed(2)} ms`,
      verifies: `${v.realVerifications}/${v.calls}`,
      cpu: `${((performance.now() - cpu0) / 1000).toFixed(0)} s`,
    },
  };
}

function main(): void {
  const args = process.argv.slice(2);
  const probeOnly = args.includes('--probe-only');
  const steadyAt = args.indexOf('--steady');
  const steadyMs = steadyAt >= 0 ? Number(args[steadyAt + 1]) * 1000 : 30_000;
  if (!(steadyMs > 0)) throw new Error('--steady takes a number of seconds');
  const sizes = args.filter((a, i) => /^\d+$/.test(a) && (steadyAt < 0 || i !== steadyAt + 1)).map(Number);
  console.log(
    `probe packet: ${DEFAULT_PROBE_PARAMS.probeBytes} bytes on the wire; control messages: payload + 69 bytes`,
  );

  if (sizes.length === 0 || probeOnly) {
    printTable(
      'Probe overhead, all-pairs (bytes sent per node per second, probes + echoes)',
      [3, 10, 50].map(probeOverhead),
    );
  }
  if (probeOnly) return;
  const rows: Row[] = [];
  const partition = !args.includes('--no-partition');
  const allPairs = !args.includes('--bounded');
  const bounded = !args.includes('--all-pairs');
  const run = (label: string, opts: SimOptions): void => {
    rows.push(scaleRun(label, opts, partition, steadyMs));
    printTable('Scale (virtual times; cpu = simulation cost on this machine)', rows);
  };
  for (const n of sizes.length > 0 ? sizes : [50, 200, 1000]) {
    const base = { nodes: n, seed: 3, startSpreadMs: 500, verifyCache: true };
    if (allPairs && n <= 200) run(`N=${n} all-pairs`, base);
    if (bounded && n >= 200) run(`N=${n} K=8`, { ...base, probe: { maxProbedMembers: 8 } });
  }
}

main();
