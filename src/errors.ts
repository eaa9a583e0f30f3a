// One error class with a stable string `code` that callers and tests match on.
// Messages are written for the operator: what is wrong and where.

export type ErrorCode =
  | 'ERR_CONFIG' // peers.yaml (or another config input) is invalid
  | 'ERR_KEY_FILE' // private key missing, malformed, or readable by others
  | 'ERR_NOT_MEMBER' // our key is not listed in peers.yaml
  | 'ERR_TUN' // the TUN device could not be opened or configured
  | 'ERR_TRANSPORT' // the UDP socket (or the ws transport's TCP listener) could not be opened
  | 'ERR_TLS' // the ws transport's TLS certificate or key is missing, unreadable or readable by others
  | 'ERR_CONTROL' // control socket problems (daemon not running, bad reply)
  | 'ERR_UNREACHABLE' // ping/trace: the destination did not answer
  | 'ERR_PERMISSION' // the process lacks a privilege it needs (CAP_NET_ADMIN, access to /dev/net/tun)
  | 'ERR_USAGE'; // bad command line

export class OverlayError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OverlayError';
    this.code = code;
  }
}

export function isOverlayError(err: unknown, code?: ErrorCode): err is OverlayError {
  return err instanceof OverlayError && (code === undefined || err.code === code);
}
