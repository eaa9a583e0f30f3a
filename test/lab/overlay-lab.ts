// overlayd on the lab: one real daemon per site (its own namespace, TUN and UDP socket), a shared
// peers.yaml listing every site's underlay addresses as endpoints, keys made with `overlayd keygen`,
// and the control socket to ask each daemon what it sees. Used by the netns tests, the demo and the
// benchmarks.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ControlClient } from '../../src/control/client.js';
import type { NodeStatus, PathsReport } from '../../src/control/status.js';
import { Lab, type LabOptions, type LabProcess } from './lab.js';

export const OVERLAYD_BIN = fileURLToPath(new URL('../../../bin/overlayd.js', import.meta.url));

/**
 * The node flags of bin/overlayd.js's `#!/usr/bin/env -S node …` line (V8 heap bounds): the lab starts
 * `node FLAGS bin/overlayd.js`, so its daemons run as installed ones do.
 */
export function launcherNodeArgs(bin = OVERLAYD_BIN): string[] {
  const first = readFileSync(bin, 'utf8').split('\n', 1)[0] ?? '';
  const m = /^#!\S*env -S node(?:\s+(.*))?$/.exec(first.trim());
  return m?.[1]?.split(/\s+/).filter(Boolean) ?? [];
}
export const OVERLAY_PORT = 7946;
const KEYGEN_CONCURRENCY = 4;

export interface OverlaySite {
  name: string;
  index: number;
  address: string;
  address6: string;
  keyFile: string;
  publicKey: string;
  socket: string;
  process?: LabProcess;
}

export interface OverlayLabOptions extends LabOptions {
  /** Sites that get keys and a peers.yaml entry but are not started (e.g. a member added by reload). */
  reserve?: string[];
  logLevel?: 'debug' | 'info';
  /** Extra arguments for every `overlayd up`. */
  upArgs?: string[];
}

export class OverlayLab {
  readonly sites = new Map<string, OverlaySite>();
  readonly peersFile: string;

  private constructor(
    readonly lab: Lab,
    private readonly opts: OverlayLabOptions,
  ) {
    this.peersFile = lab.path('peers.yaml');
  }

  static async create(opts: OverlayLabOptions): Promise<OverlayLab> {
    const lab = await Lab.create(opts);
    try {
      const ol = new OverlayLab(lab, opts);
      await ol.makeKeys([...opts.sites, ...(opts.reserve ?? [])]);
      ol.writePeers(opts.sites);
      return ol;
    } catch (err) {
      await lab.destroy();
      throw err;
    }
  }

  private async makeKeys(names: string[]): Promise<void> {
    // A few at a time: each is a Node process start (a quarter second of CPU), 100 sites take a while.
    const publicKeys: string[] = [];
    for (let at = 0; at < names.length; at += KEYGEN_CONCURRENCY) {
      const batch = names.slice(at, at + KEYGEN_CONCURRENCY).map(async (name) => {
        // Keys come from the real CLI, run in the site's namespace like an operator would.
        const site = this.opts.sites.includes(name) ? name : this.opts.sites[0];
        const argv = [process.execPath, OVERLAYD_BIN, 'keygen', '--out', this.lab.path(`${name}.key`)];
        return (await this.lab.execOk(site, argv)).trim();
      });
      publicKeys.push(...(await Promise.all(batch)));
    }
    for (const [i, name] of names.entries()) {
      const keyFile = this.lab.path(`${name}.key`);
      const publicKey = publicKeys[i]!;
      this.sites.set(name, {
        name,
        index: i + 1,
        address: `10.77.0.${i + 1}`,
        address6: `fd77::${i + 1}`,
        keyFile,
        publicKey,
        socket: this.lab.path(`${name}.sock`),
      });
    }
  }

  /** Writes peers.yaml listing `members` (all sites by default), each with its underlay endpoints. */
  writePeers(members: string[] = [...this.sites.keys()], mutate?: (yaml: string) => string): void {
    const lines = [
      'network:',
      '  prefix: 10.77.0.0/24',
      '  prefix6: fd77::/64',
      `  port: ${OVERLAY_PORT}`,
      'peers:',
    ];
    for (const name of members) {
      const s = this.site(name);
      const endpoints = [`${this.underlay(name, 4)}:${OVERLAY_PORT}`];
      if (this.opts.ipv6 !== false) endpoints.push(`"[${this.underlay(name, 6)}]:${OVERLAY_PORT}"`);
      lines.push(
        `  - name: ${name}`,
        `    publicKey: ${s.publicKey}`,
        `    address: ${s.address}`,
        `    address6: ${s.address6}`,
        `    endpoints: [${endpoints.join(', ')}]`,
      );
    }
    const yaml = lines.join('\n') + '\n';
    writeFileSync(this.peersFile, mutate ? mutate(yaml) : yaml);
  }

