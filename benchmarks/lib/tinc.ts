// tinc 1.0 (the other anchor) on three lab sites, configured as the anchors' tinc-common.sh does it:
// Mode = router, meta connections a→b, a→c, c→b (the full triangle), RSA keys, default cipher and
// digest, the tun left at 1500 (tinc relies on its own PMTU discovery). Each site has one underlay
// address reachable from every other through the wan, so the anchors' pitfall 1 (a peer's address learned
// from a third node's edge) cannot arise here.
//
// State comes from tinc's SIGUSR2 dump in its log: "c at … nexthop b via c pmtu 1451 (min 0 max 1451)".
// Until PMTU discovery has settled (min == max > 0), tinc sends large packets over the TCP meta
// connection (anchors README, pitfall 3), so the benchmarks wait for it on every hop they use.
import { chmodSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Lab, LabProcess } from '../../test/lab/lab.js';

export interface TincOptions {
  /** First three octets of the overlay /24; the i-th site gets .i (1-based). */
  net?: string;
  /** Unset: tinc's defaults (60 s / 5 s). */
  pingInterval?: number;
  pingTimeout?: number;
  debug?: number;
}

export interface TincNodeState {
  nexthop: string;
  via: string;
  pmtu: number;
  min: number;
  max: number;
}

const STATE_RE = /nexthop (\S+) via (\S+) .*?pmtu (\d+) \(min (\d+) max (\d+)\)/;

export class TincMesh {
  private readonly procs = new Map<string, LabProcess>();
  private readonly root: string;
  private readonly net: string;

  /** `sites` is [A, B, C]: A connects to B and C, C to B. */
  constructor(
    private readonly lab: Lab,
    readonly sites: readonly [string, string, string],
    private readonly opts: TincOptions = {},
  ) {
    this.root = lab.path('tinc');
    this.net = opts.net ?? '198.19.10';
  }

  addressOf(site: string): string {
    return `${this.net}.${this.sites.indexOf(site) + 1}`;
  }

  pids(): Record<string, number | undefined> {
    return Object.fromEntries(this.sites.map((s) => [`tincd-${s}`, this.procs.get(s)?.pid]));
  }

  /** Writes configs (keys are made once per lab and reused) and starts B, C, then A, like the anchors. */
  async start(): Promise<void> {
    await this.makeKeys();
    this.writeConfigs();
    for (const site of [this.sites[1], this.sites[2], this.sites[0]]) {
      const dir = join(this.root, site);
      const proc = this.lab.spawn(
        site,
        [
          'tincd',
          '-c',
          dir,
          '-D',
          `-d${this.opts.debug ?? 1}`,
          `--logfile=${join(dir, 'tinc.log')}`,
          `--pidfile=${join(dir, 'tinc.pid')}`,
        ],
        { name: `tincd-${site}` },
      );
      this.procs.set(site, proc);
      await sleep(300);
      if (!proc.isAlive()) throw new Error(`tincd in ${site} exited: ${proc.readLogs().slice(-800)}`);
    }
  }

  async stop(): Promise<void> {
    await Promise.all([...this.procs.values()].map((p) => p.stop(3000)));
    this.procs.clear();
  }

  /** How `me` reaches `peer`, from a fresh SIGUSR2 dump; null if the dump does not list it. */
  async nodeState(me: string, peer: string): Promise<TincNodeState | null> {
    const proc = this.procs.get(me);
    if (!proc?.pid) return null;
    const log = join(this.root, me, 'tinc.log');
    const before = sizeOf(log);
    proc.kill('SIGUSR2');
    await sleep(300);
    const fresh = readFileSync(log).subarray(before).toString('utf8');
    const line = fresh
      .split('\n')
      .filter((l) => l.includes(` ${peer} at `) && l.includes('nexthop'))
      .pop();
    const m = line ? STATE_RE.exec(line) : null;
    return m
      ? { nexthop: m[1]!, via: m[2]!, pmtu: Number(m[3]), min: Number(m[4]), max: Number(m[5]) }
      : null;
  }

  /** `me` has working UDP to `peer` with a fixed PMTU. */
  async settled(me: string, peer: string): Promise<boolean> {
    const s = await this.nodeState(me, peer);
    return s !== null && s.min > 0 && s.min === s.max;
  }

  /** Waits until A reaches C directly over UDP with settled PMTUs both ways. Returns A's view of C. */
  async waitDirect(timeoutS = 60): Promise<TincNodeState> {
    const [a, , c] = this.sites;
    return this.waitUntil(
      timeoutS,
      'direct a→c with settled PMTU',
      async (st) =>
        st.nexthop === c && st.via === c && st.min > 0 && st.min === st.max && (await this.settled(c, a)),
    );
  }

  /** Waits until A reaches C through B, with settled PMTUs on a↔b and b↔c (UDP end to end). */
  async waitRelay(timeoutS = 60): Promise<TincNodeState> {
    const [a, b, c] = this.sites;
    return this.waitUntil(timeoutS, 'a→c relayed by b with settled PMTUs', async (st) => {
      if (st.nexthop !== b) return false;
      for (const [x, y] of [
        [a, b],
        [b, a],
        [b, c],
        [c, b],
      ] as const)
        if (!(await this.settled(x, y))) return false;
      return true;
    });
  }

