// A stranger on the underlay who floods one node with handshake initiations from thousands of spoofed
// source addresses (the MemoryNetwork delivers from any address we name), and listens at each of them
// so the test sees every reply the victim sends back. Three kinds of packet, all with a routed header
// naming a member as src so they get past the data plane's member check:
//   replay   a genuine initiation captured on the wire, sent again unchanged
//   garbage  random body: wrong mac1
//   forged   random body with a valid mac1 (the attacker knows the victim's public key, as WireGuard
//            assumes anyone may): only these can get past mac1, and none can get past Noise
import { randomBytes } from 'node:crypto';
import type { NodeId } from '../../src/identity/node-id.js';
import { INIT_BODY_BYTES, INIT_MAC1_OFFSET } from '../../src/session/handshake.js';
import { mac1Key, writeMac } from '../../src/session/mac.js';
import type { MemoryNetwork, MemoryTransport } from '../../src/transport/memory-transport.js';
import type { Endpoint } from '../../src/transport/transport.js';
import { INITIAL_TTL, PacketType } from '../../src/wire/constants.js';
import { routedHeaderBytes, writeRoutedHeader } from '../../src/wire/routed-header.js';

export type FloodKind = 'replay' | 'garbage' | 'forged';

export interface FloodTally {
  sent: Record<FloodKind, number>;
  bytesSent: number;
  /** Smallest packet the flooder sent. */
  minTrigger: number;
  replies: number;
  replyBytes: number;
  /** Largest single reply the victim sent to any spoofed source. */
  maxReply: number;
}

function emptyTally(): FloodTally {
  return {
    sent: { replay: 0, garbage: 0, forged: 0 },
    bytesSent: 0,
    minTrigger: Infinity,
    replies: 0,
    replyBytes: 0,
    maxReply: 0,
  };
}

export class HandshakeFlooder {
  /** What was sent and received since start(). */
  tally = emptyTally();
  private readonly sources: Endpoint[] = [];
  private readonly sinks: MemoryTransport[] = [];
  private timer: NodeJS.Timeout | undefined;
  private next = 0;
  private readonly victimMac1Key: Buffer;

  constructor(
    private readonly net: MemoryNetwork,
    private readonly victim: Endpoint,
    victimKey: Buffer,
    /** The member the packets claim to come from, and the victim's id. */
    private readonly claimedSrc: NodeId,
    private readonly victimId: NodeId,
    sources: number,
  ) {
    this.victimMac1Key = mac1Key(victimKey);
    for (let i = 0; i < sources; i++) {
      const host = `10.${66 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
      const sink = net.attach(host, 20_000 + (i % 40_000));
      sink.onBatch((batch) => {
        for (let k = 0; k < batch.count; k++) {
          const length = batch.lengths[k]!;
          this.tally.replies++;
          this.tally.replyBytes += length;
          this.tally.maxReply = Math.max(this.tally.maxReply, length);
        }
      });
      this.sinks.push(sink);
      this.sources.push(sink.local);
    }
  }

  /**
   * Sends `perSecond` packets a second, cycling through the sources, each of a kind drawn from `mix`
   * (weights), until stop(). `replay` is a captured HandshakeInit datagram (routed header included).
   */
  start(perSecond: number, mix: Partial<Record<FloodKind, number>>, replay?: Buffer): void {
    this.tally = emptyTally();
    const kinds = (Object.keys(mix) as FloodKind[]).flatMap((k) => Array<FloodKind>(mix[k] ?? 0).fill(k));
    const tickMs = 2;
    const perTick = Math.max(1, Math.round((perSecond * tickMs) / 1000));
    this.timer = setInterval(() => {
      for (let i = 0; i < perTick; i++) {
        const kind = kinds[this.next % kinds.length];
        const packet = kind === 'replay' && replay ? Buffer.from(replay) : this.initiation(kind === 'forged');
        const from = this.sources[this.next % this.sources.length];
        this.next++;
        this.tally.sent[kind]++;
        this.tally.bytesSent += packet.length;
        this.tally.minTrigger = Math.min(this.tally.minTrigger, packet.length);
        this.net.deliver(from, this.victim, packet);
      }
    }, tickMs);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  async close(): Promise<void> {
    this.stop();
    for (const s of this.sinks) await s.close();
  }

  private initiation(validMac1: boolean): Buffer {
    const off = routedHeaderBytes(0);
    const packet = Buffer.alloc(off + INIT_BODY_BYTES);
    writeRoutedHeader(packet, PacketType.HandshakeInit, INITIAL_TTL, [], this.claimedSrc, this.victimId);
    const body = packet.subarray(off);
    body.set(randomBytes(INIT_BODY_BYTES));
    if (validMac1) writeMac(body, INIT_MAC1_OFFSET, this.victimMac1Key);
    return packet;
  }
}
