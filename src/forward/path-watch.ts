// The data plane's side of end-to-end path liveness (path-liveness.ts holds the logic): sends the
// data-sized path probes along each busy destination's route, echoes the probes of others back along
// the reverse route, and acts on a failed path — one log line, a counter per destination
// (overlay_path_failures_total) and routing told to avoid that path for the destination a while; when the
// lost probes were larger than every link carries for sure, the path's first link also searches its MTU
// again at once (pmtu/: large packets started failing).
import { randomFillSync } from 'node:crypto';
import type { NodeId } from '../identity/node-id.js';
import type { Endpoint } from '../transport/transport.js';
import { InnerKind } from '../wire/constants.js';
import { dataOverhead, datagramSlotBytes, MIN_LINK_DATAGRAM } from '../wire/sizes.js';
import type { RoutedHeader } from '../wire/routed-header.js';
import type { ForwardContext } from './context.js';
import type { NextHops } from './next-hop.js';
import { reverseRelays } from './path-learning.js';
import {
  PATH_PROBE_MIN_BYTES,
  PathLiveness,
  sameRelays,
  type PathFailure,
  type PathLivenessParams,
} from './path-liveness.js';
import type { Sealer } from './sealer.js';

export class PathWatch {
  readonly liveness: PathLiveness;
  // Probe plaintexts are built here: kind, id, then zeros up to the data size (sealing hides them).
  private readonly scratch: Buffer;
  private readonly ids = new Uint32Array(64);
  private idsLeft = 0;

  constructor(
    private readonly ctx: ForwardContext,
    private readonly nextHops: NextHops,
    private readonly sealer: Sealer,
    /** Large packets stopped getting through on the path whose first hop is `firstHop`. */
    private readonly largeLost: (firstHop: NodeId, now: number) => void = () => {},
    params?: Partial<PathLivenessParams>,
  ) {
    // Probes are as large as the data they stand for: up to the TUN's MTU (jumbo networks too).
    this.scratch = Buffer.alloc(datagramSlotBytes(ctx.tun.mtu));
    this.liveness = new PathLiveness(
      {
        pathOf: (dst, now) => this.nextHops.target(dst, now)?.relays,
        send: (dst, relays, id, bytes, now) => this.send(dst, relays, id, bytes, now),
        failed: (f) => this.failed(f),
        randomId: () => this.randomId(),
      },
      params,
    );
  }

  /** Data of `bytes` plaintext bytes was sealed for `dst` (the outbound hot path). */
  noteData(dst: NodeId, bytes: number, now: number): void {
    if (this.liveness.noteData(dst, bytes, now)) this.ctx.wake();
  }

  /** Until when `dst` counts as carrying data without another noteData. */
  dataUntil(dst: NodeId): number {
    return this.liveness.dataUntil(dst);
  }

  nextWakeAt(): number {
    return this.liveness.nextWakeAt();
  }

  tick(now: number): void {
    this.liveness.tick(now);
  }

  /** A path probe from `h.src`: the same bytes back, as a reply, over the way it came. */
  onProbe(data: Buffer, h: RoutedHeader, pt: number, n: number, from: Endpoint, now: number): void {
    const { ctx } = this;
    if (n < PATH_PROBE_MIN_BYTES) return ctx.counters.drop('bad-inner');
    const keypair = ctx.sessions.sendKeypair(h.src, now);
    if (!keypair) return;
    const reply = this.scratch.subarray(0, n);
    data.copy(reply, 0, pt, pt + n);
    reply[0] = InnerKind.PathProbeReply;
    const target = { relays: reverseRelays(data, h), nextHop: h.src, endpoint: from };
    this.sealer.seal(keypair, h.src, target, reply, now, false);
  }

  onReply(data: Buffer, h: RoutedHeader, pt: number, n: number, now: number): void {
    if (n < PATH_PROBE_MIN_BYTES) return this.ctx.counters.drop('bad-inner');
    this.liveness.onReply(h.src, data.readUInt32BE(pt + 1), now);
  }

  private send(dst: NodeId, relays: readonly NodeId[], id: number, bytes: number, now: number): boolean {
    const { ctx } = this;
    const keypair = ctx.sessions.sendKeypair(dst, now);
    // The route data takes now: the one `relays` was read from within this same tick.
    const target = this.nextHops.target(dst, now);
    if (!keypair || !target || !sameRelays(target.relays, relays)) return false;
    const plaintext = this.scratch.subarray(0, Math.min(bytes, this.scratch.length));
    plaintext.fill(0);
    plaintext[0] = InnerKind.PathProbe;
    plaintext.writeUInt32BE(id, 1);
    return this.sealer.seal(keypair, dst, target, plaintext, now, false) > 0;
  }

  private failed(f: PathFailure): void {
    const { ctx } = this;
    ctx.counters.pathFailures.set(f.dst, (ctx.counters.pathFailures.get(f.dst) ?? 0) + 1);
    const name = (id: NodeId): string => ctx.peers.get(id)?.name ?? String(id);
    const via = f.relays.length === 0 ? 'direct' : `via ${f.relays.map(name).join('>')}`;
    const avoiding = f.relays.length === 0 ? 'the direct link' : f.relays.map(name).join(', ');
    ctx.log.warn(
      `path to ${name(f.dst)} ${via} fails end to end: ${f.lost} data-sized probes (${f.bytes} B) lost in a row; ` +
        `avoiding ${avoiding} for ${name(f.dst)} for ${Math.round((f.until - ctx.clock.now()) / 1000)} s`,
    );
    ctx.router.avoid(f.dst, f.relays, f.until);
    // The datagram those probes made: above what every link carries, the MTU may be what failed.
    if (f.bytes - 1 + dataOverhead(f.relays.length) > MIN_LINK_DATAGRAM)
      this.largeLost(f.relays[0] ?? f.dst, ctx.clock.now());
  }

  /** Crypto-random u32s, drawn 64 at a time. */
  private randomId(): number {
    if (this.idsLeft === 0) {
      randomFillSync(this.ids);
      this.idsLeft = this.ids.length;
    }
    return this.ids[--this.idsLeft];
  }
}
