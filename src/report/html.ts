import type { MissingData, ProcessingReport, Rejection, ShaclViolation, SourceReport } from './types.js';

/**
 * The processing report (verwerkingsverslag) as one self-contained HTML page: no scripts, no external
 * resources, every value from the report escaped. Written next to the JSON report after each import and
 * shown by `kikv report --html`.
 */

/** Tables longer than this show their first rows and say how many more the JSON report holds. */
export const MAX_TABLE_ROWS = 2000;

export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const nf = new Intl.NumberFormat('en-GB');
function num(n: number | undefined): string {
  return n === undefined || !Number.isFinite(n) ? '–' : nf.format(n);
}

function cell(v: unknown, cls?: string): string {
  const text = v === null || v === undefined || v === '' ? '' : escapeHtml(v);
  return `<td${cls ? ` class="${cls}"` : ''}>${text}</td>`;
}

/** Shows the local name of a shape IRI ("…#Vestiging-postcode"), with the whole IRI as a tooltip. */
function shapeCell(iri: string | undefined): string {
  if (!iri) return '<td></td>';
  const local = /#([^#]+)$/.exec(iri)?.[1];
  return `<td class="iri" title="${escapeHtml(iri)}">${escapeHtml(local ?? iri)}</td>`;
}

function more(shown: number, total: number): string {
  return total > shown ? `<p class="more">Showing the first ${num(shown)} of ${num(total)}; the JSON report holds them all.</p>` : '';
}

function sourcesTable(files: SourceReport[], totals: ProcessingReport['totals']): string {
  if (files.length === 0) return '<p>No source was read.</p>';
  const rows = files
    .map((f) => {
      const balanced = f.rowsRead === f.rowsMapped + f.rowsRejected;
      return `<tr${f.rowsRejected > 0 ? ' class="has-rejections"' : ''}>${cell(f.file)}${cell(f.table)}${cell(num(f.rowsRead), 'n')}${cell(num(f.rowsMapped), 'n')}${cell(num(f.rowsRejected), f.rowsRejected > 0 ? 'n bad' : 'n')}${cell(num(f.triples), 'n')}${cell(balanced ? '' : 'read ≠ mapped + rejected', 'bad')}</tr>`;
    })
    .join('\n');
  return `<table>
<thead><tr><th>Source</th><th>Staging table</th><th class="n">Rows read</th><th class="n">Mapped</th><th class="n">Rejected</th><th class="n">Statements</th><th></th></tr></thead>
<tbody>
${rows}
</tbody>
<tfoot><tr><th>Total</th><th></th><th class="n">${num(totals.rowsRead)}</th><th class="n">${num(totals.rowsMapped)}</th><th class="n">${num(totals.rowsRejected)}</th><th class="n">${num(totals.triples)}</th><th></th></tr></tfoot>
</table>`;
}

function rejectionsTable(rejections: Rejection[]): string {
  if (rejections.length === 0) return '<p class="ok">No row was rejected.</p>';
  const shown = rejections.slice(0, MAX_TABLE_ROWS);
  const rows = shown.map((j) => `<tr>${cell(j.file)}${cell(num(j.row), 'n')}${cell(num(j.line), 'n')}${cell(j.column)}${cell(j.value, 'value')}${cell(j.reason)}</tr>`).join('\n');
  return `<table>
<thead><tr><th>File</th><th class="n">Row</th><th class="n">Line</th><th>Column</th><th>Value</th><th>Reason</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>
${more(shown.length, rejections.length)}`;
}

function violationsTable(violations: ShaclViolation[]): string {
  if (violations.length === 0) return '<p class="ok">The data conforms to the shapes.</p>';
  const shown = violations.slice(0, MAX_TABLE_ROWS);
  const rows = shown
    .map(
      (v) =>
        `<tr class="sev-${escapeHtml(v.severity.toLowerCase())}">${cell(v.severity, 'sev')}${cell(v.origin ? `${v.origin.file} row ${v.origin.row}` : '')}${cell(v.focusNode, 'iri')}${cell(v.path, 'path')}${cell(v.value, 'value')}${cell(v.message)}${shapeCell(v.shape)}</tr>`,
    )
    .join('\n');
  return `<table>
<thead><tr><th>Severity</th><th>Source row</th><th>Focus node</th><th>Path</th><th>Value</th><th>Message</th><th>Shape</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>
${more(shown.length, violations.length)}`;
}

function missingTable(missing: MissingData[]): string {
  if (missing.length === 0) return '<p class="ok">Every indicator of the configured profiles has the data it needs for the reporting period.</p>';
  const rows = missing.map((m) => `<tr>${cell(m.indicator)}${cell(m.title)}${cell(m.year, 'n')}${cell(m.message)}</tr>`).join('\n');
  return `<table>
<thead><tr><th>Indicator</th><th>Title</th><th class="n">Year</th><th>What is missing</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>`;
}

function bySeverity(violations: ShaclViolation[]): Record<ShaclViolation['severity'], number> {
  const c = { Violation: 0, Warning: 0, Info: 0 };
  for (const v of violations) c[v.severity]++;
  return c;
}

