import type { Db } from '../db/open.js';
import { ExchangeError } from './types.js';

/**
 * Message ids seen by the inbox, kept in SQLite so a replay is refused across restarts. The id is
 * claimed with one INSERT, so two copies arriving at once cannot both pass.
 */
export function claimMessageId(db: Db, msg: { id: string; from: string; expires_time?: number }, now: Date): void {
  const info = db
    .prepare('INSERT OR IGNORE INTO inbox_seen (id, sender, received_at, expires_time) VALUES (?, ?, ?, ?)')
    .run(msg.id, msg.from, now.toISOString(), msg.expires_time ?? null);
  if (info.changes === 0) {
    throw new ExchangeError(
      'e.p.msg.replay',
      409,
      `message id ${msg.id} was already received; every request needs a new id (a fresh UUID). To fetch the answer to the earlier request, GET /answers/${encodeURIComponent(msg.id)}`,
      '$.id',
    );
  }
}

/**
 * Gives a claimed id back: only when the refusal was ours (the verifier or the database was
 * unavailable), so the sender may retry the very same message.
 */
export function releaseMessageId(db: Db, id: string): void {
  db.prepare('DELETE FROM inbox_seen WHERE id = ?').run(id);
}
