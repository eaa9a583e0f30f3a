// Does every pair of daemons reach each other over overlay addresses? One fping per site (it pings
// every other site's overlay address in one process: 100 sites are 100 processes, not 9 900 pings),
// a few sites at a time; pairs that did not answer are tried again in later rounds, since a first
// packet to a member waits for the session handshake (and may be dropped if the queue is full).
import type { OverlayLab } from '../../test/lab/overlay-lab.js';

export interface PairPingResult {
  pairs: number;
  answered: number;
  /** RTT of each answered pair, ms (the round in which it answered). */
  rttsMs: number[];
  /** Pairs that never answered, "from>to". */
  failed: string[];
  rounds: number;
  ms: number;
}

const CONCURRENT_SITES = 4;
/**
 * How long a ping may take and still count as the pair reaching each other. Not a latency goal (the
 * RTTs are reported): with 75 daemons on two cores, round trips of 1.1–1.5 s were the median, and a
 * first packet also waits for its end-to-end handshake; at 1.5 s most pairs failed on time alone.
 */
const PING_TIMEOUT_MS = 3000;

/** fping's `-C 1 -q` summary: "10.77.0.2 : 0.42" or "10.77.0.2 : -" per target, on stderr. */
function parseFping(text: string): Map<string, number | null> {
  const out = new Map<string, number | null>();
  for (const line of text.split('\n')) {
    const m = /^(\S+)\s+:\s+(\S+)/.exec(line.trim());
    if (m) out.set(m[1]!, m[2] === '-' ? null : Number(m[2]));
  }
  return out;
}

export async function pingAllPairs(
  ol: OverlayLab,
  names: readonly string[],
  opts: { rounds?: number; onRound?: (answered: number, pairs: number) => void } = {},
): Promise<PairPingResult> {
  const t0 = performance.now();
  const todo = new Map<string, string[]>(names.map((a) => [a, names.filter((b) => b !== a)]));
  const pairs = names.length * (names.length - 1);
  const rtts: number[] = [];
  let rounds = 0;
  for (; rounds < (opts.rounds ?? 4) && [...todo.values()].some((t) => t.length > 0); rounds++) {
    const sites = [...todo.keys()].filter((s) => (todo.get(s) ?? []).length > 0);
    for (let i = 0; i < sites.length; i += CONCURRENT_SITES) {
      await Promise.all(
        sites.slice(i, i + CONCURRENT_SITES).map(async (from) => {
          const targets = todo.get(from) ?? [];
          // -C 1: one ping per target (no retries in count mode: later rounds retry), -t its
          // timeout, -i ms between packets to different targets.
          const argv = [
            'fping',
            '-q',
            '-C',
            '1',
            '-t',
            String(PING_TIMEOUT_MS),
            '-i',
            '5',
            ...targets.map((t) => ol.addressOf(t)),
          ];
          const r = await ol.lab.exec(from, argv, { timeoutMs: 60_000 });
          const answers = parseFping(r.stderr + r.stdout);
          const left: string[] = [];
          // A target fping did not report (it failed to start, say) counts as not answered.
          for (const t of targets) {
            const rtt = answers.get(ol.addressOf(t));
            if (rtt === undefined || rtt === null) left.push(t);
            else rtts.push(rtt);
          }
          todo.set(from, left);
        }),
      );
    }
    opts.onRound?.(rtts.length, pairs);
  }
  const failed = [...todo.entries()].flatMap(([a, ts]) => ts.map((b) => `${a}>${b}`));
  return { pairs, answered: rtts.length, rttsMs: rtts, failed, rounds, ms: performance.now() - t0 };
}
