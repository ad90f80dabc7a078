import type { DeliveryState, IndelingState } from '../../answers/review.js';
import type { RoundPhase } from '../../answers/rounds.js';
import { escapeHtml, layout, type Role } from './layout.js';

/** Dutch words for what the users see; the code and API keep the English names. */

export const PHASE_LABELS: Record<RoundPhase, string> = { upcoming: 'nog niet open', open: 'open', locked: 'gesloten' };

export const REVIEW_LABELS: Record<IndelingState, string> = {
  'to-prepare': 'klaar te zetten',
  prepared: 'klaargezet, wacht op goedkeuring',
  rejected: 'afgewezen, terug naar kwaliteit',
  approved: 'goedgekeurd',
  delivered: 'afgeleverd',
};

export const ANSWER_STATUS_LABELS: Record<string, string> = {
  awaiting_approval: 'wacht op goedkeuring',
  approved: 'goedgekeurd',
  rejected: 'afgewezen',
  delivered: 'afgeleverd',
  superseded: 'vervangen',
};

/** "in wachtrij", "afgeleverd", "mislukt, nog 3 pogingen", … */
export function deliveryLabel(d: DeliveryState): string {
  switch (d.state) {
    case 'not-approved':
      return 'nog niet goedgekeurd';
    case 'waiting-for-window':
      return 'wacht op het leveringsvenster';
    case 'queued':
      // Still queued after a failed try: the consumer did not take it yet, and the outbox tries again.
      if (d.lastError) return `mislukt, nog ${d.retriesLeft ?? 0} ${d.retriesLeft === 1 ? 'poging' : 'pogingen'}`;
      return d.attempts ? `in wachtrij (${d.attempts} ${d.attempts === 1 ? 'poging' : 'pogingen'} gedaan)` : 'in wachtrij';
    case 'delivered':
      return d.deliveredAt ? `afgeleverd op ${dateTime(d.deliveredAt)}` : 'afgeleverd';
    case 'failed':
      return d.retriesLeft && d.retriesLeft > 0 ? `mislukt, nog ${d.retriesLeft} ${d.retriesLeft === 1 ? 'poging' : 'pogingen'}` : 'mislukt, geen pogingen meer';
    case 'superseded':
      return 'vervangen door een nieuwere levering';
  }
}

export function deliveryTagClass(d: DeliveryState): string {
  return d.state === 'delivered' ? 'tag-ok' : d.state === 'failed' || d.lastError ? 'tag-error' : d.state === 'queued' ? 'tag-info' : 'tag-warn';
}

export function reviewTagClass(s: IndelingState): string {
  return s === 'approved' || s === 'delivered' ? 'tag-ok' : s === 'rejected' ? 'tag-error' : s === 'prepared' ? 'tag-info' : 'tag-warn';
}

const dateFmt = new Intl.DateTimeFormat('nl-NL', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'Europe/Amsterdam' });
const dateTimeFmt = new Intl.DateTimeFormat('nl-NL', { day: 'numeric', month: 'long', year: 'numeric', hour: '2-digit', minute: '2-digit', timeZone: 'Europe/Amsterdam' });

export function date(iso: string, timeZone?: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return timeZone ? new Intl.DateTimeFormat('nl-NL', { day: 'numeric', month: 'long', year: 'numeric', timeZone }).format(d) : dateFmt.format(d);
}

export function dateTime(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : dateTimeFmt.format(d);
}

/** "nog 12 dagen", "vandaag", "3 dagen geleden verstreken". */
export function daysLeftLabel(days: number): string {
  if (days === 0) return 'deadline vandaag';
  if (days > 0) return `nog ${days} ${days === 1 ? 'dag' : 'dagen'}`;
  return `deadline ${-days} ${days === -1 ? 'dag' : 'dagen'} geleden verstreken`;
}

/** A value as text with a Dutch decimal comma; "—" when there is none. */
export function value(v: string | null | undefined): string {
  if (v === null || v === undefined || v === '') return '—';
  return /^-?\d+(\.\d+)?$/.test(v) ? v.replace('.', ',') : v;
}

export function indelingLabel(indeling: string, name?: string): string {
  if (indeling === 'Organisatie') return 'Organisatie';
  return name && name !== indeling ? `${name} (${indeling})` : indeling;
}

/** The URL path segment of a round: /rondes/PROFILE/YEAR. */
export function roundPath(r: { profile: string; year: number }): string {
  return `/rondes/${encodeURIComponent(r.profile)}/${r.year}`;
}

/** A hidden CSRF field for every form. */
export function csrfField(token: string | undefined): string {
  return `<input type="hidden" name="_csrf" value="${escapeHtml(token ?? '')}">`;
}

/** Who looks at the page and what the layout needs around its body. */
export interface PageContext {
  user: { name: string; role: Role };
  csrfToken: string;
  agentName: string;
  flash?: { kind: 'ok' | 'error'; text: string };
}

export function page(ctx: PageContext, title: string, body: string, breadcrumbs?: Array<{ href: string; label: string }>): string {
  return layout({ title, body, user: ctx.user, csrfToken: ctx.csrfToken, agentName: ctx.agentName, ...(breadcrumbs ? { breadcrumbs } : {}), ...(ctx.flash ? { flash: ctx.flash } : {}) });
}

/**
 * The pack's not-computable reasons in Dutch for the pages. The answers keep the pack's English text
 * (that is what is sent and hashed); a reason without a translation is shown as written.
 */
const REASONS_NL: Record<string, string> = {
  'not entered yet (manual item)': 'nog niet ingevoerd (handmatig item)',
  'no data for this item in the measurement period': 'geen gegevens voor dit item in de meetperiode',
  'no Wlz clients in care in the measurement period': 'geen Wlz-cliënten in zorg in de meetperiode',
  'no arbeidsovereenkomst with a contract size in the measurement period': 'geen arbeidsovereenkomst met een contractomvang in de meetperiode',
  'no care staff in loondienst on the peildatum': 'geen zorgmedewerkers in loondienst op de peildatum',
  'no care staff in loondienst one year before the peildatum': 'geen zorgmedewerkers in loondienst een jaar voor de peildatum',
  'no care staff in loondienst with a qualification level on both dates': 'geen zorgmedewerkers in loondienst met een kwalificatieniveau op beide data',
  'no clients in care in the measurement window at this location': 'geen cliënten in zorg in de meetperiode op deze locatie',
  'no clients with an indication including treatment in care in the reporting year at this location': 'geen cliënten met een indicatie inclusief behandeling in zorg in het verslagjaar op deze locatie',
  'no employment agreements in the period': 'geen arbeidsovereenkomsten in de periode',
  'no employment agreements with a contract size in the period': 'geen arbeidsovereenkomsten met een contractomvang in de periode',
  'no interns in the period': 'geen stagiairs in de periode',
  'no personnel cost postings in the measurement period': 'geen boekingen van personeelskosten in de meetperiode',
  'no staff with a clause in the measurement period': 'geen medewerkers met een contractclausule in de meetperiode',
  'no staff with an arbeidsovereenkomst on the peildatum': 'geen medewerkers met een arbeidsovereenkomst op de peildatum',
  'no volunteers in the period': 'geen vrijwilligers in de periode',
  'no ward of this location had clients in care in the reporting year': 'geen afdeling van deze locatie had cliënten in zorg in het verslagjaar',
  'no worked hours of care staff in the period': 'geen gewerkte uren van zorgmedewerkers in de periode',
  'no worked hours of staff in the measurement period': 'geen gewerkte uren van medewerkers in de meetperiode',
};

export function dutchReason(reason: string): string {
  return REASONS_NL[reason] ?? reason;
}
