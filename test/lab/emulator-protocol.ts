// The delay emulator's control protocol: one JSON object per line on its stdin, one JSON reply line per
// command on its stdout, in order. The first stdout line is a ready notice (or a failure) once the TUN is up.
import type { PairStats } from './delay-line.js';

export type EmulatorCommand =
  /** Delay packets a→b and b→a (only a→b with oneWay). a and b are site indexes. */
  | { op: 'set'; a: number; b: number; delayMs: number; jitterMs?: number; oneWay?: boolean }
  /** Stop delaying a↔b (a→b only with oneWay); packets already held still leave at their time. */
  | { op: 'clear'; a: number; b: number; oneWay?: boolean }
  | { op: 'stats' };

export interface EmulatorStats {
  /** Packets read from the TUN. */
  received: number;
  /** Written back at once: their pair has no delay. */
  passed: number;
  /** Not between two lab sites (e.g. the kernel's own IPv6 chatter on the TUN); dropped. */
  unclassified: number;
  /** The kernel refused the write back (queue full). */
  writeFailed: number;
  /** How late the timer fired past the earliest deadline, worst case so far. */
  maxTimerLateMs: number;
  pairs: PairStats[];
}

export type EmulatorReply = { ok: true; stats?: EmulatorStats } | { ok: false; error: string };

export type EmulatorReady = { ready: true; tun: string } | { ready: false; error: string };
