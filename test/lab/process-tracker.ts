// Every long-lived process the lab starts: spawned inside a namespace, logged to files under the run
// directory, recorded on disk by PID and start time (so a later run can clean up after a SIGKILLed one), and
// stopped by PID — SIGTERM, then SIGKILL after a grace period.
import { spawn, type ChildProcess } from 'node:child_process';
import {
  closeSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
  createWriteStream,
} from 'node:fs';
import { basename, join } from 'node:path';
import { inNs } from './netns.js';
import { processAlive, procIdentity, signalQuietly, sleepSync } from './proc.js';

export interface LabSpawnOptions {
  /** Names the log files (`<name>.stdout.log`); default: the program's base name. Made unique per lab. */
  name?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** 'pipe' to talk to the process over stdin. Default 'ignore'. */
  stdin?: 'ignore' | 'pipe';
  /** 'pipe' keeps `child.stdout` readable and still copies it to the log file. Default 'file'. */
  stdout?: 'file' | 'pipe';
}

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface LabProcessExtras {
  /** Unique name of the process in this lab (the log files are named after it). */
  readonly label: string;
  /** Namespace it runs in. */
  readonly ns: string;
  readonly stdoutPath: string;
  readonly stderrPath: string;
  /** Resolves (never rejects) when the process has exited. */
  readonly exited: Promise<ProcessExit>;
  /** True while the process exists and is not a zombie (checked in /proc, not from Node's bookkeeping). */
  isAlive(): boolean;
  /** SIGTERM, then SIGKILL if still alive after graceMs (default 3000). Resolves once it has exited. */
  stop(graceMs?: number): Promise<ProcessExit>;
  /** Everything it has written so far: stdout, then stderr. */
  readLogs(): string;
}

/** A ChildProcess started by the lab, with the lab's bookkeeping attached. */
export type LabProcess = ChildProcess & LabProcessExtras;

const DEFAULT_GRACE_MS = 3000;

function readOrEmpty(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

export class ProcessTracker {
  private readonly live = new Set<LabProcess>();
  private readonly usedLabels = new Map<string, number>();

  constructor(
    private readonly logDir: string,
    private readonly pidDir: string,
  ) {
    mkdirSync(logDir, { recursive: true });
    mkdirSync(pidDir, { recursive: true });
  }

  spawn(ns: string, argv: readonly string[], opts: LabSpawnOptions = {}): LabProcess {
    const label = this.uniqueLabel(opts.name ?? basename(argv[0] ?? 'proc'));
    const stdoutPath = join(this.logDir, `${label}.stdout.log`);
    const stderrPath = join(this.logDir, `${label}.stderr.log`);
    // The kernel writes the logs straight from the child's fds, so they survive even if this process dies.
    const errFd = openSync(stderrPath, 'a');
    const outFd = opts.stdout === 'pipe' ? null : openSync(stdoutPath, 'a');
    const full = inNs(ns, argv);
    let child: ChildProcess;
    try {
      child = spawn(full[0]!, full.slice(1), {
        stdio: [opts.stdin ?? 'ignore', outFd ?? 'pipe', errFd],
        env: opts.env ?? process.env,
        cwd: opts.cwd,
      });
    } finally {
      closeSync(errFd);
      if (outFd !== null) closeSync(outFd);
    }
    if (outFd === null) child.stdout!.pipe(createWriteStream(stdoutPath, { flags: 'a' }));

    const pid = child.pid;
    const pidFile = pid === undefined ? null : join(this.pidDir, String(pid));
    const id = pid === undefined ? null : procIdentity(pid);
    if (pidFile && id) writeFileSync(pidFile, `${id.startTime}\n${ns}\n${argv.join(' ')}\n`);

    const exited = new Promise<ProcessExit>((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
      // Spawn failures emit 'error' and no 'exit'.
      child.once('error', () => resolve({ code: null, signal: null }));
    });
    const proc = Object.assign(child, {
      label,
      ns,
      stdoutPath,
      stderrPath,
      exited,
      isAlive: () => pid !== undefined && child.exitCode === null && processAlive(pid),
      stop: (graceMs = DEFAULT_GRACE_MS) => this.stopOne(proc, graceMs),
      readLogs: () => readOrEmpty(stdoutPath) + readOrEmpty(stderrPath),
    }) as LabProcess;
    this.live.add(proc);
    void exited.then(() => {
      this.live.delete(proc);
      if (pidFile) rmSync(pidFile, { force: true });
    });
    return proc;
  }

  /** The last `lines` lines of every log file, each under a "--- name" header; empty logs are left out. */
  logTails(lines: number): string {
    let names: string[];
    try {
      names = readdirSync(this.logDir).sort();
    } catch {
      return '';
    }
    return names
      .map((n) => {
        const text = readOrEmpty(join(this.logDir, n)).trimEnd();
        return text ? `--- ${n}\n${text.split('\n').slice(-lines).join('\n')}` : '';
      })
      .filter(Boolean)
      .join('\n');
  }

  /** Processes still running. */
  list(): LabProcess[] {
    return [...this.live];
  }

  async stopAll(graceMs = DEFAULT_GRACE_MS): Promise<void> {
    await Promise.all([...this.live].map((p) => this.stopOne(p, graceMs)));
  }

  /**
   * The same for the exit path, where no event loop runs: signal, poll /proc, and SIGKILL what remains.
   * Exited children stay zombies until we exit, which /proc reports as such and we count as gone.
   */
  stopAllSync(graceMs = 1000): void {
    const pids = [...this.live].map((p) => p.pid).filter((p): p is number => p !== undefined);
    for (const pid of pids) signalQuietly(pid, 'SIGTERM');
    const deadline = Date.now() + graceMs;
    while (pids.some(processAlive) && Date.now() < deadline) sleepSync(20);
    for (const pid of pids) if (processAlive(pid)) signalQuietly(pid, 'SIGKILL');
    for (const pid of pids) rmSync(join(this.pidDir, String(pid)), { force: true });
  }

  private async stopOne(p: LabProcess, graceMs: number): Promise<ProcessExit> {
    if (p.exitCode !== null || p.signalCode !== null) return p.exited;
    p.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const killed = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        p.kill('SIGKILL');
        resolve();
      }, graceMs);
    });
    await Promise.race([p.exited, killed]);
    clearTimeout(timer);
    return p.exited;
  }

  private uniqueLabel(base: string): string {
    const clean = base.replace(/[^A-Za-z0-9._-]/g, '_') || 'proc';
    const n = (this.usedLabels.get(clean) ?? 0) + 1;
    this.usedLabels.set(clean, n);
    return n === 1 ? clean : `${clean}-${n}`;
  }
}
