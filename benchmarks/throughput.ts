// Throughput and latency A→C on one three-site lab (no latency emulation), overlayd side by side with its
// anchors measured in the same run: raw underlay, overlayd direct and relayed A→B→C (a–c cut in the wan)
// with its offloads on and forced off (--no-offloads), wireguard-go direct, tinc 1.0 direct and relayed
// (a–c cut before start), and overlayd over its WebSocket transport (UDP a–c dropped, TCP passes). Per configuration and round: idle ping RTT, one TCP flow with a ping every
// 50 ms beside it (RTT under load), four parallel flows, and 64-byte UDP at full speed (packets/s).
// One system runs at a time. The runs are interleaved in rounds (each round runs every configuration once)
// so that other load on a shared machine, which comes and goes, does not fall on one system only. The
// wan's per-pair counters prove which underlay paths each system used.
//
//   node dist/benchmarks/throughput.js [--quick] [--cc cubic] [--rounds 3] [--seconds 10]
//        [--systems raw,overlayd,overlayd-ws,overlayd-off,overlayd-nolane,wireguard-go,tinc,overlayd-fifo,overlayd-v8default] [--tests single,parallel,udp]
//        [--wait-quiet S] [--json out.json]
//
// --quick: 1 round of 5 s runs (default: 3 rounds of 10 s, the median of 3 like the anchors).
// --wait-quiet S: before each run, wait up to S s for the machine to be idle (< 0.3 busy cores).
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { OverlayLab } from '../test/lab/overlay-lab.js';
import { blockUdp } from '../test/lab/udp-block.js';
import type { Lab } from '../test/lab/lab.js';
import { waitQuiet } from './lib/cpu.js';
import { fileSize, routeChangesSince } from './lib/failover-trial.js';
import { runIperf } from './lib/iperf.js';
import { pingDuring } from './lib/load-ping.js';
import { overlayPids, stopOverlay, waitPath } from './lib/overlay.js';
import { measurePairs } from './lib/pair-traffic.js';
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
import { TincMesh } from './lib/tinc.js';
import { reportThroughput, ThroughputResults } from './lib/throughput-report.js';
import { WireguardPair, WireguardRelay } from './lib/wireguard.js';

const SITES = ['a', 'b', 'c'] as const;
const SYSTEMS = [
  'raw',
  'overlayd',
  'overlayd-ws',
  'overlayd-off',
  'overlayd-nolane',
  'overlayd-fifo',
  'overlayd-v8default',
  'wireguard-go',
  'tinc',
] as const;
/**
 * Run unless --systems names others; overlayd-nolane (the fast lanes off), overlayd-fifo (the
 * standing-delay control off) and overlayd-v8default (V8's own tiering budget, src/jit-tiering.ts) only
 * when named.
 */
const DEFAULT_SYSTEMS: readonly System[] = [
  'raw',
  'overlayd',
  'overlayd-ws',
  'overlayd-off',
  'wireguard-go',
  'tinc',
];
type System = (typeof SYSTEMS)[number];
const TESTS = ['single', 'parallel', 'udp'] as const;
type Test = (typeof TESTS)[number];

interface Settings {
  rounds: number;
  seconds: number;
  cc: string | undefined;
  systems: Set<System>;
  tests: Set<Test>;
  waitQuietS: number;
  json: string | undefined;
}

function parse(): Settings {
  const { values } = parseArgs({
    options: {
      ...COMMON_OPTIONS,
      cc: { type: 'string' },
      rounds: { type: 'string' },
      seconds: { type: 'string' },
      systems: { type: 'string' },
      tests: { type: 'string' },
    },
  });
  const common = commonOptions(
    values,
    'node dist/benchmarks/throughput.js [--quick] [--cc NAME] [--rounds N] [--seconds S] ' +
      '[--systems raw,overlayd,overlayd-ws,overlayd-off,overlayd-nolane,wireguard-go,tinc,overlayd-fifo,overlayd-v8default] [--tests single,parallel,udp] ' +
      '[--wait-quiet S] [--json FILE]',
  );
  const systems = new Set((values.systems ?? DEFAULT_SYSTEMS.join(',')).split(',') as System[]);
  for (const s of systems)
    if (!SYSTEMS.includes(s)) usageError(`unknown system ${s} (known: ${SYSTEMS.join(', ')})`);
  const tests = new Set((values.tests ?? TESTS.join(',')).split(',') as Test[]);
  for (const t of tests) if (!TESTS.includes(t)) usageError(`unknown test ${t} (known: ${TESTS.join(', ')})`);
  tests.add('single'); // the reference every table is built on
  return {
    rounds: numberOption(values.rounds, values.quick ? 1 : 3, 'rounds'),
    seconds: numberOption(values.seconds, values.quick ? 5 : 10, 'seconds'),
    cc: values.cc,
    systems,
    tests,
    ...common,
  };
}

