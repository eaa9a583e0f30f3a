// Which member of peers.yaml this node is: the one listing our public key. Matching by key rather
// than by a name on the command line means a copied key file can't make a node act as another.
import { OverlayError } from '../errors.js';
import type { OverlayConfig, PeerConfig } from './types.js';

/** Throws ERR_NOT_MEMBER with the key in the form to paste into peers.yaml. */
export function findSelf(config: OverlayConfig, publicKey: Uint8Array): PeerConfig {
  const key = Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.byteLength);
  const self = config.peers.find((p) => p.publicKey.equals(key));
  if (self !== undefined) return self;
  throw new OverlayError(
    'ERR_NOT_MEMBER',
    `this node's public key ${key.toString('base64')} is not listed in ${config.file}`,
  );
}
