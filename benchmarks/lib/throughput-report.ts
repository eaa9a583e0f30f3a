// Results of the throughput benchmark, gathered run by run across rounds, and its two tables: throughput
// with ratios to the raw underlay and to the anchors, then the path proof and the details.
import { meanUsage } from './cpu.js';
import type { IperfRun } from './iperf.js';
import type { PairDelta } from './pair-traffic.js';
import { median } from './stats.js';
import { fmt, fmtMB, fmtRatio, fmtSpread, printTable } from './table.js';

export interface ConfigResult {
  key: string;
  label: string;
  runs: IperfRun[];
  /** Ping RTT avg per round (null: no reply) and loss %. */
  rtts: Array<{ avgMs: number | null; lossPercent: number }>;
  /** Machine busy cores over 1 s before each run, this benchmark idle: other load on the machine. */
  backgrounds: number[];
  /** Underlay bytes per ordered site pair, summed over the runs (ping included). */
  pairs: Map<string, PairDelta>;
  notes: string[];
}

export interface RunSample {
  run: IperfRun;
  rttAvgMs: number | null;
  rttLossPercent: number;
  background: number;
  pairs: Map<string, PairDelta>;
}

export class ThroughputResults {
  private readonly byKey = new Map<string, ConfigResult>();

  add(key: string, label: string, s: RunSample): void {
    const r = this.get(key, label);
    r.runs.push(s.run);
    r.rtts.push({ avgMs: s.rttAvgMs, lossPercent: s.rttLossPercent });
    r.backgrounds.push(s.background);
    for (const [k, d] of s.pairs) {
      const t = r.pairs.get(k) ?? { packets: 0, bytes: 0 };
      r.pairs.set(k, { packets: t.packets + d.packets, bytes: t.bytes + d.bytes });
    }
  }

  /** Adds a note once (the same note from every round is kept once). */
  note(key: string, label: string, text: string): void {
    const r = this.get(key, label);
    if (!r.notes.includes(text)) r.notes.push(text);
  }

  /** A per-round value kept in one note: "prefix: v1, v2, v3". */
  noteValue(key: string, label: string, prefix: string, value: string): void {
    const r = this.get(key, label);
    const i = r.notes.findIndex((n) => n.startsWith(`${prefix}: `));
    if (i < 0) r.notes.push(`${prefix}: ${value}`);
    else r.notes[i] += `, ${value}`;
  }

  all(): ConfigResult[] {
    return [...this.byKey.values()];
  }

  private get(key: string, label: string): ConfigResult {
    let r = this.byKey.get(key);
    if (!r) {
      r = { key, label, runs: [], rtts: [], backgrounds: [], pairs: new Map(), notes: [] };
      this.byKey.set(key, r);
    }
    return r;
  }
}

/** Which anchor each overlayd configuration is compared with. */
const ANCHOR_OF: Record<string, [string, string]> = {
  'overlayd-direct': ['wireguard-go-direct', 'wireguard-go direct'],
  'overlayd-relayed': ['tinc-relayed', 'tinc relayed'],
};

function gbps(r: ConfigResult | undefined): number | undefined {
  return r && r.runs.length ? median(r.runs.map((x) => x.gbps)) : undefined;
}

function cpuCell(r: ConfigResult): string {
  const cpu = meanUsage(r.runs.map((x) => x.cpu));
  const parts = Object.entries(cpu.cores).map(([name, c]) => `${name.replace(/^.*-/, '')} ${fmt(c)}`);
  return parts.length ? parts.join(' · ') : '—';
}

function pairCell(r: ConfigResult, x: string, y: string): string {
  return `${fmtMB(r.pairs.get(`${x}>${y}`)?.bytes ?? 0)} / ${fmtMB(r.pairs.get(`${y}>${x}`)?.bytes ?? 0)}`;
}

export interface ThroughputHeader {
  rounds: number;
  seconds: number;
  cc: string;
  machine: string;
}

export function reportThroughput(results: readonly ConfigResult[], h: ThroughputHeader): void {
  const by = new Map(results.map((r) => [r.key, r]));
  const raw = gbps(by.get('raw'));
  const rows = results.map((r) => {
    const g = r.runs.map((x) => x.gbps);
    const anchor = ANCHOR_OF[r.key];
    const rtt = median(r.rtts.map((x) => x.avgMs ?? NaN).filter(Number.isFinite));
    const lost = Math.max(0, ...r.rtts.map((x) => x.lossPercent));
    return [
      r.label,
      fmtSpread(median(g), Math.min(...g), Math.max(...g)),
      r.key === 'raw' ? '1.00×' : fmtRatio(gbps(r), raw, 3),
      anchor ? `${fmtRatio(gbps(r), gbps(by.get(anchor[0])))} ${anchor[1]}` : '',
      lost > 0 ? `${fmt(rtt, 3)} (${lost.toFixed(0)} % lost)` : fmt(rtt, 3),
      cpuCell(r),
      fmt(meanUsage(r.runs.map((x) => x.cpu)).machineBusy),
    ];
  });
  printTable(
    `Single TCP flow A→C, ${h.rounds} round(s) × ${h.seconds} s, congestion control ${h.cc}`,
    [
      'configuration',
      'Gbit/s median [min–max]',
      '× raw',
      '× anchor',
      'RTT avg ms',
      'daemon CPU (cores)',
      'machine busy (of 2)',
    ],
    rows,
    [
      `${new Date().toISOString().slice(0, 10)}, ${h.machine}.`,
      'Rounds: every configuration runs once per round, one system at a time, so a change in other load on the ' +
        'machine hits all of them alike. RTT: 20 pings at 0.05 s A→C before each run (median of the rounds).',
      'CPU: utime+stime from /proc/<pid>/stat over each client run, averaged over runs (a = sender side).',
      'Tunnel MTUs: overlayd 1380 (peers.yaml default), wireguard-go 1420, tinc 1500 with its own PMTU discovery; ' +
        'raw underlay 1500.',
    ],
  );
  const detail = results.map((r) => [
    r.label,
    String(median(r.runs.map((x) => x.retransmits ?? NaN))),
    String(r.runs[0]?.mss ?? '—'),
    pairCell(r, 'a', 'c'),
    pairCell(r, 'a', 'b'),
    pairCell(r, 'b', 'c'),
    fmt(meanUsage(r.runs.map((x) => x.cpu)).softirq),
    r.backgrounds.map((b) => fmt(b)).join(' '),
    r.notes.join('; '),
  ]);
  printTable(
    'Path proof and details (underlay MB through the wan during the runs, per direction, all rounds)',
    [
      'configuration',
      'retransmits (median)',
      'MSS',
      'a>c / c>a MB',
      'a>b / b>a MB',
      'b>c / c>b MB',
      'softirq cores',
      'background busy before each run',
      'notes',
    ],
    detail,
  );
}