/**
 * One run of one configuration, wan pairs counted around it all: idle RTT (20 pings at 0.05 s, as the
 * anchors), one TCP flow with a ping every 50 ms beside it, four flows, 64-byte UDP.
 */
async function measureOnce(
  lab: Lab,
  s: Settings,
  res: ThroughputResults,
  key: string,
  label: string,
  dst: string,
  watch: Record<string, number | undefined>,
): Promise<void> {
  const background = await waitQuiet(s.waitQuietS, 0.3, (b) =>
    progress(`waiting for a quiet machine (${b.toFixed(2)} cores busy)`),
  );
  const iperf = { from: 'a', to: 'c', dst, seconds: s.seconds, cc: s.cc, watch };
  const { result, pairs } = await measurePairs(lab, async () => {
    const ping = await lab.ping('a', dst, { count: 20, intervalS: 0.05 });
    const loaded = await pingDuring(lab, 'a', dst, () => runIperf(lab, iperf), { maxS: s.seconds + 30 });
    const parallel = s.tests.has('parallel') ? await runIperf(lab, { ...iperf, parallel: 4 }) : null;
    const udp = s.tests.has('udp') ? await runIperf(lab, { ...iperf, udpLength: 64 }) : null;
    return { ping, loaded, parallel, udp };
  });
  const { ping, loaded, parallel, udp } = result;
  const run = loaded.result;
  res.add(key, label, {
    run,
    rttAvgMs: ping.rttAvgMs,
    rttLossPercent: ping.lossPercent,
    loadRtts: loaded.rtts,
    loadSent: loaded.sent,
    parallel,
    udp,
    background,
    pairs,
  });
  const sorted = [...loaded.rtts].sort((x, y) => x - y);
  progress(
    `${label}: ${run.gbps.toFixed(3)} Gbit/s, ${run.retransmits} retransmits, RTT ${ping.rttAvgMs} ms idle, ` +
      `${sorted[sorted.length >> 1]?.toFixed(2) ?? '—'} ms under load; ` +
      (parallel ? `4 flows ${parallel.gbps.toFixed(3)} Gbit/s; ` : '') +
      (udp ? `64 B UDP ${((udp.packetsPerSecond ?? 0) / 1000).toFixed(1)} kpps; ` : '') +
      `machine ${run.cpu.machineBusy.toFixed(2)} cores (background before ${background.toFixed(2)})`,
  );
}

/** overlayd with its offloads on (the default) or forced off (--no-offloads): same code, same lab. */
const VARIANTS = {
  overlayd: { key: 'overlayd', label: 'overlayd', args: [] as string[], env: {} },
  'overlayd-off': { key: 'overlayd-off', label: 'overlayd --no-offloads', args: ['--no-offloads'], env: {} },
  // Before/after for the fast lanes (native/fast-lane.h, native/rx-lane.h).
  'overlayd-nolane': {
    key: 'overlayd-nolane',
    label: 'overlayd --no-fast-lane',
    args: ['--no-fast-lane'],
    env: {},
  },
  // Before/after for the receive queue's standing-delay control (src/transport/standing-delay.ts).
  'overlayd-fifo': {
    key: 'overlayd-fifo',
    label: 'overlayd, standing-delay control off',
    args: [] as string[],
    env: { OVERLAYD_STANDING_DELAY: 'off' },
  },
  // Before/after for the smaller V8 tiering budget of src/jit-tiering.ts (idle RTT).
  'overlayd-v8default': {
    key: 'overlayd-v8default',
    label: "overlayd, V8's default tiering",
    args: [] as string[],
    env: { OVERLAYD_V8_TIERING: 'default' },
  },
};

