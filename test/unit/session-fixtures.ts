// Shared fixtures for the session unit tests: deterministic members with real keys, session tables
// on a wall clock that moves a second per call (handshake timestamps must keep increasing), and
// sealing/opening Data packets as the data plane does.
import assert from 'node:assert/strict';
import { keyPairFromSeed, type KeyPair } from '../../src/identity/keys.js';
import { nodeIdFromPublicKey, type NodeId } from '../../src/identity/node-id.js';
import type { HandshakeSource } from '../../src/session/handshake-result.js';
import { cookieAddress } from '../../src/transport/cookie-address.js';
import { SEAL_REFUSED } from '../../src/session/keypair.js';
import type { RandomSource, SessionParamsInput } from '../../src/session/params.js';
import { SessionTable } from '../../src/session/session-table.js';
import { ADDRESS_BYTES, INITIAL_TTL, PacketType, PathFlags } from '../../src/wire/constants.js';
import { parseRoutedHeader, pathFlagsFor, writeRoutedHeader } from '../../src/wire/routed-header.js';

export interface Member {
  keyPair: KeyPair;
  id: NodeId;
}

export function member(n: number): Member {
  const keyPair = keyPairFromSeed(Buffer.alloc(32, n));
  return { keyPair, id: nodeIdFromPublicKey(keyPair.publicKey) };
}

export const A = member(1);
export const B = member(2);
export const C = member(3);

/** A direct handshake source at host:port, as the data plane describes one. */
export function from(host: string, port = 7946): HandshakeSource {
  return { address: cookieAddress({ host, port }), host };
}

/** The source most tests use. */
export const K = from('192.0.2.200');

let wall = 1_700_000_000_000;

/** The wall clock tables made by `table` read last (ms). */
export function lastWall(): number {
  return wall;
}

/** `me`'s session table knowing `peers`, on the shared advancing wall clock. */
export function table(
  me: Member,
  peers: Member[],
  params: SessionParamsInput = {},
  random?: RandomSource,
): SessionTable {
  return new SessionTable({
    localKeyPair: me.keyPair,
    localId: me.id,
    peers: peers.map((p) => ({ id: p.id, publicKey: p.keyPair.publicKey })),
    params,
    wallClock: () => (wall += 1000),
    random,
  });
}

/** Seals `payload` from `fromId` to `toId` in a direct Data packet; null if the table refuses. */
export function send(
  from: SessionTable,
  fromId: NodeId,
  toId: NodeId,
  payload: Buffer,
  now: number,
): Buffer | null {
  const buf = Buffer.alloc(1500);
  const addrOffset = writeRoutedHeader(buf, PacketType.Data, INITIAL_TTL, [], fromId, toId) - ADDRESS_BYTES;
  const end = from.seal(toId, buf, addrOffset, payload, now, PathFlags.Direct);
  return end === SEAL_REFUSED ? null : buf.subarray(0, end);
}

/** Opens a Data packet; the plaintext, or the negative OpenError. */
export function receive(to: SessionTable, pkt: Buffer, now: number): Buffer | number {
  const h = parseRoutedHeader(pkt, pkt.length);
  assert.ok(typeof h !== 'string', `bad header: ${String(h)}`);
  const n = to.open(pkt, h.addrOffset, pkt.length, now, pathFlagsFor(h.routeLen));
  return n < 0 ? n : Buffer.from(pkt.subarray(h.addrOffset + 20, h.addrOffset + 20 + n));
}
