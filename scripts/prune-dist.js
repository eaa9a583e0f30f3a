#!/usr/bin/env node
// Removes compiled files whose TypeScript source is gone. tsc writes outputs but never deletes them, so
// after a source file is removed or renamed its old .js (and .js.map) would linger in dist/: still
// importable by mistake, and packed by `npm pack` (which ships dist/src/) as dead code whose source map
// points at a file that no longer exists. Runs after every `npm run build`.
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const dist = join(root, 'dist');

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else out.push(p);
  }
  return out;
}

if (existsSync(dist)) {
  let removed = 0;
  for (const file of walk(dist)) {
    const m = /^(.*)\.js(\.map)?$/.exec(relative(dist, file));
    if (!m) continue;
    if (existsSync(join(root, `${m[1]}.ts`)) || existsSync(join(root, `${m[1]}.js`))) continue;
    rmSync(file);
    removed++;
  }
  if (removed > 0) console.log(`prune-dist: removed ${removed} compiled file(s) whose source is gone`);
}
