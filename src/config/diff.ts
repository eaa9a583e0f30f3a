// What a reload changes. Members are matched by public key, the identity every other site knows
// them by: a renamed or renumbered member is `changed`, a re-keyed one is removed and added (its
// sessions must be rebuilt anyway). Network fields are only listed: the daemon cannot change the
// prefix, port or MTU of a running interface and socket, so it refuses those and says so.
import { endpointKey } from '../transport/transport.js';
import { formatCidr } from './cidr.js';
import type { Cidr, NetworkConfig, OverlayConfig, PeerConfig } from './types.js';

export interface ConfigDiff {
  /** In new-file order. */
  added: PeerConfig[];
  /** In old-file order; these are the old entries. */
  removed: PeerConfig[];
  /** The new entries of members whose name, addresses, endpoints or subnets differ; in new-file order. */
  changed: PeerConfig[];
  /** Names of network fields whose value differs (prefix, prefix6, port, mtu, neighbours). */
  networkChanged: Array<keyof NetworkConfig>;
}

function cidrText(cidr: Cidr | undefined): string {
  return cidr === undefined ? '' : formatCidr(cidr);
}

function networkChanges(a: NetworkConfig, b: NetworkConfig): Array<keyof NetworkConfig> {
  const changed: Array<keyof NetworkConfig> = [];
  if (cidrText(a.prefix) !== cidrText(b.prefix)) changed.push('prefix');
  if (cidrText(a.prefix6) !== cidrText(b.prefix6)) changed.push('prefix6');
  if (a.port !== b.port) changed.push('port');
  if (a.mtu !== b.mtu) changed.push('mtu');
  if (a.neighbours !== b.neighbours) changed.push('neighbours');
  if (a.tcpPort !== b.tcpPort) changed.push('tcpPort');
  if (a.tls?.cert !== b.tls?.cert || a.tls?.key !== b.tls?.key) changed.push('tls');
  if (a.natKeepalive !== b.natKeepalive) changed.push('natKeepalive');
  return changed;
}

/** Endpoint order counts (it is the order they are tried in); the line they are on does not. */
function endpointsText(peer: PeerConfig): string {
  return peer.endpoints.map(endpointKey).join(' ');
}

/** Subnets and their options; order does not count (each is routed on its own). */
function subnetsText(peer: PeerConfig): string {
  return peer.subnets
    .map((s) => `${formatCidr(s.prefix)}${s.masquerade ? ' masquerade' : ''}`)
    .sort()
    .join(' ');
}

function peerChanged(a: PeerConfig, b: PeerConfig): boolean {
  return (
    a.name !== b.name ||
    a.address !== b.address ||
    a.address6 !== b.address6 ||
    endpointsText(a) !== endpointsText(b) ||
    subnetsText(a) !== subnetsText(b)
  );
}

export function diffConfig(oldCfg: OverlayConfig, newCfg: OverlayConfig): ConfigDiff {
  const oldByKey = new Map(oldCfg.peers.map((p) => [p.publicKeyText, p]));
  const newKeys = new Set(newCfg.peers.map((p) => p.publicKeyText));
  const added: PeerConfig[] = [];
  const changed: PeerConfig[] = [];
  for (const peer of newCfg.peers) {
    const before = oldByKey.get(peer.publicKeyText);
    if (before === undefined) added.push(peer);
    else if (peerChanged(before, peer)) changed.push(peer);
  }
  const removed = oldCfg.peers.filter((p) => !newKeys.has(p.publicKeyText));
  return { added, removed, changed, networkChanged: networkChanges(oldCfg.network, newCfg.network) };
}
