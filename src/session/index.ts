// Public surface of session/: what the data plane and the composition root import.
export { SessionTable } from './session-table.js';
export type { PeerKey, SessionTableOptions } from './session-table.js';
export type {
  CookieResult,
  HandshakeRejectReason,
  HandshakeSource,
  HandshakeStats,
  InitiationResult,
  ResponseResult,
} from './handshake-result.js';
export type { PeerSessionStats } from './peer-session.js';
export { DataKeypair, OpenError, openErrorReason, SEAL_REFUSED, DATA_AD_BYTES } from './keypair.js';
export { DEFAULT_SESSION_PARAMS, sessionParams } from './params.js';
export type {
  BucketRate,
  HandshakeGuardParams,
  SessionParams,
  SessionParamsInput,
  RateLimitParams,
  RandomSource,
} from './params.js';
export { INIT_BODY_BYTES, RESPONSE_BODY_BYTES } from './handshake.js';
export { COOKIE_REPLY_BODY_BYTES } from './cookie-reply.js';
export { RateLimiter } from './rate-limiter.js';
export { ReplayWindow } from './replay-window.js';
