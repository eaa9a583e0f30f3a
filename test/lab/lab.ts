// The multi-site lab every netns test, the demo and the benchmarks run on:
//
//        site a (ol1a2b-a)         site b (ol1a2b-b)        site c ...
//        eth0 10.200.1.2           eth0 10.200.2.2
//             |                         |
//        v-a 10.200.1.1            v-b 10.200.2.1      ← wan (ol1a2b-wan): forwards between sites; nft
//                    \_____ wan ______/                   cuts/loss; policy routing into the delay emulator
//
// One Lab owns its namespaces, its processes (by PID) and its run directory /tmp/overlayd-lab/<runId>/
// (logs, pid records, owner.pid). destroy() removes all of them; so do the exit hooks if the test dies.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { describeFailure, inNs, run, type ExecOptions, type ExecResult } from './netns.js';
import { checkSiteNames, EMULATOR_TUN, planSite, wanNs, type LabSite } from './lab-plan.js';
import { buildTopology, setUplink } from './topology.js';
import { NftImpairments, type PairTraffic } from './nft-rules.js';
import { LatencyRoutes } from './latency-routes.js';
import { EmulatorClient } from './emulator-client.js';
import { Impairments, type LatencyOptions } from './impairments.js';
import { ProcessTracker, type LabProcess, type LabSpawnOptions } from './process-tracker.js';
import {
  deleteNamespaces,
  deleteNamespacesSync,
  listNamespaces,
  registerExitCleanup,
  sweepStaleLabs,
} from './cleanup.js';
import { processAlive, signalQuietly } from './proc.js';
import { claimRunId, runDirOf } from './run-dir.js';
import { parsePing, pingCommand, type PingOptions, type PingResult } from './ping.js';
import { waitFor, type WaitForOptions } from './wait-for.js';
import type { EmulatorStats } from './emulator-protocol.js';

// The types a test needs alongside Lab, so one import does.
export type { LabSite } from './lab-plan.js';
export type { ExecOptions, ExecResult } from './netns.js';
export type { LabProcess, LabSpawnOptions, ProcessExit } from './process-tracker.js';
export type { PingOptions, PingResult } from './ping.js';
export type { PairTraffic } from './nft-rules.js';
export type { LatencyOptions } from './impairments.js';
export type { EmulatorStats } from './emulator-protocol.js';
export type { WaitForOptions } from './wait-for.js';

export interface LabOptions {
  /** Site names, [a-z][a-z0-9]{0,9}; site i (1-based, in this order) gets 10.200.<i>.2. */
  sites: string[];
  /** Start the delay emulator so setLatency() works. Needs the native TUN binding. Default false. */
  latency?: boolean;
  /** Give sites and wan IPv6 underlay addresses too. Default true. */
  ipv6?: boolean;
  /** Keep the run directory (logs) after destroy(). Default: env OVERLAYD_LAB_KEEP=1. */
  keepLogs?: boolean;
  /** Remove leftovers of crashed earlier labs first (see sweepStaleLabs). Default true. */
  sweep?: boolean;
  /** Count what each ordered pair of sites sends (pairTraffic). N·(N-1) nft rules: off for big labs. Default true. */
  pairCounters?: boolean;
}

export class Lab {
  readonly wanNs: string;
  readonly runDir: string;
  private readonly siteMap = new Map<string, LabSite>();
  private readonly createdNs: string[] = [];
  private readonly tracker: ProcessTracker;
  private readonly execChildren = new Set<ChildProcess>();
  private readonly nft: NftImpairments;
  private emulator: EmulatorClient | null = null;
  private impairments: Impairments | null = null;
  private destroying: Promise<void> | null = null;
  // Set once teardown has removed everything; until then the exit hook still runs (the process may exit
  // in the middle of an async destroy()).
  private tornDown = false;
  private readonly unregisterExit: () => void;

