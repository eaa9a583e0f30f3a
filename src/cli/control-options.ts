// Options shared by the commands that talk to a running daemon, and the connect-call-close helper.
import type { Argv } from 'yargs';
import { ControlClient } from '../control/client.js';
import { defaultSocketPath } from '../control/protocol.js';

export interface ControlArgs {
  socket?: string;
  interface: string;
  json: boolean;
}

export function withControlOptions<T>(y: Argv<T>): Argv<T & ControlArgs> {
  return y
    .option('interface', { type: 'string', default: 'ovl0', describe: 'Interface of the daemon to ask' })
    .option('socket', {
      alias: 'control',
      type: 'string',
      describe:
        "The daemon's control socket, as given to up --control (default /run/overlayd/<interface>.sock)",
    })
    .option('json', { type: 'boolean', default: false, describe: 'Print JSON instead of a table' }) as Argv<
    T & ControlArgs
  >;
}

export function socketPath(args: ControlArgs): string {
  return args.socket ?? defaultSocketPath(args.interface);
}

export async function callDaemon<T>(
  args: ControlArgs,
  method: string,
  params: Record<string, unknown> = {},
  timeoutMs?: number,
): Promise<T> {
  const client = await ControlClient.connect(socketPath(args));
  try {
    return await client.call<T>(method, params, timeoutMs);
  } finally {
    client.close();
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}
