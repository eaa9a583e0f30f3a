// Results of the throughput benchmark, gathered run by run across rounds, and its tables: one TCP flow
// with ratios to the raw underlay and to the anchors and CPU per Gbit/s; latency idle and under load;
// four parallel flows and 64-byte UDP; then the path proof and the details.
import { meanUsage, type CpuUsage } from './cpu.js';
import type { IperfRun } from './iperf.js';
import type { PairDelta } from './pair-traffic.js';
import { median, percentile } from './stats.js';
import { fmt, fmtMB, fmtRatio, fmtSpread, printTable } from './table.js';

export interface ConfigResult {
  key: string;
  label: string;
  runs: IperfRun[];
  /** Idle ping RTT avg per round (null: no reply) and loss %. */
  rtts: Array<{ avgMs: number | null; lossPercent: number }>;
  /** RTT of every ping answered during the single-flow runs (all rounds), and pings sent. */
  loadRtts: number[];
  loadSent: number;
  parallel: IperfRun[];
  udp: IperfRun[];
  /** Machine busy cores over 1 s before each run, this benchmark idle: other load on the machine. */
  backgrounds: number[];
  /** Underlay bytes per ordered site pair, summed over the runs (pings included). */
  pairs: Map<string, PairDelta>;
  notes: string[];
}

export interface RunSample {
  run: IperfRun;
  rttAvgMs: number | null;
  rttLossPercent: number;
  loadRtts: number[];
  loadSent: number;
  parallel: IperfRun | null;
  udp: IperfRun | null;
  background: number;
  pairs: Map<string, PairDelta>;
}

export class ThroughputResults {
  private readonly byKey = new Map<string, ConfigResult>();

  add(key: string, label: string, s: RunSample): void {
    const r = this.get(key, label);
    r.runs.push(s.run);
    r.rtts.push({ avgMs: s.rttAvgMs, lossPercent: s.rttLossPercent });
    r.loadRtts.push(...s.loadRtts);
    r.loadSent += s.loadSent;
    if (s.parallel) r.parallel.push(s.parallel);
    if (s.udp) r.udp.push(s.udp);
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
      r = {
        key,
        label,
        runs: [],
        rtts: [],
        loadRtts: [],
        loadSent: 0,
        parallel: [],
        udp: [],
        backgrounds: [],
        pairs: new Map(),
        notes: [],
      };
      this.byKey.set(key, r);
    }
    return r;
  }
}

/** The anchors each configuration is compared with: wireguard-go's direct tunnel and tinc on the same path. */
function anchorsOf(key: string): { wg: string | undefined; tinc: string } | undefined {
  if (key === 'raw' || key.startsWith('wireguard') || key.startsWith('tinc')) return undefined;
  const relayed = key.endsWith('-relayed');
  return {
    wg: relayed ? 'wireguard-go-relayed' : 'wireguard-go-direct',
    tinc: relayed ? 'tinc-relayed' : 'tinc-direct',
  };
}

const gbpsOf = (runs: readonly IperfRun[]): number | undefined =>
  runs.length ? median(runs.map((x) => x.gbps)) : undefined;
const ppsOf = (runs: readonly IperfRun[]): number | undefined =>
  runs.length ? median(runs.map((x) => x.packetsPerSecond ?? NaN).filter(Number.isFinite)) : undefined;

/** Cores of the daemons (all of them, summed) and of the machine, per Gbit/s. */
function coresPerGbit(runs: readonly IperfRun[]): { daemon: number; machine: number } {
  const cpu: CpuUsage = meanUsage(runs.map((x) => x.cpu));
  const daemon = Object.values(cpu.cores).reduce<number>((a, c) => a + (c ?? 0), 0);
  const g = gbpsOf(runs) ?? NaN;
  return { daemon: Object.keys(cpu.cores).length ? daemon / g : NaN, machine: cpu.machineBusy / g };
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
  /** /proc/loadavg at the start and at the end of the benchmark. */
  load: string;
}

