// The flooding stranger of benchmarks/handshake-flood.ts: spoof-flood.c, compiled at run time with the
// build tools install-deps.sh installs (cc, libsodium-dev), run inside a lab site whose only link is the
// lab's wan. It writes raw IPv4 + UDP with spoofed sources; the wan routes the spoofed range back to the
// same site, where the victim's replies die (that site does not forward), so nothing leaves the lab.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Lab, LabProcess } from '../../test/lab/lab.js';

const SOURCE = fileURLToPath(new URL('../../../benchmarks/lib/spoof-flood.c', import.meta.url));

/** Spoofed sources come from here: outside every lab site's subnet (10.200.<i>.0/24). */
export const SPOOF_NET = '10.201.0.0';
export const SPOOF_BITS = 16;

export interface FloodMix {
  replay: number;
  garbage: number;
  forged: number;
}

export interface FloodOptions {
  /** Victim underlay IPv4 and UDP port. */
  dst: string;
  port: number;
  /** Packets per second; 0 = as fast as the helper can send. */
  rate: number;
  /** Upper bound; the benchmark stops it earlier. */
  maxSeconds: number;
  /** A captured HandshakeInit datagram (routed header + body), replayed as is. */
  replayFile: string;
  /** The routed header junk initiations carry (claims a member as src, so it passes the member check). */
  header: Buffer;
  /** The victim's mac1 key, for forged initiations. */
  mac1Key: Buffer;
  mix: FloodMix;
}

export interface FloodResult {
  sent: number;
  replay: number;
  garbage: number;
  forged: number;
  /** UDP payload bytes sent. */
  bytes: number;
  seconds: number;
  sendErrors: number;
}

/** Compiles the helper into the lab's run directory; returns its path. */
export function compileSpoofFlood(lab: Lab): string {
  const out = lab.path('spoof-flood');
  execFileSync('cc', ['-O2', '-Wall', '-o', out, SOURCE, '-lsodium'], { stdio: 'pipe' });
  return out;
}

/** Routes the spoofed range, in the wan, to `site` (which drops what it gets: it does not forward). */
export async function routeSpoofedTo(lab: Lab, site: string): Promise<void> {
  const r = await lab.execWan([
    'ip',
    'route',
    'replace',
    `${SPOOF_NET}/${SPOOF_BITS}`,
    'via',
    lab.addressOf(site, 4),
  ]);
  if (r.code !== 0) throw new Error(`wan route for the spoofed range: ${r.stderr}`);
}

export function startFlood(lab: Lab, site: string, binary: string, o: FloodOptions): LabProcess {
  const argv = [
    binary,
    o.dst,
    String(o.port),
    SPOOF_NET,
    String(SPOOF_BITS),
    String(o.rate),
    String(o.maxSeconds),
    o.replayFile,
    o.header.toString('hex'),
    o.mac1Key.toString('hex'),
    String(o.mix.replay),
    String(o.mix.garbage),
    String(o.mix.forged),
  ];
  return lab.spawn(site, argv, { name: `spoof-flood-${o.rate}` });
}

/**
 * An nft counter, in the flooding site, of the IP packets it sends to `dst`: raw-socket datagrams pass
 * the output hook too, so this is the offered load over any window the benchmark chooses.
 */
export async function installFloodCounter(lab: Lab, site: string, dst: string): Promise<void> {
  const script = `table ip hsflood_out {\n  counter to_victim { }\n  chain out {\n    type filter hook output priority 0; policy accept;\n    ip daddr ${dst} counter name to_victim\n  }\n}\n`;
  const r = await lab.exec(site, ['nft', '-f', '-'], { input: script });
  if (r.code !== 0) throw new Error(`nft in ${site}: ${r.stderr}`);
}

/** Packets the flooding site has sent to the victim so far. */
export async function readFloodCounter(lab: Lab, site: string): Promise<number> {
  const out = await lab.execOk(site, ['nft', '-j', 'list', 'counter', 'ip', 'hsflood_out', 'to_victim']);
  for (const item of (JSON.parse(out) as { nftables: Array<Record<string, unknown>> }).nftables) {
    const c = item.counter as { packets: number } | undefined;
    if (c) return c.packets;
  }
  return NaN;
}

/** Stops the helper (SIGTERM) and reads the summary line it prints on the way out. */
export async function stopFlood(p: LabProcess): Promise<FloodResult> {
  await p.stop(2000);
  const line = p
    .readLogs()
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{"sent"'));
  if (!line) throw new Error(`spoof-flood printed no summary:\n${p.readLogs().slice(-500)}`);
  return JSON.parse(line) as FloodResult;
}
