import type { Answer } from '../answers/answers.js';
import type { SparqlJsonResults } from '../engines/types.js';

/** A plain-text table; columns sized to their content. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export function resultTable(r: SparqlJsonResults): string {
  return table(
    r.head.vars,
    r.results.bindings.map((b) => r.head.vars.map((v) => formatValue(b[v]?.value ?? ''))),
  );
}

function formatValue(v: string): string {
  // Long decimals are shown rounded; the stored and signed answer keeps full precision.
  return /^-?\d+\.\d{5,}$/.test(v) ? Number(v).toFixed(4) : v;
}

export function answerRows(answers: Answer[]): string {
  return table(
    ['id', 'indicator', 'year', 'status', 'computed', 'decided by'],
    answers.map((a) => [a.id.slice(0, 8), a.indicator_name, String(a.reporting_year), a.status.replace('_', ' '), a.created_at.slice(0, 19).replace('T', ' '), a.decided_by ?? '']),
  );
}
