// `overlayd ping <member>`: overlay-level round trips along the chosen path and over the direct link,
// side by side, so an operator sees what routing around the direct path buys.
import type { CommandModule } from 'yargs';
import { OverlayError } from '../errors.js';
import { callDaemon, printJson, withControlOptions, type ControlArgs } from './control-options.js';
import { ms } from './format.js';

interface PingArgs extends ControlArgs {
  target: string;
  count: number;
}

interface PingResult {
  target: string;
  path: string[] | null;
  pathRttMs: Array<number | null>;
  directRttMs: Array<number | null>;
}

function summary(rtts: Array<number | null>): string {
  const ok = rtts.filter((r): r is number => r !== null);
  if (ok.length === 0) return `${rtts.length} sent, 0 answered`;
  const avg = ok.reduce((a, b) => a + b, 0) / ok.length;
  return `${rtts.length} sent, ${ok.length} answered, min ${ms(Math.min(...ok))} avg ${ms(avg)} max ${ms(Math.max(...ok))}`;
}

export const pingCommand: CommandModule<object, PingArgs> = {
  command: 'ping <target>',
  describe: 'Round-trip times to a member (name or overlay address): chosen path and direct link',
  builder: (y) =>
    withControlOptions(y)
      .positional('target', {
        type: 'string',
        demandOption: true,
        describe: 'Member name or overlay address',
      })
      .option('count', { alias: 'c', type: 'number', default: 3, describe: 'Probes to send (max 100)' }),
  handler: async (args) => {
    if (!(Number.isInteger(args.count) && args.count >= 1 && args.count <= 100)) {
      throw new OverlayError(
        'ERR_USAGE',
        `--count ${JSON.stringify(args.count)} must be a whole number 1..100`,
      );
    }
    const r = await callDaemon<PingResult>(args, 'ping', { target: args.target, count: args.count }, 120_000);
    if (args.json) printJson(r);
    else {
      process.stdout.write(
        `ping ${r.target}\n` +
          `  path ${r.path ? r.path.join('→') : '(none)'}: ${r.path ? summary(r.pathRttMs) : 'unreachable'}\n` +
          `  direct: ${summary(r.directRttMs)}\n`,
      );
    }
    // Like ping(8): success if the destination answered at all, on the chosen path or the direct link.
    if (![...r.pathRttMs, ...r.directRttMs].some((rtt) => rtt !== null)) {
      throw new OverlayError(
        'ERR_UNREACHABLE',
        r.path
          ? `${r.target} did not answer (${args.count} probes along ${r.path.join('→')} and direct)`
          : `${r.target} is unreachable: no path, and no answer on the direct link`,
      );
    }
  },
};
