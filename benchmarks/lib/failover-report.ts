// The failover benchmark's tables: the outage distribution per system and direction, where overlayd's
// time goes (route switches at each end from the daemons' logs, the move back), and every trial.
import type { Outage } from './ping-log.js';
import { summarize } from './stats.js';
import { fmt, printTable } from './table.js';

export interface OverlayTrial {
  n: number;
  cutTookMs: number;
  forward: Outage | null;
  reverse: Outage | null;
  /** ms after the cut when A's route to C changed because the path died (from A's log). */
  switchA: number | null;
  switchC: number | null;
  /** ms after the restore when A (C) moved back to the direct path. */
  backA: number | null;
  backC: number | null;
  /** ms after the restore until both ends reported the direct path (polled). */
  backMs: number | null;
  lostMoveBackFwd: number;
  lostMoveBackRev: number;
  changes: string[];
}

export interface TincTrial {
  label: string;
  n: number;
  skipped: boolean;
  forward: Outage | null;
  reverse: Outage | null;
  cutAfterStartS: number | null;
}

export interface FailoverReport {
  overlay: OverlayTrial[];
  tinc: TincTrial[];
  rtts: Array<[string, number, number | null]>;
  machine: string;
  background: number;
  underlay: string;
  holdS: number;
  intervalS: number;
}

/** Outages that ended (recovered) in ms; `never` counts those that did not within the trial. */
function outages(list: ReadonlyArray<Outage | null>): { ms: number[]; never: number } {
  const ms: number[] = [];
  let never = 0;
  for (const o of list) {
    if (!o) continue;
    if (o.lost > 0 && o.recoveredAfterMs === null) never++;
    else ms.push(o.outageMs);
  }
  return { ms, never };
}

function outageCell(o: Outage | null): string {
  if (!o) return '—';
  return o.lost > 0 && o.recoveredAfterMs === null ? `never (≥ ${fmt(o.outageMs, 0)})` : fmt(o.outageMs, 0);
}

function distRow(
  system: string,
  direction: string,
  list: ReadonlyArray<Outage | null>,
  trials: number,
): string[] {
  const { ms, never } = outages(list);
  const s = summarize(ms);
  const sec = (x: number): string => (x >= 10_000 ? `${(x / 1000).toFixed(1)} s` : fmt(x, 0));
  return [system, direction, String(trials), sec(s.p50), sec(s.p95), sec(s.max), sec(s.min), String(never)];
}

function statRow(label: string, xs: ReadonlyArray<number | null>): string[] {
  const vals = xs.filter((x): x is number => x !== null);
  const s = summarize(vals);
  return [label, fmt(s.p50, 0), fmt(s.p95, 0), fmt(s.max, 0), fmt(s.min, 0), `${vals.length}/${xs.length}`];
}

