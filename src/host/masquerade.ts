// Source NAT for the subnets this node is a gateway for with `masquerade: true` (peers.yaml): what the
// overlay sends into such a LAN leaves with this host's LAN address as its source, so the LAN's hosts
// answer this host without a route back to the overlay. The cost: LAN hosts see the gateway, not the
// member, and a connection does not survive a move to another gateway (its source address changes).
//
// The rules live in a table of our own, `inet overlayd_<interface>`, that nothing else touches and that
// we replace whole in one nft transaction ("create, delete, create with the rules"): idempotent, so a
// table left by a crashed run is replaced at start, or deleted when masquerade is no longer wanted
// (start, reload, exit).
import { formatCidr } from '../config/cidr.js';
import type { Cidr } from '../config/types.js';
import type { Logger } from '../log.js';
import { firstLine, type CommandRunner } from './command.js';

export interface MasqueradeState {
  /** Subnets masqueraded now. */
  prefixes: string[];
  /** Why the table could not be set, if it could not. */
  error?: string;
}

/** The table of a daemon on interface `dev`: letters, digits and '_' only (nft identifiers). */
export function masqueradeTable(dev: string): string {
  return `overlayd_${dev.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

export class Masquerade {
  private current: MasqueradeState = { prefixes: [] };
  readonly table: string;

  constructor(
    private readonly dev: string,
    private readonly run: CommandRunner,
    private readonly log: Logger,
  ) {
    this.table = masqueradeTable(dev);
  }

  /** Makes the table masquerade exactly `prefixes`; with none, removes it (and any stale one). */
  async sync(prefixes: readonly Cidr[]): Promise<void> {
    const texts = prefixes.map(formatCidr);
    const same = texts.join(' ') === this.current.prefixes.join(' ') && !this.current.error;
    if (same && texts.length > 0) return;
    const r = await this.run(['nft', '-f', '-'], this.script(prefixes));
    if (r.code === 0) {
      if (texts.length > 0 || this.current.prefixes.length > 0) {
        this.log.info(
          texts.length > 0
            ? `masquerade on for ${texts.join(', ')} (nft table inet ${this.table})`
            : `masquerade off (nft table inet ${this.table} removed)`,
        );
      }
      this.current = { prefixes: texts };
      return;
    }
    // Nothing wanted and nft unusable (not installed, no nftables in this kernel): nothing can be left.
    if (texts.length === 0) {
      this.current = { prefixes: [] };
      return;
    }
    const why = r.missing ? 'the `nft` command (nftables) is not installed' : firstLine(r.stderr);
    this.current = { prefixes: [], error: why };
    this.log.error(`masquerade for ${texts.join(', ')} not set: ${why}`);
  }

  /** Removes the table (exit). */
  async remove(): Promise<void> {
    await this.sync([]);
  }

  get state(): MasqueradeState {
    return this.current;
  }

  /** One transaction: the table created if absent, deleted, and created again with the wanted rules. */
  private script(prefixes: readonly Cidr[]): string {
    const t = `table inet ${this.table}`;
    const lines = [t, `delete ${t}`];
    if (prefixes.length > 0) {
      lines.push(
        `${t} {`,
        '  chain postrouting {',
        '    type nat hook postrouting priority 100; policy accept;',
        ...prefixes.map(
          (p) =>
            `    iifname "${this.dev}" ${p.family === 4 ? 'ip' : 'ip6'} daddr ${formatCidr(p)} masquerade`,
        ),
        '  }',
        '}',
      );
    }
    return lines.join('\n') + '\n';
  }
}
