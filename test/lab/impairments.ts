// What a test can do to the underlay between sites, all of it inside the wan namespace and all of it
// reversible: black-hole cuts and random loss (nft-rules.ts), delay and jitter (the delay emulator, reached
// through latency-routes.ts), partitions (set-based rules) and isolation (sets of cuts), and rate limits
// (tc tbf).
// Each undo removes exactly what its do added, so impairments made by hand and by partition() don't mix up.
import { inNs, runChecked } from './netns.js';
import type { LabSite } from './lab-plan.js';
import type { NftImpairments } from './nft-rules.js';
import type { LatencyRoutes } from './latency-routes.js';
import type { EmulatorClient } from './emulator-client.js';

export interface LatencyOptions {
  /** Each packet's one-way delay is uniform in oneWayMs ± jitterMs; per-pair FIFO order is kept. */
  jitterMs?: number;
}

function pairKey(a: LabSite, b: LabSite): string {
  return a.name < b.name ? `${a.name}|${b.name}` : `${b.name}|${a.name}`;
}

export class Impairments {
  private readonly cuts = new Map<string, number[]>();
  private readonly losses = new Map<string, number[]>();
  private readonly delayed = new Set<string>();
  private partitioned: { groups: LabSite[][]; rules: { handles: number[]; sets: string[] } } | null = null;
  private readonly isolations = new Map<string, Array<[LabSite, LabSite]>>();

  constructor(
    private readonly wanNs: string,
    private readonly allSites: () => LabSite[],
    private readonly nft: NftImpairments,
    private readonly latency: { routes: LatencyRoutes; emulator: EmulatorClient } | null,
  ) {}

  async cut(a: LabSite, b: LabSite): Promise<void> {
    distinct(a, b);
    const k = pairKey(a, b);
    if (this.cuts.has(k)) return;
    this.cuts.set(k, await this.nft.cut(a, b));
  }

  async restore(a: LabSite, b: LabSite): Promise<void> {
    const k = pairKey(a, b);
    const handles = this.cuts.get(k);
    if (!handles) return;
    await this.nft.removeRules(handles);
    this.cuts.delete(k);
  }

  isCut(a: LabSite, b: LabSite): boolean {
    return this.cuts.has(pairKey(a, b)) || this.splitByPartition(a, b);
  }

  /** Random loss of `percent` % per direction; 0 removes it. A round trip is lost with 1-(1-p)². */
  async setLoss(a: LabSite, b: LabSite, percent: number): Promise<void> {
    distinct(a, b);
    if (!(percent >= 0 && percent <= 100)) throw new RangeError(`loss must be 0..100 %, got ${percent}`);
    const k = pairKey(a, b);
    const old = this.losses.get(k);
    if (old) {
      await this.nft.removeRules(old);
      this.losses.delete(k);
    }
    if (percent > 0) this.losses.set(k, await this.nft.loss(a, b, percent));
  }

  async setLatency(a: LabSite, b: LabSite, oneWayMs: number, opts: LatencyOptions = {}): Promise<void> {
    distinct(a, b);
    const lat = this.requireLatency();
    if (!(oneWayMs >= 0)) throw new RangeError(`latency must be >= 0 ms, got ${oneWayMs}`);
    // Configure the emulator before steering packets into it, so none pass undelayed in between.
    await lat.emulator.set(a.index, b.index, oneWayMs, opts.jitterMs ?? 0);
    const k = pairKey(a, b);
    if (!this.delayed.has(k)) {
      await lat.routes.add(a, b);
      this.delayed.add(k);
    }
  }

  async clearLatency(a: LabSite, b: LabSite): Promise<void> {
    const lat = this.requireLatency();
    const k = pairKey(a, b);
    if (!this.delayed.has(k)) return;
    await lat.routes.remove(a, b);
    this.delayed.delete(k);
    await lat.emulator.clear(a.index, b.index);
  }

