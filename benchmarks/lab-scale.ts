// N real overlayd daemons on this machine: each in its own network namespace with its own TUN and UDP
// socket, all behind one shared wan namespace (test/lab), one peers.yaml listing every site with its
// IPv4 underlay endpoint. Per size N:
//
//   1. limits   what N daemons need (memory, files, threads, namespaces, neighbour tables) against
//               what the machine has; a run that cannot fit stops here and says which limit to raise
//   2. start    all daemons at once; until every control socket answers, until every daemon has a
//               route to every other (convergence), daemon CPU spent meanwhile
//   3. ping     every ordered pair over overlay addresses (fping, one process per site)
//   4. idle     a steady window: per daemon CPU, timer wake-ups/s (the daemon's own count) and
//               main-thread wake-ups/s (voluntary context switches, the kernel's count), RSS; control
//               bytes sent per node per second by message type, against the 1.25 kB/s goal
//   5. cut      a direct link carrying a 20 ms overlay ping is cut in the wan: until its source routes
//               around it, and the ping outage
//   6. partition a quarter of the sites cut off from the rest (set-based nft rules, all at once):
//               until every daemon has dropped its routes to the other side; then healed: until all
//               routes are back, and every pair pings again
//
//   node dist/benchmarks/lab-scale.js [--sizes 25,50,100] [--steady S] [--settle S] [--wave W] [--neighbours K] [--latency]
//                                     [--strace] [--no-impairments] [--quick] [--wait-quiet S] [--json FILE]
//
// --settle waits that long after the all-pairs ping before the idle window (default 5 s). The pings
// saturate the machine (round trips of 1–3 s), every link's measurements then fall back over tens of
// seconds, and that is news each node advertises: a window that starts at once sees the aftermath.
// --wave W launches the daemons W at a time: each wave's control sockets answer, and the machine is
// below 1.5 busy cores (at most 60 s), before the next starts. All at once (the default) is the
// harder test: 100 Node processes booting on 2 cores with the first ones already probing. A wave
// start asks whether N daemons can live on the machine once started; convergence still counts
// from the last daemon up.
// --strace attaches `strace -c` to the first daemon's main thread for the idle window and counts its
// epoll waits (a third count of wake-ups). --latency gives every pair 2–20 ms one way with the lab's
// delay emulator (costs a core of its own at N = 100; off by default). Needs root, fping, strace.
import { writeFileSync } from 'node:fs';
import { FLOODING_COUNTS, type FloodingCounts, type NodeStatus } from '../src/control/status.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { TRAFFIC_TYPES, trafficDelta, type TrafficType } from '../src/node/control-traffic.js';
import { zeroCounts } from '../src/counts.js';
import { ACTIVE_CAUSES, type ActiveCause } from '../src/probe/link-view.js';
import { WAKE_CAUSES, type WakeCause } from '../src/node/control-plane.js';
import {
  DRIFT_CAUSES,
  ORIGINATION_CAUSES,
  type DriftCause,
  type OriginationCause,
} from '../src/routing/originator.js';
import { SET_CHANGES, type SetChange } from '../src/probe/probe-set.js';
import { PROBE_SCHEDULES, type ProbeSchedule } from '../src/probe/member-state.js';
import { OverlayLab } from '../test/lab/overlay-lab.js';
import { CONTROL_BUDGET_BPS } from './lib/budget.js';
import { pingAllPairs, type PairPingResult } from './lib/all-pairs-ping.js';
import { CpuSampler, waitQuiet } from './lib/cpu.js';
import { fileSize, routeChangesSince, stopPing, startPing } from './lib/failover-trial.js';
import { Fleet, type Overviews } from './lib/fleet.js';
import { checkLimits, NOT_NEEDED, type LimitCheck } from './lib/limits.js';
import { analyzeOutage } from './lib/ping-log.js';
import { privateBytes, procRates, rssBytes, sampleProc, type ProcSample } from './lib/proc-stats.js';
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
import { summarize } from './lib/stats.js';
import { fmt, printTable } from './lib/table.js';

const STRACE_S = 10;
/** Launch allowance per daemon until its control socket answers (Node start, addons, keys). */
const STARTUP_S_PER_DAEMON = 2;

interface Settings {
  sizes: number[];
  steadyS: number;
  /** Seconds between the all-pairs ping and the idle window. */
  settleS: number;
  /** Launch this many daemons at a time (undefined: all at once). */
  wave: number | undefined;
  neighbours: number | undefined;
  latency: boolean;
  strace: boolean;
  impairments: boolean;
  waitQuietS: number;
  json: string | undefined;
}

interface IdleResult {
  seconds: number;
  cores: number[];
  timerWakeups: number[];
  /** Timer wake-ups per second by the core that had work due, mean over daemons. */
  wakeupsBy: Record<WakeCause, number>;
  mainWakeups: number[];
  rssMB: number[];
  /** Private (unshared) memory per daemon, MB (proc-stats.ts privateBytes). */
  privateMB: number[];
  /** Bytes per node per second by type (mean over daemons). */
  bytesByType: Record<TrafficType, number>;
  /** Per daemon, all types. */
  totalBps: number[];
  /** Exact sealed UDP payload bytes per node per second (mean), for comparison. */
  sealedBps: number;
  probed: number[];
  /** Probe outcomes per node per second (mean over daemons): what drives the probe rate. */
  probes: {
    sent: number;
    inTime: number;
    lost: number;
    late: number;
    unknown: number;
    activations: number;
    /** Active windows started per node per second, by cause (Prober activationsBy). */
    by: Record<ActiveCause, number>;
  };
  /** Probes sent per node per second by schedule (why they were sent; mean over daemons). */
  bySchedule: Record<ProbeSchedule, number>;
  /** Adverts originated per node per minute, by cause (mean over daemons). */
  originatedPerMin: Record<OriginationCause, number>;
  driftPerMin: Record<DriftCause, number>;
  /** Links per node per minute whose RTT or loss moved and came back within the drift interval (originator.ts). */
  fadedPerMin: number;
  /** Changes of the bounded probe set per node per minute, by why (mean over daemons). */
  setChangesPerMin: Record<SetChange, number>;
  /** Flooding counters per node per minute (mean over daemons): copies received, sent, requested. */
  floodingPerMin: FloodingCounts;
  machineBusy: number;
  straceEpollWaits: number | null;
}

