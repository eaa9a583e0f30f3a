// Where an idle daemon's resident memory comes from: Node itself, the named dependencies, overlayd's own
// modules, and a live daemon. Each row but the last is a fresh `node` with the daemon's launcher flags
// (bin/overlayd.js) that imports what the row names, waits a second and reads its own smaps; the median
// of --runs processes is shown. The last row (--lab, root) is daemon a of a 3-site lab after it has
// converged and sat idle for --settle seconds, answering status calls like an operator's.
//
//   node dist/benchmarks/rss-floor.js [--runs R] [--lab] [--settle S] [--json FILE]
//
// Columns split RSS by mapping: the node binary's pages (text and read-only data, shared by every Node
// process on the host but paid in full by a site's single daemon), anonymous memory (V8's heap, thread
// stacks), malloc's heap, and shared libraries (libc, libstdc++, addons). Issue 14's goal is 60 MB.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { OverlayLab, launcherNodeArgs } from '../test/lab/overlay-lab.js';
import {
  codeVersion,
  COMMON_OPTIONS,
  commonOptions,
  machineLine,
  numberOption,
  progress,
  requireRoot,
} from './lib/progress.js';
import { fmtRatio, printTable } from './lib/table.js';

const RSS_GOAL_MB = 60;
const USAGE = 'node dist/benchmarks/rss-floor.js [--runs R] [--lab] [--settle S] [--json FILE]';

/** Resident kB by kind of mapping, from an smaps text. */
export interface RssSplit {
  total: number;
  binary: number;
  anon: number;
  malloc: number;
  libs: number;
}

export function splitSmaps(smaps: string, binary = process.execPath): RssSplit {
  const out: RssSplit = { total: 0, binary: 0, anon: 0, malloc: 0, libs: 0 };
  let kind: keyof RssSplit = 'anon';
  for (const line of smaps.split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      const name = head[1] ?? '';
      kind =
        name === binary ? 'binary' : name === '[heap]' ? 'malloc' : name.startsWith('/') ? 'libs' : 'anon';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) {
      out[kind] += Number(rss[1]);
      out.total += Number(rss[1]);
    }
  }
  return out;
}

interface Row {
  label: string;
  split: RssSplit;
}

// What each fresh process imports. Relative to dist/benchmarks/, so the rows load the built code.
const DEPS = ['sodium-native', 'noise-handshake', 'yargs', 'prom-client', 'ws'];
const OWN = ['../src/cli/up.js', '../src/metrics/metrics-server.js', '../src/control/server.js'];
const STEPS: { label: string; imports: string[] }[] = [
  { label: 'node, nothing imported', imports: [] },
  ...DEPS.map((d) => ({ label: `node + ${d}`, imports: [d] })),
  { label: 'node + the five named dependencies + node:http', imports: [...DEPS, 'node:http'] },
  { label: "node + overlayd's modules (what `up` loads)", imports: [...DEPS, 'node:http', ...OWN] },
];

function measureImports(imports: string[]): RssSplit {
  const here = new URL('.', import.meta.url).href;
  const code = [
    ...imports.map((m) => `await import(${JSON.stringify(m.startsWith('.') ? new URL(m, here).href : m)});`),
    'await new Promise((r) => setTimeout(r, 1000));',
    "process.stdout.write(require('node:fs').readFileSync('/proc/self/smaps', 'utf8'));",
  ].join('\n');
  // CommonJS eval so `require` exists; the dynamic imports still go through the ESM loader like the daemon's.
  const smaps = execFileSync(process.execPath, [...launcherNodeArgs(), '-e', `(async () => {${code}})()`], {
    encoding: 'utf8',
    cwd: new URL('../../', import.meta.url), // the repo root: node_modules resolve as the daemon's do
    maxBuffer: 64 << 20,
  });
  return splitSmaps(smaps);
}

function median(splits: RssSplit[]): RssSplit {
  const sorted = [...splits].sort((a, b) => a.total - b.total);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function liveDaemon(settleS: number): Promise<RssSplit> {
  const sites = ['a', 'b', 'c'];
  const ol = await OverlayLab.create({ sites, logLevel: 'info', pairCounters: false });
  try {
    ol.startAll();
    await ol.waitConverged(60_000);
    progress(`3-site lab converged; idle for ${settleS} s`);
    const until = Date.now() + settleS * 1000;
    while (Date.now() < until) {
      await ol.status('a'); // an operator's `overlayd status` now and then
      await sleep(Math.min(10_000, Math.max(0, until - Date.now())));
    }
    const pid = ol.site('a').process?.pid;
    if (!pid) throw new Error('daemon a is not running');
    return splitSmaps(readFileSync(`/proc/${pid}/smaps`, 'utf8'));
  } finally {
    await ol.destroy();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      ...COMMON_OPTIONS,
      runs: { type: 'string' },
      lab: { type: 'boolean' },
      settle: { type: 'string' },
    },
  });
  const common = commonOptions(values, USAGE);
  const runs = Math.max(1, Math.round(numberOption(values.runs, common.quick ? 1 : 3, 'runs')));
  const settleS = numberOption(values.settle, common.quick ? 10 : 60, 'settle');
  if (values.lab) requireRoot();

  const rows: Row[] = [];
  for (const step of STEPS) {
    progress(`${step.label} (${runs} processes)`);
    rows.push({
      label: step.label,
      split: median(Array.from({ length: runs }, () => measureImports(step.imports))),
    });
  }
  if (values.lab)
    rows.push({ label: `live daemon, 3-site lab, ${settleS} s idle`, split: await liveDaemon(settleS) });

  const bare = rows[0]!.split.total;
  const mb = (kb: number): string => ((kb * 1024) / 1e6).toFixed(1);
  printTable(
    `Resident memory, ${await codeVersion()} (${await machineLine()}), launcher flags ${launcherNodeArgs().join(' ')}`,
    [
      'process',
      'RSS MB',
      'node binary',
      'anon (V8 heap, stacks)',
      'malloc heap',
      'libraries',
      'vs bare node',
      `vs ${RSS_GOAL_MB} MB goal`,
    ],
    rows.map((r) => [
      r.label,
      mb(r.split.total),
      mb(r.split.binary),
      mb(r.split.anon),
      mb(r.split.malloc),
      mb(r.split.libs),
      fmtRatio(r.split.total, bare),
      fmtRatio((r.split.total * 1024) / 1e6, RSS_GOAL_MB),
    ]),
    [
      'MB = 10^6 bytes, as in lab-scale. The node binary column is shared between Node processes on one host; a site runs one daemon and pays it in full.',
      `Median of ${runs} fresh processes per import row.`,
    ],
  );
  if (common.json) writeFileSync(common.json, JSON.stringify(rows, null, 2));
}

await main();
