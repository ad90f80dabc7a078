import { createHash } from 'node:crypto';
import { escapeHtml } from '../../report/html.js';

export { escapeHtml };

import { can, type Role } from '../../auth/roles.js';

export type { Role };

/** Dutch names of the roles, as the users know them. */
export const ROLE_LABELS: Record<Role, string> = {
  board: 'bestuurder',
  quality: 'kwaliteitsmedewerker',
  operator: 'beheerder',
  viewer: 'lezer',
};

export interface LayoutOptions {
  title: string;
  body: string;
  user?: { name: string; role: Role };
  csrfToken?: string;
  breadcrumbs?: Array<{ href: string; label: string }>;
  flash?: { kind: 'ok' | 'error'; text: string };
  /** Shown in the header; the agent's configured name. */
  agentName?: string;
}

/**
 * One stylesheet for every page, embedded so the pages need no external assets. The CSP allows exactly
 * this text through its hash (STYLE_CSP_HASH), so no 'unsafe-inline' is needed.
 * Colours: text #1a1a1a on white (contrast > 15:1), links #0b4f8a (> 8:1), focus ring #ffbf47 + dark outline.
 */
export const BOARD_CSS = `
*,*::before,*::after{box-sizing:border-box}
html{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;font-size:100%;line-height:1.5;color:#1a1a1a;background:#fff}
body{margin:0}
a{color:#0b4f8a}
a:visited{color:#4c2c92}
a:focus,button:focus,input:focus,select:focus,textarea:focus,summary:focus{outline:3px solid #1a1a1a;outline-offset:2px;box-shadow:0 0 0 6px #ffbf47}
.skip-link{position:absolute;left:-9999px;top:0;background:#ffbf47;color:#1a1a1a;padding:.5rem 1rem;z-index:10}
.skip-link:focus{left:1rem}
header.site{background:#0b2e4f;color:#fff;padding:.75rem 1.25rem;display:flex;flex-wrap:wrap;align-items:center;gap:.75rem 1.5rem}
header.site .agent{font-weight:700;font-size:1.15rem;color:#fff;text-decoration:none}
header.site .who{margin-left:auto;display:flex;align-items:center;gap:.75rem;flex-wrap:wrap}
header.site form{margin:0}
header.site button{background:#fff;color:#0b2e4f;border:2px solid #fff}
nav.main{background:#e8eef4;padding:.25rem 1.25rem;border-bottom:1px solid #b8c4d0}
nav.main ul{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:.25rem 1.25rem}
nav.main a{display:inline-block;padding:.4rem 0;font-weight:600}
nav.breadcrumbs ol{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:.25rem}
nav.breadcrumbs li+li::before{content:"›";margin:0 .35rem;color:#555}
main{padding:1rem 1.25rem 3rem;max-width:78rem;margin:0 auto}
h1{font-size:1.75rem;margin:.5rem 0 1rem}
h2{font-size:1.35rem;margin:1.75rem 0 .75rem}
h3{font-size:1.1rem;margin:1.25rem 0 .5rem}
.flash{padding:.75rem 1rem;border-left:6px solid;margin:1rem 0;font-weight:600}
.flash-ok{background:#e6f4ea;border-color:#1e7a34}
.flash-error{background:#fdecea;border-color:#b3261e}
.banner{padding:.75rem 1rem;border:2px solid #8a5a00;background:#fff4d6;margin:1rem 0}
.table-wrap{overflow-x:auto}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem}
caption{text-align:left;font-weight:700;padding:.25rem 0}
th,td{border:1px solid #b8c4d0;padding:.4rem .5rem;text-align:left;vertical-align:top}
th{background:#f1f4f7}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.muted{color:#505a64}
.tag{display:inline-block;padding:0 .4rem;border:1px solid currentColor;border-radius:.25rem;font-size:.85rem;white-space:nowrap}
.tag-warn{color:#8a4b00}
.tag-ok{color:#1e6b2e}
.tag-error{color:#a4211a}
.tag-info{color:#0b4f8a}
form.inline{display:inline}
.form-row{margin:.5rem 0}
label{display:block;font-weight:600;margin-bottom:.2rem}
input[type=text],input[type=password],input[type=url],select,textarea{font:inherit;padding:.4rem .5rem;border:2px solid #505a64;border-radius:.2rem;max-width:100%;width:28rem}
textarea{min-height:4.5rem}
button,.button{font:inherit;font-weight:600;padding:.45rem 1rem;border:2px solid #0b4f8a;background:#0b4f8a;color:#fff;border-radius:.25rem;cursor:pointer;text-decoration:none;display:inline-block}
button.secondary{background:#fff;color:#0b4f8a}
button.danger{background:#a4211a;border-color:#a4211a}
.actions{display:flex;flex-wrap:wrap;gap:1rem;align-items:flex-start;margin:1rem 0}
.actions form{border:1px solid #b8c4d0;padding:.75rem;border-radius:.25rem}
details{margin:.25rem 0}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}
dl.facts dt{font-weight:600}
dl.facts dd{margin:0;overflow-wrap:anywhere}
code,.hash{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.9em;overflow-wrap:anywhere}
svg.trend{vertical-align:middle}
.sr-only{position:absolute;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;clip:rect(0,0,0,0);white-space:nowrap;border:0}
@media (max-width:62rem){main{padding:.75rem}th,td{padding:.3rem .35rem;font-size:.95rem}input[type=text],input[type=password],input[type=url],select,textarea{width:100%}}
@media print{header.site,nav.main,nav.breadcrumbs,.skip-link,form,.no-print{display:none!important}main{max-width:none;padding:0}a{color:#000;text-decoration:none}table{page-break-inside:auto}tr{page-break-inside:avoid}h2{page-break-after:avoid}.print-break{page-break-before:always}}
`;

