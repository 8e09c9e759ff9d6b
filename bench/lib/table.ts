// Plain-text table printing: fixed-width columns, numbers right-aligned, so the benchmark output reads
// well in a terminal and in CI logs without any dependency.

export type Align = 'left' | 'right';

export interface Column {
  header: string;
  align?: Align;
}

export function formatTable(columns: Column[], rows: string[][]): string {
  const widths = columns.map((col, i) => Math.max(col.header.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (columns[i].align === 'right' ? cell.padStart(widths[i]) : cell.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  const header = line(columns.map((col) => col.header));
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [header, rule, ...rows.map(line)].join('\n');
}

export function printTable(columns: Column[], rows: string[][]): void {
  console.log(formatTable(columns, rows));
}

/** Fixed decimals, with a dash for missing values so a column never shows "NaN". */
export function fmt(value: number | undefined, digits = 2): string {
  return value === undefined || !Number.isFinite(value) ? '-' : value.toFixed(digits);
}

/** Like fmt but with an explicit sign, for deltas. */
export function fmtDelta(value: number, digits = 2): string {
  if (!Number.isFinite(value)) return '-';
  return (value >= 0 ? '+' : '') + value.toFixed(digits);
}

export function fmtPercent(ratio: number, digits = 1): string {
  return Number.isFinite(ratio) ? `${(ratio * 100).toFixed(digits)} %` : '-';
}
