// `overlayd trace <member>`: the hops of the chosen path, each pinged along the path prefix (like
// traceroute, but over the overlay's own source route).
import type { CommandModule } from 'yargs';
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
    if (args.json) return printJson(r);
    if (!r.path) {
      process.stdout.write(`trace ${r.target}: unreachable (no path)\n`);
      return;
    }
    const rows = r.hops.map((h) => [
      String(h.hop),
      h.name,
      h.address ?? '-',
      h.rttMs === null ? 'timeout' : ms(h.rttMs),
      ms(h.linkCostMs),
    ]);
    process.stdout.write(
      `trace ${r.target}: ${r.path.join('→')}\n\n` +
        table(['HOP', 'MEMBER', 'ADDRESS', 'RTT', 'LINK COST'], rows) +
        '\n',
    );
  },
};