  private constructor(
    readonly runId: string,
    readonly latency: boolean,
    readonly ipv6: boolean,
    private readonly keepLogs: boolean,
    siteNames: string[],
    private readonly pairCounters: boolean,
  ) {
    this.wanNs = wanNs(runId);
    this.runDir = runDirOf(runId);
    siteNames.forEach((n, i) => this.siteMap.set(n, planSite(runId, n, i + 1, ipv6)));
    this.tracker = new ProcessTracker(join(this.runDir, 'logs'), join(this.runDir, 'pids'));
    this.nft = new NftImpairments(this.wanNs);
    this.unregisterExit = registerExitCleanup(() => this.destroySync());
  }

  /** Builds the namespaces, the wan and (with latency) the delay emulator. Cleans up after itself on failure. */
  static async create(opts: LabOptions): Promise<Lab> {
    if (process.getuid?.() !== 0) throw new Error('Lab.create needs root (network namespaces)');
    checkSiteNames(opts.sites);
    if (opts.sweep !== false) await sweepStaleLabs();
    const runId = claimRunId(await listNamespaces());
    const keep = opts.keepLogs ?? process.env['OVERLAYD_LAB_KEEP'] === '1';
    const lab = new Lab(
      runId,
      opts.latency ?? false,
      opts.ipv6 ?? true,
      keep,
      [...opts.sites],
      opts.pairCounters ?? true,
    );
    try {
      await lab.build();
    } catch (err) {
      await lab.destroy({ keepLogs: true }).catch(() => {});
      throw err;
    }
    return lab;
  }

  private async build(): Promise<void> {
    await buildTopology(this.wanNs, this.sites(), (ns) => this.createdNs.push(ns));
    await this.nft.init(this.sites(), this.pairCounters);
    let latency: ConstructorParameters<typeof Impairments>[3] = null;
    if (this.latency) {
      this.emulator = await EmulatorClient.start((argv, o) => this.spawnWan(argv, o), EMULATOR_TUN);
      const routes = new LatencyRoutes(this.wanNs, this.ipv6);
      await routes.init();
      latency = { routes, emulator: this.emulator };
    }
    this.impairments = new Impairments(this.wanNs, () => this.sites(), this.nft, latency);
  }

  // ------------------------------------------------------------ sites

  site(name: string): LabSite {
    const s = this.siteMap.get(name);
    if (!s)
      throw new Error(
        `no site ${JSON.stringify(name)} in lab ${this.runId} (sites: ${this.siteNames.join(', ')})`,
      );
    return s;
  }

  get siteNames(): string[] {
    return [...this.siteMap.keys()];
  }

  sites(): LabSite[] {
    return [...this.siteMap.values()];
  }

  /** Every namespace of this lab (wan first). */
  get namespaces(): string[] {
    return [this.wanNs, ...this.sites().map((s) => s.ns)];
  }

  /** A path inside the run directory (for configs, keys, sockets a test writes). */
  path(...parts: string[]): string {
    return join(this.runDir, ...parts);
  }

  // ------------------------------------------------------------ commands and processes

  /** Runs a command inside a site's namespace to completion (default timeout 30 s). */
  exec(site: string, argv: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
    return this.execIn(this.site(site).ns, argv, opts);
  }

  execWan(argv: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
    return this.execIn(this.wanNs, argv, opts);
  }

  /** Like exec, but returns stdout and throws (with the command's stderr) unless it exits 0. */
  async execOk(site: string, argv: readonly string[], opts?: ExecOptions): Promise<string> {
    const r = await this.exec(site, argv, opts);
    if (r.code !== 0) throw new Error(`in ${site}: ${describeFailure(argv, r)}`);
    return r.stdout;
  }

  /** Waits until something in the site listens on `port` (default TCP), e.g. a daemon that just started. */
  async waitForListen(
    site: string,
    port: number,
    proto: 'tcp' | 'udp' = 'tcp',
    timeoutMs = 10_000,
  ): Promise<void> {
    const flag = proto === 'tcp' ? '-Hltn' : '-Hlun';
    await this.waitFor(
      async () => (await this.execOk(site, ['ss', flag, `sport = :${port}`])).trim() !== '',
      {
        timeoutMs,
        intervalMs: 50,
        what: `${proto}/${port} listening in site ${site}`,
      },
    );
  }

