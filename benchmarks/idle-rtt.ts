// Idle round-trip time A→C at several ping rates, overlayd beside the raw underlay and wireguard-go in the
// same lab: what an ssh keystroke or a DNS query sees on a quiet tunnel. The throughput benchmark's idle
// figure is a mean of 20 pings taken right after the daemons start; this one waits until the daemons have
// settled (and tiered up, src/jit-tiering.ts), then takes every reply's RTT at 100 pings/s down to one ping
// a second, because the cost of an idle packet depends on how cold the path is: a packet every second
// finds the caches, branch predictors and the vCPU colder than one every 10 ms.
//
//   node dist/benchmarks/idle-rtt.js [--quick] [--settle S] [--systems raw,overlayd,overlayd-no-lane,wireguard-go]
//                                    [--json out.json]
//
// overlayd-no-lane is overlayd with --no-fast-lane: every packet through JavaScript, as before the TUN's
// outbound fast lane (native/fast-lane.h).
//
// --quick: fewer pings per rate (about 40 s per system instead of about 2 min).
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { OverlayLab } from '../test/lab/overlay-lab.js';
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
const SYSTEMS = ['raw', 'overlayd', 'overlayd-no-lane', 'wireguard-go'] as const;
type System = (typeof SYSTEMS)[number];
/** Ping intervals in seconds, with how many pings each (full run; --quick takes a third). */
const RATES: ReadonlyArray<{ intervalS: number; count: number }> = [
  { intervalS: 0.01, count: 1500 },
  { intervalS: 0.05, count: 600 },
  { intervalS: 0.2, count: 200 },
  { intervalS: 1, count: 60 },
];

const USAGE =
  'node dist/benchmarks/idle-rtt.js [--quick] [--settle S] [--systems raw,overlayd,overlayd-no-lane,wireguard-go] [--json out.json]';

interface RateResult {
  intervalS: number;
  sent: number;
  rtts: number[];
}

function settings() {
  const { values } = parseArgs({
    options: { ...COMMON_OPTIONS, settle: { type: 'string' }, systems: { type: 'string' } },
  });
  const common = commonOptions(values, USAGE);
  const systems = (values.systems ?? SYSTEMS.join(',')).split(',') as System[];
  for (const s of systems)
    if (!SYSTEMS.includes(s)) usageError(`unknown system ${s} (known: ${SYSTEMS.join(', ')})`);
  return { ...common, systems, settleS: numberOption(values.settle, 20, 'settle') };
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
  const results = new Map<System, RateResult[]>();
  const ol = await OverlayLab.create({ sites: [...SITES], logLevel: 'info' });
  try {
    for (const system of s.systems) {
      progress(`${system}`);
      if (system === 'raw') results.set(system, await pingRates(ol, ol.lab.addressOf('c'), s.quick));
      if (system === 'overlayd' || system === 'overlayd-no-lane') {
        // overlayd-no-lane: every packet through JavaScript (--no-fast-lane), the path before the lane.
        for (const site of SITES) ol.start(site, system === 'overlayd' ? [] : ['--no-fast-lane']);
        await ol.waitConverged(60_000);
        progress(`  converged; settling ${s.settleS} s`);
        await new Promise((r) => setTimeout(r, s.settleS * 1000));
        results.set(system, await pingRates(ol, ol.addressOf('c'), s.quick));
        const path = await ol.pathOf('a', 'c');
        if (path?.join('>') !== 'a>c') progress(`  note: a routed to c along ${path?.join('>')} at the end`);
        await stopOverlay(ol, SITES);
      }
      if (system === 'wireguard-go') {
        const wg = await WireguardPair.start(ol.lab, 'a', 'c');
        try {
          results.set(system, await pingRates(ol, wg.addressOf('c'), s.quick));
        } finally {
          await wg.stop();
        }
      }
    }
  } finally {
    await ol.destroy();
  }
  report(results, s.settleS, await machineLine(), await codeVersion());
  if (s.json) writeFileSync(s.json, JSON.stringify(Object.fromEntries(results), null, 1));
}

function report(results: Map<System, RateResult[]>, settleS: number, machine: string, code: string): void {
  const raw = results.get('raw');
  const rows: string[][] = [];
  for (const [system, rates] of results) {
    for (const [i, r] of rates.entries()) {
      const p50 = percentile(r.rtts, 50);
      const rawP50 = raw ? percentile(raw[i].rtts, 50) : NaN;
      rows.push([
        system,
        String(r.intervalS),
        `${r.rtts.length}/${r.sent}`,
        fmt(Math.min(...r.rtts), 3),
        fmt(p50, 3),
        fmt(percentile(r.rtts, 95), 3),
        system === 'raw' ? '—' : fmt(p50 - rawP50, 3),
      ]);
    }
  }
  printTable(
    `Idle RTT A→C (ms), ${new Date().toISOString().slice(0, 16)} UTC, ${code}`,
    ['system', 'ping every s', 'replies', 'min', 'p50', 'p95', 'added p50 (− raw)'],
    rows,
    [
      machine,
      `overlayd pinged after converging and ${settleS} s more; one lab, the systems one after another`,
      'target (issue 11): added idle RTT ≤ 0.3 ms, goal ≤ 0.2 ms',
    ],
  );
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
