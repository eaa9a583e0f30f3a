// The kernel's errors from opening the TUN device and the UDP port, turned into what an operator
// needs: which file or port, what is wrong with it, and what to do. Anything not recognised keeps the
// kernel's own message (with its errno name), still as one line.
import { statSync } from 'node:fs';
import { isOverlayError, OverlayError } from '../errors.js';
import { needsNetAdmin } from './up-checks.js';

const TUN_DEVICE = '/dev/net/tun';

function describeMode(path: string): string {
  try {
    const st = statSync(path);
    return `mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}, owner uid ${st.uid} gid ${st.gid}`;
  } catch {
    return 'mode unknown';
  }
}

export function explainTunError(err: unknown, interfaceName: string): unknown {
  const e = err as NodeJS.ErrnoException;
  if (isOverlayError(err) || typeof e?.code !== 'string') return err;
  const opening = /open \/dev\/net\/tun/.test(e.message);
  switch (e.code) {
    case 'EACCES':
      if (!opening) break;
      return new OverlayError(
        'ERR_PERMISSION',
        `cannot open ${TUN_DEVICE}: permission denied (${describeMode(TUN_DEVICE)}; this process runs as ` +
          `uid ${process.geteuid?.() ?? '?'}). The daemon's user needs read-write access: the usual mode is ` +
          `0666 (systemd's udev rules set it; opening it grants nothing without CAP_NET_ADMIN). Run ` +
          `'chmod 0666 ${TUN_DEVICE}', and keep it with deploy/udev/60-overlayd-tun.rules (deploy/README.md)`,
        { cause: err },
      );
    case 'ENOENT':
    case 'ENODEV':
      if (!opening) break;
      return new OverlayError(
        'ERR_TUN',
        `${TUN_DEVICE} does not exist: load the TUN driver (modprobe tun), or in a container pass the ` +
          `device in (e.g. --device /dev/net/tun)`,
        { cause: err },
      );
    case 'EPERM':
      return needsNetAdmin(`the kernel refused to create ${interfaceName}: ${e.message}`);
    case 'EBUSY':
      return new OverlayError(
        'ERR_TUN',
        `interface ${interfaceName} is in use by another process (another overlayd? try ` +
          `'overlayd status --interface ${interfaceName}'); stop it, or choose another name with --interface`,
        { cause: err },
      );
    case 'EINVAL':
      if (!/TUNSETIFF/.test(e.message)) break;
      return new OverlayError(
        'ERR_TUN',
        `cannot create TUN interface ${interfaceName}: ${e.message} (does a non-TUN interface of that ` +
          `name exist? 'ip link show ${interfaceName}')`,
        { cause: err },
      );
  }
  return new OverlayError('ERR_TUN', `cannot set up TUN interface ${interfaceName}: ${e.message}`, {
    cause: err,
  });
}

export function explainTransportError(err: unknown, port: number): unknown {
  const cause = (isOverlayError(err) ? err.cause : err) as NodeJS.ErrnoException | undefined;
  if (cause?.code === 'EADDRINUSE') {
    return new OverlayError(
      'ERR_TRANSPORT',
      `UDP port ${port} is in use (another overlayd? 'ss -ulpn sport = :${port}' shows who); stop it, or ` +
        `choose another port with --port or network.port`,
      { cause },
    );
  }
  return err;
}
