// The underlay model: the Internet as the simulated nodes see it. It decides whether a packet from
// a to b arrives and how late; it knows nothing about overlayd.
//
//   latency   nodes sit on a unit square; one-way delay grows with distance from minLatencyMs
//             (neighbours) to maxLatencyMs (opposite corners), plus per-packet jitter.
//   policy    a fraction of pairs cannot talk directly at all (an ISP filters or black-holes the
//             path): the reason an overlay exists.
//   loss      a fraction of pairs drop packets at random (0.5–3 % by default).
//   events    links fail and heal, nodes crash and restart, the network splits into groups.
import { pairHash, seededRandom } from './rng.js';

export interface UnderlayOptions {
  nodes: number;
  seed: number;
  minLatencyMs: number;
  maxLatencyMs: number;
  /** Per-packet extra delay: uniform in [0, jitterRatio × latency]. */
  jitterRatio: number;
  blockedFraction: number;
  lossyFraction: number;
  minLoss: number;
  maxLoss: number;
}

export const DEFAULT_UNDERLAY: Omit<UnderlayOptions, 'nodes' | 'seed'> = {
  minLatencyMs: 1,
  maxLatencyMs: 80,
  jitterRatio: 0.05,
  blockedFraction: 0.1,
  lossyFraction: 0.1,
  minLoss: 0.005,
  maxLoss: 0.03,
};

const SALT_BLOCKED = 1;
const SALT_LOSSY = 2;
const SALT_LOSS = 3;

export class Underlay {
  readonly n: number;
  readonly opts: UnderlayOptions;
  private readonly x: Float64Array;
  private readonly y: Float64Array;
  private readonly up: Uint8Array;
  private readonly group: Int32Array;
  private readonly failed = new Set<number>();
  private readonly rnd: () => number;

  constructor(opts: UnderlayOptions) {
    this.opts = opts;
    this.n = opts.nodes;
    this.rnd = seededRandom(opts.seed ^ 0x5eed);
    this.x = new Float64Array(this.n);
    this.y = new Float64Array(this.n);
    for (let i = 0; i < this.n; i++) {
      this.x[i] = this.rnd();
      this.y[i] = this.rnd();
    }
    this.up = new Uint8Array(this.n).fill(1);
    this.group = new Int32Array(this.n);
  }

  position(i: number): { x: number; y: number } {
    return { x: this.x[i], y: this.y[i] };
  }

  /** Base one-way delay between a and b. */
  latencyMs(a: number, b: number): number {
    const d = Math.hypot(this.x[a] - this.x[b], this.y[a] - this.y[b]) / Math.SQRT2;
    return this.opts.minLatencyMs + d * (this.opts.maxLatencyMs - this.opts.minLatencyMs);
  }

  blocked(a: number, b: number): boolean {
    return pairHash(this.opts.seed, a, b, SALT_BLOCKED) < this.opts.blockedFraction;
  }

  lossOf(a: number, b: number): number {
    if (pairHash(this.opts.seed, a, b, SALT_LOSSY) >= this.opts.lossyFraction) return 0;
    const u = pairHash(this.opts.seed, a, b, SALT_LOSS);
    return this.opts.minLoss + u * (this.opts.maxLoss - this.opts.minLoss);
  }

  /** Ground truth: can a and b exchange packets directly right now (random loss aside)? */
  linkUp(a: number, b: number): boolean {
    if (a === b || !this.up[a] || !this.up[b] || this.group[a] !== this.group[b]) return false;
    return !this.failed.has(this.key(a, b)) && !this.blocked(a, b);
  }

  isUp(i: number): boolean {
    return this.up[i] === 1;
  }

  /** Delay of one packet from a to b, or undefined when it is not delivered. */
  transmit(a: number, b: number): number | undefined {
    if (!this.linkUp(a, b)) return undefined;
    const loss = this.lossOf(a, b);
    if (loss > 0 && this.rnd() < loss) return undefined;
    const base = this.latencyMs(a, b);
    return base + this.rnd() * this.opts.jitterRatio * base;
  }

  setNodeUp(i: number, up: boolean): void {
    this.up[i] = up ? 1 : 0;
  }

  setLinkFailed(a: number, b: number, failed: boolean): void {
    if (failed) this.failed.add(this.key(a, b));
    else this.failed.delete(this.key(a, b));
  }

  /** groups[i] is node i's side; nodes in different groups cannot talk. */
  partition(groups: ArrayLike<number>): void {
    for (let i = 0; i < this.n; i++) this.group[i] = groups[i];
  }

  heal(): void {
    this.group.fill(0);
  }

  /** Connected component of every node over links up right now (ground-truth reachability). */
  components(): Int32Array {
    const comp = new Int32Array(this.n).fill(-1);
    let c = 0;
    for (let s = 0; s < this.n; s++) {
      if (comp[s] !== -1 || !this.up[s]) continue;
      const stack = [s];
      comp[s] = c;
      while (stack.length > 0) {
        const u = stack.pop() as number;
        for (let v = 0; v < this.n; v++) {
          if (comp[v] === -1 && this.linkUp(u, v)) {
            comp[v] = c;
            stack.push(v);
          }
        }
      }
      c++;
    }
    return comp;
  }

  private key(a: number, b: number): number {
    return Math.min(a, b) * this.n + Math.max(a, b);
  }
}
