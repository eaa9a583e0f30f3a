// CPU use of given processes and of the whole machine over an interval, from /proc (the same method as
// the anchor scripts' lib.sh): utime+stime of a PID (all its threads) and the busy ticks of /proc/stat,
// each divided by wall time. 1.00 means one core fully busy; the machine total is out of nproc cores.
// PIDs are global (namespaces here are network-only), so a daemon inside a lab site is read as is.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { statFields } from '../../test/lab/proc.js';

let ticksPerSecond: number | undefined;

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ). */
export function hz(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100; // USER_HZ on every Linux we run on
    }
  }
  return ticksPerSecond;
}

let pageBytes: number | undefined;

/** Resident set size of a process in bytes (field 24 of /proc/<pid>/stat, in pages), or null if it is gone. */
export function processRssBytes(pid: number): number | null {
  if (pageBytes === undefined) {
    try {
      pageBytes = Number(execFileSync('getconf', ['PAGESIZE'], { encoding: 'utf8' }).trim()) || 4096;
    } catch {
      pageBytes = 4096;
    }
  }
  const rest = statFields(pid);
  return rest && Number(rest[21]) * pageBytes;
}

/** utime + stime of a process in clock ticks, or null if it is gone. */
export function processTicks(pid: number): number | null {
  const rest = statFields(pid);
  // Fields 14 (utime) and 15 (stime).
  return rest && Number(rest[11]) + Number(rest[12]);
}

interface MachineTicks {
  busy: number;
  softirq: number;
  total: number;
}

/** Aggregate "cpu" line: busy = user+nice+system+irq+softirq+steal; total adds idle and iowait. */
function machineTicks(): MachineTicks {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = v as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const busy = user + nice + system + irq + softirq + (steal ?? 0);
  return { busy, softirq, total: busy + idle + iowait };
}

export interface CpuUsage {
  /** Cores used by each watched process (null if it vanished during the interval). */
  cores: Record<string, number | null>;
  /** Busy cores of the whole machine (out of `ncpu`), softirq included. */
  machineBusy: number;
  softirq: number;
  ncpu: number;
  seconds: number;
}

/** Samples at start() and stop(): use it around one measured interval. */
export class CpuSampler {
  private t0 = 0;
  private m0: MachineTicks = { busy: 0, softirq: 0, total: 0 };
  private p0 = new Map<string, number | null>();

  constructor(private readonly watch: Readonly<Record<string, number | undefined>>) {}

  start(): void {
    for (const [name, pid] of Object.entries(this.watch))
      this.p0.set(name, pid === undefined ? null : processTicks(pid));
    this.m0 = machineTicks();
    this.t0 = performance.now();
  }

  stop(): CpuUsage {
    const seconds = (performance.now() - this.t0) / 1000;
    const m1 = machineTicks();
    const cores: Record<string, number | null> = {};
    for (const [name, pid] of Object.entries(this.watch)) {
      const a = this.p0.get(name) ?? null;
      const b = pid === undefined ? null : processTicks(pid);
      cores[name] = a === null || b === null ? null : (b - a) / hz() / seconds;
    }
    const ncpu = cpus().length;
    const total = m1.total - this.m0.total;
    return {
      cores,
      machineBusy: total > 0 ? ((m1.busy - this.m0.busy) / total) * ncpu : NaN,
      softirq: total > 0 ? ((m1.softirq - this.m0.softirq) / total) * ncpu : NaN,
      ncpu,
      seconds,
    };
  }
}

/** Mean of several usages, per process and for the machine (for "average of the 3 runs"). */
export function meanUsage(runs: readonly CpuUsage[]): CpuUsage {
  const names = Object.keys(runs[0]?.cores ?? {});
  const avg = (xs: number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
  const cores: Record<string, number | null> = {};
  for (const n of names) {
    const xs = runs.map((r) => r.cores[n]).filter((x): x is number => typeof x === 'number');
    cores[n] = xs.length ? avg(xs) : null;
  }
  return {
    cores,
    machineBusy: avg(runs.map((r) => r.machineBusy)),
    softirq: avg(runs.map((r) => r.softirq)),
    ncpu: runs[0]?.ncpu ?? cpus().length,
    seconds: runs.reduce((a, r) => a + r.seconds, 0),
  };
}

/**
 * Busy cores of the machine over `ms` while the benchmark itself is idle: other people's work on a shared
 * machine shows up here, and every figure measured next to it is suspect when this is well above zero.
 */
export async function backgroundBusy(ms = 1000): Promise<number> {
  const s = new CpuSampler({});
  s.start();
  await new Promise((r) => setTimeout(r, ms));
  return s.stop().machineBusy;
}

/**
 * Waits (at most `maxS` seconds) until the machine's busy cores, sampled over 1 s, drop below `threshold`.
 * Returns the last sample: the caller reports it, since a benchmark that had to start anyway on a busy
 * machine must say so.
 */
export async function waitQuiet(
  maxS: number,
  threshold = 0.3,
  onWait?: (busy: number) => void,
): Promise<number> {
  const deadline = Date.now() + maxS * 1000;
  for (;;) {
    const busy = await backgroundBusy(1000);
    if (busy < threshold || Date.now() >= deadline) return busy;
    onWait?.(busy);
    await new Promise((r) => setTimeout(r, 4000));
  }
}
