// Benchmark output: Markdown pipe tables, padded so they read well in a terminal and paste straight into
// benchmarks/README.md.

/** Prints `title`, a table and optional notes (one bullet each) to stdout. */
export function printTable(
  title: string,
  header: readonly string[],
  rows: readonly string[][],
  notes: readonly string[] = [],
): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  // The first column is a label (left-aligned); the rest are numbers (right-aligned).
  const line = (cells: readonly string[]): string =>
    '| ' +
    widths.map((w, i) => (i === 0 ? (cells[i] ?? '').padEnd(w) : (cells[i] ?? '').padStart(w))).join(' | ') +
    ' |';
  const rule =
    '|' + widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':')).join('|') + '|';
  const out = ['', `### ${title}`, '', line(header), rule, ...rows.map(line)];
  if (notes.length) out.push('', ...notes.map((n) => `- ${n}`));
  process.stdout.write(out.join('\n') + '\n');
}

/** `x` with `digits` decimals, or an em dash for a missing value. */
export function fmt(x: number | null | undefined, digits = 2): string {
  return x === null || x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(digits);
}

/** "0.35×" for a / b, or an em dash when either side is missing. */
export function fmtRatio(a: number | null | undefined, b: number | null | undefined, digits = 2): string {
  if (a === null || a === undefined || b === null || b === undefined || !(b > 0) || !Number.isFinite(a))
    return '—';
  return `${(a / b).toFixed(digits)}×`;
}

/** "0.266 [0.260–0.270]": a median with its spread. */
export function fmtSpread(median: number, min: number, max: number, digits = 3): string {
  return `${fmt(median, digits)} [${fmt(min, digits)}–${fmt(max, digits)}]`;
}

/** Bytes as MB with one decimal. */
export function fmtMB(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}