const STYLE = `
:root { color-scheme: light; --bad: #b3261e; --warn: #8a5a00; --ok: #1e6b35; --line: #d7d7d7; --muted: #5f6368; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0 auto; max-width: 1400px; padding: 24px; color: #1f1f1f; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 32px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
.status { font-weight: 600; margin: 4px 0 16px; }
.status.ok, .ok { color: var(--ok); }
.status.bad, .bad { color: var(--bad); }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0; }
dl.meta dt { color: var(--muted); }
dl.meta dd { margin: 0; overflow-wrap: anywhere; }
code, .hash, .path, .value, .iri { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 10px 14px; min-width: 150px; }
.card .v { font-size: 22px; font-weight: 600; }
.card .k { color: var(--muted); }
.card.bad .v { color: var(--bad); }
.card.warn .v { color: var(--warn); }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: 4px 8px; border-bottom: 1px solid var(--line); }
thead th { background: #f4f4f4; position: sticky; top: 0; }
tfoot th { border-top: 2px solid #999; }
.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.value, td.path, td.iri { overflow-wrap: anywhere; max-width: 28em; }
tr.sev-violation td.sev { color: var(--bad); font-weight: 600; }
tr.sev-warning td.sev { color: var(--warn); font-weight: 600; }
tr.sev-info td.sev { color: var(--muted); }
.more { color: var(--muted); font-style: italic; }
footer { margin-top: 40px; color: var(--muted); font-size: 12px; }
@media print { thead th { position: static; } body { padding: 0; } }
`;

/** Renders the processing report as a complete, self-contained HTML document. */
export function renderReportHtml(report: ProcessingReport): string {
  const files = report.files ?? [];
  const fileErrors = report.fileErrors ?? [];
  const violations = report.violations ?? [];
  const missing = report.missing ?? [];
  const rejections = files.flatMap((f) => f.rejections ?? []);
  const totals = report.totals ?? { rowsRead: 0, rowsMapped: 0, rowsRejected: 0, triples: 0 };
  const sev = bySeverity(violations);
  const made = report.snapshot !== undefined;
  const status = made
    ? `<p class="status ok">Snapshot made: the data can be used to compute indicators${sev.Violation > 0 ? `, but ${num(sev.Violation)} SHACL violation${sev.Violation === 1 ? '' : 's'} need attention` : ''}.</p>`
    : `<p class="status bad">No snapshot was made${fileErrors.length > 0 ? ': fix the sources listed under “Sources not read” and import again' : ''}.</p>`;
  const card = (value: number, label: string, cls = '') => `<div class="card ${cls}"><div class="v">${num(value)}</div><div class="k">${escapeHtml(label)}</div></div>`;
  const title = `Processing report ${report.finishedAt ?? ''}`.trim();

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="kikv-agent">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>Processing report</h1>
${status}
<dl class="meta">
<dt>Source</dt><dd><code>${escapeHtml(report.source)}</code></dd>
<dt>Started</dt><dd>${escapeHtml(report.startedAt)}</dd>
<dt>Finished</dt><dd>${escapeHtml(report.finishedAt)}</dd>
<dt>Mapping</dt><dd><code>${escapeHtml(report.mapping?.file)}</code><br><span class="hash">sha256 ${escapeHtml(report.mapping?.sha256)}</span></dd>
<dt>Ontology</dt><dd>${escapeHtml(report.ontology)}</dd>
<dt>Data period</dt><dd>${report.period ? `${escapeHtml(report.period.from)} – ${escapeHtml(report.period.to)}` : '–'}</dd>
<dt>Snapshot</dt><dd>${made ? `<span class="hash">${escapeHtml(report.snapshot)}</span>` : 'none'}</dd>
</dl>
</header>

<section id="summary">
<h2>Summary</h2>
<div class="cards">
${card(totals.rowsRead, 'rows read')}
${card(totals.rowsMapped, 'rows mapped')}
${card(totals.rowsRejected, 'rows rejected', totals.rowsRejected > 0 ? 'bad' : '')}
${card(totals.triples, 'statements')}
${card(sev.Violation, 'SHACL violations', sev.Violation > 0 ? 'bad' : '')}
${card(sev.Warning, 'SHACL warnings', sev.Warning > 0 ? 'warn' : '')}
${card(missing.length, 'indicators missing data', missing.length > 0 ? 'warn' : '')}
${fileErrors.length > 0 ? card(fileErrors.length, 'sources not read', 'bad') : ''}
</div>
</section>

<section id="sources">
<h2>Sources</h2>
${sourcesTable(files, totals)}
${
  fileErrors.length > 0
    ? `<h3>Sources not read</h3>
<table>
<thead><tr><th>Source</th><th>Reason</th></tr></thead>
<tbody>
${fileErrors.map((e) => `<tr>${cell(e.file)}${cell(e.reason, 'bad')}</tr>`).join('\n')}
</tbody>
</table>`
    : ''
}
</section>

<section id="rejections">
<h2>Rejected rows (${num(rejections.length)})</h2>
${rejectionsTable(rejections)}
</section>

<section id="violations">
<h2>SHACL results (${num(sev.Violation)} violations, ${num(sev.Warning)} warnings, ${num(sev.Info)} notes)</h2>
${report.validation?.note ? `<p class="bad">${escapeHtml(report.validation.note)}</p>` : violationsTable(violations)}
</section>

<section id="missing">
<h2>Missing data per indicator (${num(missing.length)})</h2>
${missingTable(missing)}
</section>

<footer>Generated by kikv-agent. Every number traces back to a source row: rows read = mapped + rejected per source; rejections and SHACL results name the row they came from where known.</footer>
</body>
</html>
`;
}
