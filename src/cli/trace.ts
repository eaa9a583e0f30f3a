// `overlayd trace <member>`: the hops of the chosen path, each pinged along the path prefix (like
// traceroute, but over the overlay's own source route).
import type { CommandModule } from 'yargs';
import { OverlayError } from '../errors.js';
import { callDaemon, printJson, withControlOptions, type ControlArgs } from './control-options.js';
import { ms, table } from './format.js';

interface TraceResult {
  target: string;
  path: string[] | null;
  hops: Array<{
    hop: number;
    name: string;
    address?: string;
    rttMs: number | null;
    linkCostMs: number | null;
  }>;
}

export const traceCommand: CommandModule<object, ControlArgs & { target: string }> = {
  command: 'trace <target>',
  describe: 'Show the hops of the path to a member, with the round trip to each',
  builder: (y) =>
    withControlOptions(y).positional('target', {
      type: 'string',
      demandOption: true,
      describe: 'Member name or overlay address',
    }),
  handler: async (args) => {
    const r = await callDaemon<TraceResult>(args, 'trace', { target: args.target }, 60_000);
    const last = r.hops[r.hops.length - 1];
    const failure = !r.path
      ? `${r.target} is unreachable: no path`
      : !last || last.rttMs === null
        ? `${r.target} did not answer along ${r.path.join('→')}`
        : undefined;
    if (args.json) printJson(r);
    else if (r.path) printHops(r, r.path);
    if (failure) throw new OverlayError('ERR_UNREACHABLE', failure);
  },
};

function printHops(r: TraceResult, path: string[]): void {
  const rows = r.hops.map((h) => [
    String(h.hop),
    h.name,
    h.address ?? '-',
    h.rttMs === null ? 'timeout' : ms(h.rttMs),
    ms(h.linkCostMs),
  ]);
  process.stdout.write(
    `trace ${r.target}: ${path.join('→')}\n\n` +
      table(['HOP', 'MEMBER', 'ADDRESS', 'RTT', 'LINK COST'], rows) +
      '\n',
  );
}
