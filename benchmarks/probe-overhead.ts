// Control-plane overhead per node with no data traffic: probes and their replies plus routing control
// messages (adverts, summaries, requests), both directions, for N members in a full mesh, after
// convergence. Measured two ways over the same window:
//   daemon  the daemons' own counters (`overlayd status` → control: probe and routing bytes, UDP payload)
//   wan     the wan's per-pair counters (IP packets between sites: headers included, and everything the
//           daemons sent, handshakes too)
//
//   node dist/benchmarks/probe-overhead.js [--quick] [--sizes 3,10,20] [--window 30] [--settle 20]
//                                        [--converge-timeout S] [--wait-quiet S]
//
// --quick: a 10 s window (default 30 s, which spans one 30 s advert refresh and two 15 s anti-entropy
// rounds; a 10 s window may catch none of them, so it shows mostly probes).
// Sizes default to 3, 10 and 20: 50 daemons do not converge on this 2-core VM (see benchmarks/README.md);
// --sizes 3,10,50 tries anyway and reports what it saw.
import { writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { OverlayLab } from '../test/lab/overlay-lab.js';
import { CpuSampler, waitQuiet, type CpuUsage } from './lib/cpu.js';
import { patientStatus } from './lib/overlay.js';
import { diffPairs, snapshotPairs } from './lib/pair-traffic.js';
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
import { fmt, printTable } from './lib/table.js';

interface Settings {
  sizes: number[];
  windowS: number;
  settleS: number;
  /** Give up waiting for convergence after this long (default 30 s + 2 s per member). */
  convergeTimeoutS: number | undefined;
  waitQuietS: number;
  json: string | undefined;
}

interface Counters {
  at: number;
  probeSent: number;
  probeRecv: number;
  controlSent: number;
  controlRecv: number;
  /** Direct links this node measures, and how many of them show loss (lost probes inflate the rate). */
  links: number;
  lossyLinks: number;
  /** How long the status call took: a daemon slow to answer is a daemon short of CPU. */
  callMs: number;
}

interface SizeResult {
  n: number;
  convergeS: number | null;
  error?: string;
  windowS: number;
  /** Per node, bytes/s, means over the nodes. */
  daemon: { probeSent: number; probeRecv: number; controlSent: number; controlRecv: number };
  wan: { bytesSent: number; bytesRecv: number; pktsSent: number; pktsRecv: number };
  /** Max over nodes of daemon sent bytes/s (imbalance check). */
  maxSent: number;
  cpu: CpuUsage | null;
  background: number;
  /** Share of direct links with a non-zero loss ratio at the end of the window. */
  lossyShare: number;
  /** Slowest status call at the end of the window, ms. */
  maxCallMs: number;
}

function parse(): Settings {
  const { values } = parseArgs({
    options: {
      ...COMMON_OPTIONS,
      sizes: { type: 'string' },
      window: { type: 'string' },
      settle: { type: 'string' },
      'converge-timeout': { type: 'string' },
    },
  });
  const common = commonOptions(
    values,
    'node dist/benchmarks/probe-overhead.js [--quick] [--sizes 3,10,20] [--window S] [--settle S] [--converge-timeout S] [--wait-quiet S] [--json FILE]',
  );
  const sizes = (values.sizes ?? '3,10,20').split(',').map(Number);
  if (sizes.some((n) => !Number.isInteger(n) || n < 2 || n > 200)) usageError('--sizes: integers 2..200');
  return {
    sizes,
    windowS: numberOption(values.window, values.quick ? 10 : 30, 'window'),
    settleS: numberOption(values.settle, 20, 'settle'),
    convergeTimeoutS:
      values['converge-timeout'] === undefined
        ? undefined
        : numberOption(values['converge-timeout'], 0, 'converge-timeout'),
    ...common,
  };
}

/** A size that could not be measured, with the reason (reported as such, never filled in). */
function unmeasured(n: number, windowS: number, error: string): SizeResult {
  return {
    n,
    convergeS: null,
    windowS,
    error,
    daemon: { probeSent: NaN, probeRecv: NaN, controlSent: NaN, controlRecv: NaN },
    wan: { bytesSent: NaN, bytesRecv: NaN, pktsSent: NaN, pktsRecv: NaN },
    maxSent: NaN,
    cpu: null,
    background: NaN,
    lossyShare: NaN,
    maxCallMs: NaN,
  };
}

/**
 * Share of ordered pairs (x, y) where x has a path to y, polled every 2 s (status calls cost CPU too) until
 * all are reachable or `timeoutMs` has passed. Each call gets at most 5 s and never outlives the deadline: an
 * overloaded daemon that cannot answer counts as reaching nobody.
 */
async function waitReachable(
  ol: OverlayLab,
  sites: readonly string[],
  timeoutMs: number,
): Promise<{ share: number; waitedS: number }> {
  const t0 = Date.now();
  const deadline = t0 + timeoutMs;
  let lastReport = t0;
  let share = 0;
  while (Date.now() < deadline) {
    let ok = 0;
    for (const x of sites) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      try {
        ok += (await patientStatus(ol, x, Math.min(5000, left))).members.filter(
          (m) => !m.self && m.reachable,
        ).length;
      } catch {
        // not up yet, or too busy to answer: its pairs count as unreachable
      }
    }
    share = ok / (sites.length * (sites.length - 1));
    if (share === 1) break;
    if (Date.now() - lastReport > 10_000) {
      progress(
        `  ${(share * 100).toFixed(1)} % of pairs reachable after ${((Date.now() - t0) / 1000).toFixed(0)} s`,
      );
      lastReport = Date.now();
    }
    await sleep(2000);
  }
  return { share, waitedS: (Date.now() - t0) / 1000 };
}

