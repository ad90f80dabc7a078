import type { AuditEntry } from '../../audit/log.js';
import { page, type PageContext } from './format.js';
import { auditRows } from './item.js';

/** The audit log, newest first, a page at a time. */
export function auditPage(ctx: PageContext, entries: AuditEntry[], paging: { page: number; pageSize: number; total: number }): string {
  const pages = Math.max(1, Math.ceil(paging.total / paging.pageSize));
  const nav: string[] = [];
  if (paging.page > 1) nav.push(`<a href="/logboek?pagina=${paging.page - 1}" rel="prev" id="audit-newer">Nieuwere regels</a>`);
  if (paging.page < pages) nav.push(`<a href="/logboek?pagina=${paging.page + 1}" rel="next" id="audit-older">Oudere regels</a>`);
  const body = `<h1>Logboek</h1>
<p>Elke wijziging wordt vastgelegd in een keten van hashes: een weggehaalde of veranderde regel valt op. Pagina ${paging.page} van ${pages} (${paging.total} regels).</p>
<div class="table-wrap"><table id="audit">
<caption>Logboekregels, nieuwste eerst</caption>
<thead><tr><th scope="col">Nr.</th><th scope="col">Wanneer</th><th scope="col">Wie</th><th scope="col">Wat</th><th scope="col">Onderwerp</th><th scope="col">Details</th></tr></thead>
<tbody>${auditRows(entries) || '<tr><td colspan="6">Geen regels.</td></tr>'}</tbody>
</table></div>
${nav.length ? `<nav aria-label="Pagina's van het logboek"><p>${nav.join(' · ')}</p></nav>` : ''}`;
  return page(ctx, 'Logboek', body, [{ href: '/logboek', label: 'Logboek' }]);
}
