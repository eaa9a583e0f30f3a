// Plain-text tables and units for the CLI. No colours: output goes to logs and pipes as often as to
// terminals.

export function table(header: string[], rows: string[][]): string {
  return fitTable(header, rows, { maxWidth: Infinity });
}

export interface FitOptions {
  /** Widest line allowed; Infinity for no limit. */
  maxWidth: number;
  /** Columns that may be narrowed (index → narrowest width), widest first. Others keep their width. */
  shrink?: ReadonlyMap<number, number>;
  /** Columns whose cells are cut in the middle (addresses: both ends matter); others at the end. */
  cutMiddle?: ReadonlySet<number>;
}

/**
 * A table whose lines fit `maxWidth`: shrinkable columns give up width (widest first) and their cells
 * are shortened with '…'. The last column is not padded. A row with fewer cells than the header is a
 * spanning row: its last cell runs from its column to the end of the line (a sentence instead of
 * several empty cells) and does not widen that column. Widths count UTF-16 units, which is columns
 * for everything this CLI prints (no wide characters).
 */
export function fitTable(header: string[], rows: string[][], opts: FitOptions): string {
  const sized = (r: string[], i: number): number =>
    r.length < header.length && i >= r.length - 1 ? 0 : (r[i] ?? '').length;
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => sized(r, i))));
  const total = (): number => widths.reduce((a, b) => a + b, 0) + 2 * (widths.length - 1);
  const shrink = opts.shrink ?? new Map<number, number>();
  while (total() > opts.maxWidth) {
    let widest = -1;
    for (const [i, min] of shrink) {
      if (widths[i] > min && (widest < 0 || widths[i] > widths[widest])) widest = i;
    }
    if (widest < 0) break;
    widths[widest]--;
  }
  const line = (cells: string[]): string => {
    const spanning = cells.length < header.length;
    let out = '';
    cells.forEach((c, i) => {
      const last = i === cells.length - 1;
      const width = spanning && last ? Math.max(1, opts.maxWidth - out.length) : widths[i];
      const cell = cut(c, width, opts.cutMiddle?.has(i) && !(spanning && last) ? 'middle' : 'end');
      out += last ? cell : cell.padEnd(widths[i]) + '  ';
    });
    return out.trimEnd();
  };
  return [line(header), ...rows.map(line)].join('\n');
}

/** `text` shortened to `width` with '…' at the end or in the middle; unchanged if it fits. */
export function cut(text: string, width: number, where: 'end' | 'middle' = 'end'): string {
  if (text.length <= width) return text;
  if (width <= 1) return '…'.slice(0, width);
  if (where === 'end') return text.slice(0, width - 1) + '…';
  const head = Math.ceil((width - 1) / 2);
  return text.slice(0, head) + '…' + text.slice(text.length - (width - 1 - head));
}

/** Words of `text` wrapped into lines of at most `width` (a word longer than that gets its own line). */
export function wrap(text: string, width: number, indent = ''): string {
  const lines: string[] = [];
  let current = '';
  for (const word of text.split(' ')) {
    if (current !== '' && current.length + 1 + word.length > width) {
      lines.push(current);
      current = indent + word;
    } else current = current === '' ? word : `${current} ${word}`;
  }
  if (current !== '') lines.push(current);
  return lines.join('\n');
}

export function ms(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '-';
  return v < 10 ? `${v.toFixed(2)} ms` : `${v.toFixed(1)} ms`;
}

export function pct(ratio: number | null | undefined): string {
  if (ratio === null || ratio === undefined) return '-';
  return `${(ratio * 100).toFixed(ratio > 0 && ratio < 0.1 ? 1 : 0)}%`;
}

export function bytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${units[u]}`;
}

export function duration(msValue: number | null | undefined): string {
  if (msValue === null || msValue === undefined) return '-';
  const s = Math.floor(msValue / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600)}h`;
}
