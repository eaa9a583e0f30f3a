// Exit statuses of every command. They are part of the interface: scripts branch on them, and the
// systemd unit decides from them whether restarting can help (deploy/systemd/overlayd.service):
//
//   0   success
//   1   a runtime failure that may pass (port in use, interface busy, daemon not running, ...)
//   2   bad command line                                  (restarting cannot help)
//   70  EX_SOFTWARE: the daemon gave up after an internal error (see last-resort.ts)
//   77  EX_NOPERM: missing privilege (CAP_NET_ADMIN, /dev/net/tun access)   (restarting cannot help)
//   78  EX_CONFIG: peers.yaml, the key file, or this node not being a member (restarting cannot help)
//
// 70, 77 and 78 are the sysexits.h values, so `systemctl status` shows them as SOFTWARE, NOPERM
// and CONFIG.
import { isOverlayError } from '../errors.js';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
export const EXIT_SOFTWARE = 70;
export const EXIT_NOPERM = 77;
export const EXIT_CONFIG = 78;

export function exitCodeFor(err: unknown): number {
  if (!isOverlayError(err)) return EXIT_FAILURE;
  // An address in use is the same condition whichever listener met it, and it may clear (the
  // previous instance still exiting), so it is never classed as a usage error.
  if ((err.cause as NodeJS.ErrnoException | undefined)?.code === 'EADDRINUSE') return EXIT_FAILURE;
  switch (err.code) {
    case 'ERR_USAGE':
      return EXIT_USAGE;
    case 'ERR_CONFIG':
    case 'ERR_KEY_FILE':
    case 'ERR_NOT_MEMBER':
      return EXIT_CONFIG;
    case 'ERR_PERMISSION':
      return EXIT_NOPERM;
    default:
      return EXIT_FAILURE;
  }
}
