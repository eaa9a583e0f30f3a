// `overlayd status [--watch] [--wide]`: this node and every member as it sees them: reachable (and if
// not, why), the path in use, the direct link's RTT and loss, the endpoint in use, the time since the
// last handshake. --watch redraws every second and shows path changes as they happen, so a person can
// watch traffic move around a failure; when stdout is not a terminal (a pipe, a log file) it writes
// timestamped plain-text snapshots instead of redrawing the screen.
import type { CommandModule } from 'yargs';
import { ControlClient } from '../control/client.js';
import type { RouteChangeRecord } from '../node/route-history.js';
import type { NodeStatus } from '../control/status.js';
import { OverlayError, isOverlayError } from '../errors.js';
import {
  callDaemon,
  printJson,
  socketPath,
  withControlOptions,
  type ControlArgs,
} from './control-options.js';
import { renderStatus } from './status-view.js';

interface StatusArgs extends ControlArgs {
  watch: boolean;
  wide: boolean;
  interval: number;
}

export function renderChange(r: RouteChangeRecord, nameOf: (id: number) => string): string {
  const path = (p: number[] | null): string => (p ? p.map(nameOf).join('→') : 'none');
  return `${new Date(r.at).toISOString().slice(11, 23)}  ${nameOf(r.dst)}: ${path(r.from)} ⇒ ${path(r.to)} (${r.reason})`;
}

export const statusCommand: CommandModule<object, StatusArgs> = {
  command: 'status',
  describe: 'Show this node, its members, the paths in use and why a member is unreachable',
  builder: (y) =>
    withControlOptions(y)
      .option('watch', {
        type: 'boolean',
        default: false,
        describe: 'Redraw every second and show path changes live (plain snapshots when not a terminal)',
      })
      .option('wide', {
        type: 'boolean',
        default: false,
        describe:
          'All columns (hops, cost, jitter, session, traffic), nothing shortened; wider than 100 columns',
      })
      .option('interval', { type: 'number', default: 1, describe: 'Seconds between --watch redraws' }),
  handler: async (args) => {
    if (!(args.interval >= 0.1)) {
      throw new OverlayError(
        'ERR_USAGE',
        `--interval ${JSON.stringify(args.interval)} must be at least 0.1 seconds`,
      );
    }
    if (!args.watch) {
      const s = await callDaemon<NodeStatus>(args, 'status');
      if (args.json) printJson(s);
      else process.stdout.write(renderStatus(s, { wide: args.wide }) + '\n');
      return;
    }
    await watch(args);
  },
};

async function watch(args: StatusArgs): Promise<void> {
  const client = await ControlClient.connect(socketPath(args));
  const terminal = process.stdout.isTTY === true && !args.json;
  const timeline: string[] = [];
  let names = new Map<number, string>();
  const nameOf = (id: number): string => names.get(id) ?? id.toString(16);
  client.onEvent((e) => {
    if (e.event !== 'route-change') return;
    if (args.json) return void process.stdout.write(JSON.stringify(e) + '\n');
    const line = renderChange(e.data as RouteChangeRecord, nameOf);
    if (!terminal) return void process.stdout.write(`path change ${line}\n`);
    timeline.push(line);
    if (timeline.length > 12) timeline.shift();
  });
  await client.call('watch');
  const draw = async (): Promise<void> => {
    const s = await client.call<NodeStatus>('status');
    names = new Map(s.members.map((m) => [parseInt(m.id, 16), m.name]));
    if (args.json) return void process.stdout.write(JSON.stringify({ event: 'status', data: s }) + '\n');
    const text = renderStatus(s, { wide: args.wide });
    if (terminal) {
      // Home and clear, then the whole picture: the terminal shows the latest state only.
      process.stdout.write(
        '\x1b[H\x1b[2J' + text + '\n\npath changes:\n' + (timeline.join('\n') || '  (none yet)') + '\n',
      );
    } else {
      process.stdout.write(`--- ${new Date().toISOString()}\n${text}\n\n`);
    }
  };
  // Ends with the first failure (the daemon stopped or went away), or with SIGINT/SIGTERM.
  const failure = await new Promise<unknown>((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    let stopped = false;
    const tick = (): void => {
      draw().then(
        () => {
          if (!stopped) timer = setTimeout(tick, args.interval * 1000);
        },
        (err: unknown) => resolve(stopped ? undefined : err),
      );
    };
    tick();
    const stop = (): void => {
      stopped = true;
      clearTimeout(timer);
      resolve(undefined);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  client.close();
  if (failure !== undefined) {
    throw new OverlayError(
      'ERR_CONTROL',
      `status --watch ended: ${isOverlayError(failure) ? failure.message : String(failure)}`,
    );
  }
}
