// When a WebSocket link may dial again after its connection failed or dropped: exponential backoff
// with jitter, reset once a connection has carried an authenticated packet. Pure (time passed in), so
// the schedule is tested without sockets. Without it a member whose TCP port is closed would be
// dialled on every packet; with it a dead port costs one SYN every `maxMs` at most.

export interface WsBackoffParams {
  /** Wait after the first failure. */
  firstMs: number;
  /** Cap of the doubling wait. */
  maxMs: number;
  /** Each wait is multiplied by a uniform factor in [1 - jitterRatio, 1 + jitterRatio]. */
  jitterRatio: number;
}

export const DEFAULT_WS_BACKOFF: Readonly<WsBackoffParams> = Object.freeze({
  firstMs: 500,
  maxMs: 30_000,
  jitterRatio: 0.2,
});

export class WsBackoff {
  private failures = 0;
  private notBefore = -Infinity;

  constructor(
    private readonly params: WsBackoffParams = DEFAULT_WS_BACKOFF,
    private readonly random: () => number = Math.random,
  ) {}

  /** Whether a dial may start at `now`. */
  mayDial(now: number): boolean {
    return now >= this.notBefore;
  }

  /** A dial failed or an open connection dropped: the next dial waits longer. */
  failed(now: number): number {
    const p = this.params;
    const base = Math.min(p.firstMs * 2 ** this.failures, p.maxMs);
    this.failures++;
    const wait = base * (1 + (this.random() * 2 - 1) * p.jitterRatio);
    this.notBefore = now + wait;
    return wait;
  }

  /** The connection carried an authenticated packet: the next failure starts from `firstMs` again. */
  succeeded(): void {
    this.failures = 0;
    this.notBefore = -Infinity;
  }

  get consecutiveFailures(): number {
    return this.failures;
  }
}
