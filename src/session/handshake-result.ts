// What SessionTable's consumeInitiation/consumeResponse return. The reasons are stable strings: the
// data plane uses them as the `reason` label of its dropped-packet counter.
import type { NodeId } from '../identity/node-id.js';

/** Why a handshake body was dropped, in the order the checks run. */
export type HandshakeRejectReason =
  | 'truncated' // shorter than the fixed body size
  | 'oversized' // longer than the fixed body size
  | 'unknown-index' // (response) receiverIndex names no pending initiation of ours
  | 'bad-mac' // mac1 wrong: the sender does not know our public key
  | 'rate-limited' // the source's or the global handshake budget is spent
  | 'bad-handshake' // Noise rejected it (forged, corrupted, or a rewritten index)
  | 'unknown-key' // (initiation) the static key is not a member's
  | 'id-mismatch' // the member's id is not the header's src
  | 'replayed-handshake'; // (initiation) timestamp not newer than the last accepted from that member

export type HandshakeReject = { ok: false; reason: HandshakeRejectReason };

export type InitiationResult = { ok: true; peer: NodeId; response: Buffer } | HandshakeReject;
export type ResponseResult = { ok: true; peer: NodeId } | HandshakeReject;

export function reject(reason: HandshakeRejectReason): HandshakeReject {
  return { ok: false, reason };
}
