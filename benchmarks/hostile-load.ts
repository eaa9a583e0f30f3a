// Hostile load: one authenticated member floods a victim with hostile routing control at the highest
// rate it can, for 10 minutes; does the victim's memory stay put and does honest routing carry on?
//
// Sites v (victim), b (bystander), g (honest) run `overlayd up`; site h runs the hostile member
// (lib/hostile-daemon.ts: the real daemon code with h's key, sending test/adversary/routing-hostile-craft.ts's
// mixed rounds — summaries of strangers, impossible and unheld claims, requests with repeats, empty
// summaries, junk digests, its own adverts, forgeries — over its real session with v). After
// convergence and an idle phase (the baseline), h attacks; every --interval s a row: v's RSS and its
// ratio to idle, v's CPU, what h sent, what v refused (by the router) or dropped (data plane), route
// changes at v and at b, and whether v and b still reach every honest member.
//
// Goal (issue 10): v's RSS ≤ 1.5 × idle throughout; honest routing unaffected (no route changes at v or
// b to honest members, every honest pair reachable at every sample).
//
//   node dist/benchmarks/hostile-load.js [--quick] [--seconds 600] [--idle 60] [--interval 30]
//                                        [--rate N] [--victim-node-args ARGS] [--wait-quiet S] [--json FILE]
//
// --quick: 60 s of attack after 20 s idle. --rate: messages per second (default: as fast as h can).
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { closeLab, OverlayLab } from '../test/lab/overlay-lab.js';
import type { LabProcess } from '../test/lab/lab.js';
import { CpuSampler, processRssBytes, waitQuiet } from './lib/cpu.js';
import { fileSize, routeChangesSince } from './lib/failover-trial.js';
import {
  codeVersion,
  COMMON_OPTIONS,
  commonOptions,
  machineLine,
  numberOption,
  progress,
  requireRoot,
} from './lib/progress.js';
import { fmt, printTable } from './lib/table.js';

const HONEST = ['v', 'b', 'g'] as const;
const HOSTILE = 'h';
const HOSTILE_DAEMON = fileURLToPath(new URL('./lib/hostile-daemon.js', import.meta.url));

interface Settings {
  attackS: number;
  idleS: number;
  intervalS: number;
  rate: number;
  /** Extra node arguments for v's daemon (diagnosis: --trace-gc, V8 heap flags against the launcher's). */
  victimNodeArgs: string[];
  waitQuietS: number;
  json: string | undefined;
}

interface Row {
  t: number;
  rssMB: number;
  rssMaxMB: number;
  cpu: number | null;
  sentMsgsPerS: number;
  sentKBPerS: number;
  receivedKBPerS: number;
  kernelDropsPerS: number;
  refusedPerS: number;
  droppedPerS: number;
  changesV: number;
  changesB: number;
  reachable: boolean;
  alive: boolean;
  /** Where v's memory is at the sample (MB): V8 heap committed, of it the young generation, off-heap. */
  heapMB: number;
  newSpaceMB: number;
  externalMB: number;
}

function parse(): Settings {
  const { values } = parseArgs({
    options: {
      ...COMMON_OPTIONS,
      seconds: { type: 'string' },
      idle: { type: 'string' },
      interval: { type: 'string' },
      rate: { type: 'string' },
      'victim-node-args': { type: 'string' },
    },
  });
  const common = commonOptions(
    values,
    'node dist/benchmarks/hostile-load.js [--quick] [--seconds S] [--idle S] [--interval S] [--rate N] [--victim-node-args ARGS] [--wait-quiet S] [--json FILE]',
  );
  const q = common.quick;
  return {
    attackS: numberOption(values.seconds, q ? 60 : 600, 'seconds'),
    idleS: numberOption(values.idle, q ? 20 : 60, 'idle'),
    intervalS: numberOption(values.interval, 30, 'interval'),
    rate: numberOption(values.rate, 0, 'rate'),
    victimNodeArgs: (values['victim-node-args'] ?? '').split(' ').filter(Boolean),
    waitQuietS: common.waitQuietS,
    json: common.json,
  };
}

/** The last progress line of the hostile daemon: {messages, bytes, neighbor, attacking}. */
function hostileReport(p: LabProcess): { messages: number; bytes: number; neighbor: boolean } {
  const lines = p
    .readLogs()
    .split('\n')
    .filter((l) => l.startsWith('{'));
  const last = lines.length ? (JSON.parse(lines[lines.length - 1]) as Record<string, unknown>) : {};
  return {
    messages: Number(last.messages ?? 0),
    bytes: Number(last.bytes ?? 0),
    neighbor: last.neighbor === true,
  };
}

