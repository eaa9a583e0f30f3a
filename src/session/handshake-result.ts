// What SessionTable's consumeInitiation/consumeResponse/consumeCookieReply return, and where a
// handshake message came from. The reasons are stable strings: the data plane counts them in its
// handshake-rejection counter, which metrics export by reason.
import type { NodeId } from '../identity/node-id.js';

/** Why a handshake message was dropped (or answered with a cookie), in the order the checks run. */
export type HandshakeRejectReason =
  | 'truncated' // shorter than the fixed body size
  | 'oversized' // longer than the fixed body size
  | 'unknown-index' // (response) receiverIndex names no pending initiation of ours
  | 'bad-mac' // mac1 wrong: the sender does not know our public key
  | 'replayed-initiation' // (initiation) its mac1 was seen recently: a replay, dropped before any DH
  | 'cookie-required' // (initiation) under load without a valid mac2: answered with a cookie reply
  | 'cookie-rate-limited' // (initiation) as above, but the cookie-reply budget is spent: dropped
  // (initiation) as above, from a source not proven to be a member's, dropped by the transport's native
  // load step (native/handshake-load.c) before reaching the guard; never returned by SessionTable
  | 'cookie-filtered'
  | 'rate-limited' // the source IP's or its lane's handshake budget is spent
  | 'relay-rate-limited' // (initiation) the budget of relayed initiations for (relay, source) is spent
  | 'bad-handshake' // Noise rejected it (forged, corrupted, or a rewritten index)
  | 'unknown-key' // (initiation) the static key is not a member's
  | 'id-mismatch' // the member's id is not the header's src
  | 'replayed-handshake' // (initiation) timestamp not newer than the last accepted from that member
  | 'member-rate-limited' // (initiation) that member completed too many handshakes lately
  | 'unsolicited-cookie' // (cookie reply) no initiation of ours pending with that index, or answered
  | 'bad-cookie'; // (cookie reply) does not decrypt for our pending initiation: forged

export type HandshakeReject = {
  ok: false;
  reason: HandshakeRejectReason;
  /** With 'cookie-required': the CookieReply body to send back the way the initiation came. */
  cookieReply?: Buffer;
};

export type InitiationResult = { ok: true; peer: NodeId; response: Buffer } | HandshakeReject;
export type ResponseResult = { ok: true; peer: NodeId } | HandshakeReject;
/** `retry`: send a fresh initiation (now carrying mac2) at once. */
export type CookieResult = { ok: true; peer: NodeId; retry: boolean } | HandshakeReject;

/** Where a handshake message came from, as far as the data plane can tell. */
export interface HandshakeSource {
  /** The underlay address it came from (transport/cookie-address.ts): what a cookie is bound to. */
  address: Uint8Array;
  /** That address's IP: the key of the per-source budget of direct handshakes. */
  host: string;
  /**
   * The data plane holds proof that this address is the claimed member's (a probe round trip, see
   * forward/endpoint-bindings.ts), or for a relayed message the relay's: such sources get a budget lane
   * of their own, which a flood from other addresses cannot spend.
   */
  proven?: boolean;
  /** For a relayed message: the member whose proven address handed it to us. */
  relay?: NodeId;
}

/** Counts of the handshake work done, for metrics and for tests that prove a flood costs nothing. */
export interface HandshakeStats {
  /** Initiations Noise was run on as responder: each costs the Diffie-Hellmans a flood is after. */
  responderDh: number;
  /** Responses Noise was run on as initiator. */
  initiatorDh: number;
  /** Cookie replies made (each is sent). */
  cookieRepliesSent: number;
  /** Cookie replies accepted for our own pending initiations. */
  cookiesAccepted: number;
}

export function reject(reason: HandshakeRejectReason): HandshakeReject {
  return { ok: false, reason };
}
