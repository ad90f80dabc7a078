/** RFC 4180 CSV writing for the sample exports. */

const NEEDS_QUOTES = /[",\r\n]/;

/** Quotes a field only when it contains a comma, double quote, CR or LF; inner quotes are doubled. */
export function csvField(value: string): string {
  return NEEDS_QUOTES.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/**
 * The CSV text for one table: header row with `columns` in the given order, one line per row
 * (missing values written empty), LF line endings, final newline, no byte-order mark.
 */
export function toCsv(columns: string[], rows: Array<Record<string, string>>): string {
  const lines: string[] = [columns.map(csvField).join(',')];
  for (const row of rows) lines.push(columns.map((c) => csvField(row[c] ?? '')).join(','));
  return lines.join('\n') + '\n';
}