interface SizeResult {
  n: number;
  limits: LimitCheck[];
  error?: string;
  labBuildS?: number;
  upS?: number | null;
  convergedS?: number | null;
  /** From the moment every control socket answered. */
  convergedAfterUpS?: number | null;
  startCpuS?: number;
  pings?: PairPingResult;
  /** Routes, sessions, handshake failures and drops over the all-pairs ping (pingPhaseFacts). */
  pingPhase?: string[];
  /** For the first few pairs that never answered: what each end says of the other. */
  failedPairs?: string[];
  idle?: IdleResult;
  cut?: {
    from: string;
    to: string;
    rerouteMs: number | null;
    outageMs: number | null;
    lost: number | null;
    /** Every daemon's route changes to either end within 5 s of the cut: who moved when. */
    changes: string[];
    /** Data-plane drops that grew from just before the cut to 3 s after the reroute, by daemon. */
    drops: string[];
  };
  partition?: {
    sizes: [number, number];
    convergedMs: number | null;
    healedMs: number | null;
    pings?: PairPingResult;
  };
}

function parse(): Settings {
  const { values } = parseArgs({
    options: {
      ...COMMON_OPTIONS,
      sizes: { type: 'string' },
      steady: { type: 'string' },
      settle: { type: 'string' },
      wave: { type: 'string' },
      neighbours: { type: 'string' },
      latency: { type: 'boolean', default: false },
      strace: { type: 'boolean', default: false },
      'no-impairments': { type: 'boolean', default: false },
    },
  });
  const common = commonOptions(
    values,
    'node dist/benchmarks/lab-scale.js [--sizes 25,50,100] [--steady S] [--settle S] [--neighbours K] [--latency] ' +
      '[--strace] [--no-impairments] [--quick] [--wait-quiet S] [--json FILE]',
  );
  const sizes = (values.sizes ?? (common.quick ? '25' : '25,50,100')).split(',').map(Number);
  if (sizes.some((n) => !Number.isInteger(n) || n < 2))
    usageError('--sizes takes integers ≥ 2, e.g. 25,50,100');
  return {
    sizes,
    steadyS: numberOption(values.steady, common.quick ? 15 : 30, 'steady'),
    settleS: numberOption(values.settle, 5, 'settle'),
    wave:
      values.wave === undefined ? undefined : Math.max(1, Math.round(numberOption(values.wave, 0, 'wave'))),
    neighbours:
      values.neighbours === undefined ? undefined : numberOption(values.neighbours, 0, 'neighbours'),
    latency: values.latency ?? false,
    strace: values.strace ?? false,
    impairments: !(values['no-impairments'] ?? false),
    waitQuietS: common.waitQuietS,
    json: common.json,
  };
}

function siteNames(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `s${i + 1}`);
}

/** Daemon CPU ticks of all daemons, summed (for the start-up cost). */
function samples(fleet: Fleet): Map<string, ProcSample> {
  const out = new Map<string, ProcSample>();
  for (const name of fleet.names) {
    const pid = fleet.pid(name);
    if (pid !== undefined) out.set(name, sampleProc(pid));
  }
  return out;
}

function cpuSecondsBetween(a: Map<string, ProcSample>, b: Map<string, ProcSample>): number {
  let sum = 0;
  for (const [name, s] of b) {
    const r = a.get(name);
    const rate = r ? procRates(r, s).cores : null;
    if (rate !== null) sum += (rate * (s.at - (r as ProcSample).at)) / 1000;
  }
  return sum;
}

async function strace(ol: OverlayLab, pid: number, seconds: number): Promise<number | null> {
  // The main thread only (no -f): its epoll waits are the event loop's iterations.
  const r = await ol.lab.execWan(
    [
      'timeout',
      '-s',
      'INT',
      String(seconds),
      'strace',
      '-c',
      '-e',
      'trace=epoll_wait,epoll_pwait,epoll_pwait2',
      '-p',
      String(pid),
    ],
    { timeoutMs: (seconds + 10) * 1000 },
  );
  let calls = 0;
  let seen = false;
  for (const line of r.stderr.split('\n')) {
    const m = /^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(epoll_\w+)\s*$/.exec(line);
    if (m) {
      calls += Number(m[1]);
      seen = true;
    }
  }
  return seen ? calls : null;
}

