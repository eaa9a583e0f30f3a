// bin/overlayd.js's shebang bounds V8's young generation: without it a steady stream of messages grows
// the daemon by up to 32 MB (benchmarks/hostile-load.ts). The lab starts daemons with the same flags.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { launcherNodeArgs, OVERLAYD_BIN } from '../lab/overlay-lab.js';

// Allocates 3 million small objects, keeping one in fifty for a while (as in-flight messages and
// recent state do), then prints the young generation's size in bytes. A fixed amount, not a time: on
// a loaded machine 250 ms of allocation was too little for V8's default to grow (seen while 25 lab
// daemons ran), and the check below failed for want of work, not of the flag.
const CHURN = `
const v8 = require('node:v8');
const keep = [];
for (let round = 0; round < 3000; round++) {
  for (let i = 0; i < 1000; i++) {
    const o = { a: i, b: [i, i + 1], c: 'x' + i };
    if (i % 50 === 0) { keep.push(o); if (keep.length > 20000) keep.shift(); }
  }
}
process.stdout.write(String(v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size));
`;

function youngGenerationBytes(nodeArgs: string[]): number {
  return Number(execFileSync(process.execPath, [...nodeArgs, '-e', CHURN], { encoding: 'utf8' }));
}

test('the launcher runs the daemon with semi-spaces of at most 2 MB and one V8 worker thread', () => {
  assert.deepEqual(launcherNodeArgs(), ['--max-semi-space-size=2', '--v8-pool-size=1']);
  assert.match(
    readFileSync(OVERLAYD_BIN, 'utf8'),
    /^#!\/usr\/bin\/env -S node --max-semi-space-size=2 --v8-pool-size=1\n/,
  );
});

test('with the launcher flags the process runs fewer threads (V8 workers keep stacks and arenas)', () => {
  const threads = (nodeArgs: string[]): number =>
    Number(
      execFileSync(
        process.execPath,
        [
          ...nodeArgs,
          '-e',
          "process.stdout.write(/Threads:\\s+(\\d+)/.exec(require('fs').readFileSync('/proc/self/status', 'utf8'))[1])",
        ],
        { encoding: 'utf8' },
      ),
    );
  assert.ok(threads(launcherNodeArgs()) < threads([]), 'fewer threads than Node by default');
});

test('with the launcher flags, allocation churn leaves the young generation at 4 MB or less', () => {
  const bounded = youngGenerationBytes(launcherNodeArgs());
  assert.ok(bounded <= 4.5e6, `young generation ${bounded} bytes`);
  // The same churn without them: the bound is the flag's doing, not the workload's.
  assert.ok(youngGenerationBytes([]) > 8e6, 'V8 default grows the young generation');
});
