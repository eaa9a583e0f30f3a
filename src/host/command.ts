// Running the host's network tools (iproute2's `ip`, `nft`) for the parts of the daemon that change the
// host outside its own TUN: routes to member subnets, the masquerade table. Not on any packet path: a
// few commands at start, reload, exit and audit. Always bounded in time, never through a shell.
import { execFile } from 'node:child_process';

export interface CommandResult {
  /** Exit status; null when the command could not run or was killed (see `stderr`). */
  code: number | null;
  stdout: string;
  stderr: string;
  /** The program is not installed (ENOENT): the caller explains which package provides it. */
  missing: boolean;
}

/** Runs argv[0] with the rest as arguments and optional standard input. Never rejects. */
export type CommandRunner = (argv: readonly string[], input?: string) => Promise<CommandResult>;

const TIMEOUT_MS = 10_000;
const MAX_OUTPUT = 1 << 20;

export const runCommand: CommandRunner = (argv, input) =>
  new Promise((resolve) => {
    const child = execFile(
      argv[0],
      argv.slice(1),
      { timeout: TIMEOUT_MS, maxBuffer: MAX_OUTPUT, encoding: 'utf8' },
      (err, stdout, stderr) => {
        const e = err as (NodeJS.ErrnoException & { code?: unknown; killed?: boolean }) | null;
        if (e?.code === 'ENOENT')
          return resolve({ code: null, stdout: '', stderr: e.message, missing: true });
        const code = e === null ? 0 : typeof e.code === 'number' ? e.code : null;
        const why = e !== null && code === null ? e.message : '';
        resolve({ code, stdout, stderr: stderr || why, missing: false });
      },
    );
    child.stdin?.on('error', () => {}); // a tool that exits before reading its input closes the pipe
    child.stdin?.end(input ?? '');
  });

/** The first line of a tool's complaint, for a log line or `status`. */
export function firstLine(text: string): string {
  return text.trim().split('\n')[0] ?? '';
}