async function idleWindow(fleet: Fleet, s: Settings): Promise<IdleResult> {
  const names = fleet.names;
  const o0 = await fleet.overviews();
  const p0 = samples(fleet);
  const machine = new CpuSampler({});
  machine.start();
  await sleep(s.steadyS * 1000);
  const p1 = samples(fleet);
  const o1 = await fleet.overviews();
  const busy = machine.stop().machineBusy;
  // After the window: a traced process stops at every syscall, which would inflate its own figures.
  const firstPid = fleet.pid(names[0]!);
  const straceEpollWaits =
    s.strace && firstPid !== undefined ? await strace(fleet.ol, firstPid, STRACE_S) : null;
  const res: IdleResult = {
    seconds: s.steadyS,
    cores: [],
    timerWakeups: [],
    wakeupsBy: zeroCounts(WAKE_CAUSES),
    mainWakeups: [],
    rssMB: [],
    privateMB: [],
    bytesByType: zeroCounts(TRAFFIC_TYPES),
    totalBps: [],
    sealedBps: 0,
    probed: [],
    probes: {
      sent: 0,
      inTime: 0,
      lost: 0,
      late: 0,
      unknown: 0,
      activations: 0,
      by: zeroCounts(ACTIVE_CAUSES),
    },
    bySchedule: zeroCounts(PROBE_SCHEDULES),
    originatedPerMin: zeroCounts(ORIGINATION_CAUSES),
    driftPerMin: zeroCounts(DRIFT_CAUSES),
    fadedPerMin: 0,
    setChangesPerMin: zeroCounts(SET_CHANGES),
    floodingPerMin: zeroCounts(FLOODING_COUNTS),
    machineBusy: busy,
    straceEpollWaits,
  };
  let counted = 0;
  for (const name of names) {
    const a = o0.get(name);
    const b = o1.get(name);
    const pa = p0.get(name);
    const pb = p1.get(name);
    if (pa && pb) {
      const r = procRates(pa, pb);
      if (r.cores !== null) res.cores.push(r.cores);
      if (r.mainWakeups !== null) res.mainWakeups.push(r.mainWakeups);
    }
    const pid = fleet.pid(name);
    const rss = pid === undefined ? null : rssBytes(pid);
    if (rss !== null) res.rssMB.push(rss / 1e6);
    const own = pid === undefined ? null : privateBytes(pid);
    if (own !== null) res.privateMB.push(own / 1e6);
    if (!a || !b) continue;
    const secs = (b.uptimeMs - a.uptimeMs) / 1000;
    res.timerWakeups.push((b.wakeups - a.wakeups) / secs);
    for (const c of WAKE_CAUSES) res.wakeupsBy[c] += (b.wakeupsBy[c] - a.wakeupsBy[c]) / secs;
    res.probed.push(b.probed);
    const d = trafficDelta(a.sent, b.sent);
    let total = 0;
    for (const t of TRAFFIC_TYPES) {
      res.bytesByType[t] += d[t].bytes / secs;
      total += d[t].bytes / secs;
    }
    res.totalBps.push(total);
    res.sealedBps += (b.sealedBytesSent - a.sealedBytesSent) / secs;
    res.probes.sent += (b.probes.probesSent - a.probes.probesSent) / secs;
    res.probes.inTime += (b.probes.repliesReceived - a.probes.repliesReceived) / secs;
    res.probes.lost += (b.probes.probesLost - a.probes.probesLost) / secs;
    res.probes.late += (b.probes.repliesLate - a.probes.repliesLate) / secs;
    res.probes.unknown += (b.probes.repliesUnknown - a.probes.repliesUnknown) / secs;
    res.probes.activations += (b.probes.activations - a.probes.activations) / secs;
    for (const c of ACTIVE_CAUSES)
      res.probes.by[c] += (b.probes.activationsBy[c] - a.probes.activationsBy[c]) / secs;
    for (const k of PROBE_SCHEDULES)
      res.bySchedule[k] += (b.probes.sentBySchedule[k] - a.probes.sentBySchedule[k]) / secs;
    for (const c of ORIGINATION_CAUSES)
      res.originatedPerMin[c] += (60 * (b.advertsOriginatedBy[c] - a.advertsOriginatedBy[c])) / secs;
    for (const c of DRIFT_CAUSES)
      res.driftPerMin[c] += (60 * (b.advertDriftBy[c] - a.advertDriftBy[c])) / secs;
    res.fadedPerMin += (60 * (b.advertDriftFaded - a.advertDriftFaded)) / secs;
    for (const c of SET_CHANGES)
      res.setChangesPerMin[c] += (60 * (b.probes.setChangesBy[c] - a.probes.setChangesBy[c])) / secs;
    for (const k of FLOODING_COUNTS) res.floodingPerMin[k] += (60 * (b.flooding[k] - a.flooding[k])) / secs;
    counted++;
  }
  for (const k of ['sent', 'inTime', 'lost', 'late', 'unknown', 'activations'] as const)
    res.probes[k] /= Math.max(1, counted);
  for (const c of ACTIVE_CAUSES) res.probes.by[c] /= Math.max(1, counted);
  for (const c of WAKE_CAUSES) res.wakeupsBy[c] /= Math.max(1, counted);
  for (const k of PROBE_SCHEDULES) res.bySchedule[k] /= Math.max(1, counted);
  for (const c of ORIGINATION_CAUSES) res.originatedPerMin[c] /= Math.max(1, counted);
  for (const c of DRIFT_CAUSES) res.driftPerMin[c] /= Math.max(1, counted);
  res.fadedPerMin /= Math.max(1, counted);
  for (const c of SET_CHANGES) res.setChangesPerMin[c] /= Math.max(1, counted);
  for (const k of FLOODING_COUNTS) res.floodingPerMin[k] /= Math.max(1, counted);
  for (const t of TRAFFIC_TYPES) res.bytesByType[t] /= Math.max(1, counted);
  res.sealedBps /= Math.max(1, counted);
  return res;
}

