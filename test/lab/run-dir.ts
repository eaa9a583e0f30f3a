// A lab's run directory, /tmp/overlayd-lab/<runId>/: logs/ (process output), pids/ (one file per running
// process: name = PID, first line = start time) and owner.pid ("<pid> <start time>" of the process that
// built the lab). The owner record is what lets a later run tell a crashed lab from a live one.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LAB_ROOT_DIR, randomRunId } from './lab-plan.js';
import { procIdentity, type ProcIdentity } from './proc.js';

const OWNER_FILE = 'owner.pid';

export function runDirOf(runId: string): string {
  return join(LAB_ROOT_DIR, runId);
}

export function ownerFile(runDir: string): string {
  return join(runDir, OWNER_FILE);
}

/** The recorded owner of a run, or null if there is no readable record. */
export function readOwner(runDir: string): ProcIdentity | null {
  try {
    const [pid, startTime] = readFileSync(ownerFile(runDir), 'utf8').trim().split(/\s+/).map(Number);
    if (!Number.isInteger(pid) || !Number.isInteger(startTime)) return null;
    return { pid: pid!, startTime: startTime! };
  } catch {
    return null;
  }
}

/**
 * Picks an unused run id and claims it by creating its run directory (mkdir fails if another process got
 * there first), then records this process as the owner — all before any namespace exists, so nothing the
 * lab creates is ever without an owner record.
 */
export function claimRunId(namespacesInUse: readonly string[]): string {
  mkdirSync(LAB_ROOT_DIR, { recursive: true });
  for (let attempt = 0; attempt < 100; attempt++) {
    const id = randomRunId();
    if (namespacesInUse.some((ns) => ns.startsWith(`${id}-`))) continue;
    try {
      mkdirSync(runDirOf(id));
    } catch {
      continue;
    }
    const me = procIdentity(process.pid)!;
    writeFileSync(ownerFile(runDirOf(id)), `${me.pid} ${me.startTime}\n`);
    return id;
  }
  throw new Error(`no free lab run id under ${LAB_ROOT_DIR}`);
}
