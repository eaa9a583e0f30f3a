// `npm run fuzz`: structure-aware fuzzing of every parser that reads network bytes and of the receive
// path of an in-process cluster. Prints one table (stdout) and progress (stderr); exits 1 if any input
// escaped as an exception, was accepted as a forgery, or an after-run check failed.
//
//   npm run fuzz -- [--seed N] [--inputs N] [--seconds S] [--target NAME ...] [--list]
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import {
  codeVersion,
  machineLine,
  numberOption,
  progress,
  usageError,
} from '../../benchmarks/lib/progress.js';
import { runCampaign, selectTargets } from './campaign.js';
import { clean, printReport } from './report.js';
import { TARGETS } from './targets/index.js';

const USAGE =
  'npm run fuzz -- [--seed N] [--inputs N (all targets, default 1000000)] [--seconds S (default 540)] ' +
  '[--target NAME ...] [--list]';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seed: { type: 'string' },
      inputs: { type: 'string' },
      seconds: { type: 'string' },
      target: { type: 'string', multiple: true },
      list: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return void process.stdout.write(`usage: ${USAGE}\n`);
  if (values.list) {
    for (const t of TARGETS) process.stdout.write(`${t.name.padEnd(20)} ${t.description}\n`);
    return;
  }
  const seed = values.seed === undefined ? (Math.random() * 0x1_0000_0000) >>> 0 : Number(values.seed);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffff_ffff)
    usageError('--seed needs a 32-bit unsigned integer');
  const targets = (values.target ?? []).flatMap((t) => t.split(','));
  try {
    selectTargets(targets);
  } catch (err) {
    usageError((err as Error).message);
  }
  const inputs = numberOption(values.inputs, 1_000_000, 'inputs');
  const seconds = numberOption(values.seconds, 540, 'seconds');
  progress(`fuzz: seed ${seed}, ${inputs} inputs, at most ${seconds} s (reproduce: --seed ${seed})`);
  const load = loadavg();
  const started = performance.now();
  const reports = await runCampaign({
    seed,
    inputs,
    seconds,
    targets,
    onTarget: (r) =>
      progress(
        `${r.name}: ${r.inputs} inputs in ${(r.elapsedMs / 1000).toFixed(1)} s, ` +
          `${r.escapes} escaped, ${r.forgeries} forgeries`,
      ),
  });
  const wall = (performance.now() - started) / 1000;
  const total = reports.reduce((s, r) => s + r.inputs, 0);
  const after = loadavg();
  printReport(reports, seed, [
    `${total} inputs in ${wall.toFixed(1)} s (${Math.round(total / wall)}/s), one process, one core`,
    `machine: ${await machineLine()}; load average ${fmtLoad(load)} before, ${fmtLoad(after)} after`,
    `code: ${await codeVersion()}`,
    'heap: used after two full collections, before the first input and after the last (target state kept)',
  ]);
  process.exitCode = clean(reports) ? 0 : 1;
}

function fmtLoad(l: number[]): string {
  return l.map((x) => x.toFixed(2)).join(' ');
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
