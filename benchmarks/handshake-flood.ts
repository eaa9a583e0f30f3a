// Handshake starvation (issue 10, attack 8), with real daemons: a stranger floods overlayd with
// initiations from spoofed source addresses at increasing rates while a legitimate member restarts again
// and again (each restart is a fresh handshake: no session, no cookie). Per rate: how long the member
// takes to get a session, how often within 1 s, the victim's CPU, and what the victim sends back.
//
//   node dist/benchmarks/handshake-flood.js [--quick] [--rates 0,20000,50000,100000,max] [--rounds 5]
//                                          [--mix 1:1:1] [--wait-quiet S] [--json FILE]
//
// Lab: sites target and member run overlayd (peers.yaml lists only them); site flood runs spoof-flood
// (benchmarks/lib/spoof-flood.c, compiled now) which writes raw IPv4/UDP from random sources in
// 10.201.0.0/16 to the target's overlay port. The wan routes that range back to the flood site, which
// drops it: nothing leaves the lab. --mix weighs replay:garbage:forged, where replay is one genuine
// initiation made with the member's key (what an on-path attacker would capture; the target processes
// its first copy), garbage a random body (bad mac1) and forged a random body with a valid mac1 (the
// attacker knows the target's public key). `max` sends as fast as the helper can on this machine.
//
// Time to session: the restarted daemon's own account (`status` → session.lastHandshakeTookMs), from
// its first initiation to the response, lost attempts and cookie round trips included; the benchmark
// polls `status` every 10 ms until the session is up (start-up time, spawn to session, is printed
// apart: on a busy 2-core machine it is mostly Node starting). Sent and at-target rates and the bytes
// come from nft counters in the flooding and target namespaces over the same window (IP bytes, spoofed
// range only at the target); DH runs and cookie replies from the target's metrics.
import { writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { readKeyFile } from '../src/config/key-file.js';
import { ControlClient } from '../src/control/client.js';
import type { NodeStatus } from '../src/control/status.js';
import { nodeIdFromPublicKey } from '../src/identity/node-id.js';
import { INIT_BODY_BYTES } from '../src/session/handshake.js';
import { mac1Key } from '../src/session/mac.js';
import { SessionTable } from '../src/session/session-table.js';
import { INITIAL_TTL, PacketType } from '../src/wire/constants.js';
import { routedHeaderBytes, writeRoutedHeader } from '../src/wire/routed-header.js';
import { OVERLAY_PORT, OverlayLab } from '../test/lab/overlay-lab.js';
import { CpuSampler, waitQuiet, type CpuUsage } from './lib/cpu.js';
import {
  counterDelta,
  installVictimCounters,
  readVictimCounters,
  type VictimCounters,
} from './lib/flood-target.js';
import {
  codeVersion,
  COMMON_OPTIONS,
  commonOptions,
  machineLine,
  numberOption,
  progress,
  requireRoot,
  usageError,
} from './lib/progress.js';
import {
  compileSpoofFlood,
  installFloodCounter,
  readFloodCounter,
  routeSpoofedTo,
  startFlood,
  stopFlood,
  type FloodMix,
  type FloodResult,
} from './lib/spoof-flood.js';
import { fmt, printTable } from './lib/table.js';

const SITES = ['target', 'member', 'flood'];
const WARM_MS = 1500;
const ROUND_TIMEOUT_MS = 10_000;
/** IP + UDP header in front of every datagram. */
const IP_UDP_BYTES = 28;

interface Settings {
  /** Packets per second; 0 = no flood, Infinity = as fast as the helper can. */
  rates: number[];
  rounds: number;
  mix: FloodMix;
  waitQuietS: number;
  json: string | undefined;
}

interface Round {
  /** ms from spawn until the session was up (null: not within ROUND_TIMEOUT_MS). */
  sessionMs: number | null;
  /** The daemon's own time from its first initiation to the response. */
  handshakeMs: number | null;
}

interface RateResult {
  rate: number;
  rounds: Round[];
  flood: FloodResult | null;
  /** Packets the flooding site sent to the target during the window. */
  offered: number;
  victim: VictimCounters;
  windowS: number;
  cpu: CpuUsage;
}

function parse(): Settings {
  const { values } = parseArgs({
    options: {
      ...COMMON_OPTIONS,
      rates: { type: 'string' },
      rounds: { type: 'string' },
      mix: { type: 'string' },
    },
  });
  const common = commonOptions(
    values,
    'node dist/benchmarks/handshake-flood.js [--quick] [--rates 0,20000,50000,100000,max] [--rounds N] [--mix R:G:F] [--wait-quiet S] [--json FILE]',
  );
  const rates = (values.rates ?? (values.quick ? '0,50000,max' : '0,20000,50000,100000,max'))
    .split(',')
    .map((r) => (r === 'max' ? Infinity : Number(r)));
  if (rates.some((r) => !(r >= 0))) usageError('--rates: packets per second (0 = none) or max');
  const mix = (values.mix ?? '1:1:1').split(':').map(Number);
  if (mix.length !== 3 || mix.some((w) => !Number.isInteger(w) || w < 0) || mix.every((w) => w === 0))
    usageError('--mix R:G:F: three non-negative integer weights (replay, garbage, forged)');
  return {
    rates,
    rounds: numberOption(values.rounds, values.quick ? 2 : 5, 'rounds'),
    mix: { replay: mix[0]!, garbage: mix[1]!, forged: mix[2]! },
    ...common,
  };
}

/** `overlayd status` with short timeouts: a daemon that is starting simply is not there yet. */
async function quickStatus(ol: OverlayLab, site: string): Promise<NodeStatus> {
  const client = await ControlClient.connect(ol.site(site).socket, 500);
  try {
    return await client.call<NodeStatus>('status', {}, 500);
  } finally {
    client.close();
  }
}

/** Restarts the member's daemon and times its way to a session with the target. */
async function restartMember(ol: OverlayLab): Promise<Round> {
  await ol.site('member').process?.stop(3000);
  const t0 = performance.now();
  ol.start('member');
  while (performance.now() - t0 < ROUND_TIMEOUT_MS) {
    try {
      const session = (await quickStatus(ol, 'member')).members.find((m) => m.name === 'target')?.session;
      if (session?.established)
        return { sessionMs: performance.now() - t0, handshakeMs: session.lastHandshakeTookMs };
    } catch {
      // not listening yet
    }
    await sleep(10);
  }
  return { sessionMs: null, handshakeMs: null };
}

/** The datagrams the flooder needs: a genuine initiation from the member, and the junk header. */
function floodMaterial(ol: OverlayLab): { replay: Buffer; header: Buffer; targetMac1Key: Buffer } {
  const memberKey = readKeyFile(ol.site('member').keyFile);
  const targetPublic = Buffer.from(ol.site('target').publicKey, 'base64');
  const memberId = nodeIdFromPublicKey(memberKey.publicKey);
  const targetId = nodeIdFromPublicKey(targetPublic);
  const header = Buffer.alloc(routedHeaderBytes(0));
  writeRoutedHeader(header, PacketType.HandshakeInit, INITIAL_TTL, [], memberId, targetId);
  // A real initiation by the member's key, as one captured on the wire would be.
  const table = new SessionTable({
    localKeyPair: memberKey,
    localId: memberId,
    peers: [{ id: targetId, publicKey: targetPublic }],
  });
  const replay = Buffer.concat([header, table.createInitiation(targetId, 0)]);
  table.close();
  return { replay, header, targetMac1Key: mac1Key(targetPublic) };
}

async function measureRate(
  ol: OverlayLab,
  rate: number,
  s: Settings,
  binary: string,
  material: ReturnType<typeof floodMaterial>,
): Promise<RateResult> {
  const { lab } = ol;
  const flood =
    rate === 0
      ? null
      : startFlood(lab, 'flood', binary, {
          dst: lab.addressOf('target', 4),
          port: OVERLAY_PORT,
          rate: Number.isFinite(rate) ? rate : 0,
          maxSeconds: 600,
          replayFile: lab.path('replay.bin'),
          header: material.header,
          mac1Key: material.targetMac1Key,
          mix: s.mix,
        });
  try {
    await sleep(WARM_MS);
    const offered0 = await readFloodCounter(lab, 'flood');
    const before = await readVictimCounters(lab, 'target');
    const sampler = new CpuSampler({ target: ol.site('target').process?.pid });
    sampler.start();
    const t0 = performance.now();
    const rounds: Round[] = [];
    for (let i = 0; i < s.rounds; i++) rounds.push(await restartMember(ol));
    const windowS = (performance.now() - t0) / 1000;
    const cpu = sampler.stop();
    const victim = counterDelta(before, await readVictimCounters(lab, 'target'));
    const offered = (await readFloodCounter(lab, 'flood')) - offered0;
    return { rate, rounds, flood: flood ? await stopFlood(flood) : null, offered, victim, windowS, cpu };
  } finally {
    if (flood?.isAlive()) await flood.stop(2000);
  }
}

const median = (xs: number[]): number => {
  if (xs.length === 0) return NaN;
  const v = [...xs].sort((a, b) => a - b);
  return v[Math.floor(v.length / 2)]!;
};

function report(results: RateResult[], s: Settings, machine: string, background: number): void {
  const rows = results.map((r) => {
    const times = r.rounds.map((x) => x.handshakeMs ?? Infinity);
    const within = times.filter((t) => t <= 1000).length;
    const done = times.filter(Number.isFinite);
    const v = r.victim;
    return [
      r.rate === 0 ? 'none' : Number.isFinite(r.rate) ? `${r.rate / 1000}k/s` : 'max',
      fmt(r.offered / r.windowS / 1000, 1),
      fmt(v.inPackets / r.windowS / 1000, 1),
      fmt(v.rcvbufErrors / r.windowS / 1000, 1),
      `${within}/${r.rounds.length}`,
      `${fmt(median(done), 0)} / ${fmt(done.length ? Math.max(...done) : NaN, 0)}`,
      fmt(median(r.rounds.map((x) => x.sessionMs ?? NaN)), 0),
      fmt(r.cpu.cores.target, 2),
      fmt(r.cpu.machineBusy, 2),
      v.inBytes > 0 ? fmt(v.outBytes / v.inBytes, 4) : '—',
      String(v.largerThanTrigger),
      fmt(v.responderDh / r.windowS, 1),
      fmt(v.cookieReplies / r.windowS, 0),
    ];
  });
  printTable(
    `Handshake flood from spoofed sources: a restarted member's time to session (mix replay:garbage:forged = ${s.mix.replay}:${s.mix.garbage}:${s.mix.forged})`,
    [
      'flood',
      'sent kpps',
      'at target kpps',
      'kernel drops kpps',
      'session ≤ 1 s',
      'handshake median / max ms',
      'spawn to session ms',
      'target CPU cores',
      'machine busy cores',
      'bytes back / byte in',
      'replies > trigger',
      'target DH/s',
      'cookie replies/s',
    ],
    rows,
    [
      `${new Date().toISOString().slice(0, 10)}, ${machine}; background before the lab: ${fmt(background, 2)} busy cores.`,
      `${s.rounds} restarts of the member per rate. handshake: the member's own time from its first initiation to the response (median, slowest; — if no session within ${ROUND_TIMEOUT_MS / 1000} s); session ≤ 1 s counts those rounds. spawn to session: median, Node start-up included.`,
      'sent: packets the flood site put on the wire; at target: what reached the target namespace (nft); kernel drops: UDP datagrams dropped for a full socket buffer (RcvbufErrors); all per second over the same window.',
      `bytes back / byte in and replies > trigger: IP bytes to / from 10.201.0.0/16 at the target; a reply counts as larger than its trigger if its IP length exceeds the smallest flood datagram (${IP_UDP_BYTES + routedHeaderBytes(0) + INIT_BODY_BYTES} B).`,
      'The flood helper, the target and the restarting member share the 2 cores: at "max" the helper takes one.',
    ],
  );
}

async function main(): Promise<void> {
  requireRoot();
  const s = parse();
  const machine = `${await machineLine()}; overlayd ${await codeVersion()}`;
  const background = s.waitQuietS > 0 ? await waitQuiet(s.waitQuietS) : NaN;
  progress('building the lab: target, member, flood');
  const ol = await OverlayLab.create({ sites: SITES, ipv6: false, logLevel: 'info' });
  const results: RateResult[] = [];
  try {
    ol.writePeers(['target', 'member']);
    ol.start('target');
    ol.start('member');
    await ol.waitConverged(30_000, ['target', 'member']);
    const binary = compileSpoofFlood(ol.lab);
    await routeSpoofedTo(ol.lab, 'flood');
    await installFloodCounter(ol.lab, 'flood', ol.lab.addressOf('target', 4));
    const material = floodMaterial(ol);
    writeFileSync(ol.lab.path('replay.bin'), material.replay);
    await installVictimCounters(ol.lab, 'target', OVERLAY_PORT, IP_UDP_BYTES + material.replay.length);
    for (const rate of s.rates) {
      progress(`flood ${Number.isFinite(rate) ? rate : 'max'} packets/s: ${s.rounds} member restarts`);
      const r = await measureRate(ol, rate, s, binary, material);
      results.push(r);
      progress(
        `  sent ${(r.offered / r.windowS).toFixed(0)}/s; handshakes ${r.rounds
          .map((x) => (x.handshakeMs === null ? '—' : String(x.handshakeMs)))
          .join(', ')} ms; rejects ${JSON.stringify(r.victim.rejects)}`,
      );
    }
  } finally {
    await ol.destroy();
  }
  report(results, s, machine, background);
  if (s.json)
    writeFileSync(
      s.json,
      JSON.stringify({ date: new Date().toISOString(), machine, settings: s, results }, null, 2),
    );
}

main().catch((err: unknown) => {
  process.stderr.write(
    `handshake-flood benchmark failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exitCode = 1;
});