/** A direct link that `from` routes over, with a ping flow on it; cut it and time the reroute. */
async function cutTrial(fleet: Fleet): Promise<SizeResult['cut']> {
  const ol = fleet.ol;
  const from = fleet.names[0]!;
  const st = await fleet.status(from);
  const to = st?.members.find((m) => !m.self && m.hops === 1)?.name;
  if (!st || !to) return undefined;
  const ping = startPing(ol.lab, from, ol.addressOf(to), `ping-${from}-${to}`, 0.02, 60);
  await sleep(3000); // the link turns active (50 ms probing) and the ping settles
  const dropsBefore = await dropCounts(fleet);
  const logs = fleet.names.map((name) => {
    const path = ol.site(name).process!.stderrPath;
    return { name, path, offset: fileSize(path) };
  });
  const cutAt = Date.now() / 1000;
  const t0 = performance.now();
  await ol.lab.cut(from, to);
  let rerouteMs: number | null = null;
  while (performance.now() - t0 < 20_000) {
    const status: NodeStatus | null = await fleet.status(from);
    const path: string[] | null | undefined = status?.members.find((m) => m.name === to)?.path;
    if (path && !(path.length === 2 && path[1] === to)) {
      rerouteMs = performance.now() - t0;
      break;
    }
    await sleep(20);
  }
  await sleep(3000);
  const log = await stopPing(ping);
  const drops = dropDeltas(dropsBefore, await dropCounts(fleet));
  const o = analyzeOutage(log, cutAt, { fromS: 0 });
  await ol.lab.restore(from, to);
  const changes = logs
    .flatMap(({ name, path, offset }) =>
      routeChangesSince(path, offset)
        .filter((c) => (c.dst === from || c.dst === to) && c.at - cutAt < 5)
        .map((c) => ({ at: c.at, line: `${name}: ${c.from} ⇒ ${c.to} (${c.reason})` })),
    )
    .sort((a, b) => a.at - b.at)
    .map((c) => `${((c.at - cutAt) * 1000).toFixed(0)} ms ${c.line}`);
  return { from, to, rerouteMs, outageMs: o?.outageMs ?? null, lost: o?.lost ?? null, changes, drops };
}

/** "; routes min/median/max 12/97/99, probed median 21, 3 not answering": why not converged yet. */
function routeSpread(all: Overviews): string {
  const answered = [...all.values()].filter((o) => o !== null);
  if (answered.length === 0) return '';
  const routes = summarize(answered.map((o) => o.routes));
  const probed = summarize(answered.map((o) => o.probed));
  const silent = all.size - answered.length;
  return `; routes min/median/max ${routes.min}/${routes.p50}/${routes.max}, probed median ${probed.p50}${silent > 0 ? `, ${silent} not answering` : ''}`;
}

/**
 * The five daemons with the fewest routes at the last poll, each as its own status tells it: routes,
 * direct links alive, sessions, and why it calls members unreachable (what to look at next).
 */
async function fewestRoutes(fleet: Fleet, last: Overviews): Promise<string[]> {
  const worst = [...last]
    .sort(([, a], [, b]) => (a?.routes ?? -1) - (b?.routes ?? -1))
    .slice(0, 5)
    .map(([name]) => name);
  const out: string[] = [];
  for (const name of worst) {
    const st = await fleet.status(name);
    if (!st) {
      out.push(`  fewest routes: ${name} does not answer`);
      continue;
    }
    const others = st.members.filter((m) => !m.self);
    const reasons = new Map<string, number>();
    for (const m of others)
      if (!m.reachable) {
        const r = m.unreachableReason ?? 'unknown';
        reasons.set(r, (reasons.get(r) ?? 0) + 1);
      }
    const direct = others.filter((m) => m.hops === 1).length;
    const alive = others.filter((m) => m.direct?.alive).length;
    const sessions = others.filter((m) => m.session.established).length;
    const p = st.controlPlane.probes;
    out.push(
      `  fewest routes: ${name}: ${others.filter((m) => m.reachable).length} reachable, ${direct} direct ` +
        `(${alive} links alive, ${st.controlPlane.probed} probed; probes sent ${p.probesSent}, replies ` +
        `${p.repliesReceived}, late ${p.repliesLate}; sent on ` +
        PROBE_SCHEDULES.map((k) => `${k} ${p.sentBySchedule[k]}`).join(', ') +
        `), ${sessions} sessions, ${st.links.length} links in ` +
        `its graph; unreachable: ` +
        [...reasons].map(([r, k]) => `${k}× ${r}`).join('; '),
    );
  }
  return out;
}

/**
 * For the first few pairs whose pings never came back, what each end's status says of the other at
 * once after the last round: path, session, last handshake failure, why unreachable.
 */
async function explainFailedPairs(fleet: Fleet, failed: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const pair of failed.slice(0, 4)) {
    const [a, b] = pair.split('>') as [string, string];
    for (const [from, to] of [
      [a, b],
      [b, a],
    ] as const) {
      const m = (await fleet.status(from))?.members.find((x) => x.name === to);
      if (!m) {
        out.push(`  ${pair}: ${from} does not answer or does not list ${to}`);
        continue;
      }
      const s = m.session;
      const fail = m.lastHandshakeFailure;
      out.push(
        `  ${pair}: ${from} of ${to}: ` +
          (m.path
            ? `path ${m.path.join('>')} (${m.costMs} ms)`
            : `unreachable (${m.unreachableReason ?? '?'})`) +
          `, direct ${m.direct?.alive ? 'alive' : 'dead'}, session ${s.established ? `up ${s.ageMs} ms` : 'down'}` +
          ` (${s.handshakeAttempts} attempts, last handshake ${s.lastHandshakeAgoMs ?? 'never'} ms ago)` +
          (fail
            ? `, last failure ${fail.reason}${fail.detail ? ` (${fail.detail})` : ''} ${fail.agoMs} ms ago`
            : ''),
      );
    }
  }
  return out;
}

/** Starts the daemons `wave` at a time (see --wave at the top of this file). */
async function startInWaves(ol: OverlayLab, names: readonly string[], wave: number): Promise<void> {
  for (let i = 0; i < names.length; i += wave) {
    const chunk = names.slice(i, i + wave);
    for (const name of chunk) ol.start(name);
    const fleet = new Fleet(ol, chunk);
    try {
      await fleet.waitAll(() => true, performance.now(), 120_000);
    } finally {
      fleet.close();
    }
    const busy = await waitQuiet(60, 1.5);
    progress(
      `  ${Math.min(i + wave, names.length)}/${names.length} launched; machine ${busy.toFixed(2)} cores busy`,
    );
  }
}

