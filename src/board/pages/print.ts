import type { RoundPhase } from '../../answers/rounds.js';
import type { LocationOverview } from '../overview.js';
import { indelingLabel, page, roundPath, type PageContext } from './format.js';
import { escapeHtml } from './layout.js';
import { overviewSections } from './overview.js';

/** Every indeling's overview on one page, each on its own sheet when printed; no forms. */
export function printPage(ctx: PageContext, overviews: LocationOverview[], phase: RoundPhase): string {
  const first = overviews[0];
  // Forms are left out by rendering as a reader would see it; the print CSS hides the rest.
  const readOnly: PageContext = { ...ctx, user: { ...ctx.user, role: 'viewer' } };
  const sections = overviews
    .map(
      (o, i) => `<section class="${i > 0 ? 'print-break' : ''}" aria-labelledby="print-${i}">
<h2 id="print-${i}">${escapeHtml(indelingLabel(o.indeling, o.name))}</h2>
<p>${escapeHtml(o.organisation.name)} · ${escapeHtml(o.round.name)} ${o.round.year}</p>
${overviewSections(readOnly, o, phase)}
</section>`,
    )
    .join('\n');
  const title = first ? `Prestatieoverzicht ${first.round.name} ${first.round.year}` : 'Prestatieoverzicht';
  const body = `<h1>${escapeHtml(title)}</h1>
<p class="no-print">Gebruik de afdrukfunctie van uw browser (Ctrl+P) om dit overzicht af te drukken of als PDF te bewaren.</p>
${sections || '<p>Nog geen antwoorden in deze ronde.</p>'}`;
  return page(ctx, title, body, first ? [{ href: '/', label: 'Rondes' }, { href: roundPath(first.round), label: `${first.round.name} ${first.round.year}` }, { href: `${roundPath(first.round)}/afdrukken`, label: 'Afdrukken' }] : undefined);
}
