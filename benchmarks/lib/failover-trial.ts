// Pieces of one failover trial shared by overlayd and tinc: bounded `ping -D -O` processes in lab sites,
// reading their logs back, and reading overlayd's route-change log lines with their timestamps.
import { readFileSync, statSync } from 'node:fs';
import type { Lab, LabProcess } from '../../test/lab/lab.js';
import { analyzeOutage, parsePingLog, type Outage, type PingLog } from './ping-log.js';

/** A running `ping -D -O -n -i interval -w maxS` (the deadline bounds it even if nobody stops it). */
export function startPing(
  lab: Lab,
  site: string,
  dst: string,
  name: string,
  intervalS: number,
  maxS: number,
): LabProcess {
  return lab.spawn(
    site,
    ['ping', '-D', '-O', '-n', '-i', String(intervalS), '-w', String(Math.ceil(maxS)), dst],
    { name },
  );
}

/** SIGINT (ping prints its summary and exits), SIGKILL if it lingers; then its parsed log. */
export async function stopPing(p: LabProcess): Promise<PingLog> {
  if (p.isAlive()) p.kill('SIGINT');
  await Promise.race([p.exited, new Promise((r) => setTimeout(r, 2000))]);
  await p.stop(500);
  return readPing(p);
}

export function readPing(p: LabProcess): PingLog {
  return parsePingLog(readText(p.stdoutPath));
}

/**
 * Polls two running pings until both have an outage after `eventAt` that has ended at least `settleS`
 * ago, or `maxS` has passed. Returns true if both recovered.
 */
export async function waitRecovered(
  pings: readonly LabProcess[],
  eventAt: number,
  maxS: number,
  settleS = 1,
): Promise<boolean> {
  const deadline = Date.now() + maxS * 1000;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
    const now = Date.now() / 1000;
    const done = pings.every((p) => {
      const o = analyzeOutage(readPing(p), eventAt, { fromS: 0, ignoreAfter: now - 0.3 });
      return (
        o !== null &&
        o.lost > 0 &&
        o.recoveredAfterMs !== null &&
        now - eventAt - o.recoveredAfterMs / 1000 > settleS
      );
    });
    if (done) return true;
  }
  return false;
}

export interface RouteChangeLine {
  /** Epoch seconds (the daemon's log timestamp). */
  at: number;
  dst: string;
  from: string;
  to: string;
  reason: string;
}

// 2026-11-25T14:40:00.123Z info route: route to c: a→c (6.0 ms) ⇒ a→b→c (22.0 ms), reason: current path died event=path-change member=c …
// (the reason ends where the structured fields begin, src/log.ts)
const ROUTE_LINE = /^(\S+) \w+ route: route to (\S+): (.*) ⇒ (.*), reason: (.*?)(?: \w+=.*)?$/;

/** Route changes an overlayd logged after byte `offset` of its stderr log. */
export function routeChangesSince(path: string, offset: number): RouteChangeLine[] {
  const out: RouteChangeLine[] = [];
  for (const line of readText(path, offset).split('\n')) {
    const m = ROUTE_LINE.exec(line);
    if (m) out.push({ at: Date.parse(m[1]!) / 1000, dst: m[2]!, from: m[3]!, to: m[4]!, reason: m[5]! });
  }
  return out;
}

/** Path of a route-change side ("a→b→c (22.0 ms)") without its cost. */
export function pathOfSide(side: string): string {
  return side.replace(/\s*\(.*\)$/, '');
}

export function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function readText(path: string, offset = 0): string {
  try {
    return readFileSync(path).subarray(offset).toString('utf8');
  } catch {
    return '';
  }
}

export type { Outage };
