// Things in a valid peers.yaml that are probably mistakes: the daemon runs with them, but the network
// will not work the way the file suggests. `overlayd check` prints them, and the daemon logs them at
// start and at every reload.
import { endpointKey } from '../transport/transport.js';
import type { OverlayConfig } from './types.js';

export interface ConfigWarning {
  /** 1-based line, when the warning is about one place in the file. */
  line?: number;
  /** Field path such as `peers[2].endpoints[0]`, when there is one. */
  field?: string;
  message: string;
}

export function configWarnings(config: OverlayConfig): ConfigWarning[] {
  const warnings: ConfigWarning[] = [];
  if (config.peers.length > 1 && config.peers.every((p) => p.endpoints.length === 0)) {
    warnings.push({
      message:
        'no member lists an endpoint, so no member can contact another: give at least one member ' +
        '(one with a public address or a forwarded UDP port) its host:port under endpoints',
    });
  }
  // One UDP socket belongs to one daemon: two members at the same host:port is a copy-paste slip, and
  // probes for one would be answered by the other (or by nobody).
  const firstUse = new Map<string, { name: string; line: number }>();
  config.peers.forEach((peer, i) => {
    peer.endpoints.forEach((e, j) => {
      const key = endpointKey(e);
      const first = firstUse.get(key);
      if (first === undefined) firstUse.set(key, { name: peer.name, line: e.line });
      else if (first.name !== peer.name) {
        warnings.push({
          line: e.line,
          field: `peers[${i}].endpoints[${j}]`,
          message:
            `${key} is also an endpoint of '${first.name}' (line ${first.line}); one UDP port reaches ` +
            `one daemon, so '${peer.name}' and '${first.name}' cannot both be there`,
        });
      }
    });
  });
  return warnings;
}

export function formatWarning(file: string, w: ConfigWarning): string {
  const where = w.line === undefined ? file : `${file}:${w.line}`;
  return `${where}: warning: ${w.field ? `${w.field}: ` : ''}${w.message}`;
}
