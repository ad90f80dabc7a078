import { escapeHtml, layout } from './layout.js';

export interface LoginPageOptions {
  /** A local path to return to after logging in (already checked by the caller). */
  next?: string;
  /** The name typed before, kept so only the password is typed again. */
  name?: string;
  error?: string;
  agentName?: string;
}

/** The Dutch login form; posts to /login. No CSRF token: there is no session yet to forge a request for. */
export function loginPage(o: LoginPageOptions = {}): string {
  const described = o.error ? ' aria-describedby="flash"' : '';
  const body = `<h1>Inloggen</h1>
<p>Log in met de naam en het wachtwoord die uw beheerder voor u heeft aangemaakt.</p>
<form method="post" action="/login" id="login-form" novalidate>
${o.next ? `<input type="hidden" name="next" value="${escapeHtml(o.next)}">` : ''}
<div class="form-row"><label for="name">Naam</label>
<input type="text" id="name" name="name" autocomplete="username" autocapitalize="none" spellcheck="false" required value="${escapeHtml(o.name ?? '')}"${described}${o.name ? '' : ' autofocus'}></div>
<div class="form-row"><label for="password">Wachtwoord</label>
<input type="password" id="password" name="password" autocomplete="current-password" required${described}${o.name ? ' autofocus' : ''}></div>
<div class="form-row"><button type="submit" id="login">Inloggen</button></div>
</form>
<p class="muted">Wachtwoord vergeten of account geblokkeerd? Vraag uw beheerder het wachtwoord opnieuw in te stellen.</p>`;
  return layout({ title: 'Inloggen', body, ...(o.error ? { flash: { kind: 'error' as const, text: o.error } } : {}), ...(o.agentName ? { agentName: o.agentName } : {}) });
}

/** "om 14:35 op 24 november": when a locked account opens again, in Dutch time. */
export function dutchTime(iso: string): string {
  const d = new Date(iso);
  const time = new Intl.DateTimeFormat('nl-NL', { timeZone: 'Europe/Amsterdam', hour: '2-digit', minute: '2-digit' }).format(d);
  const day = new Intl.DateTimeFormat('nl-NL', { timeZone: 'Europe/Amsterdam', day: 'numeric', month: 'long' }).format(d);
  return `om ${time} op ${day}`;
}
