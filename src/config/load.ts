// Reads peers.yaml from disk and validates it. Messages name the file as the caller gave it (the
// path the operator typed), so "peers.yaml:12: ..." points at the file they just edited;
// OverlayConfig.file holds the absolute path for later messages.
//
// The read is bounded: a wrong path (/dev/zero, a disk image, a log file) fails at once with a size
// message instead of filling memory, and a FIFO or process substitution still works.
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { OverlayError } from '../errors.js';
import { parseConfig } from './parse.js';
import type { OverlayConfig } from './types.js';

/**
 * Largest peers.yaml accepted. A member takes ~200 bytes (a few hundred with subnets and comments), so
 * 1 MiB is several thousand members, far past what one overlay is built for.
 */
export const MAX_CONFIG_BYTES = 1 << 20;

function readProblem(path: string, err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return `cannot read ${path}: no such file (pass the path to peers.yaml)`;
    case 'EACCES':
    case 'EPERM':
      return `cannot read ${path}: permission denied`;
    case 'EISDIR':
      return `cannot read ${path}: it is a directory, expected the peers.yaml file`;
    default:
      return `cannot read ${path}: ${err instanceof Error ? err.message : String(err)}`;
  }
}

function tooLarge(path: string, what: string): OverlayError {
  return new OverlayError(
    'ERR_CONFIG',
    `${path}: ${what}; peers.yaml may be at most ${MAX_CONFIG_BYTES / 1024} KiB (is this the right file?)`,
  );
}

/** The file's text, refusing more than `limit` bytes without reading past it. */
export function readBounded(path: string, limit: number): string {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY);
  } catch (err) {
    throw new OverlayError('ERR_CONFIG', readProblem(path, err), { cause: err });
  }
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) throw new OverlayError('ERR_CONFIG', readProblem(path, { code: 'EISDIR' }));
    // A regular file says its size up front; devices and pipes are read up to the limit.
    if (st.isFile() && st.size > limit) throw tooLarge(path, `${st.size} bytes`);
    const buf = Buffer.alloc(limit + 1);
    let len = 0;
    for (;;) {
      const n = readSync(fd, buf, len, buf.length - len, null);
      if (n === 0) break;
      len += n;
      if (len > limit) throw tooLarge(path, `more than ${limit} bytes (reading stopped there)`);
    }
    return buf.toString('utf8', 0, len);
  } catch (err) {
    if (err instanceof OverlayError) throw err;
    throw new OverlayError('ERR_CONFIG', readProblem(path, err), { cause: err });
  } finally {
    closeSync(fd);
  }
}

/** Throws OverlayError ERR_CONFIG if the file cannot be read, is too large, or is invalid (see parseConfig). */
export function loadConfig(path: string): OverlayConfig {
  return parseConfig(readBounded(path, MAX_CONFIG_BYTES), path);
}
