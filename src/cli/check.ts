// `overlayd check --peers FILE [--key FILE]`: validate peers.yaml (and that our key is a member)
// without starting anything. Exit status 0 means `up` would accept the same inputs.
import type { CommandModule } from 'yargs';
import { readKeyFile } from '../config/key-file.js';
import { loadConfig } from '../config/load.js';
import { findSelf } from '../config/self.js';

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
    let line = `${args.peers}: ok, ${config.peers.length} members, prefix ${config.network.prefix.address}/${config.network.prefix.prefixLength}`;
    if (args.key) {
      const self = findSelf(config, readKeyFile(args.key).publicKey);
      line += `, this node is ${self.name} (${self.address})`;
    }
    process.stdout.write(line + '\n');
  },
};
