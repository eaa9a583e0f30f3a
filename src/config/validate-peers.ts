// The `peers:` list: each entry (validate-peer.ts), then what must be unique across members.
// A duplicate is reported at the later entry and names the first, which is usually the one to keep.
import { formatNodeId, type NodeId } from '../identity/node-id.js';
import { toCidr } from './cidr.js';
import { checkSubnets } from './subnet-overlaps.js';
import type { NetworkCheck } from './validate-network.js';
import { validatePeer, type Located, type PeerDraft } from './validate-peer.js';
import type { PeerConfig } from './types.js';
import type { ConfigReader, Field } from './yaml-reader.js';

export type NodeIdOf = (publicKey: Uint8Array) => NodeId;

function label(draft: PeerDraft): string {
  return draft.name === null ? draft.path : `${draft.path} '${draft.name.value}'`;
}

/**
 * Reports the second and later entries whose value (after `keyOf`) was already taken. Entries
 * where the value could not be read are skipped: they were reported already.
 */
function checkUnique<T>(
  reader: ConfigReader,
  drafts: readonly PeerDraft[],
  field: string,
  pick: (d: PeerDraft) => Located<T> | null | undefined,
  keyOf: (v: T) => string,
  message: (v: T, first: PeerDraft, firstLine: number) => string,
): void {
  const seen = new Map<string, { draft: PeerDraft; line: number }>();
  for (const draft of drafts) {
    const located = pick(draft);
    if (located === null || located === undefined) continue;
    const key = keyOf(located.value);
    const first = seen.get(key);
    if (first === undefined) {
      seen.set(key, { draft, line: located.line });
    } else {
      reader.report(located.line, `${draft.path}.${field}`, message(located.value, first.draft, first.line));
    }
  }
}

/**
 * NodeIds travel in packet headers, so two members with the same id could not be told apart.
 * With 32-bit ids and a few hundred members a collision is astronomically unlikely, but a silent
 * one would misroute traffic, so it is checked. Identical keys are reported as duplicates instead.
 */
export function checkNodeIdCollisions(
  reader: ConfigReader,
  drafts: readonly PeerDraft[],
  nodeIdOf: NodeIdOf,
): Map<PeerDraft, NodeId> {
  const ids = new Map<PeerDraft, NodeId>();
  const byId = new Map<NodeId, { draft: PeerDraft; line: number }>();
  const keys = new Set<string>();
  for (const draft of drafts) {
    const key = draft.publicKey;
    if (key === null) continue;
    const keyText = key.value.toString('base64');
    if (keys.has(keyText)) continue;
    keys.add(keyText);
    const id = nodeIdOf(key.value);
    ids.set(draft, id);
    const first = byId.get(id);
    if (first === undefined) {
      byId.set(id, { draft, line: key.line });
      continue;
    }
    reader.report(
      key.line,
      `${draft.path}.publicKey`,
      `node id ${formatNodeId(id)} collides with ${label(first.draft)} (line ${first.line}); generate a new key for one of them`,
    );
  }
  return ids;
}

function buildPeer(draft: PeerDraft, id: NodeId | undefined): PeerConfig | null {
  const { name, publicKey, address, address6, endpoints, subnets } = draft;
  if (name === null || publicKey === null || address === null || address6 === null) return null;
  if (endpoints === null || subnets === null) return null;
  if (id === undefined) return null;
  return {
    name: name.value,
    publicKey: publicKey.value,
    publicKeyText: publicKey.value.toString('base64'),
    id,
    address: address.value,
    ...(address6 === undefined ? {} : { address6: address6.value }),
    endpoints,
    subnets: subnets.map((s) => ({ prefix: toCidr(s.cidr), masquerade: s.masquerade, line: s.line })),
  };
}

/** The members, complete only if nothing was reported; the caller checks `reader.problems`. */
export function validatePeers(
  reader: ConfigReader,
  field: Field,
  net: NetworkCheck,
  nodeIdOf: NodeIdOf,
): PeerConfig[] {
  const seq = reader.seq(field, "; write each member as an item starting with '- name: '");
  if (seq === null) return [];
  if (seq.items.length === 0) {
    reader.report(field.line, field.path, 'must list at least one member');
    return [];
  }
  const drafts: PeerDraft[] = [];
  seq.items.forEach((node, i) => {
    const line = reader.lineOf(node, field.line);
    const draft = validatePeer(reader, reader.resolve(node), line, i, net);
    if (draft !== null) drafts.push(draft);
  });

  checkUnique(
    reader,
    drafts,
    'name',
    (d) => d.name,
    (name) => name.toLowerCase(),
    (name, first, line) => {
      const firstName = first.name?.value ?? name;
      const nocase = firstName === name ? '' : ` as '${firstName}'; names are compared ignoring case`;
      return `duplicate name '${name}' (already used by ${first.path} at line ${line}${nocase})`;
    },
  );
  checkUnique(
    reader,
    drafts,
    'publicKey',
    (d) => d.publicKey,
    (key) => key.toString('base64'),
    (_key, first, line) => `duplicate key (already used by ${label(first)} at line ${line})`,
  );
  checkUnique(
    reader,
    drafts,
    'address',
    (d) => d.address,
    (a) => a,
    (a, first, line) => `duplicate address ${a} (already used by ${label(first)} at line ${line})`,
  );
  checkUnique(
    reader,
    drafts,
    'address6',
    (d) => d.address6,
    (a) => a,
    (a, first, line) => `duplicate address ${a} (already used by ${label(first)} at line ${line})`,
  );
  const ids = checkNodeIdCollisions(reader, drafts, nodeIdOf);
  checkSubnets(reader, drafts);

  const peers: PeerConfig[] = [];
  for (const draft of drafts) {
    const peer = buildPeer(draft, ids.get(draft));
    if (peer !== null) peers.push(peer);
  }
  return peers;
}
