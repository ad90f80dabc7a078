import type { LocationOverview, OverviewItem } from '../overview.js';
import { can } from '../../auth/roles.js';
import type { RoundPhase } from '../../answers/rounds.js';
import { ANSWER_STATUS_LABELS, csrfField, dateTime, dutchReason, indelingLabel, page, roundPath, value, type PageContext } from './format.js';
import { escapeHtml } from './layout.js';
import { indelingSegment } from './round.js';

/** The order the sets appear in; any other set follows. */
const SET_ORDER = ['Personeelssamenstelling', 'Basisveiligheid'];

/** A small line chart of the item's values over the years, with its data as the text alternative. */
export function trendSvg(trend: OverviewItem['trend'], label: string): string {
  const points = trend.filter((t): t is { year: number; value: number } => t.value !== null && Number.isFinite(t.value));
  const text = trend.length ? trend.map((t) => `${t.year}: ${t.value === null ? 'geen waarde' : value(String(t.value))}`).join('; ') : 'geen gegevens';
  const alt = `Trend van ${label}: ${text}`;
  const w = 120;
  const h = 32;
  const pad = 4;
  if (points.length === 0) return `<span class="muted">—<span class="sr-only">${escapeHtml(alt)}</span></span>`;
  const years = points.map((p) => p.year);
  const values = points.map((p) => p.value);
  const [y0, y1] = [Math.min(...years), Math.max(...years)];
  const [v0, v1] = [Math.min(...values), Math.max(...values)];
  const x = (year: number) => (y1 === y0 ? w / 2 : pad + ((year - y0) / (y1 - y0)) * (w - 2 * pad));
  const y = (v: number) => (v1 === v0 ? h / 2 : h - pad - ((v - v0) / (v1 - v0)) * (h - 2 * pad));
  const coords = points.map((p) => `${x(p.year).toFixed(1)},${y(p.value).toFixed(1)}`);
  const dots = points.map((p) => `<circle cx="${x(p.year).toFixed(1)}" cy="${y(p.value).toFixed(1)}" r="2.5" fill="#0b4f8a"/>`).join('');
  const line = points.length > 1 ? `<polyline points="${coords.join(' ')}" fill="none" stroke="#0b4f8a" stroke-width="2"/>` : '';
  return `<svg class="trend" role="img" aria-label="${escapeHtml(alt)}" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}"><title>${escapeHtml(alt)}</title>${line}${dots}</svg>`;
}

function signals(i: OverviewItem): string {
  const parts: string[] = [];
  if (i.override)
    parts.push(
      `<span class="tag tag-warn" data-testid="corrected-${escapeHtml(i.item.id)}">gecorrigeerd</span> oorspronkelijk ${escapeHtml(value(i.override.original.value))}` +
        (i.override.original.teller !== null || i.override.original.noemer !== null ? ` (${escapeHtml(value(i.override.original.teller))}/${escapeHtml(value(i.override.original.noemer))})` : '') +
        `, door ${escapeHtml(i.override.by)} op ${escapeHtml(dateTime(i.override.at))}: <q>${escapeHtml(i.override.justification)}</q>`,
    );
  if (i.manualEntry) parts.push(`<span class="tag tag-info">ingevoerd</span> door ${escapeHtml(i.manualEntry.enteredBy)} op ${escapeHtml(dateTime(i.manualEntry.enteredAt))}`);
  if (i.awaitingEntry) parts.push(`<span class="tag tag-warn">nog niet ingevoerd</span>`);
  else if (i.notComputable) parts.push(`<span class="tag tag-info">niet berekenbaar</span> ${escapeHtml(dutchReason(i.notComputable))}`);
  for (const w of i.warnings) parts.push(`<span class="tag tag-warn">let op</span> ${escapeHtml(w)}`);
  if (!i.answerId) parts.push(`<span class="tag tag-error">geen antwoord</span>`);
  else if (i.answerStatus) parts.push(`<span class="muted">${escapeHtml(ANSWER_STATUS_LABELS[i.answerStatus] ?? i.answerStatus)}</span>`);
  return parts.join('<br>');
}

