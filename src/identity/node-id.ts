// NodeId: a 32-bit name for a member, carried in cleartext packet headers so relays can forward
// without knowing anything else. It is derived from the public key, so every site computes the same
// id from the same peers.yaml; config loading rejects the (astronomically unlikely) collision.
import sodium from 'sodium-native';

export type NodeId = number;

const ID_DOMAIN = Buffer.from('overlayd node id v1');

export function nodeIdFromPublicKey(publicKey: Uint8Array): NodeId {
  const out = Buffer.alloc(16);
  sodium.crypto_generichash(out, Buffer.concat([ID_DOMAIN, publicKey]));
  const id = out.readUInt32BE(0);
  // 0 is reserved as "no node" on the wire.
  return id === 0 ? 1 : id;
}

export function formatNodeId(id: NodeId): string {
  return id.toString(16).padStart(8, '0');
}