  /** Starts a long-lived process in a site; logged under runDir/logs, stopped by destroy(). */
  spawn(site: string, argv: readonly string[], opts?: LabSpawnOptions): LabProcess {
    return this.spawnIn(this.site(site).ns, argv, opts);
  }

  spawnWan(argv: readonly string[], opts?: LabSpawnOptions): LabProcess {
    return this.spawnIn(this.wanNs, argv, opts);
  }

  /** Processes started with spawn()/spawnWan() that are still running. */
  processes(): LabProcess[] {
    return this.tracker.list();
  }

  /** True if the PID exists and is not a zombie (from /proc). */
  isAlive(pid: number): boolean {
    return processAlive(pid);
  }

  /** Polls `fn` until it returns something truthy (a throw counts as "not yet"). */
  waitFor<T>(fn: () => T | Promise<T>, timeoutOrOpts?: number | WaitForOptions): Promise<NonNullable<T>> {
    return waitFor(fn, timeoutOrOpts);
  }

  /** Pings from a site to another site's underlay address (or to any address). Never throws for loss. */
  async ping(from: string, to: string, opts: PingOptions & { family?: 4 | 6 } = {}): Promise<PingResult> {
    const dst = this.siteMap.has(to) ? this.addressOf(to, opts.family ?? 4) : to;
    const { argv, timeoutMs } = pingCommand(dst, opts);
    const r = await this.exec(from, argv, { timeoutMs });
    return parsePing(r.stdout + r.stderr);
  }

  addressOf(site: string, family: 4 | 6 = 4): string {
    const s = this.site(site);
    if (family === 4) return s.underlay4;
    if (!s.underlay6) throw new Error(`lab ${this.runId} has no IPv6 (created with ipv6: false)`);
    return s.underlay6;
  }

  /** The last `lines` lines of every process log, for printing when a test fails. */
  logTails(lines = 40): string {
    return this.tracker.logTails(lines);
  }

  // ------------------------------------------------------------ impairments (all in the wan namespace)

  /** Silently drops all underlay traffic between a and b (v4 and v6, both ways); routes stay. */
  cut(a: string, b: string): Promise<void> {
    return this.imp().cut(this.site(a), this.site(b));
  }

  restore(a: string, b: string): Promise<void> {
    return this.imp().restore(this.site(a), this.site(b));
  }

  isCut(a: string, b: string): boolean {
    return this.imp().isCut(this.site(a), this.site(b));
  }

  /** Drops percent % each way at random; a ping round trip is then lost with 1-(1-p)². 0 removes it. */
  setLoss(a: string, b: string, percent: number): Promise<void> {
    return this.imp().setLoss(this.site(a), this.site(b), percent);
  }

  /** Adds oneWayMs (± jitterMs) each way between a and b: ping RTT grows by 2·oneWayMs. */
  setLatency(a: string, b: string, oneWayMs: number, opts?: LatencyOptions): Promise<void> {
    return this.imp().setLatency(this.site(a), this.site(b), oneWayMs, opts);
  }

  clearLatency(a: string, b: string): Promise<void> {
    return this.imp().clearLatency(this.site(a), this.site(b));
  }

  /** Cuts every pair of sites in different groups; sites in no group are unaffected. */
  partition(groups: string[][]): Promise<void> {
    return this.imp().partition(groups.map((g) => g.map((n) => this.site(n))));
  }

  /** Undoes exactly the cuts of the last partition(). */
  heal(): Promise<void> {
    return this.imp().heal();
  }

  isolate(site: string): Promise<void> {
    return this.imp().isolate(this.site(site));
  }

  unisolate(site: string): Promise<void> {
    return this.imp().unisolate(this.site(site));
  }

  /** Takes the site's uplink (eth0) down: unlike cut(), sends fail at once (no route). */
  linkDown(site: string): Promise<void> {
    return setUplink(this.site(site), false);
  }

