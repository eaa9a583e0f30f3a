// `overlayd keygen --out FILE`: a new identity. The private key file is created 0600 and never
// overwritten by accident; the public key goes to stdout for peers.yaml.
import type { CommandModule } from 'yargs';
import { writeKeyFile } from '../config/key-file.js';
import { generateSeed, keyPairFromSeed } from '../identity/keys.js';

interface KeygenArgs {
  out: string;
  force: boolean;
}

export const keygenCommand: CommandModule<object, KeygenArgs> = {
  command: 'keygen',
  describe: 'Create a private key file (mode 0600) and print its public key',
  builder: (y) =>
    y
      .option('out', { type: 'string', demandOption: true, describe: 'Where to write the private key' })
      .option('force', { type: 'boolean', default: false, describe: 'Overwrite an existing key file' }),
  handler: (args) => {
    const seed = generateSeed();
    writeKeyFile(args.out, seed, { force: args.force });
    const { publicKey } = keyPairFromSeed(seed);
    process.stdout.write(publicKey.toString('base64') + '\n');
  },
};
