// Round-trip time while something else runs (a bulk flow): a ping every 50 ms beside the work, the RTT of
// each reply kept so the benchmark can report the median and the tail, not just an average. Interactive
// traffic beside a transfer sees exactly this: the standing queue the transfer builds on the path.
import { readFileSync } from 'node:fs';
import type { Lab } from '../../test/lab/lab.js';
import { parsePingLog } from './ping-log.js';

export interface LoadedPing<T> {
  result: T;
  /** RTT of every reply (ms), in send order. */
  rtts: number[];
  sent: number;
}

/** Pings `dst` from `from` every `intervalS` while `work` runs (at most `maxS` seconds). */
export async function pingDuring<T>(
  lab: Lab,
  from: string,
  dst: string,
  work: () => Promise<T>,
  opts: { intervalS?: number; maxS?: number; family?: 4 | 6 } = {},
): Promise<LoadedPing<T>> {
  const interval = opts.intervalS ?? 0.05;
  const argv = ['ping', '-n', '-D', '-O', '-i', String(interval), '-w', String(opts.maxS ?? 120), dst];
  if (opts.family === 6) argv.splice(1, 0, '-6');
  const ping = lab.spawn(from, argv, { name: `ping-under-load-${from}` });
  try {
    const result = await work();
    await ping.stop(1000);
    const log = parsePingLog(readFileSync(ping.stdoutPath, 'utf8'));
    const rtts = [...log.replies.values()].sort((a, b) => a.seq - b.seq).map((r) => r.rttMs);
    return { result, rtts, sent: log.lastSeq };
  } finally {
    await ping.stop(1000);
  }
}