export function reportThroughput(results: readonly ConfigResult[], h: ThroughputHeader): void {
  const by = new Map(results.map((r) => [r.key, r]));
  const runsOf = (key: string | undefined): IperfRun[] => (key ? (by.get(key)?.runs ?? []) : []);
  const raw = gbpsOf(runsOf('raw'));
  const rawRtt = median((by.get('raw')?.rtts ?? []).map((x) => x.avgMs ?? NaN).filter(Number.isFinite));

  printTable(
    `Single TCP flow A→C, ${h.rounds} round(s) × ${h.seconds} s, congestion control ${h.cc}`,
    [
      'configuration',
      'Gbit/s median [min–max]',
      '× raw',
      '× wireguard-go (same path)',
      '× tinc (same path)',
      'daemon CPU (cores)',
      'daemon cores per Gbit/s',
      'machine cores per Gbit/s',
    ],
    results.map((r) => {
      const g = r.runs.map((x) => x.gbps);
      const a = anchorsOf(r.key);
      const c = coresPerGbit(r.runs);
      return [
        r.label,
        fmtSpread(median(g), Math.min(...g), Math.max(...g)),
        r.key === 'raw' ? '1.00×' : fmtRatio(gbpsOf(r.runs), raw, 3),
        a?.wg ? fmtRatio(gbpsOf(r.runs), gbpsOf(runsOf(a.wg))) : '',
        a ? fmtRatio(gbpsOf(r.runs), gbpsOf(runsOf(a.tinc))) : '',
        cpuCell(r),
        fmt(c.daemon),
        fmt(c.machine),
      ];
    }),
    [
      `${new Date().toISOString().slice(0, 16).replace('T', ' ')}, ${h.machine}; load average ${h.load}.`,
      'Rounds: every configuration runs once per round, one system at a time, so a change in other load on the ' +
        'machine hits all of them alike. CPU: utime+stime from /proc/<pid>/stat over each client run, averaged over ' +
        'runs (a = sender side); per Gbit/s: all daemons of the configuration together, and the whole machine ' +
        '(iperf3 and the kernel included), divided by the median throughput.',
      'Tunnel MTUs: overlayd 1380 (peers.yaml default), wireguard-go 1420, tinc 1500 with its own PMTU discovery; ' +
        'raw underlay 1500.',
    ],
  );

  printTable(
    'Latency: idle, and while the single flow runs',
    [
      'configuration',
      'idle RTT ms',
      'added RTT ms',
      'RTT under load p50 ms',
      'p95 ms',
      'pings lost under load',
    ],
    results.map((r) => {
      const idle = median(r.rtts.map((x) => x.avgMs ?? NaN).filter(Number.isFinite));
      const lost =
        r.loadSent > 0 ? `${((100 * (r.loadSent - r.loadRtts.length)) / r.loadSent).toFixed(1)} %` : '—';
      return [
        r.label,
        fmt(idle, 3),
        r.key === 'raw' ? '—' : fmt(idle - rawRtt, 3),
        fmt(percentile(r.loadRtts, 50), 2),
        fmt(percentile(r.loadRtts, 95), 2),
        lost,
      ];
    }),
    [
      'Idle: 20 pings at 0.05 s A→C before each run, average per round, median of the rounds; added = minus the ' +
        'raw underlay. Under load: a ping every 50 ms A→C during every single-flow run, all replies of all rounds.',
    ],
  );

  const withMore = results.filter((r) => r.parallel.length || r.udp.length);
  if (withMore.length) {
    printTable(
      'Four parallel TCP flows, and 64-byte UDP datagrams (iperf3 -u -l 64 -b 0)',
      [
        'configuration',
        '4 flows Gbit/s',
        '× wireguard-go',
        '× tinc',
        'daemon cores per Gbit/s',
        '64 B UDP kpackets/s received',
        '× wireguard-go',
        '× tinc',
        'UDP lost',
      ],
      withMore.map((r) => {
        const a = anchorsOf(r.key);
        const par = gbpsOf(r.parallel);
        const pps = ppsOf(r.udp);
        const anchorRuns = (key: string | undefined, pick: (c: ConfigResult) => IperfRun[]): IperfRun[] => {
          const c = key ? by.get(key) : undefined;
          return c ? pick(c) : [];
        };
        const loss = median(r.udp.map((x) => x.lossPercent ?? NaN).filter(Number.isFinite));
        return [
          r.label,
          par === undefined ? '—' : fmt(par, 3),
          a?.wg ? fmtRatio(par, gbpsOf(anchorRuns(a.wg, (c) => c.parallel))) : '',
          a ? fmtRatio(par, gbpsOf(anchorRuns(a.tinc, (c) => c.parallel))) : '',
          fmt(coresPerGbit(r.parallel).daemon),
          pps === undefined ? '—' : fmt(pps / 1000, 1),
          a?.wg ? fmtRatio(pps, ppsOf(anchorRuns(a.wg, (c) => c.udp))) : '',
          a ? fmtRatio(pps, ppsOf(anchorRuns(a.tinc, (c) => c.udp))) : '',
          Number.isFinite(loss) ? `${loss.toFixed(1)} %` : '—',
        ];
      }),
      [
        'Medians of the rounds. UDP: the sender floods at 64-byte payloads; received is what the server counted ' +
          '(sent minus lost), per second: the cost of a small packet end to end.',
      ],
    );
  }

  printTargets(by, rawRtt);

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
    results.map((r) => [
      r.label,
      String(median(r.runs.map((x) => x.retransmits ?? NaN))),
      String(r.runs[0]?.mss ?? '—'),
      pairCell(r, 'a', 'c'),
      pairCell(r, 'a', 'b'),
      pairCell(r, 'b', 'c'),
      fmt(meanUsage(r.runs.map((x) => x.cpu)).softirq),
      r.backgrounds.map((b) => fmt(b)).join(' '),
      r.notes.join('; '),
    ]),
  );
}