async function runOverlayd(
  ol: OverlayLab,
  s: Settings,
  res: ThroughputResults,
  variant: (typeof VARIANTS)[keyof typeof VARIANTS],
): Promise<void> {
  const lab = ol.lab;
  // The daemons inherit the environment at spawn: set the variant's for the start only.
  const saved = { ...process.env };
  Object.assign(process.env, variant.env);
  try {
    for (const site of SITES) ol.start(site, variant.args);
  } finally {
    for (const k of Object.keys(variant.env)) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  }
  try {
    await ol.waitConverged(30_000);
    await waitPath(ol, 'a', 'c', 'a>c');
    await waitPath(ol, 'c', 'a', 'c>a');
    const pids = overlayPids(ol, SITES);
    const direct = [`${variant.key}-direct`, `${variant.label} direct A→C`] as const;
    const changes = await routeChangesDuring(ol, () =>
      measureOnce(lab, s, res, ...direct, ol.addressOf('c'), pids),
    );
    // A direct flow that the router moves elsewhere is a finding, not noise: say so next to the numbers.
    if (changes.length) res.note(...direct, `route changes during a run: ${changes.join(', ')}`);

    await lab.cut('a', 'c');
    const ms = await waitPath(ol, 'a', 'c', 'a>b>c');
    await waitPath(ol, 'c', 'a', 'c>b>a');
    progress(`${variant.label}: a→c moved to a>b>c ${ms} ms after the cut`);
    const relayed = [`${variant.key}-relayed`, `${variant.label} relayed A→B→C (a–c cut)`] as const;
    const before = await relayedByB(ol);
    await measureOnce(lab, s, res, ...relayed, ol.addressOf('c'), pids);
    res.noteValue(...relayed, 'packets b relayed, per round', String((await relayedByB(ol)) - before));
  } finally {
    await stopOverlay(ol, SITES);
    await lab.restore('a', 'c');
  }
}

/**
 * overlayd over its WebSocket transport: UDP between a and c dropped in the wan (TCP passes), so a and c
 * dial each other's ws endpoint and the direct link A→C is a ws link; measured like the UDP rows.
 */
async function runOverlaydWs(ol: OverlayLab, s: Settings, res: ThroughputResults): Promise<void> {
  const lab = ol.lab;
  const block = await blockUdp(lab, 'a', 'c');
  for (const site of SITES) ol.start(site);
  try {
    await ol.waitConverged(30_000);
    await lab.waitFor(
      async () => {
        const st = await ol.status('a');
        const c = st.members.find((m) => m.name === 'c');
        return c?.direct?.alive && c.direct.transport === 'ws' && c.path?.length === 2 ? true : undefined;
      },
      { timeoutMs: 30_000, what: 'a→c direct over ws' },
    );
    await waitPath(ol, 'c', 'a', 'c>a');
    const key = ['overlayd-ws', 'overlayd ws direct A→C (UDP a–c dropped)'] as const;
    const changes = await routeChangesDuring(ol, () =>
      measureOnce(lab, s, res, ...key, ol.addressOf('c'), overlayPids(ol, SITES)),
    );
    // Under load the ws link's RTT grows and the router may prefer a→b→c over UDP: the pair counters
    // then show the bytes on a>b and b>c, and this note says when it happened.
    if (changes.length) res.note(...key, `route changes during a run: ${changes.join(', ')}`);
  } finally {
    await stopOverlay(ol, SITES);
    await block.unblock();
  }
}

/** Route changes a (to c) and c (to a) logged while `work` ran, as "a: a→c ⇒ a→b→c (reason)". */
async function routeChangesDuring(ol: OverlayLab, work: () => Promise<void>): Promise<string[]> {
  const logs = (['a', 'c'] as const).map((x) => ({ x, path: ol.site(x).process!.stderrPath }));
  const offsets = logs.map((l) => fileSize(l.path));
  await work();
  return logs.flatMap((l, i) =>
    routeChangesSince(l.path, offsets[i]!)
      .filter((c) => c.dst === (l.x === 'a' ? 'c' : 'a'))
      .map((c) => `${l.x}: ${c.from} ⇒ ${c.to} (${c.reason})`),
  );
}

/** Packets b relayed on behalf of a and c (its own counters). */
async function relayedByB(ol: OverlayLab): Promise<number> {
  const st = await ol.status('b');
  return st.members
    .filter((m) => m.name === 'a' || m.name === 'c')
    .reduce((n, m) => n + m.traffic.relayedPackets, 0);
}

async function runWireguard(lab: Lab, s: Settings, res: ThroughputResults): Promise<void> {
  const wg = await WireguardPair.start(lab, 'a', 'c');
  try {
    await measureOnce(
      lab,
      s,
      res,
      'wireguard-go-direct',
      'wireguard-go direct A↔C',
      wg.addressOf('c'),
      wg.pids(),
    );
  } finally {
    await wg.stop();
  }
  // Relayed as the anchors do it: two tunnels and forwarding in B (WireGuard does not relay itself).
  const relay = await WireguardRelay.start(lab, 'a', 'b', 'c');
  try {
    await measureOnce(
      lab,
      s,
      res,
      'wireguard-go-relayed',
      'wireguard-go relayed A→B→C (2 tunnels, forwarding in B)',
      relay.addressOf('c'),
      relay.pids(),
    );
  } finally {
    await relay.stop();
  }
}