  /**
   * Cuts every pair of sites in different groups, all at once (one nft transaction of set-based rules,
   * see NftImpairments.partition); sites in no group keep all their paths.
   */
  async partition(groups: LabSite[][]): Promise<void> {
    if (this.partitioned) throw new Error('already partitioned: heal() first');
    const seen = new Set<string>();
    for (const s of groups.flat()) {
      if (seen.has(s.name)) throw new Error(`site ${s.name} is in two groups`);
      seen.add(s.name);
    }
    this.partitioned = { groups, rules: await this.nft.partition(groups) };
  }

  /** Removes exactly what partition() added (a pair cut by hand stays cut). */
  async heal(): Promise<void> {
    if (this.partitioned) await this.nft.removePartition(this.partitioned.rules);
    this.partitioned = null;
  }

  /** Cuts a site off from every other site (its uplink stays up; packets vanish in the wan). */
  async isolate(site: LabSite): Promise<void> {
    if (this.isolations.has(site.name)) return;
    const made: Array<[LabSite, LabSite]> = [];
    this.isolations.set(site.name, made);
    for (const other of this.allSites())
      if (other.name !== site.name) await this.cutRecorded(site, other, made);
  }

  async unisolate(site: LabSite): Promise<void> {
    for (const [x, y] of this.isolations.get(site.name) ?? []) await this.restore(x, y);
    this.isolations.delete(site.name);
  }

  /**
   * Limits the site's uplink to `mbit` Mbit/s each way with tc tbf (on its eth0 and on its wan-side veth).
   * The burst is at least 64 KiB so a GSO super-packet from the veth is never larger than the bucket.
   */
  async setRate(site: LabSite, mbit: number): Promise<void> {
    if (!(mbit > 0)) throw new RangeError(`rate must be > 0 Mbit/s, got ${mbit}`);
    const burst = Math.max(64 * 1024, Math.ceil((mbit * 1e6) / 8 / 100));
    const tbf = ['root', 'tbf', 'rate', `${mbit}mbit`, 'burst', String(burst), 'latency', '50ms'];
    await runChecked(inNs(site.ns, ['tc', 'qdisc', 'replace', 'dev', 'eth0', ...tbf]));
    await runChecked(inNs(this.wanNs, ['tc', 'qdisc', 'replace', 'dev', site.wanIf, ...tbf]));
  }

  async clearRate(site: LabSite): Promise<void> {
    // Deleting a root qdisc that isn't there fails; either way the default is back.
    await runChecked(inNs(site.ns, ['sh', '-c', 'tc qdisc del dev eth0 root 2>/dev/null || true']));
    await runChecked(
      inNs(this.wanNs, ['sh', '-c', `tc qdisc del dev ${site.wanIf} root 2>/dev/null || true`]),
    );
  }

  /** Cuts x↔y unless already cut, and remembers it in `made` only if this call cut it. */
  private async cutRecorded(x: LabSite, y: LabSite, made: Array<[LabSite, LabSite]>): Promise<void> {
    if (this.isCut(x, y)) return;
    await this.cut(x, y);
    made.push([x, y]);
  }

  private splitByPartition(a: LabSite, b: LabSite): boolean {
    const groups = this.partitioned?.groups;
    const ga = groups?.findIndex((g) => g.some((s) => s.name === a.name)) ?? -1;
    const gb = groups?.findIndex((g) => g.some((s) => s.name === b.name)) ?? -1;
    return ga >= 0 && gb >= 0 && ga !== gb;
  }

  private requireLatency(): { routes: LatencyRoutes; emulator: EmulatorClient } {
    if (!this.latency) throw new Error('latency emulation is off: create the lab with latency: true');
    return this.latency;
  }
}

function distinct(a: LabSite, b: LabSite): void {
  if (a.name === b.name) throw new Error(`an impairment needs two different sites, got ${a.name} twice`);
}
