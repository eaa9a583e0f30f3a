// What the data plane needs from the pure components, as narrow structural interfaces.
// session/, probe/ and routing/ satisfy these directly; tests can hand in small fakes.
import type { NodeId } from '../identity/node-id.js';
import type { ActiveCause } from '../probe/link-view.js';
import type { HandshakeSource } from '../session/handshake-result.js';

/** One direction-pair of AEAD keys (session/keypair.ts). */
export interface SealingKeypair {
  /** Native state (keys, counter, replay window) the batch seal and open calls work on. */
  readonly state: Buffer;
  /**
   * Seals `plaintext` into `out` after the 20 AD bytes at addrOffset; returns end offset or -1.
   * `pathFlags`: PathFlags for the route in the header (wire/routed-header.ts pathFlagsFor).
   */
  seal(out: Buffer, addrOffset: number, plaintext: Uint8Array, now: number, pathFlags: number): number;
  /** Until when it may seal and open (its age limit); the fast lanes use it no longer. */
  readonly expiresAt?: number;
}

/** A keypair as the batch open path needs it. */
export interface OpeningKeypair {
  readonly state: Buffer;
  /** Set once a packet opened: for a responder, proof the initiator has the keys too. */
  receivedAny: boolean;
  isExpired(now: number): boolean;
  /** Until when it may open (its age limit); the inbound fast lane uses it no longer. */
  readonly expiresAt?: number;
}

/** A refusal may carry a CookieReply body to send back the way the initiation came. */
export type HandshakeResult<T> =
  ({ ok: true; peer: NodeId } & T) | { ok: false; reason: string; cookieReply?: Buffer };

export interface SessionPort {
  sendKeypair(peer: NodeId, now: number): SealingKeypair | undefined;
  /**
   * Opens a Data packet for us in place: finds the keypair by receiver index, checks it belongs to the
   * header's src, authenticates, checks replay, confirms a fresh keypair. Returns the plaintext length
   * (plaintext at addrOffset + 20) or a negative code for `openErrorReason`. `pathFlags` is what the
   * header's routeLen implies: a packet sealed otherwise (route stripped or added) fails authentication.
   */
  open(buf: Buffer, addrOffset: number, length: number, now: number, pathFlags: number): number;
  /** The keypair (and its member) our receiver index names, for opening a batch natively. */
  receiveKeypair(receiverIndex: number): { peer: NodeId; keypair: OpeningKeypair } | undefined;
  /** A packet opened with `keypair` (batch path): confirms a responder's pending keypair. */
  confirmReceived(peer: NodeId, keypair: OpeningKeypair): void;
  noteWantToSend(peer: NodeId, now: number): void;
  createInitiation(peer: NodeId, now: number, countAttempt?: boolean): Buffer;
  consumeInitiation(
    src: NodeId,
    body: Uint8Array,
    source: HandshakeSource,
    now: number,
  ): HandshakeResult<{ response: Buffer }>;
  consumeResponse(
    src: NodeId,
    body: Uint8Array,
    source: HandshakeSource,
    now: number,
  ): HandshakeResult<object>;
  consumeCookieReply(src: NodeId, body: Uint8Array, now: number): HandshakeResult<{ retry: boolean }>;
}

export interface LinkPort {
  alive: boolean;
  endpointKey: string;
  /** listed, reflexive or punched (probe/member-state.ts EndpointOrigin). */
  origin?: string;
  /** Data crossed the link within the prober's active window. */
  active?: boolean;
  /** Smoothed round-trip time (the MTU search sizes its wait by it). */
  srttMs?: number;
}

/** One underlay path to a member (its IPv4 or IPv6 endpoint, listed or learned), as the prober sees it. */
export interface EndpointPort {
  endpointKey: string;
  alive: boolean;
  srttMs: number;
}

export interface ProbePort {
  link(member: NodeId): LinkPort | undefined;
  /** Every endpoint of `member` the prober knows (the link uses the best alive one). */
  endpoints(member: NodeId): EndpointPort[];
  /**
   * A direct probe reply from `member` arrived from `endpointKey`. True when it answers a probe we
   * sent to `member` at that very endpoint: proof that the address reaches the member.
   */
  onReply(member: NodeId, endpointKey: string, probeId: number, now: number): boolean;
  /**
   * We echo direct probe `probeId` from `member` (reciprocity in the bounded neighbour set: the id's
   * top bit marks an exploration trial, which must not be probed back).
   */
  onProbeReceived(member: NodeId, endpointKey: string, now: number, probeId: number): void;
  /** An unproven address of `member` (see Prober.learnEndpoint); true if it became a new candidate. */
  learnEndpoint(member: NodeId, endpointKey: string, now: number): boolean;
  /** Put `member` on the active schedule; `cause` is counted (Prober.stats: activationsBy). */
  markActive(member: NodeId, now: number, cause?: ActiveCause): void;
  /** When `member`'s active window ends (-Infinity if never active or not probed). */
  activeUntil?(member: NodeId): number;
  /** We relayed a data packet src → dst to `member` (Prober.noteRelayed: two of a pair within a second mark it active). */
  noteRelayed(member: NodeId, src: NodeId, dst: NodeId, now: number): void;
  /** A handshake with `member` completed (Prober.sessionUp: probe it fast if its link is in doubt). */
  sessionUp(member: NodeId, now: number): void;
  /** Whether a direct link to `member` is wanted (Prober.wantsDirectLink: not outside a bounded set). */
  wantsDirectLink(member: NodeId, now: number): boolean;
  /** Probe `endpointKeys` of `member` now as punch candidates (Prober.punch, nat/). */
  punch(member: NodeId, endpointKeys: readonly string[], probes: number, now: number): string[];
  /** The endpoint `member` probed us from recently over the direct path (see LinkSource.probedUs). */
  probedUs?(member: NodeId, now: number): string | undefined;
}

export interface PathPort {
  /** self … dst */
  nodes: NodeId[];
}

export interface RoutePort {
  route(dst: NodeId): PathPort | undefined;
  receiveControl(from: NodeId, message: Uint8Array, now: number): void;
  /** The path to `dst` through `relays` (none: direct) failed end to end: avoid it until `until`. */
  avoid(dst: NodeId, relays: readonly NodeId[], until: number): void;
  /** Largest datagram the link `from` → `to` carries, as `from` advertises it; undefined: full size. */
  linkMtu(from: NodeId, to: NodeId): number | undefined;
  /** Our link to `neighbor` carries datagrams up to `datagram` (undefined: the network's top). */
  setOwnLinkMtu(neighbor: NodeId, datagram: number | undefined): void;
}