async function runTinc(lab: Lab, s: Settings, res: ThroughputResults): Promise<void> {
  const direct = ['tinc-direct', 'tinc 1.0 direct A→C'] as const;
  let mesh = new TincMesh(lab, SITES);
  try {
    const { state: st, starts } = await mesh.startSettled('direct', { timeoutS: 40, onRetry: tincRetry });
    await measureOnce(lab, s, res, ...direct, mesh.addressOf('c'), mesh.pids());
    res.note(...direct, `a's view of c: nexthop ${st.nexthop} via ${st.via} pmtu ${st.pmtu}`);
    if (starts > 1) res.note(...direct, `a start never settled (min 0) and was redone`);
  } finally {
    await mesh.stop();
  }
  // As in the anchors: the a–c underlay is cut before tinc starts, so it can only relay through B.
  const relayed = ['tinc-relayed', 'tinc 1.0 relayed A→B→C (a–c cut)'] as const;
  await lab.cut('a', 'c');
  mesh = new TincMesh(lab, SITES);
  try {
    const { state: st, starts } = await mesh.startSettled('relay', { timeoutS: 40, onRetry: tincRetry });
    await measureOnce(lab, s, res, ...relayed, mesh.addressOf('c'), mesh.pids());
    res.note(...relayed, `a's view of c: nexthop ${st.nexthop} via ${st.via}; a↔b, b↔c PMTU settled`);
    if (starts > 1) res.note(...relayed, `a start never settled (min 0) and was redone`);
  } finally {
    await mesh.stop();
    await lab.restore('a', 'c');
  }
}

/** The 1, 5 and 15 minute load averages: other work on a shared machine, printed beside the figures. */
function loadAverage(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

function tincRetry(why: string): void {
  progress(`tinc did not settle, starting it afresh: ${why.split('\n')[0]}`);
}

async function main(): Promise<void> {
  requireRoot();
  const s = parse();
  const machine = `${await machineLine()}; overlayd ${await codeVersion()}`;
  const loadStart = loadAverage();
  const ol = await OverlayLab.create({ sites: [...SITES] });
  const res = new ThroughputResults();
  const failures: string[] = [];
  let cc: string;
  try {
    const lab = ol.lab;
    const ccDefault = (await lab.execOk('a', ['sysctl', '-n', 'net.ipv4.tcp_congestion_control'])).trim();
    cc = s.cc ?? `${ccDefault} (kernel default)`;
    progress(`lab ${lab.runId}: ${machine}; sender congestion control ${cc}`);
    // A system that fails in a round is reported and skipped: the others' numbers are still worth having.
    const attempt = async (round: number, system: System, run: () => Promise<void>): Promise<void> => {
      if (!s.systems.has(system)) return;
      try {
        await run();
      } catch (err) {
        failures.push(`round ${round}, ${system}: ${err instanceof Error ? err.message : String(err)}`);
        progress(`${system} FAILED: ${String(err)}`);
      }
    };
    for (let round = 1; round <= s.rounds; round++) {
      progress(`round ${round}/${s.rounds}`);
      await attempt(round, 'raw', () =>
        measureOnce(lab, s, res, 'raw', 'raw underlay A→C', lab.addressOf('c'), {}),
      );
      await attempt(round, 'overlayd', () => runOverlayd(ol, s, res, VARIANTS.overlayd));
      await attempt(round, 'overlayd-ws', () => runOverlaydWs(ol, s, res));
      await attempt(round, 'overlayd-off', () => runOverlayd(ol, s, res, VARIANTS['overlayd-off']));
      await attempt(round, 'overlayd-nolane', () => runOverlayd(ol, s, res, VARIANTS['overlayd-nolane']));
      await attempt(round, 'overlayd-fifo', () => runOverlayd(ol, s, res, VARIANTS['overlayd-fifo']));
      await attempt(round, 'overlayd-v8default', () =>
        runOverlayd(ol, s, res, VARIANTS['overlayd-v8default']),
      );
      await attempt(round, 'wireguard-go', () => runWireguard(lab, s, res));
      await attempt(round, 'tinc', () => runTinc(lab, s, res));
    }
  } finally {
    await ol.destroy();
  }
  reportThroughput(res.all(), {
    rounds: s.rounds,
    seconds: s.seconds,
    cc,
    machine,
    load: `${loadStart} at the start, ${loadAverage()} at the end`,
  });
  if (failures.length) process.stdout.write(`\nFailed:\n${failures.map((f) => `- ${f}`).join('\n')}\n`);
  if (s.json) {
    const results = res.all().map((r) => ({ ...r, pairs: Object.fromEntries(r.pairs) }));
    const settings = { ...s, systems: [...s.systems], tests: [...s.tests] };
    writeFileSync(
      s.json,
      JSON.stringify({ date: new Date().toISOString(), machine, settings, results }, null, 2),
    );
  }
}

main().catch((err: unknown) => {
  process.stderr.write(
    `throughput benchmark failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exitCode = 1;
});
