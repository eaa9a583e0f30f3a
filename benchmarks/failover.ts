// Failover: how long A→C (and C→A) traffic is lost when the a–c underlay path in use is cut, for overlayd
// and for the tinc 1.0 anchor in the same run. Sites a, b, c with emulated latency so the direct path is
// clearly preferred (a–c 5 ms, a–b and b–c 10 ms one way: direct costs 6, via b 22).
//
// Per overlayd trial: wait until a→c and c→a are direct and have been for 2 s; start `ping -D -O -i 0.01`
// both ways; cut a–c in the wan 1–2 s later (uniformly random); restore it `--hold` s after the cut; wait
// until both ends are direct again (the move back after the hold); stop the pings. The outage is the
// longest run of unanswered pings from 1 s before the cut, in ms (pings × the fitted real interval).
// Per tinc trial (as the anchors' failover-tinc.sh): a fresh tinc mesh, settled on direct UDP, the same
// pings, the same cut, then wait until pings flow again (via B) or the window ends.
//
//   node dist/benchmarks/failover.js [--quick] [--trials 20] [--hold 4] [--skip-tinc]
//                                    [--tinc-trials 5] [--tinc-default-trials 1] [--ipv4-only] [--wait-quiet S] [--json out.json]
//
// By default every member has two underlay endpoints (IPv4 and IPv6), as in the netns tests; --ipv4-only
// gives it one, which changes overlayd's detection time (see benchmarks/README.md).
import { writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { OverlayLab } from '../test/lab/overlay-lab.js';
import type { Lab } from '../test/lab/lab.js';
import { waitQuiet } from './lib/cpu.js';
import { reportFailover, type OverlayTrial, type TincTrial } from './lib/failover-report.js';
import {
  fileSize,
  pathOfSide,
  routeChangesSince,
  startPing,
  stopPing,
  waitRecovered,
} from './lib/failover-trial.js';
import { analyzeOutage, lostBetween } from './lib/ping-log.js';
import {
  codeVersion,
  COMMON_OPTIONS,
  commonOptions,
  machineLine,
  numberOption,
  progress,
  requireRoot,
} from './lib/progress.js';
import { TincMesh } from './lib/tinc.js';

const SITES = ['a', 'b', 'c'] as const;
const ONE_WAY_MS: ReadonlyArray<[string, string, number]> = [
  ['a', 'c', 5],
  ['a', 'b', 10],
  ['b', 'c', 10],
];
const PING_INTERVAL_S = 0.01;

interface Settings {
  trials: number;
  holdS: number;
  skipTinc: boolean;
  tincTrials: number;
  tincDefaultTrials: number;
  /** Underlay without IPv6: one endpoint per member instead of two (see the README's failover analysis). */
  ipv4Only: boolean;
  waitQuietS: number;
  json: string | undefined;
}

function parse(): Settings {
  const { values } = parseArgs({
    options: {
      ...COMMON_OPTIONS,
      trials: { type: 'string' },
      hold: { type: 'string' },
      'skip-tinc': { type: 'boolean', default: false },
      'tinc-trials': { type: 'string' },
      'tinc-default-trials': { type: 'string' },
      'ipv4-only': { type: 'boolean', default: false },
    },
  });
  const common = commonOptions(
    values,
    'node dist/benchmarks/failover.js [--quick] [--trials N] [--hold S] [--skip-tinc] ' +
      '[--tinc-trials N] [--tinc-default-trials N] [--ipv4-only] [--wait-quiet S] [--json FILE]',
  );
  const q = values.quick;
  return {
    trials: numberOption(values.trials, q ? 5 : 20, 'trials'),
    holdS: numberOption(values.hold, 4, 'hold'),
    skipTinc: values['skip-tinc'],
    tincTrials: numberOption(values['tinc-trials'], q ? 2 : 5, 'tinc-trials'),
    tincDefaultTrials: numberOption(values['tinc-default-trials'], q ? 0 : 1, 'tinc-default-trials'),
    ipv4Only: values['ipv4-only'],
    ...common,
  };
}

/** Cuts a–c and returns the moment (epoch s, midpoint of the nft call) and how long nft took. */
async function cutNow(lab: Lab): Promise<{ at: number; tookMs: number }> {
  const t0 = Date.now();
  await lab.cut('a', 'c');
  const t1 = Date.now();
  return { at: (t0 + t1) / 2000, tookMs: t1 - t0 };
}

/** Both ends direct (a>c, c>a), each path in use for at least `ageMs`. */
async function directBoth(ol: OverlayLab, ageMs: number): Promise<boolean> {
  for (const [from, to] of [
    ['a', 'c'],
    ['c', 'a'],
  ] as const) {
    const m = (await ol.status(from)).members.find((x) => x.name === to);
    if (m?.path?.join('>') !== `${from}>${to}` || (m.pathAgeMs ?? 0) < ageMs) return false;
  }
  return true;
}

async function overlaydTrial(ol: OverlayLab, s: Settings, n: number): Promise<OverlayTrial> {
  const lab = ol.lab;
  await lab.waitFor(() => directBoth(ol, 2000), {
    timeoutMs: 60_000,
    intervalMs: 100,
    what: 'a↔c direct for 2 s',
  });
  const logA = ol.site('a').process!.stderrPath;
  const logC = ol.site('c').process!.stderrPath;
  const offA = fileSize(logA);
  const offC = fileSize(logC);
  const maxS = 2 + s.holdS + 60;
  const fwd = startPing(lab, 'a', ol.addressOf('c'), `ping-ac-${n}`, PING_INTERVAL_S, maxS);
  const rev = startPing(lab, 'c', ol.addressOf('a'), `ping-ca-${n}`, PING_INTERVAL_S, maxS);
  try {
    await sleep(1000 + Math.random() * 1000);
    const cut = await cutNow(lab);
    await sleep(s.holdS * 1000);
    const r0 = Date.now();
    await lab.restore('a', 'c');
    const restoreAt = (r0 + Date.now()) / 2000;
    let backMs: number | null = null;
    try {
      await lab.waitFor(() => directBoth(ol, 0), {
        timeoutMs: 45_000,
        intervalMs: 50,
        what: 'both ends direct again',
      });
      backMs = Date.now() - restoreAt * 1000;
    } catch {
      progress(`trial ${n}: not back on the direct path 45 s after the restore`);
    }
    await sleep(500);
    const stopAt = Date.now() / 1000;
    const [fLog, rLog] = await Promise.all([stopPing(fwd), stopPing(rev)]);
    const opts = { fromS: -1, until: restoreAt, ignoreAfter: stopAt - 0.2 };
    const changesA = routeChangesSince(logA, offA).filter((c) => c.dst === 'c');
    const changesC = routeChangesSince(logC, offC).filter((c) => c.dst === 'a');
    const after = (
      list: typeof changesA,
      t: number,
      pred: (c: (typeof changesA)[number]) => boolean,
    ): number | null => {
      const c = list.find((x) => x.at >= t - 0.05 && pred(x));
      return c ? (c.at - t) * 1000 : null;
    };
    const isDead = (c: (typeof changesA)[number]): boolean => c.reason === 'current path died';
    return {
      n,
      cutTookMs: cut.tookMs,
      forward: analyzeOutage(fLog, cut.at, opts),
      reverse: analyzeOutage(rLog, cut.at, opts),
      switchA: after(changesA, cut.at, isDead),
      switchC: after(changesC, cut.at, isDead),
      backA: after(changesA, restoreAt, (c) => pathOfSide(c.to) === 'a→c'),
      backC: after(changesC, restoreAt, (c) => pathOfSide(c.to) === 'c→a'),
      backMs,
      lostMoveBackFwd: lostBetween(fLog, restoreAt, stopAt - 0.2),
      lostMoveBackRev: lostBetween(rLog, restoreAt, stopAt - 0.2),
      changes: [...changesA, ...changesC].map(
        (c) => `${((c.at - cut.at) * 1000).toFixed(0)} ms: ${c.from} ⇒ ${c.to} (${c.reason})`,
      ),
    };
  } finally {
    await Promise.all([fwd.stop(500), rev.stop(500)]);
    await lab.restore('a', 'c');
  }
}

async function tincTrial(
  lab: Lab,
  cfg: { label: string; pingInterval?: number; pingTimeout?: number; windowS: number },
  n: number,
): Promise<TincTrial> {
  const mesh = new TincMesh(lab, SITES, { pingInterval: cfg.pingInterval, pingTimeout: cfg.pingTimeout });
  const started = Date.now() / 1000;
  try {
    try {
      await mesh.startSettled('direct', {
        attempts: 2,
        timeoutS: 40,
        onRetry: (w) => progress(`  tinc restart: ${w.split('\n')[0]}`),
      });
    } catch (err) {
      progress(`  ${cfg.label} trial ${n} skipped: ${String(err).split('\n')[0]}`);
      return { label: cfg.label, n, skipped: true, forward: null, reverse: null, cutAfterStartS: null };
    }
    const maxS = 2 + cfg.windowS + 5;
    const fwd = startPing(lab, 'a', mesh.addressOf('c'), `tinc-ping-ac-${n}`, PING_INTERVAL_S, maxS);
    const rev = startPing(lab, 'c', mesh.addressOf('a'), `tinc-ping-ca-${n}`, PING_INTERVAL_S, maxS);
    try {
      await sleep(1000 + Math.random() * 1000);
      const cut = await cutNow(lab);
      await waitRecovered([fwd, rev], cut.at, cfg.windowS);
      const stopAt = Date.now() / 1000;
      const [fLog, rLog] = await Promise.all([stopPing(fwd), stopPing(rev)]);
      const opts = { fromS: -1, ignoreAfter: stopAt - 0.3 };
      return {
        label: cfg.label,
        n,
        skipped: false,
        forward: analyzeOutage(fLog, cut.at, opts),
        reverse: analyzeOutage(rLog, cut.at, opts),
        cutAfterStartS: cut.at - started,
      };
    } finally {
      await Promise.all([fwd.stop(500), rev.stop(500)]);
    }
  } finally {
    await mesh.stop();
    await lab.restore('a', 'c');
  }
}

async function underlayRtts(lab: Lab): Promise<Array<[string, number, number | null]>> {
  const out: Array<[string, number, number | null]> = [];
  for (const [x, y, ms] of ONE_WAY_MS) {
    const r = await lab.ping(x, y, { count: 10, intervalS: 0.05 });
    out.push([`${x}–${y}`, ms, r.rttAvgMs]);
  }
  return out;
}

async function main(): Promise<void> {
  requireRoot();
  const s = parse();
  const machine = `${await machineLine()}; overlayd ${await codeVersion()}`;
  const ol = await OverlayLab.create({ sites: [...SITES], latency: true, ipv6: !s.ipv4Only });
  const overlay: OverlayTrial[] = [];
  const tinc: TincTrial[] = [];
  const failures: string[] = [];
  try {
    const lab = ol.lab;
    for (const [x, y, ms] of ONE_WAY_MS) await lab.setLatency(x, y, ms);
    const rtts = await underlayRtts(lab);
    const background = await waitQuiet(s.waitQuietS, 0.3, (b) =>
      progress(`waiting for a quiet machine (${b.toFixed(2)} cores busy)`),
    );
    progress(`lab ${lab.runId}: ${machine}; background load ${background.toFixed(2)} cores`);
    ol.startAll();
    await ol.waitConverged(30_000);
    let failed = 0;
    for (let n = 1; n <= s.trials; n++) {
      let t: OverlayTrial;
      try {
        t = await overlaydTrial(ol, s, n);
      } catch (err) {
        // A trial that cannot even start (no direct path to begin with) is reported, not hidden.
        progress(`overlayd trial ${n} FAILED: ${String(err)}`);
        failures.push(`overlayd trial ${n}: ${err instanceof Error ? err.message : String(err)}`);
        if (++failed >= 3) break;
        continue;
      }
      overlay.push(t);
      progress(
        `overlayd trial ${n}/${s.trials}: a→c ${t.forward?.outageMs.toFixed(0) ?? '?'} ms, c→a ${t.reverse?.outageMs.toFixed(0) ?? '?'} ms; ` +
          `switch a ${t.switchA?.toFixed(0) ?? '?'} ms, c ${t.switchC?.toFixed(0) ?? '?'} ms; back ${t.backMs ?? '?'} ms`,
      );
    }
    await Promise.all(SITES.map((x) => ol.site(x).process?.stop(3000)));
    if (!s.skipTinc) {
      const configs = [
        {
          label: 'tinc PingInterval=1 PingTimeout=1',
          pingInterval: 1,
          pingTimeout: 1,
          windowS: 20,
          trials: s.tincTrials,
        },
        { label: 'tinc defaults (60 s / 5 s)', windowS: 90, trials: s.tincDefaultTrials },
      ];
      for (const cfg of configs) {
        for (let n = 1; n <= cfg.trials; n++) {
          const t = await tincTrial(lab, cfg, n);
          tinc.push(t);
          progress(
            `${cfg.label} trial ${n}/${cfg.trials}: a→c ${t.forward?.outageMs.toFixed(0) ?? '—'} ms, c→a ${t.reverse?.outageMs.toFixed(0) ?? '—'} ms`,
          );
        }
      }
    }
    const underlay = s.ipv4Only
      ? 'IPv4 only (one endpoint per member)'
      : 'IPv4 + IPv6 (two endpoints per member)';
    reportFailover({
      overlay,
      tinc,
      rtts,
      machine,
      background,
      underlay,
      holdS: s.holdS,
      intervalS: PING_INTERVAL_S,
    });
    if (failures.length) process.stdout.write(`\nFailed:\n${failures.map((f) => `- ${f}`).join('\n')}\n`);
  } finally {
    await ol.destroy();
  }
  if (s.json)
    writeFileSync(
      s.json,
      JSON.stringify({ date: new Date().toISOString(), machine, settings: s, overlay, tinc }, null, 2),
    );
}

main().catch((err: unknown) => {
  process.stderr.write(
    `failover benchmark failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exitCode = 1;
});
