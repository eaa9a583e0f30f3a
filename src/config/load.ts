// Reads peers.yaml from disk and validates it. Messages name the file as the caller gave it (the
// path the operator typed), so "peers.yaml:12: ..." points at the file they just edited;
// OverlayConfig.file holds the absolute path for later messages.
import { readFileSync } from 'node:fs';
import { OverlayError } from '../errors.js';
import { parseConfig } from './parse.js';
import type { OverlayConfig } from './types.js';

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

/** Throws OverlayError ERR_CONFIG if the file cannot be read or is invalid (see parseConfig). */
export function loadConfig(path: string): OverlayConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new OverlayError('ERR_CONFIG', readProblem(path, err), { cause: err });
  }
  return parseConfig(text, path);
}
