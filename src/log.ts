// One readable line per event on stderr: `2026-11-25T14:40:00.123Z info route: ...`.
// Components take a Logger so tests can capture or silence it.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  child(scope: string): Logger;
}

export function isLogLevel(s: string): s is LogLevel {
  return s in RANK;
}

export function createLogger(
  level: LogLevel = 'info',
  write: (line: string) => void = (line) => process.stderr.write(line + '\n'),
  scope = '',
): Logger {
  const min = RANK[level];
  const emit = (lvl: LogLevel, msg: string): void => {
    if (RANK[lvl] < min) return;
    write(`${new Date().toISOString()} ${lvl} ${scope ? scope + ': ' : ''}${msg}`);
  };
  return {
    debug: (m) => emit('debug', m),
    info: (m) => emit('info', m),
    warn: (m) => emit('warn', m),
    error: (m) => emit('error', m),
    child: (s) => createLogger(level, write, scope ? `${scope}.${s}` : s),
  };
}

export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => silentLogger,
};

// ---- events -------------------------------------------------------------------------------------
// Things an operator asks about afterwards ("when did the link to b go down, and why?") are logged as
// one line per event: an optional sentence for people, then `event=<name> key=value …` (logfmt) for
// scripts (`grep event=link-down`, parseEvent):
//
//   2026-12-04T19:30:00.000Z warn event=link-down member=b probes_lost=3 loss=0.6 last_srtt_ms=12.1
//   2026-12-04T19:30:01.000Z info route: route to c: a→c (dead) ⇒ a→b→c (4.1 ms), reason: current path died event=path-change member=c …
//
// Many events are triggered by what other machines send (a hostile or broken member can fail a
// handshake a thousand times a second), so each (event, subject) pair has a token bucket: a burst of
// EVENT_BURST lines, then one every EVENT_REFILL_MS. Lines over the budget are not written but
// counted; the next line written for that pair says how many were left out (`suppressed=N`), and the
// total is a metric.

export type EventValue = string | number | boolean | undefined;
export type EventFields = Record<string, EventValue>;

export const EVENT_BURST = 10;
export const EVENT_REFILL_MS = 6000;
/** (event, subject) pairs tracked; subjects are member names, so this is far above real use. */
const MAX_EVENT_KEYS = 4096;

interface Bucket {
  tokens: number;
  at: number;
  suppressed: number;
}

export class EventLog {
  /** Lines left out by the rate limit since start. */
  suppressedTotal = 0;
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly log: Logger,
    /** Monotonic ms (the node's clock). */
    private readonly now: () => number,
  ) {}

  /**
   * Logs `event` about `subject` (a member name, or '' for the node itself) with `fields`, unless
   * that pair has spent its budget. A `reason` field gets a budget of its own (reasons are a fixed
   * set): a member that keeps failing one way (no reply) must not hide that it now fails another way
   * (key rejected). Returns whether the line was written.
   */
  emit(level: LogLevel, event: string, subject: string, fields: EventFields = {}, text?: string): boolean {
    const now = this.now();
    const key = `${event}\u0000${subject}\u0000${fields.reason ?? ''}`;
    let b = this.buckets.get(key);
    if (b === undefined) {
      if (this.buckets.size >= MAX_EVENT_KEYS) this.evictOne();
      b = { tokens: EVENT_BURST, at: now, suppressed: 0 };
      this.buckets.set(key, b);
    }
    b.tokens = Math.min(EVENT_BURST, b.tokens + (now - b.at) / EVENT_REFILL_MS);
    b.at = now;
    if (b.tokens < 1) {
      b.suppressed++;
      this.suppressedTotal++;
      return false;
    }
    b.tokens--;
    const all: EventFields = subject ? { event, member: subject, ...fields } : { event, ...fields };
    if (b.suppressed > 0) all.suppressed = b.suppressed;
    b.suppressed = 0;
    this.log[level](text === undefined ? formatFields(all) : `${text} ${formatFields(all)}`);
    return true;
  }

  /** Drops the bucket that was used longest ago (insertion order approximates it well enough). */
  private evictOne(): void {
    const oldest = this.buckets.keys().next().value;
    if (oldest !== undefined) this.buckets.delete(oldest);
  }
}

/** `k=v k2="v with spaces"`; undefined fields are left out, numbers keep at most 3 decimals. */
export function formatFields(fields: EventFields): string {
  const out: string[] = [];
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) out.push(`${k}=${formatValue(v)}`);
  return out.join(' ');
}

function formatValue(v: string | number | boolean): string {
  if (typeof v === 'number') return Number.isFinite(v) ? String(Math.round(v * 1000) / 1000) : String(v);
  if (typeof v === 'boolean') return String(v);
  return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
}

/** The event name and fields of a line written by EventLog, or undefined (tests, scripts). */
export function parseEvent(line: string): { event: string; fields: Record<string, string> } | undefined {
  const at = line.search(/(^|\s)event=/);
  if (at < 0) return undefined;
  const fields: Record<string, string> = {};
  for (const f of line.slice(at).matchAll(/([a-z_]+)=("(?:[^"\\]|\\.)*"|[^\s"]+)/g)) {
    fields[f[1]] = f[2].startsWith('"') ? (JSON.parse(f[2]) as string) : f[2];
  }
  return { event: fields.event, fields };
}
