import type { AuditEntry } from '../../audit/log.js';
import type { LocationOverview, OverviewItem } from '../overview.js';
import { ANSWER_STATUS_LABELS, dateTime, dutchReason, indelingLabel, page, roundPath, value, type PageContext } from './format.js';
import { escapeHtml } from './layout.js';
import { trendSvg } from './overview.js';
import { indelingSegment } from './round.js';

const UNIT_LABELS: Record<string, string> = { number: 'aantal', percentage: 'percentage', 'yes/no': 'ja/nee', text: 'tekst', url: 'webadres' };

/** Dutch for the audit actions the board meets most; others show their code. */
export const AUDIT_ACTION_LABELS: Record<string, string> = {
  'answer.computed': 'berekend',
  'answer.recorded': 'vastgelegd',
  'answer.approved': 'antwoord goedgekeurd',
  'answer.rejected': 'antwoord afgewezen',
  'answer.corrected': 'gecorrigeerd',
  'answer.superseded': 'vervangen',
  'manual.entered': 'handmatig ingevoerd',
  'review.prepared': 'klaargezet',
  'review.approved': 'goedgekeurd',
  'review.rejected': 'afgewezen',
  delivery: 'levering',
  'user.login': 'ingelogd',
  'user.login-failed': 'inloggen mislukt',
  'user.locked': 'account geblokkeerd',
  'user.confirmed': 'wachtwoord bevestigd',
};

export function auditRows(entries: AuditEntry[]): string {
  return entries
    .map(
      (e) => `<tr data-testid="audit-${e.seq}"><td class="num">${e.seq}</td><td>${escapeHtml(dateTime(e.at))}</td><td>${escapeHtml(e.actor)}</td><td>${escapeHtml(AUDIT_ACTION_LABELS[e.action] ?? e.action)} <code>${escapeHtml(e.action)}</code></td><td><code class="hash">${escapeHtml(e.subject ?? '')}</code></td><td><details><summary>Details</summary><code>${escapeHtml(e.details)}</code></details></td></tr>`,
    )
    .join('\n');
}

/** One item of one indeling: what it measures, how and on what it was computed, and its history. */
export function itemPage(ctx: PageContext, o: LocationOverview, i: OverviewItem, history: AuditEntry[]): string {
  const base = roundPath(o.round);
  const overviewHref = `${base}/${indelingSegment(o.indeling)}`;
  const p = i.provenance;
  const title = `${i.item.number} ${i.item.name}`;
  const body = `<h1>${escapeHtml(title)}</h1>
<p>${escapeHtml(indelingLabel(o.indeling, o.name))} · ${escapeHtml(o.round.name)} ${o.round.year}</p>
<h2>Waarde</h2>
<dl class="facts" id="item-value">
<dt>Waarde</dt><dd>${escapeHtml(value(i.value))}${i.notComputable ? ` (niet berekenbaar: ${escapeHtml(dutchReason(i.notComputable))})` : ''}</dd>
<dt>Teller</dt><dd>${escapeHtml(value(i.teller))}</dd>
<dt>Noemer</dt><dd>${escapeHtml(value(i.noemer))}</dd>
<dt>Vorig jaar</dt><dd>${i.previous ? `${escapeHtml(value(i.previous.value))} (${i.previous.year})` : '—'}</dd>
<dt>Verschil</dt><dd>${escapeHtml(value(i.change))}</dd>
<dt>Trend</dt><dd>${trendSvg(i.trend, title)}</dd>
<dt>Status</dt><dd>${escapeHtml(i.answerStatus ? (ANSWER_STATUS_LABELS[i.answerStatus] ?? i.answerStatus) : 'geen antwoord')}</dd>
${i.override ? `<dt>Correctie</dt><dd><span class="tag tag-warn">gecorrigeerd</span> oorspronkelijk ${escapeHtml(value(i.override.original.value))} (teller ${escapeHtml(value(i.override.original.teller))}, noemer ${escapeHtml(value(i.override.original.noemer))}); door ${escapeHtml(i.override.by)} op ${escapeHtml(dateTime(i.override.at))}: <q>${escapeHtml(i.override.justification)}</q></dd>` : ''}
${i.manualEntry ? `<dt>Ingevoerd</dt><dd>door ${escapeHtml(i.manualEntry.enteredBy)} op ${escapeHtml(dateTime(i.manualEntry.enteredAt))}</dd>` : ''}
${i.warnings.length ? `<dt>Signalen</dt><dd><ul>${i.warnings.map((w) => `<li>${escapeHtml(w)}</li>`).join('')}</ul></dd>` : ''}
</dl>
<h2>Definitie</h2>
<dl class="facts" id="item-definition">
<dt>Set</dt><dd>${escapeHtml(i.item.set)}</dd>
<dt>Identificatie</dt><dd><code>${escapeHtml(i.item.id)}</code> (${escapeHtml(i.item.inid)})</dd>
<dt>Eenheid</dt><dd>${escapeHtml(UNIT_LABELS[i.item.unit] ?? i.item.unit)}</dd>
<dt>Niveau</dt><dd>${escapeHtml(i.item.level.map((l) => (l === 'organisation' ? 'organisatie' : 'locatie')).join(', '))}</dd>
<dt>Soort</dt><dd>${i.item.manual ? 'handmatig in te voeren' : 'berekend uit de brondata'}</dd>
<dt>Definitie</dt><dd>${escapeHtml(i.item.definition ?? '—')}</dd>
<dt>Interpretatie</dt><dd id="item-interpretation">${escapeHtml(i.item.interpretation ?? '—')}</dd>
</dl>
<h2>Herkomst</h2>
${
  p
    ? `<dl class="facts" id="item-provenance">
<dt>Profiel</dt><dd>${escapeHtml(p.profile)} versie ${escapeHtml(p.profileVersion)}</dd>
<dt>Queryhash</dt><dd><code class="hash">${escapeHtml(p.queryHash)}</code></dd>
<dt>Momentopname</dt><dd><code class="hash">${escapeHtml(p.snapshotHash)}</code></dd>
<dt>Rekenmachine</dt><dd>${escapeHtml(p.engine ?? '—')}</dd>
<dt>Ontologieversie</dt><dd>${escapeHtml(p.ontologyVersion ?? '—')}</dd>
<dt>Berekend op</dt><dd>${escapeHtml(dateTime(p.computedAt))}</dd>
<dt>Inhoudshash</dt><dd><code class="hash">${escapeHtml(p.contentHash)}</code></dd>
<dt>Antwoord</dt><dd><code class="hash">${escapeHtml(i.answerId ?? '—')}</code></dd>
</dl>`
    : '<p>Er is voor dit item nog geen antwoord.</p>'
}
<h2>Geschiedenis</h2>
${
  history.length
    ? `<div class="table-wrap"><table id="item-history"><caption>Logboek van dit antwoord</caption><thead><tr><th scope="col">Nr.</th><th scope="col">Wanneer</th><th scope="col">Wie</th><th scope="col">Wat</th><th scope="col">Onderwerp</th><th scope="col">Details</th></tr></thead><tbody>${auditRows(history)}</tbody></table></div>`
    : '<p>Geen logboekregels.</p>'
}`;
  return page(ctx, title, body, [
    { href: '/', label: 'Rondes' },
    { href: base, label: `${o.round.name} ${o.round.year}` },
    { href: overviewHref, label: indelingLabel(o.indeling, o.name) },
    { href: `${overviewHref}/items/${encodeURIComponent(i.item.id)}`, label: `${i.item.number}` },
  ]);
}
