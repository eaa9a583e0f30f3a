// Tearing labs down no matter how the test process ends. A normal run calls lab.destroy(); a thrown error,
// an unhandled rejection, process.exit(), SIGINT, SIGTERM or SIGHUP run the synchronous teardown from the
// hooks below; only SIGKILL escapes them, and sweepStaleLabs() cleans that up on the next run.
//
// Only this lab's objects are ever touched: namespaces named ol<4 hex>-<site> whose run directory records
// an owner process that is gone, and processes recorded there by PID *and* start time.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { LAB_NS_RE, LAB_ROOT_DIR, RUN_ID_RE } from './lab-plan.js';
import { run } from './netns.js';
import { processAlive, sameProcessAlive, signalQuietly, sleepSync } from './proc.js';
import { ownerFile, readOwner, runDirOf } from './run-dir.js';

// ---------------------------------------------------------------- namespaces

function parseNetnsList(text: string): string[] {
  // `ip netns list` prints "name" or "name (id: N)".
  return text
    .split('\n')
    .map((l) => l.trim().split(' ')[0] ?? '')
    .filter((n) => n !== '');
}

export async function listNamespaces(): Promise<string[]> {
  return parseNetnsList((await run(['ip', 'netns', 'list'])).stdout);
}

export function listNamespacesSync(): string[] {
  return parseNetnsList(spawnSync('ip', ['netns', 'list'], { encoding: 'utf8', timeout: 5000 }).stdout ?? '');
}

function pidsInNsSync(ns: string): number[] {
  const out = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8', timeout: 5000 }).stdout ?? '';
  return out.split(/\s+/).filter(Boolean).map(Number);
}

/**
 * Deletes our namespaces. Any process still inside one (a grandchild of something we spawned, say) is ours
 * by construction and is killed first: a namespace with a live process in it outlives `ip netns del`,
 * veths and all.
 */
export async function deleteNamespaces(names: readonly string[]): Promise<void> {
  const existing = new Set(await listNamespaces());
  for (const ns of names) {
    if (!existing.has(ns)) continue;
    const pids = (await run(['ip', 'netns', 'pids', ns], { timeoutMs: 5000 })).stdout
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
    for (const pid of pids) signalQuietly(pid, 'SIGKILL');
    const deadline = Date.now() + 2000;
    while (pids.some(processAlive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await run(['ip', 'netns', 'del', ns], { timeoutMs: 10_000 });
  }
}

export function deleteNamespacesSync(names: readonly string[]): void {
  const existing = new Set(listNamespacesSync());
  for (const ns of names) {
    if (!existing.has(ns)) continue;
    const pids = pidsInNsSync(ns);
    for (const pid of pids) signalQuietly(pid, 'SIGKILL');
    const deadline = Date.now() + 2000;
    while (pids.some(processAlive) && Date.now() < deadline) sleepSync(20);
    spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore', timeout: 10_000 });
  }
}

// ---------------------------------------------------------------- exit hooks

const pending = new Set<() => void>();
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
let installed = false;

function runPending(): void {
  for (const fn of [...pending]) {
    pending.delete(fn);
    try {
      fn();
    } catch (err) {
      console.error('lab cleanup failed:', err);
    }
  }
}

function onSignal(signal: NodeJS.Signals): void {
  runPending();
  // If nobody else handles the signal, die of it as the default action would (exit status 128+n).
  if (process.listenerCount(signal) === 1) {
    for (const s of SIGNALS) process.removeListener(s, onSignal);
    process.kill(process.pid, signal);
  }
}

/**
 * Runs `fn` synchronously if the process ends before `unregister` is called. 'exit' covers a normal end,
 * process.exit(), and an uncaught exception or unhandled rejection (Node emits 'exit' before dying of one).
 */
export function registerExitCleanup(fn: () => void): () => void {
  if (!installed) {
    installed = true;
    process.on('exit', runPending);
    for (const s of SIGNALS) process.on(s, onSignal);
  }
  pending.add(fn);
  return () => pending.delete(fn);
}

// ---------------------------------------------------------------- owner records and the sweep

// Run directories of dead labs are kept this long so a crashed run's logs can still be read.
const KEEP_DEAD_RUN_DIRS_MS = 24 * 3600 * 1000;

export interface SweepReport {
  namespaces: string[];
  killedPids: number[];
  removedRunDirs: string[];
}

/**
 * Removes what crashed (SIGKILLed) runs of this lab left behind: their recorded processes and namespaces.
 * A run counts as crashed only if its run directory names an owner process that is no longer running;
 * namespaces without such a record are left alone, whatever their name.
 */
export async function sweepStaleLabs(): Promise<SweepReport> {
  const report: SweepReport = { namespaces: [], killedPids: [], removedRunDirs: [] };
  if (!existsSync(LAB_ROOT_DIR)) return report;
  const namespaces = await listNamespaces();
  for (const runId of readdirSync(LAB_ROOT_DIR)) {
    if (!RUN_ID_RE.test(runId)) continue;
    const runDir = runDirOf(runId);
    const owner = readOwner(runDir);
    if (owner === null || sameProcessAlive(owner)) continue;

    const pidDir = join(runDir, 'pids');
    for (const name of existsSync(pidDir) ? readdirSync(pidDir) : []) {
      // A pid file is named by the PID and holds the start time on its first line (process-tracker.ts).
      const startTime = Number(readFileSync(join(pidDir, name), 'utf8').split('\n')[0]);
      const rec = { pid: Number(name), startTime };
      if (Number.isInteger(rec.pid) && Number.isInteger(startTime) && sameProcessAlive(rec)) {
        signalQuietly(rec.pid, 'SIGKILL');
        report.killedPids.push(rec.pid);
      }
      rmSync(join(pidDir, name), { force: true });
    }
    const mine = namespaces.filter((ns) => LAB_NS_RE.exec(ns)?.[1] === runId);
    await deleteNamespaces(mine);
    report.namespaces.push(...mine);

    if (Date.now() - statSync(ownerFile(runDir)).mtimeMs > KEEP_DEAD_RUN_DIRS_MS) {
      rmSync(runDir, { recursive: true, force: true });
      report.removedRunDirs.push(runDir);
    }
  }
  return report;
}
