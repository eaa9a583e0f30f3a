// Process liveness from /proc. A PID alone is not an identity (PIDs are reused), so whoever records a PID
// to act on it later records its start time too, and acts only if both still match.
import { readFileSync } from 'node:fs';

export interface ProcIdentity {
  pid: number;
  /** Start time in clock ticks since boot (field 22 of /proc/<pid>/stat). */
  startTime: number;
}

/**
 * The fields of /proc/<pid>/stat from field 3 (state) on, so field n is at index n - 3; null if the
 * process does not exist. The command name (field 2) is in parentheses and may itself contain spaces
 * or ')', hence the split after the last ')'.
 */
export function statFields(pid: number): string[] | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}

function readStat(pid: number): { state: string; startTime: number } | null {
  const rest = statFields(pid);
  // Field 22 (starttime) is rest[19].
  return rest && { state: rest[0] ?? '?', startTime: Number(rest[19]) };
}

/** True if the process exists and is not a zombie (a zombie has exited; only its parent hasn't reaped it). */
export function processAlive(pid: number): boolean {
  const st = readStat(pid);
  return st !== null && st.state !== 'Z' && st.state !== 'X';
}

/** The identity of a live process, or null if it is gone. */
export function procIdentity(pid: number): ProcIdentity | null {
  const st = readStat(pid);
  return st === null ? null : { pid, startTime: st.startTime };
}

/** True if the process that was recorded is still the one running under that PID. */
export function sameProcessAlive(id: ProcIdentity): boolean {
  const st = readStat(id.pid);
  return st !== null && st.startTime === id.startTime && st.state !== 'Z' && st.state !== 'X';
}

/** Sends a signal, ignoring "no such process": the target may have exited on its own. */
export function signalQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // ESRCH: already gone.
  }
}

/** Blocks the thread (only for the synchronous exit path, where timers no longer run). */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