function manualForm(ctx: PageContext, action: string, i: OverviewItem): string {
  const id = escapeHtml(i.item.id);
  const label = `Waarde voor ${i.item.number} ${i.item.name}`;
  const current = i.value ?? '';
  let field: string;
  if (i.item.unit === 'yes/no')
    field = `<select id="manual-value-${id}" name="value" required><option value="">Kies…</option><option value="ja"${current === 'ja' ? ' selected' : ''}>ja</option><option value="nee"${current === 'nee' ? ' selected' : ''}>nee</option></select>`;
  else if (i.item.unit === 'text') field = `<textarea id="manual-value-${id}" name="value" required maxlength="4000">${escapeHtml(current)}</textarea>`;
  else if (i.item.unit === 'url') field = `<input type="url" id="manual-value-${id}" name="value" required placeholder="https://" value="${escapeHtml(current)}">`;
  else field = `<input type="text" inputmode="decimal" id="manual-value-${id}" name="value" required value="${escapeHtml(current)}">`;
  return `<form method="post" action="${action}/handmatig" id="manual-form-${id}" data-testid="manual-form-${id}">${csrfField(ctx.csrfToken)}
<div class="form-row"><label for="manual-value-${id}">${escapeHtml(label)}</label>${field}</div>
<button type="submit" id="manual-save-${id}">Opslaan</button></form>`;
}

function correctionForm(ctx: PageContext, action: string, i: OverviewItem): string {
  const id = escapeHtml(i.item.id);
  return `<details><summary>Corrigeren</summary>
<form method="post" action="${action}/correctie" id="correction-form-${id}" data-testid="correction-form-${id}">${csrfField(ctx.csrfToken)}
${
  // A row with a teller sends the value computed from teller and noemer: those are what is corrected.
  i.teller !== null || i.noemer !== null
    ? `<div class="form-row"><label for="correction-teller-${id}">Teller</label><input type="text" inputmode="decimal" id="correction-teller-${id}" name="teller" required></div>
<div class="form-row"><label for="correction-noemer-${id}">Noemer${i.noemer === null ? ' (optioneel)' : ''}</label><input type="text" inputmode="decimal" id="correction-noemer-${id}" name="noemer"${i.noemer === null ? '' : ' required'}></div>
<div class="form-row"><label for="correction-value-${id}">Nieuwe waarde (optioneel: wordt berekend uit teller en noemer)</label><input type="text" inputmode="decimal" id="correction-value-${id}" name="value"></div>`
    : `<div class="form-row"><label for="correction-value-${id}">Nieuwe waarde</label><input type="text" inputmode="decimal" id="correction-value-${id}" name="value"></div>
<div class="form-row"><label for="correction-teller-${id}">Teller (optioneel; dan wordt de waarde berekend)</label><input type="text" inputmode="decimal" id="correction-teller-${id}" name="teller"></div>
<div class="form-row"><label for="correction-noemer-${id}">Noemer (optioneel)</label><input type="text" inputmode="decimal" id="correction-noemer-${id}" name="noemer"></div>`
}
<div class="form-row"><label for="correction-justification-${id}">Toelichting</label><textarea id="correction-justification-${id}" name="justification" required minlength="10"></textarea></div>
<button type="submit" id="correction-save-${id}">Correctie opslaan</button></form></details>`;
}

