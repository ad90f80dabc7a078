import type { IndelingContent, IndelingReview } from '../../answers/review.js';
import type { Round, RoundPhase } from '../../answers/rounds.js';
import { can } from '../../auth/roles.js';
import { csrfField, dutchReason, indelingLabel, page, REVIEW_LABELS, roundPath, value, type PageContext } from './format.js';
import { escapeHtml } from './layout.js';
import { indelingSegment } from './round.js';

export interface ApprovalPageData {
  round: Round;
  phase: RoundPhase;
  /** One indeling, or 'all'. */
  indeling: string;
  contents: IndelingContent[];
  reviews: IndelingReview[];
  /** The hash the approval is checked against (the indeling's, or the round's for all). */
  expectedHash: string;
  names: Record<string, string>;
  /** item id → "number name", for the rows. */
  itemNames: Record<string, string>;
}

/** The reason in Dutch, and the exact text that is sent when that differs. */
function notComputableCell(sent: string): string {
  const nl = dutchReason(sent);
  return `niet berekenbaar: ${escapeHtml(nl)}${nl === sent ? '' : ` <span class="muted">(verzonden als <q lang="en">${escapeHtml(sent)}</q>)</span>`}`;
}

function contentTable(c: IndelingContent, d: ApprovalPageData): string {
  const rows = c.rows
    .map((r) => {
      const nc = r.row.niet_berekenbaar;
      return `<tr><th scope="row">${escapeHtml(d.itemNames[r.item] ?? r.item)}</th><td>${escapeHtml(r.row.indeling ?? c.indeling)}</td><td class="num">${escapeHtml(value(r.row.teller))}</td><td class="num">${escapeHtml(value(r.row.noemer))}</td><td class="num">${nc ? notComputableCell(nc) : escapeHtml(value(r.row.waarde))}</td><td><code class="hash">${escapeHtml(r.contentHash)}</code></td></tr>`;
    })
    .join('\n');
  const review = d.reviews.find((r) => r.indeling === c.indeling);
  return `<h2>${escapeHtml(indelingLabel(c.indeling, d.names[c.indeling]))}</h2>
<p>Beoordeling: <strong>${escapeHtml(review ? REVIEW_LABELS[review.state] : '—')}</strong> · inhoudshash <code class="hash" data-testid="content-hash-${escapeHtml(c.indeling)}">${escapeHtml(c.hash)}</code></p>
<div class="table-wrap"><table data-testid="content-${escapeHtml(c.indeling)}">
<caption>Wat wordt verzonden voor ${escapeHtml(indelingLabel(c.indeling, d.names[c.indeling]))}</caption>
<thead><tr><th scope="col">Item</th><th scope="col">Indeling</th><th scope="col">Teller</th><th scope="col">Noemer</th><th scope="col">Waarde</th><th scope="col">Hash van het antwoord</th></tr></thead>
<tbody>${rows || '<tr><td colspan="6">Geen rijen.</td></tr>'}</tbody>
</table></div>`;
}

/** Exactly what will be sent, then the password and the button: approving is a deliberate act. */
export function approvalPage(ctx: PageContext, d: ApprovalPageData): string {
  const base = roundPath(d.round);
  const seg = indelingSegment(d.indeling);
  const what = d.indeling === 'all' ? 'alle indelingen' : indelingLabel(d.indeling, d.names[d.indeling]);
  const open = d.phase !== 'locked';
  const mayApprove = open && can(ctx.user.role, 'approve');
  const mayReject = open && can(ctx.user.role, 'reject');
  const approveForm = mayApprove
    ? `<form method="post" action="${base}/${seg}/goedkeuren" id="approve-form">${csrfField(ctx.csrfToken)}
<input type="hidden" name="expectedHash" value="${escapeHtml(d.expectedHash)}">
<p>Met goedkeuren bevestigt u dat bovenstaande gegevens namens de zorgaanbieder worden ondertekend en verzonden. Vastgelegd worden uw naam, het tijdstip en de hash van precies deze inhoud.</p>
<div class="form-row"><label for="approve-password">Wachtwoord (opnieuw)</label><input type="password" id="approve-password" name="password" required autocomplete="current-password"></div>
<button type="submit" id="approve">Goedkeuren</button></form>`
    : '';
  const rejectForm = mayReject
    ? `<form method="post" action="${base}/afwijzen" id="reject-form">${csrfField(ctx.csrfToken)}<input type="hidden" name="indeling" value="${escapeHtml(d.indeling)}"><input type="hidden" name="back" value="approval">
<div class="form-row"><label for="reject-reason">Reden van afwijzing</label><textarea id="reject-reason" name="reason" required minlength="3"></textarea></div>
<button type="submit" class="danger" id="reject">Afwijzen</button></form>`
    : '';
  const body = `<h1>Goedkeuren: ${escapeHtml(what)}</h1>
<p>${escapeHtml(d.round.name)} ${d.round.year} · profielversie ${escapeHtml(d.round.version)} · totale inhoudshash <code class="hash" id="expected-hash">${escapeHtml(d.expectedHash)}</code></p>
${open ? '' : '<div class="banner" id="locked-banner">Deze ronde is gesloten: goedkeuren kan niet meer.</div>'}
${d.contents.map((c) => contentTable(c, d)).join('\n')}
${approveForm || rejectForm ? `<div class="actions">${approveForm}${rejectForm}</div>` : ''}`;
  return page(ctx, `Goedkeuren: ${what}`, body, [
    { href: '/', label: 'Rondes' },
    { href: base, label: `${d.round.name} ${d.round.year}` },
    { href: `${base}/${seg}/goedkeuren`, label: 'Goedkeuren' },
  ]);
}