async function readCounters(ol: OverlayLab, sites: readonly string[]): Promise<Map<string, Counters>> {
  const out = new Map<string, Counters>();
  // One at a time, each with its own timestamp: 50 control calls take a while, and the rate of each node
  // is computed over its own interval.
  for (const s of sites) {
    const at = performance.now();
    const st = await patientStatus(ol, s);
    const callMs = performance.now() - at;
    const c = st.control;
    const direct = st.members.filter((m) => !m.self && m.direct);
    out.set(s, {
      callMs,
      links: direct.length,
      lossyLinks: direct.filter((m) => (m.direct?.lossRatio ?? 0) > 0).length,
      at,
      probeSent: c.probeBytesSent,
      probeRecv: c.probeBytesReceived,
      controlSent: c.controlBytesSent,
      controlRecv: c.controlBytesReceived,
    });
  }
  return out;
}

async function measureSize(n: number, s: Settings): Promise<SizeResult> {
  const sites = Array.from({ length: n }, (_, i) => `n${i + 1}`);
  progress(`N=${n}: building the lab and ${n} keys`);
  const ol = await OverlayLab.create({ sites, logLevel: 'info' });
  try {
    const background = await waitQuiet(s.waitQuietS, 0.3, (b) =>
      progress(`waiting for a quiet machine (${b.toFixed(2)} cores busy)`),
    );
    const t0 = Date.now();
    ol.startAll();
    const pids = Object.fromEntries(sites.map((x) => [x, ol.site(x).process?.pid]));
    const startup = new CpuSampler(pids);
    startup.start();
    const reach = await waitReachable(ol, sites, (s.convergeTimeoutS ?? 30 + n * 2) * 1000);
    const su = startup.stop();
    progress(`N=${n}: machine busy ${su.machineBusy.toFixed(2)} cores while converging`);
    if (reach.share < 1) {
      // Overhead "after convergence" does not exist here; what happened instead is the finding.
      const why =
        `not converged: ${(reach.share * 100).toFixed(1)} % of pairs reachable after ${reach.waitedS.toFixed(0)} s, ` +
        `machine ${su.machineBusy.toFixed(2)} busy cores`;
      progress(`N=${n}: ${why}`);
      return { ...unmeasured(n, s.windowS, why), background };
    }
    const convergeS = (Date.now() - t0) / 1000;
    progress(
      `N=${n}: converged in ${convergeS.toFixed(1)} s; settling ${s.settleS} s, then a ${s.windowS} s window`,
    );
    await sleep(s.settleS * 1000);
    const sampler = new CpuSampler(pids);
    const c0 = await readCounters(ol, sites);
    const p0 = await snapshotPairs(ol.lab);
    sampler.start();
    await sleep(s.windowS * 1000);
    const cpu = sampler.stop();
    const p1 = await snapshotPairs(ol.lab);
    const c1 = await readCounters(ol, sites);
    const pairs = diffPairs(p0, p1);

    const mean = (f: (x: string) => number): number => sites.reduce((a, x) => a + f(x), 0) / n;
    const rate = (x: string, k: 'probeSent' | 'probeRecv' | 'controlSent' | 'controlRecv'): number =>
      (c1.get(x)![k] - c0.get(x)![k]) / ((c1.get(x)!.at - c0.get(x)!.at) / 1000);
    const wanSum = (x: string, dir: 'from' | 'to', field: 'bytes' | 'packets'): number => {
      let sum = 0;
      for (const [key, d] of pairs) {
        const [from, to] = key.split('>');
        if ((dir === 'from' ? from : to) === x) sum += d[field];
      }
      return sum / s.windowS;
    };
    const aliveAll = sites.every((x) => ol.site(x).process?.isAlive());
    return {
      n,
      convergeS,
      windowS: s.windowS,
      error: aliveAll ? undefined : 'a daemon exited during the window',
      daemon: {
        probeSent: mean((x) => rate(x, 'probeSent')),
        probeRecv: mean((x) => rate(x, 'probeRecv')),
        controlSent: mean((x) => rate(x, 'controlSent')),
        controlRecv: mean((x) => rate(x, 'controlRecv')),
      },
      wan: {
        bytesSent: mean((x) => wanSum(x, 'from', 'bytes')),
        bytesRecv: mean((x) => wanSum(x, 'to', 'bytes')),
        pktsSent: mean((x) => wanSum(x, 'from', 'packets')),
        pktsRecv: mean((x) => wanSum(x, 'to', 'packets')),
      },
      maxSent: Math.max(...sites.map((x) => rate(x, 'probeSent') + rate(x, 'controlSent'))),
      cpu,
      background,
      maxCallMs: Math.max(...sites.map((x) => c1.get(x)!.callMs)),
      lossyShare:
        sites.reduce((a, x) => a + c1.get(x)!.lossyLinks, 0) /
        Math.max(
          1,
          sites.reduce((a, x) => a + c1.get(x)!.links, 0),
        ),
    };
  } finally {
    await ol.destroy();
  }
}

