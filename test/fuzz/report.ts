// The fuzz run's table: one row per target with what the issue asks for (inputs, escaped exceptions,
// accepted forgeries, p99.9 and max µs per input, heap growth), then per target where its inputs went
// and the first failing inputs with the command that reproduces them.
import { fmt, printTable } from '../../benchmarks/lib/table.js';
import type { TargetReport } from './engine.js';

const MB = 1024 * 1024;
const OUTCOMES_SHOWN = 5;

export function printReport(reports: readonly TargetReport[], seed: number, notes: readonly string[]): void {
  const rows = reports.map((r) => [
    r.name,
    String(r.inputs),
    String(r.escapes),
    String(r.forgeries),
    fmt(r.p999Us, 1),
    fmt(r.maxUs, 0),
    fmt(r.heapBeforeBytes / MB, 1),
    fmt(r.heapAfterBytes / MB, 1),
    signed((r.heapAfterBytes - r.heapBeforeBytes) / MB),
    fmt(r.elapsedMs / 1000, 1),
  ]);
  const total = (f: (r: TargetReport) => number): number => reports.reduce((s, r) => s + f(r), 0);
  rows.push([
    'total',
    String(total((r) => r.inputs)),
    String(total((r) => r.escapes)),
    String(total((r) => r.forgeries)),
    '',
    '',
    '',
    '',
    '',
    fmt(total((r) => r.elapsedMs) / 1000, 1),
  ]);
  printTable(
    `Fuzz run, seed ${seed}`,
    [
      'target',
      'inputs',
      'escaped',
      'forgeries',
      'p99.9 µs',
      'max µs',
      'heap MB before',
      'after',
      'growth',
      's',
    ],
    rows,
    notes,
  );
  const lines: string[] = [''];
  for (const r of reports) {
    lines.push(`${r.name} (${r.seeds} seeds, setup ${fmt(r.setupMs / 1000, 1)} s): ${outcomeLine(r)}`);
    for (const f of r.finishFailures) lines.push(`  AFTER THE RUN: ${f}`);
    for (const f of r.failures) {
      lines.push(
        `  ${f.kind.toUpperCase()} at input ${f.input} (${f.seed}; ${f.ops.join(' ')}): ${f.detail}`,
      );
      lines.push(`    reproduce: npm run fuzz -- --seed ${seed} --target ${r.name} --inputs ${f.input + 1}`);
      lines.push(`    input: ${f.hex}`);
    }
  }
  process.stdout.write(lines.join('\n') + '\n');
}

function outcomeLine(r: TargetReport): string {
  const all = [...r.outcomes].sort((a, b) => b[1] - a[1]);
  const sum = all.reduce((s, [, n]) => s + n, 0);
  if (sum === 0) return 'no outcomes recorded';
  const shown = all.slice(0, OUTCOMES_SHOWN).map(([k, n]) => `${k} ${percent(n / sum)}`);
  if (all.length > OUTCOMES_SHOWN) shown.push(`${all.length - OUTCOMES_SHOWN} more`);
  return shown.join(', ');
}

function percent(x: number): string {
  return x >= 0.01 ? `${Math.round(x * 100)}%` : '<1%';
}

function signed(x: number): string {
  return `${x >= 0 ? '+' : ''}${x.toFixed(1)}`;
}

/** True if the run found nothing: no escape, no forgery, every after-run check passed. */
export function clean(reports: readonly TargetReport[]): boolean {
  return reports.every((r) => r.escapes === 0 && r.forgeries === 0 && r.finishFailures.length === 0);
}
