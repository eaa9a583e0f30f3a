// argv → command. Each command lives in cli/; errors meant for the operator are printed as one line
// (`overlayd: <message>`) without a stack trace, and the exit status says what kind of failure it was
// (cli/exit-codes.ts). Only a bug (an error that is not an OverlayError) prints its stack.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { isOverlayError } from './errors.js';
import { checkCommand } from './cli/check.js';
import { EXIT_USAGE, exitCodeFor } from './cli/exit-codes.js';
import { keygenCommand } from './cli/keygen.js';
import { pubkeyCommand } from './cli/pubkey.js';
import { pathsCommand } from './cli/paths.js';
import { pingCommand } from './cli/ping.js';
import { reloadCommand } from './cli/reload.js';
import { statusCommand } from './cli/status.js';
import { traceCommand } from './cli/trace.js';
import { upCommand } from './cli/up.js';
import { overlaydVersion } from './version.js';

async function main(argv: string[]): Promise<void> {
  await yargs(argv)
    .scriptName('overlayd')
    .usage(
      '$0 <command> [options]\n\nA user-space overlay routing daemon: measured, multi-hop, end-to-end encrypted paths.',
    )
    .command(keygenCommand)
    .command(pubkeyCommand)
    .command(checkCommand)
    .command(upCommand)
    .command(statusCommand)
    .command(pathsCommand)
    .command(pingCommand)
    .command(traceCommand)
    .command(reloadCommand)
    .demandCommand(1, 'Name a command (see --help).')
    .strict()
    .help()
    .alias('h', 'help')
    .version('version', 'Print the version and exit', `overlayd ${overlaydVersion()}`)
    .alias('V', 'version')
    .epilogue('Exit status: 0 success, 1 failure, 2 bad usage, 77 missing privilege, 78 configuration error.')
    .fail((msg, err) => {
      if (err) throw err;
      process.stderr.write(`overlayd: ${msg}\nRun 'overlayd --help' for usage.\n`);
      process.exit(EXIT_USAGE);
    })
    .parseAsync();
}

// `overlayd status --watch | head`: a reader that went away ends the output; it is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

main(hideBin(process.argv)).catch((err: unknown) => {
  if (isOverlayError(err)) {
    process.stderr.write(`overlayd: ${err.message}\n`);
  } else {
    process.stderr.write(
      `overlayd: unexpected error (a bug; please report it with this trace): ` +
        `${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
  }
  process.exit(exitCodeFor(err));
});