/** Every daemon's status (null where it did not answer), 16 at a time. */
async function statuses(fleet: Fleet): Promise<Map<string, NodeStatus | null>> {
  const out = new Map<string, NodeStatus | null>();
  for (let i = 0; i < fleet.names.length; i += 16) {
    const batch = fleet.names.slice(i, i + 16);
    const all = await Promise.all(batch.map((n) => fleet.status(n)));
    batch.forEach((n, k) => out.set(n, all[k] ?? null));
  }
  return out;
}

/** Every daemon's data-plane drop counters (status `drops`), by daemon. */
async function dropCounts(fleet: Fleet): Promise<Map<string, Record<string, number>>> {
  const out = new Map<string, Record<string, number>>();
  for (const [n, st] of await statuses(fleet)) out.set(n, st?.drops ?? {});
  return out;
}

/** What a phase may move in the fleet, summed over its daemons: drops and handshake outcomes. */
interface FleetCounts {
  drops: Record<string, number>;
  handshakeFailures: Record<string, number>;
  /** Initiations and responses sent (status controlPlane.sent). */
  handshakeMessages: number;
  /** Members with an established session, summed over daemons (at most N·(N-1)). */
  sessions: number;
  /** Members reachable (a route), summed over daemons. */
  routes: number;
}

async function fleetCounts(fleet: Fleet): Promise<FleetCounts> {
  const c: FleetCounts = { drops: {}, handshakeFailures: {}, handshakeMessages: 0, sessions: 0, routes: 0 };
  const add = (into: Record<string, number>, from: Record<string, number>): void => {
    for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
  };
  for (const st of (await statuses(fleet)).values()) {
    if (!st) continue;
    add(c.drops, st.drops);
    c.handshakeMessages += st.controlPlane.sent.handshake.messages;
    for (const m of st.members) {
      if (m.self) continue;
      add(c.handshakeFailures, m.handshakeFailures);
      if (m.session.established) c.sessions++;
      if (m.reachable) c.routes++;
    }
  }
  return c;
}

/** "no-route 12, relay-dead 3": the counters that grew from `before` to `after`. */
function grown(before: Record<string, number>, after: Record<string, number>): string {
  const out = Object.entries(after)
    .map(([k, v]) => [k, v - (before[k] ?? 0)] as const)
    .filter(([, d]) => d > 0)
    .map(([k, d]) => `${k} ${d}`);
  return out.length > 0 ? out.join(', ') : 'none';
}

/** What happened in the fleet while every pair pinged: why pairs that have routes may not answer. */
function pingPhaseFacts(before: FleetCounts, after: FleetCounts): string[] {
  return [
    `routes ${before.routes} → ${after.routes}, sessions ${before.sessions} → ${after.sessions} ` +
      `(of N·(N-1)), handshake messages sent ${after.handshakeMessages - before.handshakeMessages}`,
    `handshake failures: ${grown(before.handshakeFailures, after.handshakeFailures)}`,
    `data-plane drops: ${grown(before.drops, after.drops)}`,
  ];
}

/** "s7: no-route 12, relay-dead 3" for every daemon whose drops grew between the two counts. */
function dropDeltas(
  before: Map<string, Record<string, number>>,
  after: Map<string, Record<string, number>>,
): string[] {
  const out: string[] = [];
  for (const [name, counts] of after) {
    const g = grown(before.get(name) ?? {}, counts);
    if (g !== 'none') out.push(`${name}: ${g}`);
  }
  return out;
}

async function partitionTrial(fleet: Fleet): Promise<SizeResult['partition']> {
  const names = fleet.names;
  const k = Math.max(1, Math.floor(names.length / 4));
  const small = names.slice(0, k);
  const large = names.slice(k);
  const groupSize = (name: string): number => (small.includes(name) ? small.length : large.length);
  let t0 = performance.now();
  await fleet.ol.lab.partition([small, large]);
  progress(`  partitioned ${k} | ${large.length} (nft ${Math.round(performance.now() - t0)} ms)`);
  const convergedMs = await fleet.waitAll(
    (name, o) => o.routes === groupSize(name) - 1,
    t0,
    60_000,
    (g, n) => progress(`  partition: ${g}/${n} daemons converged`),
  );
  await sleep(5000);
  t0 = performance.now();
  await fleet.ol.lab.heal();
  const healedMs = await fleet.waitAll(
    (_, o) => o.routes === names.length - 1,
    t0,
    90_000,
    (g, n) => progress(`  heal: ${g}/${n} daemons have every route`),
  );
  const pings = await pingAllPairs(fleet.ol, names, {
    onRound: (a, p) => progress(`  after heal: ${a}/${p} pairs answered`),
  });
  return { sizes: [small.length, large.length], convergedMs, healedMs, pings };
}

