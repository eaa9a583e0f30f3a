// Idle round-trip time A→C at several ping rates, overlayd beside the raw underlay and wireguard-go in the
// same lab: what an ssh keystroke or a DNS query sees on a quiet tunnel. The throughput benchmark's idle
// figure is a mean of 20 pings taken right after the daemons start; this one waits until the daemons have
// settled (and tiered up, src/jit-tiering.ts), then takes every reply's RTT at 100 pings/s down to one ping
// a second, because the cost of an idle packet depends on how cold the path is: a packet every second
// finds the caches, branch predictors and the vCPU colder than one every 10 ms.
//
//   node dist/benchmarks/idle-rtt.js [--quick] [--rounds N] [--settle S]
//                                    [--systems raw,floor,overlayd,overlayd-no-lane,wireguard-go] [--json out.json]
//
// overlayd-no-lane is overlayd with --no-fast-lane: every packet through JavaScript, as before the TUN's
// outbound fast lane (native/fast-lane.h). floor is the least any user-space tunnel does
// (lib/tun-udp-floor.c: TUN <-> UDP in C, no crypto, no runtime): its added RTT is this machine's price
// for the extra kernel traversals and wake-ups alone.
//
// --quick: fewer pings per rate (about 40 s per system instead of about 2 min).
// --rounds N: every system N times, interleaved, each overlayd round a fresh start of the daemons. One
// start's p50 moves by up to ±0.15 ms on this VM (which CPU each daemon lands on, what shares it), more
// than most changes worth measuring; the table then gives the median of the rounds' p50s and their range.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { OverlayLab } from '../test/lab/overlay-lab.js';
import { FloorPair } from './lib/floor-forwarder.js';
import { parsePingLog } from './lib/ping-log.js';
import { stopOverlay } from './lib/overlay.js';
import {
  codeVersion,
  COMMON_OPTIONS,
  commonOptions,
  machineLine,
  numberOption,
  progress,
  requireRoot,
  usageError,
} from './lib/progress.js';
import { percentile } from './lib/stats.js';
import { fmt, printTable } from './lib/table.js';
import { WireguardPair } from './lib/wireguard.js';

const SITES = ['a', 'b', 'c'] as const;
const SYSTEMS = ['raw', 'floor', 'overlayd', 'overlayd-no-lane', 'wireguard-go'] as const;
type System = (typeof SYSTEMS)[number];
/** Ping intervals in seconds, with how many pings each (full run; --quick takes a third). */
const RATES: ReadonlyArray<{ intervalS: number; count: number }> = [
  { intervalS: 0.01, count: 1500 },
  { intervalS: 0.05, count: 600 },
  { intervalS: 0.2, count: 200 },
  { intervalS: 1, count: 60 },
];

const USAGE =
  'node dist/benchmarks/idle-rtt.js [--quick] [--rounds N] [--settle S] [--systems raw,floor,overlayd,overlayd-no-lane,wireguard-go] [--json out.json]';

interface RateResult {
  intervalS: number;
  sent: number;
  rtts: number[];
}

function settings() {
  const { values } = parseArgs({
    options: {
      ...COMMON_OPTIONS,
      settle: { type: 'string' },
      systems: { type: 'string' },
      rounds: { type: 'string' },
    },
  });
  const common = commonOptions(values, USAGE);
  const systems = (values.systems ?? SYSTEMS.join(',')).split(',') as System[];
  for (const s of systems)
    if (!SYSTEMS.includes(s)) usageError(`unknown system ${s} (known: ${SYSTEMS.join(', ')})`);
  const rounds = numberOption(values.rounds, 1, 'rounds');
  if (!Number.isInteger(rounds) || rounds < 1) usageError('--rounds takes a whole number ≥ 1');
  return { ...common, systems, rounds, settleS: numberOption(values.settle, 20, 'settle') };
}

/** Every reply's RTT at each rate, one ping process per rate, in the order of RATES. */
async function pingRates(ol: OverlayLab, dst: string, quick: boolean): Promise<RateResult[]> {
  const out: RateResult[] = [];
  for (const { intervalS, count } of RATES) {
    const n = quick ? Math.ceil(count / 3) : count;
    const argv = ['ping', '-n', '-D', '-i', String(intervalS), '-c', String(n), '-W', '1', dst];
    const r = await ol.lab.exec('a', argv, { timeoutMs: (n * intervalS + 10) * 1000 });
    const log = parsePingLog(r.stdout);
    out.push({ intervalS, sent: n, rtts: [...log.replies.values()].map((x) => x.rttMs) });
    progress(
      `  every ${intervalS} s: ${log.replies.size}/${n} replies, p50 ${fmt(percentile(out.at(-1)!.rtts, 50), 3)} ms`,
    );
  }
  return out;
}