/** A counter per value of its first label (e.g. reason), from a Prometheus exposition text. */
function counterByLabel(text: string, name: string): Record<string, number> {
  const out: Record<string, number> = {};
  const re = new RegExp(`^${name}\\{\\w+="([^"]*)"[^}]*\\} (\\S+)$`, 'gm');
  for (const m of text.matchAll(re)) out[m[1]!] = Number(m[2]);
  return out;
}

/** A gauge per value of its first label, e.g. nodejs_heap_space_size_total_bytes by space. */
const gaugeByLabel = counterByLabel;

/** v's memory by kind (MB), from its metrics: what RSS growth is made of (heap, young generation, buffers). */
function memoryBreakdown(metrics: string): { heapMB: number; newSpaceMB: number; externalMB: number } {
  const spaces = gaugeByLabel(metrics, 'nodejs_heap_space_size_total_bytes');
  const external = /^nodejs_external_memory_bytes(?:\{[^}]*\})? (\S+)$/m.exec(metrics)?.[1];
  return {
    heapMB: sum(spaces) / 1e6,
    newSpaceMB: (spaces.new ?? NaN) / 1e6,
    externalMB: Number(external ?? NaN) / 1e6,
  };
}

const sum = (r: Record<string, number>): number => Object.values(r).reduce((a, b) => a + b, 0);

async function scrape(ol: OverlayLab, site: string): Promise<string> {
  const script =
    "fetch('http://127.0.0.1:9477/metrics').then((r) => r.text()).then((t) => process.stdout.write(t))";
  const r = await ol.lab.exec(site, [process.execPath, '-e', script], { timeoutMs: 10_000 });
  if (!r.stdout.includes('overlay_adverts_rejected_total'))
    throw new Error(`no metrics from ${site}: ${r.stderr.trim() || `exit ${r.code}`}`);
  return r.stdout;
}

/** UDP datagrams the kernel dropped in `site`'s namespace for want of socket buffer (RcvbufErrors). */
async function kernelUdpDrops(ol: OverlayLab, site: string): Promise<number> {
  const text = (await ol.lab.exec(site, ['cat', '/proc/net/snmp'])).stdout;
  const [head, values] = text.split('\n').filter((l) => l.startsWith('Udp:'));
  const i = head?.split(/\s+/).indexOf('RcvbufErrors') ?? -1;
  return i > 0 ? Number(values?.split(/\s+/)[i]) : NaN;
}

/** Whether each of v and b has a path to every other honest member. */
async function honestReachable(ol: OverlayLab): Promise<boolean> {
  for (const from of ['v', 'b']) {
    const s = await ol.status(from);
    for (const to of HONEST)
      if (to !== from && !s.members.find((m) => m.name === to)?.reachable) return false;
  }
  return true;
}

/** The victim's data-plane drops (all reasons), routing control bytes received, kernel UDP drops. */
async function victimCounters(
  ol: OverlayLab,
): Promise<{ dropped: number; received: number; kernelDrops: number }> {
  const st = await ol.status('v');
  return {
    dropped: sum(st.drops),
    received: st.control.controlBytesReceived,
    kernelDrops: await kernelUdpDrops(ol, 'v'),
  };
}