async function runSize(n: number, s: Settings): Promise<SizeResult> {
  const limits = checkLimits(n, false);
  const res: SizeResult = { n, limits };
  const short = limits.filter((l) => !l.ok);
  if (short.length > 0) {
    res.error = short.map((l) => `${l.what}: have ${l.have}, need ${l.need} (${l.fix})`).join('; ');
    return res;
  }
  const names = siteNames(n);
  let t = performance.now();
  progress(`N=${n}: building the lab (${n} namespaces, keys)`);
  const ol = await OverlayLab.create({
    sites: names,
    ipv6: false,
    latency: s.latency,
    pairCounters: false,
    logLevel: 'info',
  });
  const fleet = new Fleet(ol, names);
  try {
    if (s.neighbours !== undefined)
      ol.writePeers(names, (yaml) => yaml.replace('network:\n', `network:\n  neighbours: ${s.neighbours}\n`));
    if (s.latency) {
      // 2–20 ms one way by site distance on a ring: a structure the neighbour sets can learn.
      for (let i = 0; i < n; i++)
        for (let j = i + 1; j < n; j++) {
          const d = Math.min(j - i, n - (j - i));
          await ol.lab.setLatency(names[i]!, names[j]!, 2 + (18 * d) / (n / 2));
        }
    }
    res.labBuildS = (performance.now() - t) / 1000;
    progress(`N=${n}: lab built in ${res.labBuildS.toFixed(0)} s; starting ${n} daemons`);
    t = performance.now();
    if (s.wave === undefined) ol.startAll();
    else await startInWaves(ol, names, s.wave);
    const before = new Map<string, ProcSample>();
    const upMs = await fleet.waitAll(
      (name) => {
        const pid = fleet.pid(name);
        if (pid !== undefined && !before.has(name)) before.set(name, sampleProc(pid));
        return true;
      },
      t,
      STARTUP_S_PER_DAEMON * 1000 * n + 60_000,
      (g, total) => progress(`  ${g}/${total} control sockets answer`),
    );
    res.upS = upMs === null ? null : upMs / 1000;
    // Routing gets its 180 s from the moment the last daemon is up, not from the launch: starting
    // 100 Node processes on 2 shared cores takes minutes of CPU by itself (start CPU column), and a
    // limit counted from the launch measured the machine, not convergence.
    const allUpAt = performance.now();
    let lastPoll: Overviews = new Map();
    const convMs = await fleet.waitAll(
      (_, o) => o.routes === n - 1,
      allUpAt,
      180_000,
      (g, total, all) => {
        lastPoll = all;
        progress(`  ${g}/${total} daemons have a route to every member${routeSpread(all)}`);
      },
    );
    res.convergedS = convMs === null ? null : (allUpAt - t + convMs) / 1000;
    res.convergedAfterUpS = convMs === null ? null : convMs / 1000;
    res.startCpuS = cpuSecondsBetween(before, samples(fleet));
    const dead = names.filter((name) => !ol.site(name).process?.isAlive());
    if (dead.length > 0) throw new Error(`daemons exited: ${dead.join(', ')}\n${ol.lab.logTails(10)}`);
    if (convMs === null) {
      res.error = 'did not converge within 180 s of the last daemon up';
      for (const line of await fewestRoutes(fleet, lastPoll)) progress(line);
      return res;
    }
    progress(`N=${n}: converged in ${res.convergedS?.toFixed(1)} s; pinging every pair`);
    const countsBefore = await fleetCounts(fleet);
    res.pings = await pingAllPairs(ol, names, {
      onRound: (a, p) => progress(`  ${a}/${p} pairs answered`),
    });
    res.pingPhase = pingPhaseFacts(countsBefore, await fleetCounts(fleet));
    res.failedPairs = await explainFailedPairs(fleet, res.pings.failed);
    await sleep(s.settleS * 1000); // let what the pings stirred up settle before measuring idle
    progress(`N=${n}: idle window ${s.steadyS} s`);
    res.idle = await idleWindow(fleet, s);
    if (s.impairments) {
      progress(`N=${n}: cutting a used link`);
      res.cut = await cutTrial(fleet);
      progress(`N=${n}: partition`);
      res.partition = await partitionTrial(fleet);
    }
    return res;
  } finally {
    fleet.close();
    await ol.destroy();
  }
}

function fmtS(x: number | null | undefined, digits = 1): string {
  return x === null || x === undefined ? 'never' : `${x.toFixed(digits)} s`;
}

function fmtMs(x: number | null | undefined): string {
  return x === null || x === undefined ? 'never' : `${Math.round(x)} ms`;
}