function report(results: SizeResult[], s: Settings, machine: string): void {
  const rows = results.map((r) => {
    if (r.error && !Number.isFinite(r.daemon.probeSent))
      return [String(r.n), `not measured: ${r.error}`, '', '', '', '', '', '', '', '', '', ''];
    const d = r.daemon;
    const cores = r.cpu ? Object.values(r.cpu.cores).filter((c): c is number => c !== null) : [];
    const meanCore = cores.length ? cores.reduce((a, b) => a + b, 0) / cores.length : NaN;
    return [
      String(r.n) + (r.error ? ` (${r.error})` : ''),
      fmt(d.probeSent + d.controlSent, 0),
      fmt(d.probeRecv + d.controlRecv, 0),
      `${fmt(d.probeSent, 0)} / ${fmt(d.controlSent, 0)}`,
      fmt(r.maxSent, 0),
      fmt(r.wan.bytesSent, 0),
      fmt(r.wan.bytesRecv, 0),
      `${fmt(r.wan.pktsSent, 1)} / ${fmt(r.wan.pktsRecv, 1)}`,
      `${fmt(meanCore, 3)} (machine ${fmt(r.cpu?.machineBusy, 2)}, bg ${fmt(r.background, 2)})`,
      fmt(r.convergeS, 1),
      `${fmt(r.lossyShare * 100, 0)} %`,
      fmt(r.maxCallMs, 0),
    ];
  });
  printTable(
    `Control-plane overhead per node, idle full mesh, ${s.windowS} s window after convergence + ${s.settleS} s`,
    [
      'N',
      'daemon sent B/s',
      'daemon recv B/s',
      'sent: probes / routing B/s',
      'max node sent B/s',
      'wan sent B/s',
      'wan recv B/s',
      'wan pkts/s sent / recv',
      'CPU per daemon, cores',
      'converged s',
      'links with probe loss',
      'slowest status call ms',
    ],
    rows,
    [
      `${new Date().toISOString().slice(0, 10)}, ${machine}.`,
      'daemon: the node’s own counters (probes, probe replies and routing control messages; UDP payload bytes). ' +
        'wan: IP bytes and packets each site sent/received through the wan (v4 + v6, headers included, everything).',
      'Each member has two underlay endpoints (IPv4 and IPv6) and overlayd probes each of them.',
      'Means over the N nodes; "max node" shows how uneven it is. bg: machine busy cores before the daemons started.',
    ],
  );
}

async function main(): Promise<void> {
  requireRoot();
  const s = parse();
  const machine = `${await machineLine()}; overlayd ${await codeVersion()}`;
  const results: SizeResult[] = [];
  for (const n of s.sizes) {
    try {
      const r = await measureSize(n, s);
      results.push(r);
      progress(
        `N=${n}: ${r.error ?? `daemon sent ${(r.daemon.probeSent + r.daemon.controlSent).toFixed(0)} B/s per node`}`,
      );
    } catch (err) {
      progress(`N=${n} FAILED: ${String(err)}`);
      results.push(
        unmeasured(n, s.windowS, err instanceof Error ? (err.message.split('\n')[0] ?? '') : String(err)),
      );
    }
  }
  report(results, s, machine);
  if (s.json)
    writeFileSync(
      s.json,
      JSON.stringify({ date: new Date().toISOString(), machine, settings: s, results }, null, 2),
    );
}

main().catch((err: unknown) => {
  process.stderr.write(
    `probe-overhead benchmark failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exitCode = 1;
});
