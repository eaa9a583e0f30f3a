// What `overlayd up` checks before it opens anything: the values on its command line, and the one
// privilege it cannot run without. Each failure is one line saying what to do, not a stack trace from
// deep inside the TUN binding.
import { readFileSync } from 'node:fs';
import { OverlayError } from '../errors.js';

/** `--port` arrives as text, so "abc" is reported as written instead of as NaN. */
export function parsePortOption(value: string | undefined, option = '--port'): number | undefined {
  if (value === undefined) return undefined;
  const text = String(value).trim();
  const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(port >= 1 && port <= 65535)) {
    throw new OverlayError(
      'ERR_USAGE',
      `${option} ${JSON.stringify(value)} is not a ${option === '--port' ? 'UDP' : 'TCP'} port number (1..65535)`,
    );
  }
  return port;
}

/** Linux's rules for interface names (dev_valid_name): 1..15 bytes, no '/', ':' or whitespace. */
export function checkInterfaceName(name: string): void {
  const bytes = Buffer.byteLength(name);
  if (bytes === 0) throw new OverlayError('ERR_USAGE', '--interface is empty');
  if (bytes > 15) {
    throw new OverlayError(
      'ERR_USAGE',
      `--interface '${name}' is ${bytes} bytes; Linux interface names are at most 15 (e.g. ovl0)`,
    );
  }
  if (name === '.' || name === '..' || /[/:\s]/.test(name)) {
    throw new OverlayError(
      'ERR_USAGE',
      `--interface '${name}' is not a valid interface name (no '/', ':' or spaces)`,
    );
  }
}

const CAP_NET_ADMIN = 12n;

/**
 * True/false from the effective capability set in /proc/self/status; undefined where that cannot be
 * read (then the kernel's answer to TUNSETIFF decides, see tun-errors.ts).
 */
export function hasNetAdmin(procStatus?: string): boolean | undefined {
  let text = procStatus;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/status', 'utf8');
    } catch {
      return undefined;
    }
  }
  const m = /^CapEff:\s*([0-9a-fA-F]+)\s*$/m.exec(text);
  if (!m) return undefined;
  return ((BigInt(`0x${m[1]}`) >> CAP_NET_ADMIN) & 1n) === 1n;
}

export function needsNetAdmin(detail: string): OverlayError {
  return new OverlayError(
    'ERR_PERMISSION',
    `overlayd up needs root or CAP_NET_ADMIN (${detail}): run it with sudo, or as the systemd unit in ` +
      `deploy/systemd/ does (a service user holding CAP_NET_ADMIN only)`,
  );
}

/** Fails before anything is opened when the process plainly lacks CAP_NET_ADMIN. */
export function checkNetAdmin(procStatus?: string): void {
  if (hasNetAdmin(procStatus) === false) {
    throw needsNetAdmin(`running as uid ${process.geteuid?.() ?? '?'} without it`);
  }
}