function report(results: SizeResult[], s: Settings, header: string): void {
  const rows = results.map((r) => {
    const i = r.idle;
    const cpu = i && summarize(i.cores.map((c) => c * 100));
    const timer = i && summarize(i.timerWakeups);
    const kernel = i && summarize(i.mainWakeups);
    const rss = i && summarize(i.rssMB);
    const own = i && summarize(i.privateMB);
    const total = i && summarize(i.totalBps);
    const p = r.pings;
    return [
      `N=${r.n}`,
      r.error ?? '',
      fmtS(r.upS),
      `${fmtS(r.convergedS)} (${fmtS(r.convergedAfterUpS)})`,
      r.startCpuS === undefined ? '—' : `${r.startCpuS.toFixed(0)} s`,
      p ? `${p.answered}/${p.pairs}` : '—',
      p ? `${fmt(summarize(p.rttsMs).p50, 2)}/${fmt(summarize(p.rttsMs).p95, 2)}` : '—',
      i ? fmt(summarize(i.probed).mean, 1) : '—',
      cpu ? `${fmt(cpu.mean, 2)} / ${fmt(cpu.max, 2)}` : '—',
      timer ? `${fmt(timer.mean, 1)} / ${fmt(timer.max, 1)}` : '—',
      kernel ? `${fmt(kernel.mean, 1)} / ${fmt(kernel.max, 1)}` : '—',
      rss ? `${fmt(rss.mean, 0)} / ${fmt(rss.max, 0)}` : '—',
      own ? `${fmt(own.mean, 0)} / ${fmt(own.max, 0)}` : '—',
      total ? `${fmt(total.mean, 0)} / ${fmt(total.max, 0)}` : '—',
      i ? fmt(i.machineBusy, 2) : '—',
    ];
  });
  printTable(
    `Live daemons: start, every pair, idle cost (${header})`,
    [
      'N',
      'problem',
      'sockets up',
      'converged (after all up)',
      'start CPU (all)',
      'pairs ping',
      'RTT p50/p95 ms',
      'probed',
      'CPU % mean/max',
      'timer wake/s',
      'thread wake/s',
      'RSS MB mean/max',
      'private MB mean/max',
      'ctl B/s node mean/max',
      'machine busy',
    ],
    rows,
    [
      `"converged": every daemon has a route to every other member, from the moment all were launched (in brackets: from the moment the last control socket answered); "start CPU": daemon CPU seconds, all daemons together, until then.`,
      `Idle window ${s.steadyS} s, from ${s.settleS} s after every pair pinged. CPU % of one core per daemon; "timer wake/s" the control plane's timer fires (its own count), "thread wake/s" the main thread's voluntary context switches (the kernel's count: timers, packets, everything).`,
      `"private": the daemon's own pages (RSS less what it shares with other processes, chiefly the node binary's text: one daemon alone on a host pays its RSS).`,
      `Goals: ≤ 20 wake-ups/s and < 0.5 % CPU for an idle daemon in a 3-member overlay; RSS ≤ 60 MB; control ≤ ${CONTROL_BUDGET_BPS} B/s per node.`,
    ],
  );
  printTable(
    'Control bytes sent per node per second, by message type (idle window, mean over daemons)',
    ['N', ...TRAFFIC_TYPES, 'total', 'vs 1.25 kB/s', 'sealed payload (exact)'],
    results
      .filter((r) => r.idle)
      .map((r) => {
        const i = r.idle as IdleResult;
        const total = TRAFFIC_TYPES.reduce((sum, t) => sum + i.bytesByType[t], 0);
        return [
          `N=${r.n}`,
          ...TRAFFIC_TYPES.map((t) => fmt(i.bytesByType[t], 0)),
          fmt(total, 0),
          `${fmt(total / CONTROL_BUDGET_BPS, 2)}×`,
          fmt(i.sealedBps, 0),
        ];
      }),
    [
      "Bytes on the wire (sealed packet + 28 bytes IPv4/UDP header) as counted by the control plane; the last column is the data plane's exact count of UDP payload bytes (no IP/UDP headers) for comparison.",
      "probe: probes this node sent; echo: its answers to others' probes; advert/announce/request/summary/digest: routing messages (src/routing/control-codec.ts).",
    ],
  );
  printTable(
    'Probe outcomes per node per second (idle window, mean over daemons)',
    [
      'N',
      'sent',
      'in time',
      'lost',
      'late (of lost)',
      'unknown',
      'lost %',
      'activations',
      ...ACTIVE_CAUSES.map((c) => `by ${c}`),
      ...PROBE_SCHEDULES.map((k) => `on ${k}`),
    ],
    results
      .filter((r) => r.idle)
      .map((r) => {
        const p = (r.idle as IdleResult).probes;
        return [
          `N=${r.n}`,
          fmt(p.sent, 1),
          fmt(p.inTime, 1),
          fmt(p.lost, 1),
          fmt(p.late, 1),
          fmt(p.unknown, 1),
          fmt(p.sent > 0 ? (100 * p.lost) / p.sent : 0, 1),
          fmt(p.activations, 2),
          ...ACTIVE_CAUSES.map((c) => fmt(p.by[c], 2)),
          ...PROBE_SCHEDULES.map((k) => fmt((r.idle as IdleResult).bySchedule[k], 1)),
        ];
      }),
    [
      'lost: timed out (src/probe/probe-params.ts: srtt + 4·rttvar + 20 ms, plus the loop-lag allowance); late: of those, replies that came after the timeout but before the probe was forgotten; unknown: replies matching no outstanding probe (forgotten ones among them); "on X": probes sent while their endpoint was on schedule X (src/probe/member-state.ts probeSchedule: suspect = lost a probe, confirm = just came up, active = carries data or was suspected, idle = 1 s doubling to 8 s on steady replies); activations: active windows (2 s at 50 ms) started per second; "by X": of them, started by data sent, a relayed flow, a handshake completed while the direct link was down, a NAT punch, or outside suspicion (an advert from the neighbour no longer listing us). A lost probe puts its link on the 50 ms schedule; an idle link backs off to 8 s only on steady replies.',
    ],
  );
  printTable(
    'Adverts originated per node per minute, by cause (idle window, mean over daemons)',
    ['N', ...ORIGINATION_CAUSES, 'all', ...DRIFT_CAUSES.map((c) => `drift: ${c}`), 'faded (not sent)'],
    results
      .filter((r) => r.idle)
      .map((r) => {
        const o = (r.idle as IdleResult).originatedPerMin;
        return [
          `N=${r.n}`,
          ...ORIGINATION_CAUSES.map((c) => fmt(o[c], 2)),
          fmt(
            ORIGINATION_CAUSES.reduce((sum, c) => sum + o[c], 0),
            2,
          ),
          ...DRIFT_CAUSES.map((c) => fmt((r.idle as IdleResult).driftPerMin[c], 2)),
          fmt((r.idle as IdleResult).fadedPerMin, 2),
        ];
      }),
    [
      'Why each advert went out (src/routing/originator.ts): urgent = a link that carried data is gone (or a forced seq jump); prompt = an idle link is gone, or a new link while we had almost none; news = a new link or a link MTU; drift = an RTT or loss moved beyond the significance thresholds, or a link was let go by the probe set or displaced; refresh = nothing changed (every 15 min). The drift adverts by what first made them due: rtt, loss (beyond the significance thresholds), unmeasured (the probe set let a link go), displaced (a clearly cheaper new link while the advert was full). Faded: a link whose RTT or loss moved beyond the thresholds and came back within the drift interval (10 s): no advert sent. Every advert reaches every node, announced and pulled once per node (announcer.ts).',
    ],
  );
  printTable(
    'Probe-set changes per node per minute, by why (idle window, mean over daemons)',
    ['N', ...SET_CHANGES],
    results
      .filter((r) => r.idle)
      .map((r) => [
        `N=${r.n}`,
        ...SET_CHANGES.map((c) => fmt((r.idle as IdleResult).setChangesPerMin[c], 2)),
      ]),
    [
      'Each is a link added to or withdrawn from an advert (src/probe/probe-set.ts): filled = an empty slot taken, dead-replaced = a chosen member dead for deadReplaceMs dropped, explorer-won = a trial that beat the worst best-slot member, shed = surplus after a rescue, reciprocal-added / -expired = a member that probes us taken in / let go.',
    ],
  );
  printTable(
    'Flooding per node per minute (idle window, mean over daemons)',
    ['N', 'originated (all nodes)', ...FLOODING_COUNTS, 'copies per new advert'],
    results
      .filter((r) => r.idle)
      .map((r) => {
        const i = r.idle as IdleResult;
        const f = i.floodingPerMin;
        const all = r.n * ORIGINATION_CAUSES.reduce((sum, c) => sum + i.originatedPerMin[c], 0);
        return [
          `N=${r.n}`,
          fmt(all, 1),
          ...FLOODING_COUNTS.map((k) => fmt(f[k], 2)),
          f.advertsAccepted > 0 ? fmt(f.advertsReceived / f.advertsAccepted, 2) : '—',
        ];
      }),
    [
      'What each advert costs every node (src/routing/router-stats.ts): received = copies that reached it (accepted = new, duplicate = already held); forwarded = copies it pushed on as a flooding relay (urgent news: an advert its origin flagged as losing a link that carried data); pushed = copies it sent in answer to a REQUEST or SUMMARY; announcementsSent = ANNOUNCE batches; requestsSent = REQUESTs, unanswered = of them, timed out (the claim was forgotten and another neighbour asked).',
    ],
  );
  const imp = results.filter((r) => r.cut || r.partition);
  if (imp.length > 0)
    printTable(
      'Cut and partition',
      [
        'N',
        'cut link',
        'reroute',
        'ping outage',
        'partition (sites)',
        'converged',
        'heal: all routes',
        'pairs ping after heal',
      ],
      imp.map((r) => [
        `N=${r.n}`,
        r.cut ? `${r.cut.from}–${r.cut.to}` : '—',
        fmtMs(r.cut?.rerouteMs),
        r.cut ? `${fmtMs(r.cut.outageMs)} (${r.cut.lost ?? '?'} lost)` : '—',
        r.partition ? `${r.partition.sizes[0]} / ${r.partition.sizes[1]}` : '—',
        fmtMs(r.partition?.convergedMs),
        fmtMs(r.partition?.healedMs),
        r.partition?.pings ? `${r.partition.pings.answered}/${r.partition.pings.pairs}` : '—',
      ]),
      [
        'cut: the first site\'s direct link to a member, carrying a 20 ms overlay ping, black-holed in the wan; "reroute" until that site\'s route avoids it (polled every 20 ms).',
        'partition: the first quarter of the sites cut off from the rest; "converged" until every daemon has dropped its routes to the other side; "heal" until every daemon has every route again.',
      ],
    );
  for (const r of results)
    if (r.idle)
      process.stdout.write(
        `\nN=${r.n}: timer wake-ups per second by the core that had work due (several may share one; mean over daemons): ` +
          WAKE_CAUSES.map((c) => `${c} ${r.idle!.wakeupsBy[c].toFixed(1)}`).join(', ') +
          '\n',
      );
  for (const r of results)
    if (r.cut && r.cut.changes.length > 0)
      process.stdout.write(
        `\nN=${r.n}: route changes to ${r.cut.from} or ${r.cut.to} within 5 s of the cut (ms after it, daemon: old ⇒ new path):\n` +
          r.cut.changes.map((l) => `- ${l}\n`).join('') +
          (r.cut.drops.length > 0
            ? `\nN=${r.n}: packets dropped from just before the cut to 3 s after the reroute (daemon: reason count):\n` +
              r.cut.drops.map((l) => `- ${l}\n`).join('')
            : ''),
      );
  if (s.strace)
    for (const r of results)
      if (r.idle?.straceEpollWaits !== null && r.idle?.straceEpollWaits !== undefined)
        process.stdout.write(
          `\nN=${r.n}: strace -c on the first daemon's main thread for ${STRACE_S} s after the idle window: ${r.idle.straceEpollWaits} epoll waits = ${(r.idle.straceEpollWaits / STRACE_S).toFixed(1)}/s\n`,
        );
  process.stdout.write(`\nNot needed: ${NOT_NEEDED}.\n`);
  for (const r of results) {
    const short = r.limits.filter((l) => !l.ok);
    if (short.length > 0)
      process.stdout.write(
        `N=${r.n}: machine limits: ${short.map((l) => `${l.what} ${l.have} < ${l.need}: ${l.fix}`).join('; ')}\n`,
      );
    if (r.pingPhase) process.stdout.write(`N=${r.n}: while every pair pinged: ${r.pingPhase.join('; ')}\n`);
    if (r.pings && r.pings.failed.length > 0)
      process.stdout.write(
        `N=${r.n}: pairs that never answered: ${r.pings.failed.slice(0, 20).join(' ')}${r.pings.failed.length > 20 ? ' …' : ''}\n`,
      );
    for (const line of r.failedPairs ?? []) process.stdout.write(`${line}\n`);
  }
}

async function main(): Promise<void> {
  requireRoot();
  const s = parse();
  if (s.waitQuietS > 0) {
    const busy = await waitQuiet(s.waitQuietS, 0.3, (b) =>
      progress(`waiting for a quiet machine (busy ${b.toFixed(2)})`),
    );
    progress(`background busy ${busy.toFixed(2)} cores`);
  }
  const header = `${await machineLine()}, ${await codeVersion()}, ${new Date().toISOString().slice(0, 16)}`;
  const results: SizeResult[] = [];
  for (const n of s.sizes) {
    try {
      results.push(await runSize(n, s));
    } catch (err) {
      results.push({ n, limits: checkLimits(n, false), error: (err as Error).message.split('\n')[0] });
      progress(`N=${n}: ${(err as Error).message}`);
    }
    report(results, s, header);
    if (s.json) writeFileSync(s.json, JSON.stringify({ settings: s, results }, null, 2));
  }
}

await main();