/** Issue 11's targets for overlayd (offloads on) against what this run measured. */
function printTargets(by: ReadonlyMap<string, ConfigResult>, rawRtt: number): void {
  const gbps = (key: string): number | undefined => gbpsOf(by.get(key)?.runs ?? []);
  const ratio = (a: string, b: string): number | undefined => {
    const x = gbps(a);
    const y = gbps(b);
    return x === undefined || y === undefined ? undefined : x / y;
  };
  const idle = (key: string): number | undefined => {
    const r = by.get(key);
    if (!r) return undefined;
    return median(r.rtts.map((x) => x.avgMs ?? NaN).filter(Number.isFinite)) - rawRtt;
  };
  const loadP50 = (key: string): number | undefined => {
    const r = by.get(key);
    return r && r.loadRtts.length ? percentile(r.loadRtts, 50) : undefined;
  };
  const rows: Array<[string, number | undefined, string, (v: number) => boolean, number]> = [
    ['direct × wireguard-go', ratio('overlayd-direct', 'wireguard-go-direct'), '≥ 2.0×', (v) => v >= 2, 2],
    ['direct × tinc', ratio('overlayd-direct', 'tinc-direct'), '≥ 2.0×', (v) => v >= 2, 2],
    ['relayed × tinc relayed', ratio('overlayd-relayed', 'tinc-relayed'), '≥ 2.0×', (v) => v >= 2, 2],
    ['direct Gbit/s', gbps('overlayd-direct'), '≥ 1 (goal 2)', (v) => v >= 1, 3],
    ['added RTT, idle, direct (ms)', idle('overlayd-direct'), '≤ 0.3 (goal 0.2)', (v) => v <= 0.3, 3],
    ['RTT under load p50, direct (ms)', loadP50('overlayd-direct'), '≤ 2', (v) => v <= 2, 2],
    ['RTT under load p50, relayed (ms)', loadP50('overlayd-relayed'), '≤ 2', (v) => v <= 2, 2],
  ];
  printTable(
    'Issue 11 targets (overlayd, offloads on, in this run)',
    ['target', 'measured', 'wanted', 'met'],
    rows.map(([name, v, wanted, ok, digits]) => [
      name,
      v === undefined || !Number.isFinite(v) ? '—' : fmt(v, digits),
      wanted,
      v === undefined || !Number.isFinite(v) ? 'not measured' : ok(v) ? 'yes' : 'no',
    ]),
  );
}
