// `overlayd status [--watch]`: this node and every member as it sees them: reachable?, the path in
// use, direct-link RTT and loss, session age, traffic. --watch redraws every second and shows path
// changes as they happen, so a person can watch traffic move around a failure.
import type { CommandModule } from 'yargs';
import { ControlClient } from '../control/client.js';
import type { RouteChangeRecord } from '../node/route-history.js';
import type { NodeStatus } from '../control/status.js';
import {
  callDaemon,
  printJson,
  socketPath,
  withControlOptions,
  type ControlArgs,
} from './control-options.js';
import { bytes, duration, ms, pct, table } from './format.js';

interface StatusArgs extends ControlArgs {
  watch: boolean;
}

export function renderStatus(s: NodeStatus): string {
  const head =
    `overlayd ${s.node.name} (${s.node.id}) ${s.node.address}${s.node.address6 ? ' ' + s.node.address6 : ''}` +
    ` on ${s.node.interface}, udp ${s.node.port}, up ${duration(s.node.uptimeMs)}`;
  const rows = s.members
    .filter((m) => !m.self)
    .map((m) => [
      m.name,
      m.address,
      m.reachable ? 'yes' : 'NO',
      m.path ? m.path.join('→') : '-',
      m.hops === null ? '-' : String(m.hops),
      ms(m.costMs),
      m.direct ? (m.direct.alive ? ms(m.direct.srttMs) : 'dead') : '-',
      m.direct ? pct(m.direct.lossRatio) : '-',
      m.direct?.alive ? m.direct.origin : '-',
      m.session.established ? duration(m.session.ageMs) : 'none',
      bytes(m.traffic.txBytes),
      bytes(m.traffic.rxBytes),
      bytes(m.traffic.relayedBytes),
    ]);
  const drops = Object.entries(s.drops)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  return [
    head,
    '',
    table(
      [
        'MEMBER',
        'ADDRESS',
        'REACH',
        'PATH',
        'HOPS',
        'COST',
        'DIRECT RTT',
        'LOSS',
        'LINK',
        'SESSION',
        'TX',
        'RX',
        'RELAYED',
      ],
      rows,
    ),
    '',
    `drops: ${drops || 'none'}`,
    `nat: reflexive [${s.nat.reflexive.join(', ')}], punches ${s.nat.punches.success} ok / ${s.nat.punches.failed} failed` +
      (s.nat.punchSuccessMs.length
        ? ` (last ${s.nat.punchSuccessMs[s.nat.punchSuccessMs.length - 1]} ms)`
        : ''),
  ].join('\n');
}

export function renderChange(r: RouteChangeRecord, nameOf: (id: number) => string): string {
  const path = (p: number[] | null): string => (p ? p.map(nameOf).join('→') : 'none');
  return `${new Date(r.at).toISOString().slice(11, 23)}  ${nameOf(r.dst)}: ${path(r.from)} ⇒ ${path(r.to)} (${r.reason})`;
}

export const statusCommand: CommandModule<object, StatusArgs> = {
  command: 'status',
  describe: 'Show this node, its members, the paths in use and traffic',
  builder: (y) =>
    withControlOptions(y).option('watch', {
      type: 'boolean',
      default: false,
      describe: 'Redraw every second and show path changes live',
    }),
  handler: async (args) => {
    if (!args.watch) {
      const s = await callDaemon<NodeStatus>(args, 'status');
      if (args.json) printJson(s);
      else process.stdout.write(renderStatus(s) + '\n');
      return;
    }
    await watch(args);
  },
};

async function watch(args: StatusArgs): Promise<void> {
  const client = await ControlClient.connect(socketPath(args));
  const timeline: string[] = [];
  let names = new Map<number, string>();
  const nameOf = (id: number): string => names.get(id) ?? id.toString(16);
  client.onEvent((e) => {
    if (e.event !== 'route-change') return;
    const line = renderChange(e.data as RouteChangeRecord, nameOf);
    if (args.json) process.stdout.write(JSON.stringify(e) + '\n');
    timeline.push(line);
    if (timeline.length > 12) timeline.shift();
  });
  await client.call('watch');
  const draw = async (): Promise<void> => {
    const s = await client.call<NodeStatus>('status');
    names = new Map(s.members.map((m) => [parseInt(m.id, 16), m.name]));
    if (args.json) return;
    process.stdout.write(
      '\x1b[H\x1b[2J' +
        renderStatus(s) +
        '\n\npath changes:\n' +
        (timeline.join('\n') || '  (none yet)') +
        '\n',
    );
  };
  await draw();
  const timer = setInterval(() => void draw().catch(() => process.exit(1)), 1000);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  clearInterval(timer);
  client.close();
}
