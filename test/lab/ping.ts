// Reading iputils `ping` output, so tests assert on numbers rather than on text.

export interface PingResult {
  transmitted: number;
  received: number;
  /** 0–100, computed from the counts (ping rounds its own figure). */
  lossPercent: number;
  /** Round-trip times in ms; null when no reply came back. */
  rttMinMs: number | null;
  rttAvgMs: number | null;
  rttMaxMs: number | null;
  rttMdevMs: number | null;
}

/** Parses the summary lines of `ping -q` (or plain `ping`) output. Throws if there is no summary at all. */
export function parsePing(output: string): PingResult {
  const counts = /(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(output);
  if (!counts) throw new Error(`no ping summary in output: ${output.trim().slice(-300)}`);
  const transmitted = Number(counts[1]);
  const received = Number(counts[2]);
  const rtt = /= ([\d.]+)\/([\d.]+)\/([\d.]+)\/([\d.]+) ms/.exec(output);
  return {
    transmitted,
    received,
    lossPercent: transmitted === 0 ? 100 : (100 * (transmitted - received)) / transmitted,
    rttMinMs: rtt ? Number(rtt[1]) : null,
    rttAvgMs: rtt ? Number(rtt[2]) : null,
    rttMaxMs: rtt ? Number(rtt[3]) : null,
    rttMdevMs: rtt ? Number(rtt[4]) : null,
  };
}

export interface PingOptions {
  /** Default 3. */
  count?: number;
  /** Seconds between pings; below 0.2 needs root (the lab has it). Default 0.2. */
  intervalS?: number;
  /** Seconds to wait for a reply when none has come back at all. Default 1. */
  waitS?: number;
  /** Payload bytes (ping -s). */
  size?: number;
}

/**
 * The ping command line for `dst`, and how long it may take. No -w: with it, ping keeps sending past -c
 * until `count` replies arrive, which on a lossy path changes the sample size; without it ping sends
 * exactly `count` and then waits at most -W. The timeout bounds the whole run anyway.
 */
export function pingCommand(dst: string, opts: PingOptions = {}): { argv: string[]; timeoutMs: number } {
  const count = opts.count ?? 3;
  const interval = opts.intervalS ?? 0.2;
  const wait = opts.waitS ?? 1;
  const argv = ['ping', '-n', '-q', '-c', String(count), '-i', String(interval), '-W', String(wait)];
  if (opts.size !== undefined) argv.push('-s', String(opts.size));
  argv.push(dst);
  return { argv, timeoutMs: Math.ceil((count * interval + wait) * 1000) + 5000 };
}