export function reportFailover(r: FailoverReport): void {
  // The emulator is what makes the direct path preferred; a pair far from 2 × its delay voids the run's premise.
  const check = (ms: number, rtt: number | null): string =>
    rtt !== null && Math.abs(rtt - 2 * ms) <= Math.max(3, 0.3 * 2 * ms)
      ? 'ok'
      : 'OFF: check the delay emulator';
  printTable(
    'Emulated underlay (lab delay emulator)',
    ['pair', 'one-way delay set (ms)', 'ping RTT avg (ms), expect 2× + ~0.1', 'check'],
    r.rtts.map(([pair, ms, rtt]) => [pair, String(ms), fmt(rtt, 2), check(ms, rtt)]),
  );

  const rows = [
    distRow(
      'overlayd',
      'a→c',
      r.overlay.map((t) => t.forward),
      r.overlay.length,
    ),
    distRow(
      'overlayd',
      'c→a',
      r.overlay.map((t) => t.reverse),
      r.overlay.length,
    ),
  ];
  const labels = [...new Set(r.tinc.map((t) => t.label))];
  for (const label of labels) {
    const ts = r.tinc.filter((t) => t.label === label && !t.skipped);
    const skipped = r.tinc.filter((t) => t.label === label && t.skipped).length;
    const name = skipped ? `${label} (${skipped} skipped: never settled)` : label;
    rows.push(
      distRow(
        name,
        'a→c',
        ts.map((t) => t.forward),
        ts.length,
      ),
    );
    rows.push(
      distRow(
        name,
        'c→a',
        ts.map((t) => t.reverse),
        ts.length,
      ),
    );
  }
  printTable(
    'Failover: outage when the a–c path in use is cut (ms of unanswered pings, ping -i 0.01)',
    ['system', 'ping', 'trials', 'p50 ms', 'p95 ms', 'max ms', 'min ms', 'not recovered'],
    rows,
    [
      `${new Date().toISOString().slice(0, 10)}, ${r.machine}; background load before the run ${r.background.toFixed(2)} cores.`,
      `Underlay: ${r.underlay}; the cut drops both families.`,
      'Outage = longest run of unanswered pings starting from 1 s before the cut: send time of the first ping ' +
        'answered after it minus that of the last one before it, minus one interval ' +
        `(${(r.intervalS * 1000).toFixed(0)} ms): ≈ pings lost × interval. Both pings run during the same cuts.`,
      `overlayd: cut 1–2 s (random) after the pings start, restored ${r.holdS} s later. ` +
        'tinc: a fresh mesh per trial, settled on direct UDP, cut 1–2 s after the pings start, until pings flow again.',
      'Goal for overlayd: p95 ≤ 500 ms.',
    ],
  );

  const o = r.overlay;
  printTable(
    'overlayd: where the time goes (ms; switches from the daemons’ route-change log lines)',
    ['stage', 'p50', 'p95', 'max', 'min', 'seen'],
    [
      statRow(
        'A switches its route to C (reason: path died), after the cut',
        o.map((t) => t.switchA),
      ),
      statRow(
        'C switches its route to A (reason: path died), after the cut',
        o.map((t) => t.switchC),
      ),
      statRow(
        'a→c pings answered again (send time), after the cut',
        o.map((t) => t.forward?.recoveredAfterMs ?? null),
      ),
      statRow(
        'c→a pings answered again (send time), after the cut',
        o.map((t) => t.reverse?.recoveredAfterMs ?? null),
      ),
      statRow(
        'last a→c ping answered before the outage (send time), after the cut',
        o.map((t) => t.forward?.lastGoodAfterMs ?? null),
      ),
      statRow(
        'A back on a→c (reason: better), after the restore',
        o.map((t) => t.backA),
      ),
      statRow(
        'C back on c→a, after the restore',
        o.map((t) => t.backC),
      ),
      statRow(
        'both ends direct again (polled), after the restore',
        o.map((t) => t.backMs),
      ),
      statRow(
        'a→c pings lost from the restore to the end (move back)',
        o.map((t) => t.lostMoveBackFwd),
      ),
      statRow(
        'c→a pings lost from the restore to the end (move back)',
        o.map((t) => t.lostMoveBackRev),
      ),
      statRow(
        'nft cut command duration',
        o.map((t) => t.cutTookMs),
      ),
    ],
  );

  printTable(
    'overlayd trials',
    [
      'trial',
      'a→c outage ms',
      'c→a outage ms',
      'A switch ms',
      'C switch ms',
      'back ms',
      'lost on move back',
      'route changes (ms after cut)',
    ],
    o.map((t) => [
      String(t.n),
      outageCell(t.forward),
      outageCell(t.reverse),
      fmt(t.switchA, 0),
      fmt(t.switchC, 0),
      fmt(t.backMs, 0),
      `${t.lostMoveBackFwd} / ${t.lostMoveBackRev}`,
      t.changes.join('; '),
    ]),
  );

  if (r.tinc.length) {
    printTable(
      'tinc trials',
      [
        'config',
        'trial',
        'cut after tincd start s',
        'a→c outage ms',
        'c→a outage ms',
        'a→c recovered after cut ms',
      ],
      r.tinc.map((t) => [
        t.label,
        String(t.n),
        t.skipped ? 'skipped' : fmt(t.cutAfterStartS, 1),
        outageCell(t.forward),
        outageCell(t.reverse),
        fmt(t.forward?.recoveredAfterMs, 0),
      ]),
    );
  }
}
