// Throughput with iperf3 between two lab sites, as the anchors measured it: a fresh one-shot server
// (`iperf3 -s -1`) per run, the client's JSON report, and the CPU of the daemons that carry the traffic
// sampled over exactly the client's run. TCP (one flow, or -P parallel flows) or UDP at a fixed datagram
// size sent as fast as iperf3 can (small-packet cost: packets/s received).
import type { Lab } from '../../test/lab/lab.js';
import { CpuSampler, type CpuUsage } from './cpu.js';

export interface IperfOptions {
  from: string;
  to: string;
  /** Address the server binds and the client connects to (underlay or overlay). */
  dst: string;
  seconds: number;
  /** Congestion control for the sender (iperf3 -C); undefined: the kernel default. */
  cc?: string;
  /** Processes whose CPU use is reported, by name. */
  watch?: Readonly<Record<string, number | undefined>>;
  port?: number;
  /** Parallel TCP flows (iperf3 -P). Default 1. */
  parallel?: number;
  /** UDP datagrams of this many payload bytes, unlimited rate (iperf3 -u -l N -b 0), instead of TCP. */
  udpLength?: number;
}

export interface IperfRun {
  gbps: number;
  retransmits: number | null;
  /** MSS the sender used: shows each tunnel's MTU. */
  mss: number | null;
  /** Congestion control actually used by the sender. */
  cc: string | null;
  cpu: CpuUsage;
  /** UDP only: datagrams the server received per second, and the share lost on the way (%). */
  packetsPerSecond: number | null;
  lossPercent: number | null;
}

/** The parts of `iperf3 -J` we read. */
interface IperfJson {
  error?: string;
  start?: { tcp_mss_default?: number; tcp_mss?: number };
  end?: {
    /** TCP: what the server received. UDP: the same, with `packets` the highest sequence number seen. */
    sum_received?: { bits_per_second?: number; packets?: number; lost_packets?: number; seconds?: number };
    sum_sent?: { retransmits?: number };
    sender_tcp_congestion?: string;
  };
}

let nextRunId = 0;

/** One iperf3 run. Throws with iperf3's own error if it produced no result. */
export async function runIperf(lab: Lab, o: IperfOptions): Promise<IperfRun> {
  const port = o.port ?? 5201;
  const id = ++nextRunId;
  // `timeout` bounds a server whose client never came (a one-shot server otherwise waits forever).
  const server = lab.spawn(
    o.to,
    ['timeout', String(o.seconds + 40), 'iperf3', '-s', '-1', '-B', o.dst, '-p', String(port)],
    {
      name: `iperf3-server-${id}`,
    },
  );
  try {
    await lab.waitForListen(o.to, port, 'tcp', 10_000);
    const argv = [
      'timeout',
      String(o.seconds + 25),
      'iperf3',
      '-c',
      o.dst,
      '-p',
      String(port),
      '-t',
      String(o.seconds),
      '-J',
    ];
    if (o.cc) argv.push('-C', o.cc);
    if (o.parallel && o.parallel > 1) argv.push('-P', String(o.parallel));
    if (o.udpLength !== undefined) argv.push('-u', '-l', String(o.udpLength), '-b', '0');
    const sampler = new CpuSampler(o.watch ?? {});
    sampler.start();
    const r = await lab.exec(o.from, argv, { timeoutMs: (o.seconds + 30) * 1000 });
    const cpu = sampler.stop();
    let j: IperfJson;
    try {
      j = JSON.parse(r.stdout) as IperfJson;
    } catch {
      throw new Error(
        `iperf3 ${o.from}→${o.dst}: no JSON (exit ${r.code}): ${(r.stderr || r.stdout).slice(-500)}`,
      );
    }
    const udp = o.udpLength !== undefined ? j.end?.sum_received : undefined;
    const bps = j.end?.sum_received?.bits_per_second;
    if (j.error || bps === undefined) throw new Error(`iperf3 ${o.from}→${o.dst}: ${j.error ?? 'no result'}`);
    const received = udp ? (udp.packets ?? 0) - (udp.lost_packets ?? 0) : 0;
    return {
      gbps: bps / 1e9,
      retransmits: udp ? null : (j.end?.sum_sent?.retransmits ?? null),
      mss: j.start?.tcp_mss_default ?? j.start?.tcp_mss ?? null,
      cc: j.end?.sender_tcp_congestion ?? null,
      cpu,
      packetsPerSecond: udp && udp.seconds ? received / udp.seconds : null,
      lossPercent: udp && udp.packets ? (100 * (udp.lost_packets ?? 0)) / udp.packets : null,
    };
  } finally {
    await server.stop(1000);
  }
}