async function main(): Promise<void> {
  requireRoot();
  const s = parse();
  const machine = `${await machineLine()}; overlayd ${await codeVersion()}`;
  const ol = await OverlayLab.create({ sites: [...HONEST, HOSTILE], logLevel: 'info' });
  const rows: Row[] = [];
  const changeLines: string[] = [];
  let verdict: string[];
  let reasons: Record<string, number> = {};
  let idleRssMB = NaN;
  let idleMemory: ReturnType<typeof memoryBreakdown> | undefined;
  let idleCpu: number | null;
  try {
    const background = await waitQuiet(s.waitQuietS, 0.3, (b) =>
      progress(`waiting for a quiet machine (${b.toFixed(2)} cores busy)`),
    );
    progress(`lab ${ol.lab.runId}: ${machine}; background load ${background.toFixed(2)} cores`);
    for (const site of HONEST) ol.start(site, [], site === 'v' ? { nodeArgs: s.victimNodeArgs } : {});
    // Niced: on this shared 2-core machine the attacker's CPU stands for a machine of its own, and
    // must not starve the honest daemons of the cores they would have in a real network.
    const hostile = ol.lab.spawn(
      HOSTILE,
      [
        'nice',
        '-n',
        '10',
        process.execPath,
        HOSTILE_DAEMON,
        ...['--peers', ol.peersFile, '--key', ol.site(HOSTILE).keyFile, '--victim', 'v'],
        ...['--seconds', String(s.attackS), '--rate', String(s.rate)],
      ],
      { name: 'hostile-h' },
    );
    await ol.waitConverged(60_000, [...HONEST]);
    await ol.lab.waitFor(() => hostileReport(hostile).neighbor, {
      timeoutMs: 60_000,
      what: 'the hostile member to be a routing neighbour of v',
    });
    const victim = ol.site('v').process!;
    const pid = victim.pid!;
    const rssMB = (): number => (processRssBytes(pid) ?? NaN) / 1e6;

    // Idle: the baseline every figure is compared with.
    await sleep(5000);
    const idleSamples: number[] = [];
    const idleSampler = new CpuSampler({ v: pid });
    idleSampler.start();
    for (let t = 0; t < s.idleS; t++) {
      idleSamples.push(rssMB());
      await sleep(1000);
    }
    idleCpu = idleSampler.stop().cores.v ?? null;
    idleRssMB = [...idleSamples].sort((a, b) => a - b)[Math.floor(idleSamples.length / 2)]!;
    idleMemory = memoryBreakdown(await scrape(ol, 'v'));
    progress(
      `idle: v RSS ${fmt(idleRssMB, 1)} MB (heap ${fmt(idleMemory.heapMB, 1)}, new space ${fmt(idleMemory.newSpaceMB, 1)}, external ${fmt(idleMemory.externalMB, 1)}), CPU ${fmt(idleCpu)} cores; attacking for ${s.attackS} s`,
    );

    const logs = { v: victim.stderrPath, b: ol.site('b').process!.stderrPath };
    const rejected0 = counterByLabel(await scrape(ol, 'v'), 'overlay_adverts_rejected_total');
    let prev = {
      at: Date.now(),
      offV: fileSize(logs.v),
      offB: fileSize(logs.b),
      sent: hostileReport(hostile),
      rejected: sum(rejected0),
      ...(await victimCounters(ol)),
    };
    hostile.kill('SIGUSR1');
    const start = Date.now();
    let peak = 0;
    for (let t = s.intervalS; t <= s.attackS + 0.5; t += s.intervalS) {
      const sampler = new CpuSampler({ v: pid });
      sampler.start();
      while (Date.now() < start + t * 1000) {
        peak = Math.max(peak, rssMB());
        await sleep(1000);
      }
      const cpu = sampler.stop().cores.v ?? null;
      const now = Date.now();
      const dt = (now - prev.at) / 1000;
      const sent = hostileReport(hostile);
      const alive = victim.isAlive();
      const metrics = alive ? await scrape(ol, 'v') : '';
      const rejected = alive ? sum(counterByLabel(metrics, 'overlay_adverts_rejected_total')) : NaN;
      const counters = alive ? await victimCounters(ol) : { dropped: NaN, received: NaN, kernelDrops: NaN };
      // Route changes to honest members only: h's own routes are whatever h makes of them.
      const honest = (site: 'v' | 'b', off: number): number => {
        const list = routeChangesSince(logs[site], off).filter((c) => c.dst !== HOSTILE);
        for (const c of list) changeLines.push(`t=${t} s at ${site}: ${c.from} ⇒ ${c.to} (${c.reason})`);
        return list.length;
      };
      const row: Row = {
        t,
        rssMB: rssMB(),
        rssMaxMB: peak,
        cpu,
        sentMsgsPerS: (sent.messages - prev.sent.messages) / dt,
        sentKBPerS: (sent.bytes - prev.sent.bytes) / dt / 1000,
        receivedKBPerS: (counters.received - prev.received) / dt / 1000,
        kernelDropsPerS: (counters.kernelDrops - prev.kernelDrops) / dt,
        refusedPerS: (rejected - prev.rejected) / dt,
        droppedPerS: (counters.dropped - prev.dropped) / dt,
        changesV: honest('v', prev.offV),
        changesB: honest('b', prev.offB),
        reachable: alive && (await honestReachable(ol)),
        alive,
        ...memoryBreakdown(metrics),
      };
      rows.push(row);
      progress(
        `t=${t} s: v RSS ${fmt(row.rssMB, 1)} MB (peak ${fmt(peak, 1)}; heap ${fmt(row.heapMB, 1)}, new space ${fmt(row.newSpaceMB, 1)}, external ${fmt(row.externalMB, 1)}), CPU ${fmt(cpu)}, h sent ${row.sentMsgsPerS.toFixed(0)} msg/s, ` +
          `v received ${row.receivedKBPerS.toFixed(0)} kB/s of control, kernel dropped ${row.kernelDropsPerS.toFixed(0)}/s, v refused ${row.refusedPerS.toFixed(0)}/s, dropped ${row.droppedPerS.toFixed(0)}/s, ` +
          `route changes v ${row.changesV} b ${row.changesB}, honest pairs ${row.reachable ? 'reachable' : 'BROKEN'}`,
      );
      prev = { at: now, offV: fileSize(logs.v), offB: fileSize(logs.b), sent, rejected, ...counters };
      if (!alive) break;
    }
    if (victim.isAlive()) {
      const rejected = counterByLabel(await scrape(ol, 'v'), 'overlay_adverts_rejected_total');
      reasons = Object.fromEntries(
        Object.entries(rejected)
          .map(([k, n]) => [k, n - (rejected0[k] ?? 0)] as const)
          .filter(([, n]) => n > 0)
          .sort((a, b) => b[1] - a[1]),
      );
    }
    const maxRss = Math.max(...rows.map((r) => r.rssMaxMB));
    const changes = rows.reduce((a, r) => a + r.changesV + r.changesB, 0);
    const memoryOk = maxRss <= 1.5 * idleRssMB;
    const routingOk = changes === 0 && rows.every((r) => r.reachable);
    verdict = [
      `victim RSS: idle ${fmt(idleRssMB, 1)} MB, peak under attack ${fmt(maxRss, 1)} MB = ${fmt(maxRss / idleRssMB)}× idle (goal ≤ 1.5×): ${memoryOk ? 'PASS' : 'FAIL'}`,
      `honest routing: ${changes} route changes at v and b to honest members, honest pairs ${rows.every((r) => r.reachable) ? 'reachable at every sample' : 'NOT always reachable'}: ${routingOk ? 'PASS' : 'FAIL'}`,
      `victim ${rows.every((r) => r.alive) ? 'alive throughout' : 'DIED'}; idle CPU ${fmt(idleCpu)} cores`,
      `victim memory idle (MB): heap ${fmt(idleMemory.heapMB, 1)}, of it new space ${fmt(idleMemory.newSpaceMB, 1)}; external ${fmt(idleMemory.externalMB, 1)}`,
    ];
    printTable(
      `Hostile load: h floods v with hostile control for ${s.attackS} s (${s.rate > 0 ? `${s.rate} msg/s` : 'as fast as h can'})`,
      [
        't (s)',
        'v RSS (MB)',
        '× idle',
        'peak (MB)',
        'heap / new space / external (MB)',
        'v CPU (cores)',
        'h sent (msg/s)',
        'h sent (kB/s)',
        'v got (kB/s)',
        'kernel drops (/s)',
        'v refused (/s)',
        'v dropped (/s)',
        'changes v',
        'changes b',
        'honest pairs',
      ],
      rows.map((r) => [
        String(r.t),
        fmt(r.rssMB, 1),
        fmt(r.rssMB / idleRssMB),
        fmt(r.rssMaxMB, 1),
        `${fmt(r.heapMB, 1)} / ${fmt(r.newSpaceMB, 1)} / ${fmt(r.externalMB, 1)}`,
        fmt(r.cpu),
        r.sentMsgsPerS.toFixed(0),
        r.sentKBPerS.toFixed(0),
        r.receivedKBPerS.toFixed(0),
        r.kernelDropsPerS.toFixed(0),
        r.refusedPerS.toFixed(0),
        r.droppedPerS.toFixed(0),
        String(r.changesV),
        String(r.changesB),
        r.reachable ? 'reachable' : 'BROKEN',
      ]),
      [
        machine,
        `background load before the run: ${background.toFixed(2)} cores (figures taken while others work are noisy)`,
        ...verdict,
        ...changeLines.map((l) => `honest route change ${l}`),
        `v refused over the attack, by reason: ${
          Object.entries(reasons)
            .map(([k, n]) => `${k} ${n}`)
            .join(', ') || 'none'
        }`,
      ],
    );
  } finally {
    await closeLab(ol);
  }
  if (s.json)
    writeFileSync(
      s.json,
      JSON.stringify(
        {
          date: new Date().toISOString(),
          machine,
          settings: s,
          idleRssMB,
          idleMemory,
          idleCpu,
          rows,
          reasons,
          verdict,
        },
        null,
        2,
      ),
    );
}

main().catch((err: unknown) => {
  process.stderr.write(
    `hostile-load benchmark failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exitCode = 1;
});
