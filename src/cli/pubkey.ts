// `overlayd pubkey --key FILE`: the public key of an existing private key (to paste into peers.yaml).
import type { CommandModule } from 'yargs';
import { readKeyFile } from '../config/key-file.js';

export const pubkeyCommand: CommandModule<object, { key: string }> = {
  command: 'pubkey',
  describe: 'Print the public key of a private key file',
  builder: (y) => y.option('key', { type: 'string', demandOption: true, describe: 'Private key file' }),
  handler: (args) => {
    process.stdout.write(readKeyFile(args.key).publicKey.toString('base64') + '\n');
  },
};
