import type { RoundSummary } from '../../answers/review.js';
import { date, daysLeftLabel, page, PHASE_LABELS, roundPath, type PageContext } from './format.js';
import { escapeHtml } from './layout.js';

function approvedCount(s: RoundSummary): number {
  return s.indelingen.filter((i) => i.state === 'approved' || i.state === 'delivered').length;
}

function reminderBanner(s: RoundSummary): string {
  const open = s.indelingen.length - approvedCount(s);
  return `<div class="banner" data-testid="reminder-${escapeHtml(s.round.id)}"><strong>Herinnering:</strong> de deadline van ${escapeHtml(s.round.name)} ${s.round.year} is ${escapeHtml(date(s.round.closes, s.round.timeZone))} (${escapeHtml(daysLeftLabel(s.daysToDeadline))}); ${open} ${open === 1 ? 'indeling is' : 'indelingen zijn'} nog niet goedgekeurd. <a href="${roundPath(s.round)}">Naar de ronde</a></div>`;
}

/** The home page: every round with its phase, deadline and progress, reminders first. */
export function homePage(ctx: PageContext, summaries: RoundSummary[]): string {
  const reminders = summaries.filter((s) => s.reminder).map(reminderBanner).join('\n');
  const rows = summaries
    .map((s) => {
      const r = s.round;
      const waiting = s.answers.awaiting_approval ?? 0;
      return `<tr data-testid="round-${escapeHtml(r.id)}">
<th scope="row"><a href="${roundPath(r)}">${escapeHtml(r.name)} <span class="sr-only">${r.year}</span></a></th>
<td class="num">${r.year}</td>
<td><span class="tag ${s.phase === 'open' ? 'tag-ok' : s.phase === 'locked' ? 'tag-error' : 'tag-info'}">${escapeHtml(PHASE_LABELS[s.phase])}</span></td>
<td>${escapeHtml(date(r.opens, r.timeZone))} – ${escapeHtml(date(r.closes, r.timeZone))}</td>
<td>${s.phase === 'upcoming' ? '—' : escapeHtml(daysLeftLabel(s.daysToDeadline))}</td>
<td class="num">${s.items}</td>
<td class="num">${waiting}</td>
<td class="num">${approvedCount(s)} van ${s.indelingen.length}</td>
</tr>`;
    })
    .join('\n');
  const body = `<h1>Rondes</h1>
<p>Per ronde: een profiel en een verslagjaar met een leveringsvenster. Niets wordt verzonden voordat het bestuur heeft goedgekeurd.</p>
${reminders}
<div class="table-wrap"><table id="rounds">
<caption>Leveringsrondes</caption>
<thead><tr><th scope="col">Ronde</th><th scope="col">Jaar</th><th scope="col">Status</th><th scope="col">Leveringsvenster</th><th scope="col">Deadline</th><th scope="col">Items</th><th scope="col">Wacht op goedkeuring</th><th scope="col">Indelingen goedgekeurd</th></tr></thead>
<tbody>${rows || '<tr><td colspan="8">Er zijn nog geen rondes: er is geen profiel geconfigureerd.</td></tr>'}</tbody>
</table></div>`;
  return page(ctx, 'Rondes', body, [{ href: '/', label: 'Rondes' }]);
}
