// The floor anchor of benchmarks/idle-rtt.ts: tun-udp-floor.c (a TUN <-> UDP forwarder with no crypto,
// no header and no runtime) between two lab sites, compiled at run time with the C compiler that
// install-deps.sh installs. What a ping over it adds to the raw path is what the two extra kernel
// traversals per side and the forwarders' wake-ups cost on this machine, before any VPN's own work.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Lab, LabProcess } from '../../test/lab/lab.js';
import { orStop } from './or-stop.js';

const SOURCE = fileURLToPath(new URL('../../../benchmarks/lib/tun-udp-floor.c', import.meta.url));
const NET = '198.19.40';
const PORT = 51900;
/** The forwarders exit by themselves after this long, should the benchmark be lost. */
const MAX_SECONDS = 3600;

export class FloorPair {
  private readonly procs: LabProcess[] = [];
  private readonly addrs = new Map<string, string>();

  private constructor(private readonly lab: Lab) {}

  /** Compiles the forwarder (once per lab), starts one per site and checks that a ping crosses. */
  static async start(lab: Lab, a: string, b: string): Promise<FloorPair> {
    const pair = new FloorPair(lab);
    await orStop(pair, () => pair.up(a, b));
    return pair;
  }

  addressOf(site: string): string {
    const a = this.addrs.get(site);
    if (!a) throw new Error(`the floor forwarder is not set up in site ${site}`);
    return a;
  }

  async stop(): Promise<void> {
    await Promise.all(this.procs.map((p) => p.stop(1000)));
    this.procs.length = 0;
  }

  private async up(a: string, b: string): Promise<void> {
    // Once per lab: --rounds starts the pair again each round.
    const binary = this.lab.path('tun-udp-floor');
    if (!existsSync(binary)) execFileSync('cc', ['-O2', '-Wall', '-o', binary, SOURCE], { stdio: 'pipe' });
    const sites = [a, b] as const;
    for (const [i, site] of sites.entries()) {
      const peer = sites[1 - i]!;
      const ifname = `fl${this.lab.runId.slice(2)}${site}`.slice(0, 15);
      this.addrs.set(site, `${NET}.${i + 1}`);
      const argv = [
        binary,
        ifname,
        this.lab.addressOf(site),
        String(PORT),
        this.lab.addressOf(peer),
        String(MAX_SECONDS),
      ];
      const proc = this.lab.spawn(site, argv, { name: `tun-udp-floor-${site}` });
      this.procs.push(proc);
      await this.lab.waitFor(() => proc.readLogs().includes('ready') || !proc.isAlive(), {
        timeoutMs: 10_000,
        what: `tun-udp-floor in ${site}`,
      });
      if (!proc.isAlive()) throw new Error(`tun-udp-floor in ${site} exited: ${proc.readLogs().slice(-500)}`);
      await this.lab.execOk(site, ['ip', 'addr', 'add', `${this.addressOf(site)}/24`, 'dev', ifname]);
      await this.lab.execOk(site, ['ip', 'link', 'set', ifname, 'up']);
    }
    const r = await this.lab.ping(a, this.addressOf(b), { count: 3, intervalS: 0.2, waitS: 2 });
    if (r.received === 0) throw new Error('tun-udp-floor: no ping crosses the pair');
  }
}
