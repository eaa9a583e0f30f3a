// wireguard-go (userspace WireGuard, the anchor) between two lab sites: one tunnel, one wireguard-go per
// site, keys from `wg genkey`, configured with `wg set` over its UAPI socket.
//
// The UAPI sockets live in /var/run/wireguard/<ifname>.sock, a directory every namespace shares (anchors
// README, pitfall 6): interface names carry the lab's run id so no two namespaces, and no two labs, clash.
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import type { Lab, LabProcess } from '../../test/lab/lab.js';
import { orStop } from './or-stop.js';

const UAPI_DIR = '/var/run/wireguard';
const WG_PORT = 51820;

export interface WireguardOptions {
  /** First three octets of the tunnel /24; site i of the pair gets .1 and .2 in the given order. */
  net?: string;
  port?: number;
  /** Tells two pairs in one site apart in interface names (a relay site has one tunnel per side). */
  tag?: string;
  /** More destinations a site reaches through this tunnel (its peer's allowed-ips and a route): site → CIDR. */
  beyond?: Record<string, string>;
}

export class WireguardPair {
  private readonly procs = new Map<string, LabProcess>();
  private readonly ifnames = new Map<string, string>();
  private readonly addrs = new Map<string, string>();

  private constructor(
    private readonly lab: Lab,
    private readonly sites: readonly [string, string],
    private readonly tag: string,
  ) {}

  /** Starts both ends and checks that a ping crosses the tunnel. */
  static async start(lab: Lab, a: string, b: string, opts: WireguardOptions = {}): Promise<WireguardPair> {
    const pair = new WireguardPair(lab, [a, b], opts.tag ?? '');
    await orStop(pair, () =>
      pair.up(opts.net ?? '198.19.20', opts.port ?? WG_PORT, opts.tag ?? '', opts.beyond ?? {}),
    );
    return pair;
  }

  addressOf(site: string): string {
    const a = this.addrs.get(site);
    if (!a) throw new Error(`wireguard-go is not set up in site ${site}`);
    return a;
  }

  /** PIDs by name (wireguard-go-<tag><site>), for CPU sampling. */
  pids(): Record<string, number | undefined> {
    return Object.fromEntries([...this.procs].map(([site, p]) => [`wireguard-go-${this.tag}${site}`, p.pid]));
  }

  interfaceOf(site: string): string | undefined {
    return this.ifnames.get(site);
  }

  async stop(): Promise<void> {
    await Promise.all([...this.procs.values()].map((p) => p.stop(2000)));
    this.procs.clear();
    // A killed wireguard-go leaves its socket behind; it is ours (the name carries our run id).
    for (const ifname of this.ifnames.values()) rmSync(`${UAPI_DIR}/${ifname}.sock`, { force: true });
  }

  private async up(net: string, port: number, tag: string, beyond: Record<string, string>): Promise<void> {
    const keys = new Map<string, { file: string; pub: string }>();
    for (const [i, site] of this.sites.entries()) {
      const ifname = `wg${this.lab.runId.slice(2)}${tag}${site}`.slice(0, 15);
      if (existsSync(`${UAPI_DIR}/${ifname}.sock`))
        throw new Error(`${UAPI_DIR}/${ifname}.sock exists already`);
      this.ifnames.set(site, ifname);
      this.addrs.set(site, `${net}.${i + 1}`);
      const priv = (await this.lab.execOk(site, ['wg', 'genkey'])).trim();
      const file = this.lab.path(`wg-${tag}${site}.key`);
      writeFileSync(file, priv + '\n', { mode: 0o600 });
      const pub = (await this.lab.execOk(site, ['wg', 'pubkey'], { input: priv + '\n' })).trim();
      keys.set(site, { file, pub });
    }
    for (const site of this.sites) {
      const ifname = this.ifnames.get(site)!;
      // Foreground (-f) keeps the PID trackable; the env asks it not to daemonize and to stay quiet.
      const proc = this.lab.spawn(site, ['wireguard-go', '-f', ifname], {
        name: `wireguard-go-${tag}${site}`,
        env: { ...process.env, WG_PROCESS_FOREGROUND: '1', LOG_LEVEL: 'error' },
      });
      this.procs.set(site, proc);
      await this.lab.waitFor(() => existsSync(`${UAPI_DIR}/${ifname}.sock`) || !proc.isAlive(), {
        timeoutMs: 10_000,
        what: `wireguard-go ${ifname} UAPI socket`,
      });
      if (!proc.isAlive()) throw new Error(`wireguard-go ${ifname} exited: ${proc.readLogs().slice(-500)}`);
    }
    const [a, b] = this.sites;
    for (const [me, peer] of [
      [a, b],
      [b, a],
    ] as const) {
      const ifname = this.ifnames.get(me)!;
      await this.lab.execOk(me, [
        'wg',
        'set',
        ifname,
        'private-key',
        keys.get(me)!.file,
        'listen-port',
        String(port),
        'peer',
        keys.get(peer)!.pub,
        'endpoint',
        `${this.lab.addressOf(peer)}:${port}`,
        'allowed-ips',
        [`${this.addressOf(peer)}/32`, ...(beyond[me] ? [beyond[me]] : [])].join(','),
      ]);
      await this.lab.execOk(me, ['ip', 'addr', 'add', `${this.addressOf(me)}/24`, 'dev', ifname]);
      await this.lab.execOk(me, ['ip', 'link', 'set', ifname, 'up']);
      if (beyond[me]) await this.lab.execOk(me, ['ip', 'route', 'add', beyond[me], 'dev', ifname]);
    }
    const r = await this.lab.ping(a, this.addressOf(b), { count: 3, intervalS: 0.2, waitS: 2 });
    if (r.received === 0) throw new Error('wireguard-go: no ping crosses the tunnel');
  }
}

/**
 * wireguard-go relayed A→B→C as the anchors run it (bench-wireguard-go.sh relay): two tunnels, A↔B and
 * B↔C, IP forwarding in B, and each end routing the far tunnel's /24 into its own. B decrypts and
 * encrypts again: WireGuard has no relaying of its own.
 */
export class WireguardRelay {
  private constructor(
    private readonly ab: WireguardPair,
    private readonly bc: WireguardPair,
  ) {}

  static async start(lab: Lab, a: string, b: string, c: string): Promise<WireguardRelay> {
    const ab = await WireguardPair.start(lab, a, b, {
      net: '198.19.31',
      port: 51830,
      tag: 'r',
      beyond: { [a]: '198.19.32.0/24' },
    });
    const bc = await orStop(ab, () =>
      WireguardPair.start(lab, b, c, {
        net: '198.19.32',
        port: 51831,
        tag: 's',
        beyond: { [c]: '198.19.31.0/24' },
      }),
    );
    const relay = new WireguardRelay(ab, bc);
    await lab.execOk(b, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    const r = await lab.ping(a, relay.addressOf(c), { count: 3, intervalS: 0.2, waitS: 2 });
    if (r.received === 0) {
      await relay.stop();
      throw new Error('wireguard-go relay: no ping crosses A→B→C');
    }
    return relay;
  }

  /** The address to reach `site` at from the other end: C's on the B↔C tunnel, A's on A↔B. */
  addressOf(site: string): string {
    try {
      return this.bc.addressOf(site);
    } catch {
      return this.ab.addressOf(site);
    }
  }

  pids(): Record<string, number | undefined> {
    return { ...this.ab.pids(), ...this.bc.pids() };
  }

  async stop(): Promise<void> {
    await Promise.all([this.ab.stop(), this.bc.stop()]);
  }
}