  linkUp(site: string): Promise<void> {
    return setUplink(this.site(site), true);
  }

  /** Limits a site's uplink to mbit Mbit/s each way (tc tbf). */
  setRate(site: string, mbit: number): Promise<void> {
    return this.imp().setRate(this.site(site), mbit);
  }

  clearRate(site: string): Promise<void> {
    return this.imp().clearRate(this.site(site));
  }

  /** The wan's nft table with counters, for debugging. */
  nftRules(): Promise<string> {
    return this.nft.list();
  }

  /**
   * Packets and bytes each ordered pair of sites has sent each other through the wan (v4 + v6, counted
   * before cuts and loss). Shows which underlay paths an overlay used, e.g. that a relayed flow a→c
   * crossed a→b and b→c but not a→c. Diff two snapshots to measure an interval.
   */
  pairTraffic(): Promise<PairTraffic[]> {
    if (!this.pairCounters) throw new Error(`lab ${this.runId} was created with pairCounters: false`);
    return this.nft.pairCounters();
  }

  /** Counters and queue state of the delay emulator. */
  emulatorStats(): Promise<EmulatorStats> {
    if (!this.emulator) throw new Error('latency emulation is off: create the lab with latency: true');
    return this.emulator.stats();
  }

  // ------------------------------------------------------------ teardown

  /**
   * Stops every process (SIGTERM, SIGKILL after graceMs), deletes the namespaces (and with them veths, nft
   * tables, rules) and the run directory unless logs are kept. Idempotent; concurrent calls share one run.
   */
  destroy(opts: { keepLogs?: boolean; graceMs?: number } = {}): Promise<void> {
    this.destroying ??= this.teardown(opts.keepLogs ?? this.keepLogs, opts.graceMs ?? 3000);
    return this.destroying;
  }

  private async teardown(keepLogs: boolean, graceMs: number): Promise<void> {
    if (this.emulator) await this.emulator.stop().catch(() => {});
    await this.tracker.stopAll(graceMs);
    for (const c of this.execChildren) if (c.pid !== undefined) signalQuietly(c.pid, 'SIGKILL');
    await deleteNamespaces(this.createdNs);
    const left = (await listNamespaces()).filter((ns) => this.createdNs.includes(ns));
    this.tornDown = true;
    this.unregisterExit();
    if (left.length > 0)
      throw new Error(`lab ${this.runId}: namespaces left after destroy: ${left.join(', ')}`);
    if (!keepLogs) rmSync(this.runDir, { recursive: true, force: true });
  }

  /** The exit-hook path: same steps, synchronously; the run directory (logs) is kept for the post-mortem. */
  private destroySync(): void {
    if (this.tornDown) return;
    this.tornDown = true;
    this.destroying ??= Promise.resolve();
    this.tracker.stopAllSync();
    for (const c of this.execChildren) if (c.pid !== undefined) signalQuietly(c.pid, 'SIGKILL');
    deleteNamespacesSync(this.createdNs);
    process.stderr.write(`lab ${this.runId}: torn down at process exit; logs kept in ${this.runDir}\n`);
  }

  // ------------------------------------------------------------ internals

  private execIn(ns: string, argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    this.assertUsable();
    return run(inNs(ns, argv), {
      ...opts,
      onSpawn: (child) => {
        this.execChildren.add(child);
        child.once('close', () => this.execChildren.delete(child));
        opts.onSpawn?.(child);
      },
    });
  }

  private spawnIn(ns: string, argv: readonly string[], opts?: LabSpawnOptions): LabProcess {
    this.assertUsable();
    return this.tracker.spawn(ns, argv, opts);
  }

  private imp(): Impairments {
    this.assertUsable();
    if (!this.impairments) throw new Error(`lab ${this.runId} is not built yet`);
    return this.impairments;
  }

  private assertUsable(): void {
    if (this.destroying) throw new Error(`lab ${this.runId} has been destroyed`);
  }
}
