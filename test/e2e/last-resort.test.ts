// The last-resort handler in a real process: an error thrown out of a timer or a promise nobody
// awaited is logged with its context and the process keeps running, except where running on is not
// safe (while starting or stopping, or a burst that means a persistent fault): then it exits 70.
// Without the handler, Node would print the stack and exit 1 at the first one.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';

const LAST_RESORT = new URL('../../src/last-resort.js', import.meta.url).href;
const LOG = new URL('../../src/log.js', import.meta.url).href;

/** Runs a process that installs the handler in `phase` and then throws `throws` times from timers. */
function runFaulty(
  phase: string,
  throws: number,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const script = `
    import { installLastResort } from ${JSON.stringify(LAST_RESORT)};
    import { createLogger } from ${JSON.stringify(LOG)};
    installLastResort({
      log: createLogger('info').child('last-resort'),
      phase: () => ${JSON.stringify(phase)},
      onFatal: () => process.exit(70),
      maxPerWindow: 3,
    });
    for (let i = 1; i <= ${throws}; i++) {
      setTimeout(() => { throw new TypeError('fault #' + i + ' in a timer'); }, i * 5);
    }
    setTimeout(() => { Promise.reject(new Error('a rejection nobody awaited')); }, ${throws} * 5 + 5);
    setTimeout(() => { process.stdout.write('still running\\n'); process.exit(0); }, 300);
  `;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('last-resort handler', () => {
  it('logs an escaped exception and rejection with context and keeps the process running', async () => {
    const r = await runFaulty('running', 1);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'still running\n');
    assert.match(
      r.stderr,
      / error last-resort: uncaught exception escaped every handler \(phase running, up \d+ s, 1 in the last 60 s, 1 since start\); the daemon keeps running \(please report this as a bug\):\nTypeError: fault #1 in a timer\n\s+at /,
    );
    assert.match(
      r.stderr,
      /unhandled promise rejection escaped every handler .*2 since start\); the daemon keeps running.*\nError: a rejection nobody awaited/,
    );
  });

  it('exits 70 when the error escapes while the daemon is starting', async () => {
    const r = await runFaulty('starting', 1);
    assert.equal(r.code, 70, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(
      r.stderr,
      /\(phase starting, .*\); exiting with status 70 because it escaped while the daemon was starting:\nTypeError: fault #1/,
    );
  });

  it('exits 70 on a burst: more escaped errors in a minute than the bound is a persistent fault', async () => {
    const r = await runFaulty('running', 5);
    assert.equal(r.code, 70, r.stderr);
    assert.equal((r.stderr.match(/the daemon keeps running/g) ?? []).length, 3);
    assert.match(r.stderr, /exiting with status 70 because 4 escaped errors within 60 s: a persistent fault/);
  });
});