function setTable(ctx: PageContext, o: LocationOverview, phase: RoundPhase, set: string, items: OverviewItem[]): string {
  const base = `${roundPath(o.round)}/${indelingSegment(o.indeling)}`;
  const open = phase !== 'locked';
  const mayEnter = open && can(ctx.user.role, 'enter-manual');
  const mayCorrect = open && can(ctx.user.role, 'correct');
  const rows = items
    .map((i) => {
      const action = `${base}/items/${encodeURIComponent(i.item.id)}`;
      const forms = i.item.manual ? (mayEnter ? manualForm(ctx, action, i) : '') : mayCorrect && i.answerId && i.value !== null ? correctionForm(ctx, action, i) : '';
      const unit = i.item.unit === 'percentage' && i.value !== null ? ' %' : '';
      return `<tr data-testid="item-${escapeHtml(i.item.id)}">
<td>${escapeHtml(i.item.number)}</td>
<th scope="row"><a href="${action}">${escapeHtml(i.item.name)}</a></th>
<td class="num" data-testid="value-${escapeHtml(i.item.id)}">${escapeHtml(value(i.value))}${unit}</td>
<td class="num">${escapeHtml(value(i.teller))}</td>
<td class="num">${escapeHtml(value(i.noemer))}</td>
<td class="num">${i.previous ? `${escapeHtml(value(i.previous.value))} <span class="muted">(${i.previous.year})</span>` : '—'}</td>
<td class="num">${escapeHtml(value(i.change))}</td>
<td>${trendSvg(i.trend, `${i.item.number} ${i.item.name}`)}</td>
<td>${signals(i)}${forms ? `<div class="no-print">${forms}</div>` : ''}</td>
</tr>`;
    })
    .join('\n');
  const slug = set.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  return `<h2 id="set-${escapeHtml(slug)}">${escapeHtml(set)}</h2>
<div class="table-wrap"><table data-testid="set-${escapeHtml(slug)}">
<caption>${escapeHtml(set)}: ${escapeHtml(indelingLabel(o.indeling, o.name))}, ${o.round.year}</caption>
<thead><tr><th scope="col">Nr.</th><th scope="col">Item</th><th scope="col">Waarde</th><th scope="col">Teller</th><th scope="col">Noemer</th><th scope="col">Vorig jaar</th><th scope="col">Verschil</th><th scope="col">Trend</th><th scope="col">Signalen</th></tr></thead>
<tbody>${rows}</tbody>
</table></div>`;
}

/** The items of an overview per set, in the usual order of the sets. */
export function itemsBySet(items: OverviewItem[]): Array<[string, OverviewItem[]]> {
  const sets = new Map<string, OverviewItem[]>();
  for (const i of items) sets.set(i.item.set, [...(sets.get(i.item.set) ?? []), i]);
  const rank = (s: string) => (SET_ORDER.includes(s) ? SET_ORDER.indexOf(s) : SET_ORDER.length);
  return [...sets].sort((a, b) => rank(a[0]) - rank(b[0]) || a[0].localeCompare(b[0]));
}

/** The body of one location's overview (also used by the printable page). */
export function overviewSections(ctx: PageContext, o: LocationOverview, phase: RoundPhase): string {
  return itemsBySet(o.items)
    .map(([set, items]) => setTable(ctx, o, phase, set, items))
    .join('\n');
}

/** The prestatieoverzicht of one indeling: every item of both sets, with the forms the user may use. */
export function overviewPage(ctx: PageContext, o: LocationOverview, phase: RoundPhase): string {
  const base = roundPath(o.round);
  const title = `Prestatieoverzicht ${indelingLabel(o.indeling, o.name)}`;
  const body = `<h1>${escapeHtml(title)}</h1>
<dl class="facts">
<dt>Organisatie</dt><dd>${escapeHtml(o.organisation.name)}${o.organisation.kvk ? ` (KvK ${escapeHtml(o.organisation.kvk)})` : ''}</dd>
<dt>Indeling</dt><dd>${escapeHtml(o.indeling)}</dd>
<dt>Ronde</dt><dd>${escapeHtml(o.round.name)} ${o.round.year}</dd>
<dt>Momentopname</dt><dd><code class="hash">${escapeHtml(o.snapshot ?? '—')}</code></dd>
</dl>
${phase !== 'locked' && can(ctx.user.role, 'approve') ? `<p><a class="button" href="${base}/${indelingSegment(o.indeling)}/goedkeuren" id="to-approval">Naar goedkeuren</a></p>` : ''}
${overviewSections(ctx, o, phase)}`;
  return page(ctx, title, body, [
    { href: '/', label: 'Rondes' },
    { href: base, label: `${o.round.name} ${o.round.year}` },
    { href: `${base}/${indelingSegment(o.indeling)}`, label: indelingLabel(o.indeling, o.name) },
  ]);
}