  /**
   * start() then waitDirect()/waitRelay(), restarting the whole mesh when it never settles: about one
   * start in ten keeps a hop at "min 0" for good (anchors README, pitfall 4; seen here too). Returns the
   * settled state and how many fresh starts were needed; `onRetry` hears why a start was abandoned.
   */
  async startSettled(
    mode: 'direct' | 'relay',
    opts: { attempts?: number; timeoutS?: number; onRetry?: (why: string) => void } = {},
  ): Promise<{ state: TincNodeState; starts: number }> {
    const attempts = opts.attempts ?? 3;
    for (let i = 1; ; i++) {
      await this.start();
      try {
        const state =
          mode === 'direct' ? await this.waitDirect(opts.timeoutS) : await this.waitRelay(opts.timeoutS);
        return { state, starts: i };
      } catch (err) {
        await this.stop();
        if (i >= attempts) throw err;
        opts.onRetry?.(err instanceof Error ? err.message : String(err));
      }
    }
  }

  /** The last lines of a node's log (for failure reports). */
  logTail(site: string, lines = 20): string {
    try {
      return readFileSync(join(this.root, site, 'tinc.log'), 'utf8')
        .trimEnd()
        .split('\n')
        .slice(-lines)
        .join('\n');
    } catch {
      return '';
    }
  }

  /** Bytes of the node's log so far: mark a point to read what was logged after it. */
  logSize(site: string): number {
    return sizeOf(join(this.root, site, 'tinc.log'));
  }

  logSince(site: string, offset: number): string {
    try {
      return readFileSync(join(this.root, site, 'tinc.log'))
        .subarray(offset)
        .toString('utf8');
    } catch {
      return '';
    }
  }

  private async waitUntil(
    timeoutS: number,
    what: string,
    ok: (st: TincNodeState) => Promise<boolean>,
  ): Promise<TincNodeState> {
    const [a, , c] = this.sites;
    const deadline = Date.now() + timeoutS * 1000;
    let last: TincNodeState | null = null;
    while (Date.now() < deadline) {
      // Traffic makes tinc try UDP and run PMTU discovery towards C.
      await this.lab.exec(a, ['ping', '-c', '1', '-W', '1', '-q', this.addressOf(c)], { timeoutMs: 5000 });
      last = await this.nodeState(a, c);
      if (last && (await ok(last))) return last;
      await sleep(700);
    }
    throw new Error(
      `tinc: no ${what} after ${timeoutS} s; a's view of c: ${JSON.stringify(last)}\n${this.logTail(a)}`,
    );
  }

  private async makeKeys(): Promise<void> {
    for (const site of this.sites) {
      const keyDir = join(this.root, 'keys');
      if (exists(join(keyDir, `${site}.pub`))) continue;
      const gen = join(keyDir, `gen-${site}`);
      rmSync(gen, { recursive: true, force: true });
      mkdirSync(join(gen, 'hosts'), { recursive: true });
      writeFileSync(join(gen, 'tinc.conf'), `Name = ${site}\n`);
      await this.lab.execOk(site, ['tincd', '-c', gen, '-K2048'], { timeoutMs: 60_000, input: '' });
      writeFileSync(join(keyDir, `${site}.priv`), readFileSync(join(gen, 'rsa_key.priv')), { mode: 0o600 });
      const host = readFileSync(join(gen, 'hosts', site), 'utf8');
      const pub = /-----BEGIN RSA PUBLIC KEY-----[\s\S]*?-----END RSA PUBLIC KEY-----\n?/.exec(host)?.[0];
      if (!pub) throw new Error(`tincd -K wrote no public key for ${site}`);
      writeFileSync(join(keyDir, `${site}.pub`), pub);
      rmSync(gen, { recursive: true, force: true });
    }
  }

  private writeConfigs(): void {
    const [a, b, c] = this.sites;
    const connectTo: Record<string, string[]> = { [a]: [b, c], [b]: [], [c]: [b] };
    for (const me of this.sites) {
      const dir = join(this.root, me);
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(join(dir, 'hosts'), { recursive: true });
      const conf = [
        `Name = ${me}`,
        'Mode = router',
        `Interface = ${`tc${this.lab.runId.slice(2)}${me}`.slice(0, 15)}`,
        'AddressFamily = ipv4',
        'Port = 655',
      ];
      if (this.opts.pingInterval !== undefined) conf.push(`PingInterval = ${this.opts.pingInterval}`);
      if (this.opts.pingTimeout !== undefined) conf.push(`PingTimeout = ${this.opts.pingTimeout}`);
      for (const peer of connectTo[me]!) conf.push(`ConnectTo = ${peer}`);
      writeFileSync(join(dir, 'tinc.conf'), conf.join('\n') + '\n');
      writeFileSync(join(dir, 'rsa_key.priv'), readFileSync(join(this.root, 'keys', `${me}.priv`)), {
        mode: 0o600,
      });
      for (const peer of this.sites) {
        const host = ['Port = 655', `Subnet = ${this.addressOf(peer)}/32`];
        if (peer !== me) host.unshift(`Address = ${this.lab.addressOf(peer)}`);
        writeFileSync(
          join(dir, 'hosts', peer),
          host.join('\n') + '\n' + readFileSync(join(this.root, 'keys', `${peer}.pub`), 'utf8'),
        );
      }
      const up = [
        '#!/bin/sh',
        'ip link set "$INTERFACE" up',
        `ip addr add ${this.addressOf(me)}/24 dev "$INTERFACE"`,
      ];
      writeFileSync(join(dir, 'tinc-up'), up.join('\n') + '\n');
      chmodSync(join(dir, 'tinc-up'), 0o755);
    }
  }
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function exists(path: string): boolean {
  return sizeOf(path) > 0;
}
