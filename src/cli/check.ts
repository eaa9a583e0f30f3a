// `overlayd check --peers FILE [--key FILE]`: validate peers.yaml (and that our key is a member)
// without starting anything. Exit status 0 means `up` would accept the same inputs; warnings (a valid
// file that probably will not work as meant) go to stderr and do not change the status.
import type { CommandModule } from 'yargs';
import { readKeyFile } from '../config/key-file.js';
import { loadConfig } from '../config/load.js';
import { findSelf } from '../config/self.js';
import { configWarnings, formatWarning } from '../config/warnings.js';
import { formatCidr } from '../config/cidr.js';

interface CheckArgs {
  peers: string;
  key?: string;
}

export const checkCommand: CommandModule<object, CheckArgs> = {
  command: 'check',
  describe: 'Validate peers.yaml; with --key also check this node is listed',
  builder: (y) =>
    y
      .option('peers', { type: 'string', demandOption: true, describe: 'Path to peers.yaml' })
      .option('key', { type: 'string', describe: 'Private key file of this node' }),
  handler: (args) => {
    const config = loadConfig(args.peers);
    for (const w of configWarnings(config))
      process.stderr.write(`overlayd: ${formatWarning(args.peers, w)}\n`);
    let line =
      `${args.peers}: ok, ${config.peers.length} members, prefix ${formatCidr(config.network.prefix)}, ` +
      `sha256 ${config.sha256.slice(0, 12)}`;
    if (args.key) {
      const self = findSelf(config, readKeyFile(args.key).publicKey);
      line += `, this node is ${self.name} (${self.address})`;
    }
    process.stdout.write(line + '\n');
  },
};
