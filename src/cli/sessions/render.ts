// Output formats shared by every view: an aligned text table, CSV (RFC 4180 quoting, LF line ends for shell tools) and JSON. Table and CSV take
// columns; JSON is the rows as they are.

export type Cell = string | number | boolean | null;

export interface Column<Row> {
  /** Table header. */
  header: string;
  /** CSV header / JSON key. */
  key: string;
  align?: 'left' | 'right';
  /** The cell as the table shows it. */
  text(row: Row): string;
  /** The value for CSV and JSON. */
  value(row: Row): Cell | Cell[];
}

export function renderTable<Row>(columns: Column<Row>[], rows: Row[]): string {
  const cells = rows.map((row) => columns.map((column) => column.text(row)));
  const widths = columns.map((column, i) => Math.max(column.header.length, ...cells.map((line) => line[i].length)));
  const line = (values: string[]) =>
    values
      .map((value, i) => (columns[i].align === 'right' ? value.padStart(widths[i]) : value.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return `${[line(columns.map((column) => column.header)), ...cells.map(line)].join('\n')}\n`;
}

function csvField(value: Cell | Cell[]): string {
  const text = Array.isArray(value) ? value.join(';') : value === null ? '' : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function renderCsv<Row>(columns: Column<Row>[], rows: Row[]): string {
  const lines = [columns.map((column) => csvField(column.key)), ...rows.map((row) => columns.map((column) => csvField(column.value(row))))];
  return `${lines.map((fields) => fields.join(',')).join('\n')}\n`;
}

/** One object per row with the columns' keys, in column order. */
export function renderJson<Row>(columns: Column<Row>[], rows: Row[]): string {
  const objects = rows.map((row) => Object.fromEntries(columns.map((column) => [column.key, column.value(row)])));
  return `${JSON.stringify(objects, null, 2)}\n`;
}
