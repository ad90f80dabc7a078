import { createHash, randomBytes } from 'node:crypto';
import { appendAudit } from '../audit/log.js';
import type { BoardConfig } from '../config/schema.js';
import type { Db } from '../db/open.js';
import { UserError, findUser, type User } from './users.js';

/** Sliding expiry is written at most this often, not on every request. */
const TOUCH_EVERY_MS = 60_000;

interface SessionRow {
  token_hash: string;
  user_name: string;
  csrf_token: string;
  created_at: string;
  last_seen_at: string;
  expires_at: string;
}

// Only the hash is stored: a copy of the database (a backup) does not hand out live sessions.
function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * A new session for a user who has just proved their password. `expiresAt` is the absolute end
 * (cfg.sessionMaxHours); the session ends sooner after cfg.sessionIdleMinutes without a request.
 */
export function createSession(db: Db, userName: string, cfg: BoardConfig, now: Date = new Date()): { token: string; csrfToken: string; expiresAt: string } {
  const user = findUser(db, userName);
  if (!user) throw new UserError(`no user "${userName}"`);
  if (user.disabled_at) throw new UserError(`user "${user.name}" is disabled; a disabled account gets no session`);
  const token = randomBytes(32).toString('base64url');
  const csrfToken = randomBytes(32).toString('base64url');
  const at = now.toISOString();
  const expiresAt = new Date(now.getTime() + cfg.sessionMaxHours * 3_600_000).toISOString();
  db.transaction(() => {
    // Housekeeping on the rare write path: sessions past their absolute end are of no use to anyone.
    db.prepare('DELETE FROM sessions WHERE expires_at <= ?').run(at);
    db.prepare('INSERT INTO sessions (token_hash, user_name, csrf_token, created_at, last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)').run(tokenHash(token), user.name, csrfToken, at, at, expiresAt);
  })();
  return { token, csrfToken, expiresAt };
}

/** The live session a cookie token belongs to; an expired one, or one of a disabled user, is removed. */
export function sessionOf(db: Db, token: string, cfg: BoardConfig, now: Date = new Date()): { user: User; csrfToken: string } | undefined {
  if (!token) return undefined;
  const hash = tokenHash(token);
  const row = db.prepare('SELECT * FROM sessions WHERE token_hash = ?').get(hash) as SessionRow | undefined;
  if (!row) return undefined;
  const t = now.getTime();
  const idleEnd = Date.parse(row.last_seen_at) + cfg.sessionIdleMinutes * 60_000;
  const user = findUser(db, row.user_name);
  if (!user || user.disabled_at || t >= Date.parse(row.expires_at) || t >= idleEnd) {
    db.prepare('DELETE FROM sessions WHERE token_hash = ?').run(hash);
    return undefined;
  }
  if (t - Date.parse(row.last_seen_at) >= TOUCH_EVERY_MS) db.prepare('UPDATE sessions SET last_seen_at = ? WHERE token_hash = ?').run(now.toISOString(), hash);
  return { user, csrfToken: row.csrf_token };
}

/** Logs out: the session is gone; unknown tokens are ignored. */
export function endSession(db: Db, token: string): void {
  const hash = tokenHash(token);
  db.transaction(() => {
    const row = db.prepare('SELECT user_name FROM sessions WHERE token_hash = ?').get(hash) as Pick<SessionRow, 'user_name'> | undefined;
    if (!row) return;
    db.prepare('DELETE FROM sessions WHERE token_hash = ?').run(hash);
    appendAudit(db, { actor: row.user_name, action: 'user.logout', subject: `user:${row.user_name}` });
  })();
}
