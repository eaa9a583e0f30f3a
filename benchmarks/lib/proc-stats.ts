// Per-process figures from /proc for the daemons a benchmark runs: CPU ticks (cpu.ts), resident
// memory, and how often the main thread woke up. A thread that blocks in epoll_wait and is woken by a
// timer or a packet makes one voluntary context switch, so the main thread's voluntary switches per
// second count its event-loop wake-ups from the kernel's side, whatever woke it — the cross-check for
// the daemon's own count of timer fires.
import { readdirSync, readFileSync } from 'node:fs';
import { hz, processTicks } from './cpu.js';

function statusField(path: string, field: string): number | null {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(readFileSync(path, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Resident set size in bytes, or null if the process is gone. */
export function rssBytes(pid: number): number | null {
  const kb = statusField(`/proc/${pid}/status`, 'VmRSS');
  return kb === null ? null : kb * 1024;
}

/**
 * Memory only this process holds (private clean + dirty pages, smaps_rollup), in bytes: its RSS less
 * what it shares with other processes, chiefly the node binary's ~46 MB of text, which every daemon on
 * a lab host maps and which one daemon alone on a site's host pays in full. Null if the process is gone.
 */
export function privateBytes(pid: number): number | null {
  const path = `/proc/${pid}/smaps_rollup`;
  const clean = statusField(path, 'Private_Clean');
  const dirty = statusField(path, 'Private_Dirty');
  return clean === null || dirty === null ? null : (clean + dirty) * 1024;
}

/** Voluntary context switches of the main thread, and of all threads together. */
export function contextSwitches(pid: number): { main: number; all: number } | null {
  const main = statusField(`/proc/${pid}/task/${pid}/status`, 'voluntary_ctxt_switches');
  if (main === null) return null;
  let all = 0;
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`))
      all += statusField(`/proc/${pid}/task/${tid}/status`, 'voluntary_ctxt_switches') ?? 0;
  } catch {
    return null;
  }
  return { main, all };
}

export interface ProcSample {
  at: number;
  ticks: number | null;
  switches: { main: number; all: number } | null;
}

export function sampleProc(pid: number): ProcSample {
  return { at: performance.now(), ticks: processTicks(pid), switches: contextSwitches(pid) };
}

export interface ProcRates {
  /** Cores used (1.00 = one core busy). */
  cores: number | null;
  /** Main-thread wake-ups per second (voluntary context switches). */
  mainWakeups: number | null;
  allThreadWakeups: number | null;
}

/** Rates between two samples of the same process. */
export function procRates(a: ProcSample, b: ProcSample): ProcRates {
  const s = (b.at - a.at) / 1000;
  return {
    cores: a.ticks === null || b.ticks === null ? null : (b.ticks - a.ticks) / hz() / s,
    mainWakeups: a.switches && b.switches ? (b.switches.main - a.switches.main) / s : null,
    allThreadWakeups: a.switches && b.switches ? (b.switches.all - a.switches.all) / s : null,
  };
}
