// Running commands for the lab: on the host or inside a namespace (`ip netns exec`), always bounded in time.
// `ip netns exec` exec()s the command after setns(), so a child's PID is the command's own PID and killing
// it kills the command, not a wrapper.
import { spawn, type ChildProcess } from 'node:child_process';

export interface ExecResult {
  /** Exit status, or null if the command was ended by a signal (e.g. our timeout). */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** True if the command ran past its timeout and was killed. */
  timedOut: boolean;
}

export interface ExecOptions {
  /** Kill the command (SIGTERM, then SIGKILL 1 s later) after this long. Default 30 s. */
  timeoutMs?: number;
  /** Written to the command's stdin, which is then closed. */
  input?: string;
  env?: NodeJS.ProcessEnv;
  /** Called with the child as soon as it exists, so the lab can kill it in destroy(). */
  onSpawn?: (child: ChildProcess) => void;
}

export const DEFAULT_EXEC_TIMEOUT_MS = 30_000;
// Output beyond this is dropped: a runaway command must not exhaust the test's memory.
const MAX_OUTPUT_CHARS = 16 * 1024 * 1024;

/** Argv that runs `argv` inside namespace `ns`. */
export function inNs(ns: string, argv: readonly string[]): string[] {
  return ['ip', 'netns', 'exec', ns, ...argv];
}

/** Runs argv to completion. Never rejects for a non-zero exit; rejects only if it cannot be started. */
export function run(argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      env: opts.env ?? process.env,
    });
    opts.onSpawn?.(child);
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout!.setEncoding('utf8').on('data', (s: string) => {
      if (stdout.length < MAX_OUTPUT_CHARS) stdout += s;
    });
    child.stderr!.setEncoding('utf8').on('data', (s: string) => {
      if (stderr.length < MAX_OUTPUT_CHARS) stderr += s;
    });
    if (opts.input !== undefined) {
      // A command that exits before reading its input closes the pipe: not an error for us.
      child.stdin!.on('error', () => {});
      child.stdin!.end(opts.input);
    }
    let killTimer: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
      killTimer = setTimeout(() => child.kill('SIGKILL'), 1000);
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      clearTimeout(killTimer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      clearTimeout(killTimer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

/** Runs argv and returns its stdout; throws with the command's stderr if it fails. */
export async function runChecked(argv: readonly string[], opts: ExecOptions = {}): Promise<string> {
  const r = await run(argv, opts);
  if (r.code !== 0) throw new Error(describeFailure(argv, r));
  return r.stdout;
}

export function describeFailure(argv: readonly string[], r: ExecResult): string {
  const how = r.timedOut ? 'timed out' : r.code === null ? `killed by ${r.signal}` : `exited ${r.code}`;
  const err = r.stderr.trim() || r.stdout.trim();
  return `\`${argv.join(' ')}\` ${how}${err ? `: ${err}` : ''}`;
}