async function main(): Promise<void> {
  requireRoot();
  const s = settings();
  /** Per system, one entry per round: that round's results at each rate. */
  const results = new Map<System, RateResult[][]>(s.systems.map((x) => [x, []]));
  const ol = await OverlayLab.create({ sites: [...SITES], logLevel: 'info' });
  try {
    for (let round = 1; round <= s.rounds; round++) {
      for (const system of s.systems) {
        progress(s.rounds > 1 ? `${system}, round ${round}/${s.rounds}` : system);
        results.get(system)!.push(await measureSystem(ol, system, s));
      }
    }
  } finally {
    await ol.destroy();
  }
  report(results, s.settleS, await machineLine(), await codeVersion());
  if (s.json) writeFileSync(s.json, JSON.stringify(Object.fromEntries(results), null, 1));
}

/** One round of `system`: its daemons started (and stopped) around the pings. */
async function measureSystem(
  ol: OverlayLab,
  system: System,
  s: ReturnType<typeof settings>,
): Promise<RateResult[]> {
  if (system === 'raw') return pingRates(ol, ol.lab.addressOf('c'), s.quick);
  if (system === 'wireguard-go' || system === 'floor') {
    const pair = await (system === 'floor' ? FloorPair : WireguardPair).start(ol.lab, 'a', 'c');
    try {
      return await pingRates(ol, pair.addressOf('c'), s.quick);
    } finally {
      await pair.stop();
    }
  }
  // overlayd-no-lane: every packet through JavaScript (--no-fast-lane), the path before the lanes.
  for (const site of SITES) ol.start(site, system === 'overlayd' ? [] : ['--no-fast-lane']);
  try {
    await ol.waitConverged(60_000);
    progress(`  converged; settling ${s.settleS} s`);
    await new Promise((r) => setTimeout(r, s.settleS * 1000));
    const out = await pingRates(ol, ol.addressOf('c'), s.quick);
    const path = await ol.pathOf('a', 'c');
    if (path?.join('>') !== 'a>c') progress(`  note: a routed to c along ${path?.join('>')} at the end`);
    return out;
  } finally {
    await stopOverlay(ol, SITES);
  }
}

function report(results: Map<System, RateResult[][]>, settleS: number, machine: string, code: string): void {
  const raw = results.get('raw');
  const rounds = Math.max(...[...results.values()].map((r) => r.length));
  const range = (xs: number[]): string => `${fmt(Math.min(...xs), 3)}–${fmt(Math.max(...xs), 3)}`;
  const rows: string[][] = [];
  for (const [system, runs] of results) {
    for (let i = 0; i < (runs[0]?.length ?? 0); i++) {
      const at = runs.map((run) => run[i]!);
      const p50s = at.map((r) => percentile(r.rtts, 50));
      // Each round against the raw path measured in the same round: the lab's own drift cancels.
      const added = p50s.map((p, k) => p - (raw?.[k] ? percentile(raw[k]![i]!.rtts, 50) : NaN));
      const all = at.flatMap((r) => r.rtts);
      const row = [
        system,
        String(at[0]!.intervalS),
        `${all.length}/${at.reduce((n, r) => n + r.sent, 0)}`,
        fmt(Math.min(...all), 3),
        fmt(percentile(p50s, 50), 3),
        fmt(percentile(all, 95), 3),
        system === 'raw' ? '—' : fmt(percentile(added, 50), 3),
      ];
      if (rounds > 1) row.push(range(p50s), system === 'raw' ? '—' : range(added));
      rows.push(row);
    }
  }
  const columns = ['system', 'ping every s', 'replies', 'min', 'p50', 'p95', 'added p50 (− raw)'];
  if (rounds > 1) columns.push('p50 of each round', 'added, each round');
  printTable(`Idle RTT A→C (ms), ${new Date().toISOString().slice(0, 16)} UTC, ${code}`, columns, rows, [
    machine,
    `overlayd pinged after converging and ${settleS} s more; one lab, the systems one after another`,
    rounds > 1
      ? `${rounds} rounds, interleaved: p50 and added p50 are the medians of the rounds' (each round's raw p50 subtracted)`
      : 'one round: a fresh start of the daemons moves the p50 by up to ±0.15 ms here (--rounds 3 or more to see it)',
    'target (issue 11): added idle RTT ≤ 0.3 ms, goal ≤ 0.2 ms',
  ]);
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
