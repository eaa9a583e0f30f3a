// Punch messages (inner kind Punch): the request one member sends another through a common member to
// coordinate a simultaneous open, and the answer. Sealed end to end in the two members' session and
// relayed like data, so the relay can neither read nor forge them. Layout (after the inner kind):
//
//   u8 type (1 request, 2 answer) | u32 nonce | u8 count (≤ PUNCH_MAX_ENDPOINTS) | count × endpoint
//
// The endpoints are the sender's own (listed and published reflexive, nat/endpoint-bytes.ts): where
// the other side should probe it. They are the sender's claims, like everything it says: the receiver
// only probes them (a few times, rate limited) and binds none without an authenticated reply.
import { InnerKind } from '../wire/constants.js';
import { ENDPOINT_MAX_BYTES, readEndpoint, writeEndpoint } from './endpoint-bytes.js';

export const PunchType = { Request: 1, Answer: 2 } as const;
export type PunchType = (typeof PunchType)[keyof typeof PunchType];

/** Endpoints one punch message carries at most (2 listed + 4 reflexive). */
export const PUNCH_MAX_ENDPOINTS = 6;
const HEADER_BYTES = 1 + 1 + 4 + 1;
export const PUNCH_MAX_BYTES = HEADER_BYTES + PUNCH_MAX_ENDPOINTS * ENDPOINT_MAX_BYTES;

export interface PunchMessage {
  type: PunchType;
  nonce: number;
  endpoints: string[];
}

/** The plaintext (inner kind first). Endpoints past the cap or not parseable are left out. */
export function encodePunch(m: PunchMessage): Buffer {
  const out = Buffer.alloc(PUNCH_MAX_BYTES);
  out[0] = InnerKind.Punch;
  out[1] = m.type;
  out.writeUInt32BE(m.nonce >>> 0, 2);
  let o = HEADER_BYTES;
  let count = 0;
  for (const key of m.endpoints) {
    if (count === PUNCH_MAX_ENDPOINTS) break;
    const next = writeEndpoint(out, o, key);
    if (next < 0) continue;
    o = next;
    count++;
  }
  out[6] = count;
  return out.subarray(0, o);
}

/** Decodes `buf[start, start + n)` (inner kind included): the message, or 'bad-inner'. */
export function decodePunch(buf: Uint8Array, start: number, n: number): PunchMessage | 'bad-inner' {
  const end = start + n;
  if (n < HEADER_BYTES || n > PUNCH_MAX_BYTES || end > buf.byteLength) return 'bad-inner';
  const type = buf[start + 1];
  if (type !== PunchType.Request && type !== PunchType.Answer) return 'bad-inner';
  const nonce =
    ((buf[start + 2] << 24) | (buf[start + 3] << 16) | (buf[start + 4] << 8) | buf[start + 5]) >>> 0;
  const count = buf[start + 6];
  if (count > PUNCH_MAX_ENDPOINTS) return 'bad-inner';
  const endpoints: string[] = [];
  let o = start + HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    const e = readEndpoint(buf, o, end);
    if (!e) return 'bad-inner';
    if (!endpoints.includes(e.key)) endpoints.push(e.key);
    o = e.next;
  }
  if (o !== end) return 'bad-inner';
  return { type, nonce, endpoints };
}
