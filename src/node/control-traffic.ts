// Control traffic a node sends, by message type: what the 10 kbit/s-per-node budget is spent on.
// Counted where the control plane hands messages to the carrier (control-plane.ts), so the daemon and
// the simulator count the same thing the same way. Bytes are on-the-wire estimates for a direct IPv4
// path: the sealed packet (routed header, AEAD fields, tag) plus 28 bytes of IPv4 and UDP header. The
// daemon's data-plane counters (overlay_control_bytes_total) have the exact sealed sizes for comparison.
import { ControlKind } from '../routing/control-codec.js';
import { INIT_BODY_BYTES, RESPONSE_BODY_BYTES } from '../session/handshake.js';
import { ADDRESS_BYTES, ROUTE_PREFIX_BYTES } from '../wire/constants.js';
import { dataOverhead } from '../wire/sizes.js';

/** IPv4 (20) + UDP (8) header bytes around every datagram. */
export const IPV4_UDP_HEADER_BYTES = 28;
/** A sealed message with `payload` bytes after its inner kind byte, on a direct IPv4 path. */
export function sealedWireBytes(payload: number): number {
  return dataOverhead(0) + payload + IPV4_UDP_HEADER_BYTES;
}
/** A probe or its echo: a u32 probe id (73 bytes). */
export const PROBE_WIRE_BYTES = sealedWireBytes(4);
/** Handshake messages are not sealed: routed header (direct) + body + IPv4/UDP. */
const HANDSHAKE_HEADER_BYTES = ROUTE_PREFIX_BYTES + ADDRESS_BYTES + IPV4_UDP_HEADER_BYTES;

export const TRAFFIC_TYPES = [
  'probe',
  'echo',
  'advert',
  'announce',
  'request',
  'summary',
  'digest',
  'handshake',
  'other',
] as const;
export type TrafficType = (typeof TRAFFIC_TYPES)[number];

const BY_KIND = new Map<number, TrafficType>([
  [ControlKind.Advert, 'advert'],
  [ControlKind.Announce, 'announce'],
  [ControlKind.Request, 'request'],
  [ControlKind.Summary, 'summary'],
  [ControlKind.Digest, 'digest'],
]);

export interface TrafficCount {
  messages: number;
  bytes: number;
}

export type TrafficByType = Record<TrafficType, TrafficCount>;

export function emptyTraffic(): TrafficByType {
  return Object.fromEntries(TRAFFIC_TYPES.map((t) => [t, { messages: 0, bytes: 0 }])) as TrafficByType;
}

export class ControlTraffic {
  readonly sent: TrafficByType = emptyTraffic();

  probe(): void {
    this.add('probe', PROBE_WIRE_BYTES);
  }

  echo(): void {
    this.add('echo', PROBE_WIRE_BYTES);
  }

  /** A handshake initiation, or a response to one (session setup and rekeys). */
  handshake(kind: 'initiation' | 'response'): void {
    this.add(
      'handshake',
      HANDSHAKE_HEADER_BYTES + (kind === 'initiation' ? INIT_BODY_BYTES : RESPONSE_BODY_BYTES),
    );
  }

  /** A routing control message (its first byte is the ControlKind). */
  control(message: Uint8Array): void {
    this.add(BY_KIND.get(message[0] ?? 0) ?? 'other', sealedWireBytes(message.byteLength));
  }

  /** A copy of the counts. */
  snapshot(): TrafficByType {
    const out = emptyTraffic();
    for (const t of TRAFFIC_TYPES) out[t] = { ...this.sent[t] };
    return out;
  }

  totalBytes(): number {
    let sum = 0;
    for (const t of TRAFFIC_TYPES) sum += this.sent[t].bytes;
    return sum;
  }

  private add(type: TrafficType, bytes: number): void {
    const c = this.sent[type];
    c.messages++;
    c.bytes += bytes;
  }
}

/** b − a, per type. */
export function trafficDelta(a: TrafficByType, b: TrafficByType): TrafficByType {
  const out = emptyTraffic();
  for (const t of TRAFFIC_TYPES)
    out[t] = { messages: b[t].messages - a[t].messages, bytes: b[t].bytes - a[t].bytes };
  return out;
}

/** Sums of several counts, per type. */
export function sumTraffic(all: Iterable<TrafficByType>): TrafficByType {
  const out = emptyTraffic();
  for (const x of all)
    for (const t of TRAFFIC_TYPES) {
      out[t].messages += x[t].messages;
      out[t].bytes += x[t].bytes;
    }
  return out;
}
