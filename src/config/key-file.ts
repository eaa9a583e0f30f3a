// The node's private key on disk: the 32-byte Ed25519 seed in base64 and a newline, mode 0600.
// Whoever reads this file can impersonate the node to every member, so we refuse to use a file
// that others can read, and write it so it is never readable by them, not even for an instant.
import {
  closeSync,
  constants,
  fstatSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import sodium from 'sodium-native';
import { OverlayError } from '../errors.js';
import { keyPairFromSeed, SEED_BYTES, type KeyPair } from '../identity/keys.js';

export interface WriteKeyFileOptions {
  /** Replace an existing key file. The old key is lost: peers.yaml must then list the new one. */
  force?: boolean;
}

const MAX_KEY_FILE_BYTES = 4096;

function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

function keyFileError(message: string, cause?: unknown): OverlayError {
  return new OverlayError('ERR_KEY_FILE', message, cause === undefined ? undefined : { cause });
}

/** Creates `path` with mode 0600 (O_EXCL, so an existing file or planted symlink is never followed). */
function createExclusive(path: string, content: string): void {
  const fd = openSync(path, 'wx', 0o600);
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * A missing directory is refused, not created: who owns the directory of a private key, and its mode,
 * matter (deploy/README.md makes /etc/overlayd root:overlayd 0750), and a typo in the path would
 * otherwise plant the key somewhere nobody looks.
 */
function checkDirectory(path: string): void {
  const dir = dirname(path);
  let st;
  try {
    st = statSync(dir);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') {
      throw keyFileError(
        `cannot write key file ${path}: directory ${dir} does not exist; create it first ` +
          `(e.g. install -d -m 0700 ${dir}), then run keygen again`,
        err,
      );
    }
    return; // other problems surface, with their own message, when the file is created
  }
  if (!st.isDirectory()) throw keyFileError(`cannot write key file ${path}: ${dir} is not a directory`);
}

/**
 * Writes a new key file into an existing directory. With `force`, the new file is written beside the
 * old one and renamed over it, so the path always holds one whole key and the old file's (possibly
 * looser) mode is not inherited.
 */
export function writeKeyFile(path: string, seed: Uint8Array, options: WriteKeyFileOptions = {}): void {
  if (seed.byteLength !== SEED_BYTES) throw new RangeError(`seed must be ${SEED_BYTES} bytes`);
  const content = `${Buffer.from(seed).toString('base64')}\n`;
  checkDirectory(path);
  try {
    if (!options.force) {
      createExclusive(path, content);
      return;
    }
    const temp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
    try {
      createExclusive(temp, content);
      renameSync(temp, path);
    } catch (err) {
      rmSync(temp, { force: true });
      throw err;
    }
  } catch (err) {
    if (errnoCode(err) === 'EEXIST' && !options.force) {
      throw keyFileError(
        `${path} already exists; refusing to overwrite a private key (use --force to replace it)`,
        err,
      );
    }
    const reason = err instanceof Error ? err.message : String(err);
    throw keyFileError(`cannot write key file ${path}: ${reason}`, err);
  }
}

/** Opens without following into a FIFO or device wait: O_NONBLOCK is harmless for regular files. */
function openForRead(path: string): number {
  try {
    return openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT') {
      throw keyFileError(`key file ${path} does not exist; create one with 'overlayd keygen'`, err);
    }
    if (code === 'EACCES' || code === 'EPERM')
      throw keyFileError(`cannot read key file ${path}: permission denied`, err);
    const reason = err instanceof Error ? err.message : String(err);
    throw keyFileError(`cannot read key file ${path}: ${reason}`, err);
  }
}

/** Reads and checks a key file; the seed is wiped from memory once the key pair is derived. */
export function readKeyFile(path: string): KeyPair {
  const fd = openForRead(path);
  let text: string;
  try {
    // fstat on the open descriptor: the file checked is the file read, even if the path is swapped.
    const st = fstatSync(fd);
    if (!st.isFile()) throw keyFileError(`key file ${path} is not a regular file`);
    // A key file is 45 bytes; anything much larger is the wrong file (and must not be read whole).
    if (st.size > MAX_KEY_FILE_BYTES) {
      throw keyFileError(`key file ${path} is ${st.size} bytes, not a key file (those are 45 bytes)`);
    }
    const mode = st.mode & 0o777;
    if ((mode & 0o077) !== 0) {
      throw keyFileError(
        `key file ${path} has mode ${mode.toString(8).padStart(4, '0')}, which lets other users read it; run: chmod 600 ${path}`,
      );
    }
    text = readFileSync(fd, 'utf8').trim();
  } finally {
    closeSync(fd);
  }
  const seed = Buffer.from(text, 'base64');
  try {
    // Round-trip check: Buffer.from silently skips invalid characters. The content is a secret,
    // so the message describes it without quoting it.
    if (seed.length !== SEED_BYTES || seed.toString('base64') !== text) {
      throw keyFileError(`key file ${path} does not contain a base64-encoded ${SEED_BYTES}-byte private key`);
    }
    return keyPairFromSeed(seed);
  } finally {
    sodium.sodium_memzero(seed);
  }
}
