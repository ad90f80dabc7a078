import type { DeliveryState, RoundSummary } from '../../answers/review.js';
import { can } from '../../auth/roles.js';
import { csrfField, date, daysLeftLabel, deliveryLabel, deliveryTagClass, indelingLabel, page, PHASE_LABELS, REVIEW_LABELS, reviewTagClass, roundPath, type PageContext, dateTime } from './format.js';
import { escapeHtml } from './layout.js';

export interface RoundPageData {
  summary: RoundSummary;
  /** vestigingsnummer → location name, from the provider of the round's snapshot. */
  names: Record<string, string>;
  /** The delivery state of each current answer. */
  deliveries: Array<{ answerId: string; item: string; state: DeliveryState }>;
  /** indeling → the answers whose rows for it are sent. */
  answersOf: Record<string, string[]>;
}

/** One state for the answers of an indeling: the least advanced one decides (a failure first). */
export function indelingDelivery(states: DeliveryState[]): DeliveryState | undefined {
  if (states.length === 0) return undefined;
  const failed = states.filter((d) => d.state === 'failed' || (d.state === 'queued' && d.lastError));
  if (failed.length) return failed.reduce((a, b) => ((a.retriesLeft ?? 0) <= (b.retriesLeft ?? 0) ? a : b));
  for (const s of ['not-approved', 'waiting-for-window', 'queued'] as const) {
    const hit = states.find((d) => d.state === s);
    if (hit) return hit;
  }
  const delivered = states.filter((d) => d.state === 'delivered');
  // The latest delivery is when the indeling was complete.
  if (delivered.length) return delivered.reduce((a, b) => ((a.deliveredAt ?? '') >= (b.deliveredAt ?? '') ? a : b));
  return states[0];
}

/** An URL segment for an indeling ("alle" for every indeling at once). */
export function indelingSegment(indeling: string): string {
  return encodeURIComponent(indeling === 'all' ? 'alle' : indeling);
}

function deliverySummary(deliveries: RoundPageData['deliveries']): string {
  if (deliveries.length === 0) return '<p>Er zijn nog geen antwoorden in deze ronde.</p>';
  const counts = new Map<string, { n: number; cls: string }>();
  for (const d of deliveries) {
    const label = deliveryLabel(d.state);
    const c = counts.get(label) ?? { n: 0, cls: deliveryTagClass(d.state) };
    c.n++;
    counts.set(label, c);
  }
  const list = [...counts].map(([label, c]) => `<li><span class="tag ${c.cls}">${escapeHtml(label)}</span> ${c.n} ${c.n === 1 ? 'item' : 'items'}</li>`).join('');
  const failed = deliveries.filter((d) => d.state.state === 'failed' || (d.state.state === 'queued' && d.state.lastError));
  const failedList = failed.length
    ? `<details><summary>Mislukte leveringen (${failed.length})</summary><ul>${failed.map((d) => `<li>${escapeHtml(d.item)}: ${escapeHtml(deliveryLabel(d.state))}${d.state.lastError ? ` — ${escapeHtml(d.state.lastError)}` : ''}</li>`).join('')}</ul></details>`
    : '';
  return `<ul id="delivery-summary" data-testid="delivery-summary">${list}</ul>${failedList}`;
}

