// `overlayd paths`: the route table (destination → full path, cost, path MTU, age), why each path was chosen
// over the alternatives (the best path through each neighbour, with costs), and the recent changes;
// then the subnets with the gateway carrying each, the path to every gateway and why.
import type { CommandModule } from 'yargs';
import type { PathsReport } from '../control/status.js';
import { callDaemon, printJson, withControlOptions, type ControlArgs } from './control-options.js';
import { duration, ms, table } from './format.js';
import { renderSubnetPaths } from './subnet-view.js';
import { byText } from '../text-order.js';

export const pathsCommand: CommandModule<object, ControlArgs> = {
  command: 'paths',
  describe: 'Show the path chosen to every destination and recent path changes',
  builder: (y) => withControlOptions(y),
  handler: async (args) => {
    const r = await callDaemon<PathsReport>(args, 'paths');
    if (args.json) return printJson(r);
    const rows = r.paths
      .sort((a, b) => byText(a.destination, b.destination))
      .map((p) => [
        p.destination,
        p.path.join('→'),
        String(p.hops),
        ms(p.costMs),
        p.mtu === undefined ? '-' : String(p.mtu),
        duration(p.ageMs),
        p.lastChange ?? '-',
      ]);
    // The chosen path and what it would fall back to, with costs and the reason for the choice.
    const choices = r.paths.map(
      (p) =>
        `  ${p.destination}: ${p.why}\n` +
        (p.alternatives
          .map((a) => `      ${a.chosen ? '*' : ' '} ${a.path.join('→')}  ${ms(a.costMs)}`)
          .join('\n') || '      (no alternative through any neighbour)'),
    );
    const changes = r.changes
      .slice(-10)
      .map(
        (c) =>
          `  ${c.at}  ${c.destination}: ${c.from?.join('→') ?? 'none'} ⇒ ${c.to?.join('→') ?? 'none'} (${c.summary})`,
      );
    process.stdout.write(
      `paths from ${r.node}\n\n` +
        table(['DESTINATION', 'PATH', 'HOPS', 'COST', 'MTU', 'SINCE', 'LAST CHANGE'], rows) +
        `\n\nwhy, and the best path through each neighbour (* = chosen):\n${choices.join('\n')}` +
        `\n\nrecent changes:\n${changes.join('\n') || '  none'}` +
        renderSubnetPaths(r) +
        '\n',
    );
  },
};