  /** Underlay address of a site, also for reserve sites (which have no namespace: index past the lab). */
  private underlay(name: string, family: 4 | 6): string {
    return this.lab.siteNames.includes(name)
      ? this.lab.addressOf(name, family)
      : family === 4
        ? `10.200.${this.site(name).index}.2`
        : `fd00:200:${this.site(name).index.toString(16)}::2`;
  }

  site(name: string): OverlaySite {
    const s = this.sites.get(name);
    if (!s) throw new Error(`no overlay site ${name}`);
    return s;
  }

  /**
   * Starts `overlayd up` in the site's namespace. `opts.nodeArgs` go to node before the CLI (e.g.
   * `--import` a fault injector); `opts.control` replaces the socket path as given to --control (with
   * `opts.cwd`, a relative path can name the same socket).
   */
  start(
    name: string,
    extraArgs: string[] = [],
    opts: { nodeArgs?: string[]; control?: string; cwd?: string } = {},
  ): LabProcess {
    const s = this.site(name);
    const argv = [
      process.execPath,
      ...launcherNodeArgs(),
      ...(opts.nodeArgs ?? []),
      OVERLAYD_BIN,
      'up',
      '--peers',
      this.peersFile,
      '--key',
      s.keyFile,
      '--interface',
      'ovl0',
      '--control',
      opts.control ?? s.socket,
      '--log-level',
      this.opts.logLevel ?? 'debug',
      // OVERLAYD_LAB_OFFLOADS=off runs every daemon with its offloads forced off (both ways in CI).
      ...(process.env.OVERLAYD_LAB_OFFLOADS === 'off' ? ['--no-offloads'] : []),
      // OVERLAYD_LAB_FAST_LANE=off: every packet through JavaScript (the TUN's fast lane off).
      ...(process.env.OVERLAYD_LAB_FAST_LANE === 'off' ? ['--no-fast-lane'] : []),
      ...(this.opts.upArgs ?? []),
      ...extraArgs,
    ];
    s.process = this.lab.spawn(name, argv, { name: `overlayd-${name}`, cwd: opts.cwd });
    return s.process;
  }

  startAll(): void {
    for (const name of this.opts.sites) this.start(name);
  }

  async status(name: string): Promise<NodeStatus> {
    return this.call<NodeStatus>(name, 'status');
  }

  async paths(name: string): Promise<PathsReport> {
    return this.call<PathsReport>(name, 'paths');
  }

  /** The path `from` uses to reach `to`, as site names, or null. */
  async pathOf(from: string, to: string): Promise<string[] | null> {
    const s = await this.status(from);
    return s.members.find((m) => m.name === to)?.path ?? null;
  }

  /** Waits until `from` routes to `to` along `path` (site names, `from` first). */
  async waitPath(from: string, to: string, path: string[], timeoutMs = 20_000): Promise<void> {
    const want = path.join('>');
    await this.lab.waitFor(async () => (await this.pathOf(from, to))?.join('>') === want, {
      timeoutMs,
      what: `${from} to route to ${to} via ${path.join('→')}`,
    });
  }

  async call<T>(
    name: string,
    method: string,
    params: Record<string, unknown> = {},
    timeoutMs = 10_000,
  ): Promise<T> {
    // A loaded machine (dozens of daemons on two cores) answers slowly: connect gets the same budget.
    const client = await ControlClient.connect(this.site(name).socket, timeoutMs);
    try {
      return await client.call<T>(method, params, timeoutMs);
    } finally {
      client.close();
    }
  }

  /** Waits until every running site has a path to every other running site. */
  async waitConverged(timeoutMs = 20_000, names = this.running()): Promise<void> {
    await this.lab.waitFor(
      async () => {
        for (const from of names) {
          const s = await this.status(from);
          for (const to of names) {
            if (to !== from && !s.members.find((m) => m.name === to)?.reachable) return false;
          }
        }
        return true;
      },
      { timeoutMs, intervalMs: 200, what: `every pair of ${names.join(',')} reachable` },
    );
  }

  /** Sites whose daemon is running. */
  running(): string[] {
    return [...this.sites.values()].filter((s) => s.process?.isAlive()).map((s) => s.name);
  }

  /** Overlay address of a site. */
  addressOf(name: string, family: 4 | 6 = 4): string {
    return family === 4 ? this.site(name).address : this.site(name).address6;
  }

  async destroy(): Promise<void> {
    await this.lab.destroy();
  }
}

/** For `after` hooks: the daemons' last log lines when a test failed, then every namespace removed. */
export async function closeLab(ol: OverlayLab | undefined, tailLines = 40): Promise<void> {
  if (process.exitCode) process.stderr.write(ol?.lab.logTails(tailLines) ?? '');
  await ol?.destroy();
}