/** The round: each indeling with its review state, the delivery status, and the forms the user may use. */
export function roundPage(ctx: PageContext, d: RoundPageData): string {
  const { summary: s } = d;
  const r = s.round;
  const base = roundPath(r);
  const role = ctx.user.role;
  const open = s.phase !== 'locked';
  const mayPrepare = open && can(role, 'prepare');
  const mayApprove = open && can(role, 'approve');
  const mayReject = open && can(role, 'reject');
  const rows = s.indelingen
    .map((i) => {
      const seg = indelingSegment(i.indeling);
      const last = i.steps[i.steps.length - 1];
      const ids = new Set(d.answersOf[i.indeling] ?? []);
      const delivery = indelingDelivery(d.deliveries.filter((x) => ids.has(x.answerId)).map((x) => x.state));
      const actions = [`<a href="${base}/${seg}">Prestatieoverzicht</a>`];
      if (mayApprove) actions.push(`<a href="${base}/${seg}/goedkeuren">Goedkeuren</a>`);
      const prepareForm = mayPrepare
        ? `<form method="post" action="${base}/klaarzetten" class="inline">${csrfField(ctx.csrfToken)}<input type="hidden" name="indeling" value="${escapeHtml(i.indeling)}"><button type="submit" class="secondary" data-testid="prepare-${escapeHtml(i.indeling)}">Klaarzetten</button></form>`
        : '';
      return `<tr data-testid="indeling-${escapeHtml(i.indeling)}">
<th scope="row">${escapeHtml(indelingLabel(i.indeling, d.names[i.indeling]))}</th>
<td><span class="tag ${reviewTagClass(i.state)}" data-testid="review-state-${escapeHtml(i.indeling)}">${escapeHtml(REVIEW_LABELS[i.state])}</span>${
        last ? `<br><span class="muted">${escapeHtml(last.action === 'prepared' ? 'klaargezet' : last.action === 'approved' ? 'goedgekeurd' : 'afgewezen')} door ${escapeHtml(last.actor)}, ${escapeHtml(dateTime(last.at))}${last.reason ? `: ${escapeHtml(last.reason)}` : ''}</span>` : ''
      }</td>
<td>${delivery ? `<span class="tag ${deliveryTagClass(delivery)}" data-testid="delivery-state-${escapeHtml(i.indeling)}">${escapeHtml(deliveryLabel(delivery))}</span>` : '—'}</td>
<td><code class="hash" title="Inhoudshash">${escapeHtml(i.hash.slice(0, 12))}…</code></td>
<td>${actions.join(' · ')} ${prepareForm}</td>
</tr>`;
    })
    .join('\n');
  const forms: string[] = [];
  if (mayPrepare)
    forms.push(`<form method="post" action="${base}/klaarzetten" id="prepare-all-form">${csrfField(ctx.csrfToken)}<input type="hidden" name="indeling" value="all"><button type="submit" id="prepare-all">Alles klaarzetten</button></form>`);
  if (mayApprove) forms.push(`<form method="get" action="${base}/alle/goedkeuren" id="approve-all-form"><button type="submit" id="approve-all">Alles goedkeuren</button></form>`);
  if (mayReject) {
    const options = [`<option value="all">Alle indelingen</option>`, ...s.indelingen.map((i) => `<option value="${escapeHtml(i.indeling)}">${escapeHtml(indelingLabel(i.indeling, d.names[i.indeling]))}</option>`)].join('');
    forms.push(`<form method="post" action="${base}/afwijzen" id="reject-form">${csrfField(ctx.csrfToken)}
<div class="form-row"><label for="reject-indeling">Indeling</label><select id="reject-indeling" name="indeling">${options}</select></div>
<div class="form-row"><label for="reject-reason">Reden van afwijzing</label><textarea id="reject-reason" name="reason" required minlength="3"></textarea></div>
<button type="submit" class="danger" id="reject">Afwijzen</button></form>`);
  }
  const body = `<h1>${escapeHtml(r.name)} ${r.year}</h1>
<dl class="facts">
<dt>Status</dt><dd><span data-testid="round-phase">${escapeHtml(PHASE_LABELS[s.phase])}</span></dd>
<dt>Leveringsvenster</dt><dd>${escapeHtml(date(r.opens, r.timeZone))} – ${escapeHtml(date(r.closes, r.timeZone))}</dd>
<dt>Deadline</dt><dd>${s.phase === 'upcoming' ? '—' : escapeHtml(daysLeftLabel(s.daysToDeadline))}</dd>
<dt>Profielversie</dt><dd>${escapeHtml(r.version)}</dd>
<dt>Items</dt><dd>${s.items}</dd>
</dl>
${s.phase === 'locked' ? '<div class="banner" id="locked-banner">Deze ronde is gesloten: de deadline is verstreken. Er kan niets meer worden klaargezet, gecorrigeerd of goedgekeurd.</div>' : ''}
${s.phase === 'upcoming' ? '<div class="banner" id="upcoming-banner">Het leveringsvenster is nog niet open: goedgekeurde antwoorden worden verzonden zodra het opent.</div>' : ''}
${s.reminder ? `<div class="banner" id="reminder-banner">Herinnering: de deadline nadert en nog niet alles is goedgekeurd.</div>` : ''}
<h2>Indelingen</h2>
<div class="table-wrap"><table id="indelingen">
<caption>Beoordeling per locatie en voor de organisatie</caption>
<thead><tr><th scope="col">Indeling</th><th scope="col">Beoordeling</th><th scope="col">Levering</th><th scope="col">Inhoud</th><th scope="col">Acties</th></tr></thead>
<tbody>${rows || '<tr><td colspan="5">Nog geen antwoorden berekend voor deze ronde.</td></tr>'}</tbody>
</table></div>
${forms.length ? `<h2>Beoordelen</h2><div class="actions">${forms.join('\n')}</div>` : ''}
<h2>Levering</h2>
${deliverySummary(d.deliveries)}
<h2>Exporteren</h2>
<ul>
<li><a href="${base}/afdrukken">Prestatieoverzicht afdrukken</a></li>
<li><a href="${base}/prestatieoverzicht.pdf">Prestatieoverzicht als PDF</a></li>
<li><a href="${base}/opendata.csv">Open-data CSV (kolommen van het Zorginstituut)</a></li>
<li><a href="${base}/bundel.json">Ondertekende antwoordbundel (voor de accountant)</a></li>
</ul>`;
  return page(ctx, `${r.name} ${r.year}`, body, [
    { href: '/', label: 'Rondes' },
    { href: base, label: `${r.name} ${r.year}` },
  ]);
}
