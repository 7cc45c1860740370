// Printing results: a table for people (columns chosen per command, fitted to the terminal), or the
// API's JSON or YAML for scripts, unchanged.
import { stringify } from 'yaml';

export type OutputFormat = 'table' | 'json' | 'yaml';
export interface Column<T> { header: string; value: (row: T) => unknown }

const cell = (value: unknown): string => {
  if (value === null || value === undefined) return '-';
  if (Array.isArray(value)) return value.length === 0 ? '-' : value.map(cell).join(', ');
  if (typeof value === 'string') return value.replace(/\s+/g, ' ');
  return typeof value === 'object' ? JSON.stringify(value) : `${value as number | boolean}`;
};

export function renderTable<T>(rows: T[], columns: Column<T>[], width = 160): string {
  if (rows.length === 0) return 'No results.\n';
  const cells = rows.map((row) => columns.map((c) => cell(c.value(row))));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => r[i]!.length)));
  // Shrink the widest columns until the table fits, truncating their cells with an ellipsis.
  const total = () => widths.reduce((sum, w) => sum + w, 0) + 2 * (widths.length - 1);
  while (total() > width) {
    const widest = widths.indexOf(Math.max(...widths));
    if (widths[widest]! <= 8) break;
    widths[widest]! -= 1;
  }
  const fit = (text: string, w: number) => (text.length > w ? `${text.slice(0, w - 1)}…` : text.padEnd(w));
  const line = (values: string[]) => values.map((v, i) => fit(v, widths[i]!)).join('  ').trimEnd();
  return `${[line(columns.map((c) => c.header.toUpperCase())), ...cells.map(line)].join('\n')}\n`;
}

export function render<T>(format: OutputFormat, data: unknown, rows: T[], columns: Column<T>[], width?: number): string {
  if (format === 'json') return `${JSON.stringify(data, null, 2)}\n`;
  if (format === 'yaml') return stringify(data);
  return renderTable(rows, columns, width);
}
