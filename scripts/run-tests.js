#!/usr/bin/env node
// Runs the compiled test suites in order: unit, e2e, adversary and the seeded fuzz run (parallel files),
// simulator, then the netns suites one file at a time (they build real namespaces and measure time, so
// they must not overlap). adversary/ holds the attacks on the real code (unit speed).
// Usage: node scripts/run-tests.js [unit|e2e|adversary|fuzz|sim|netns ...]   (default: all)
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const suites = process.argv.slice(2).length
  ? process.argv.slice(2)
  : ['unit', 'e2e', 'adversary', 'fuzz', 'sim', 'netns'];

function testFiles(dir) {
  if (!existsSync(dir)) return [];
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...testFiles(p));
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

let failed = false;
for (const suite of suites) {
  const files = testFiles(join(root, 'dist', 'test', suite));
  if (files.length === 0) continue;
  const serial = suite === 'netns' || suite === 'sim';
  console.log(`\n== ${suite}: ${files.length} file(s)${serial ? ', one at a time' : ''}`);
  const args = ['--test', '--test-reporter=spec', `--test-concurrency=${serial ? 1 : 2}`, ...files];
  const r = spawnSync(process.execPath, args, { stdio: 'inherit', cwd: root });
  if (r.status !== 0) {
    failed = true;
    console.log(`\n== ${suite}: FAILED`);
  }
}
process.exit(failed ? 1 : 0);
