// Control socket paths, shared by the daemon and the CLI: relative paths are taken from the working
// directory (`--control ./ovl0.sock` works), and a path too long for a unix socket is refused with the
// limit instead of a bare EINVAL.
import { resolve } from 'node:path';
import { OverlayError } from '../errors.js';

/** sun_path holds 108 bytes on Linux, the terminating NUL included. */
const MAX_SOCKET_PATH_BYTES = 107;

/** The absolute form of `path`; throws ERR_USAGE when it cannot be a unix socket path. */
export function absoluteSocketPath(path: string): string {
  const abs = resolve(path);
  const bytes = Buffer.byteLength(abs);
  if (bytes > MAX_SOCKET_PATH_BYTES) {
    throw new OverlayError(
      'ERR_USAGE',
      `control socket path ${abs} is ${bytes} bytes; unix sockets allow at most ${MAX_SOCKET_PATH_BYTES}: ` +
        `choose a shorter path`,
    );
  }
  return abs;
}