/** The CSP source for the embedded stylesheet ('sha256-…'). */
export const STYLE_CSP_HASH = `'sha256-${createHash('sha256').update(BOARD_CSS).digest('base64')}'`;

/** The navigation; the log only for roles that may read it. */
function navigation(user: LayoutOptions['user']): string {
  const links = [{ href: '/', label: 'Rondes' }];
  if (user && can(user.role, 'read-audit')) links.push({ href: '/logboek', label: 'Logboek' });
  links.push({ href: '/docs', label: 'API-documentatie' });
  return `<nav class="main" aria-label="Hoofdmenu"><ul>${links.map((l) => `<li><a href="${escapeHtml(l.href)}">${escapeHtml(l.label)}</a></li>`).join('')}</ul></nav>`;
}

function breadcrumbTrail(crumbs: LayoutOptions['breadcrumbs']): string {
  if (!crumbs || crumbs.length === 0) return '';
  const last = crumbs.length - 1;
  const items = crumbs
    .map((c, i) => (i === last ? `<li><a href="${escapeHtml(c.href)}" aria-current="page">${escapeHtml(c.label)}</a></li>` : `<li><a href="${escapeHtml(c.href)}">${escapeHtml(c.label)}</a></li>`))
    .join('');
  return `<nav class="breadcrumbs" aria-label="Kruimelpad"><ol>${items}</ol></nav>`;
}

function flashMessage(flash: LayoutOptions['flash']): string {
  if (!flash) return '';
  // An error interrupts (alert); a confirmation is announced politely (status).
  const role = flash.kind === 'error' ? 'alert' : 'status';
  return `<div class="flash flash-${flash.kind}" role="${role}" id="flash" data-testid="flash">${escapeHtml(flash.text)}</div>`;
}

/** A complete board page: Dutch, landmarks, skip link, header with the user and a logout form. */
export function layout(o: LayoutOptions): string {
  const agent = o.agentName ?? 'KIK-V datastation';
  const who = o.user
    ? `<div class="who"><span id="current-user" data-testid="current-user">${escapeHtml(o.user.name)} (${escapeHtml(ROLE_LABELS[o.user.role] ?? o.user.role)})</span>` +
      `<form method="post" action="/logout" id="logout-form"><input type="hidden" name="_csrf" value="${escapeHtml(o.csrfToken ?? '')}"><button type="submit" id="logout">Uitloggen</button></form></div>`
    : '';
  return `<!doctype html>
<html lang="nl">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(o.title)} · ${escapeHtml(agent)}</title>
<style>${BOARD_CSS}</style>
</head>
<body>
<a class="skip-link" href="#main">Naar de inhoud</a>
<header class="site"><a class="agent" href="/">${escapeHtml(agent)}</a>${who}</header>
${o.user ? navigation(o.user) : ''}
<main id="main" tabindex="-1">
${breadcrumbTrail(o.breadcrumbs)}
${flashMessage(o.flash)}
${o.body}
</main>
</body>
</html>
`;
}
