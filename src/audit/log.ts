import { createHash } from 'node:crypto';
import type { Db } from '../db/open.js';
import { canonicalJson } from '../db/json.js';

export interface AuditEntry {
  seq: number;
  at: string;
  actor: string;
  action: string;
  subject: string | null;
  thread_id: string | null;
  details: string;
  prev_hash: string;
  hash: string;
}

export interface AuditEvent {
  actor: string;
  action: string;
  subject?: string;
  threadId?: string;
  /** What changed; for exchange steps the full message. Never personal data. */
  details?: unknown;
  at?: Date;
}

const GENESIS = '0'.repeat(64);

function entryHash(prev: string, e: Pick<AuditEntry, 'at' | 'actor' | 'action' | 'subject' | 'thread_id' | 'details'>): string {
  return createHash('sha256')
    .update(`${prev}\n${canonicalJson([e.at, e.actor, e.action, e.subject, e.thread_id, e.details])}`)
    .digest('hex');
}

/**
 * Appends one entry, chained to the previous one by hash. Call inside the transaction that makes
 * the change it records, so the log and the state can never disagree.
 */
export function appendAudit(db: Db, ev: AuditEvent): AuditEntry {
  const prev = (db.prepare('SELECT hash FROM audit ORDER BY seq DESC LIMIT 1').get() as { hash: string } | undefined)?.hash ?? GENESIS;
  const row = {
    at: (ev.at ?? new Date()).toISOString(),
    actor: ev.actor,
    action: ev.action,
    subject: ev.subject ?? null,
    thread_id: ev.threadId ?? null,
    details: canonicalJson(ev.details ?? {}),
  };
  const hash = entryHash(prev, row);
  const info = db
    .prepare('INSERT INTO audit (at, actor, action, subject, thread_id, details, prev_hash, hash) VALUES (@at, @actor, @action, @subject, @thread_id, @details, @prev_hash, @hash)')
    .run({ ...row, prev_hash: prev, hash });
  return { seq: Number(info.lastInsertRowid), ...row, prev_hash: prev, hash };
}

export function listAudit(db: Db, opts: { subject?: string; limit?: number } = {}): AuditEntry[] {
  const where = opts.subject ? 'WHERE subject = @subject OR thread_id = @subject' : '';
  return db.prepare(`SELECT * FROM audit ${where} ORDER BY seq DESC LIMIT @limit`).all({ subject: opts.subject, limit: opts.limit ?? 1000 }).reverse() as AuditEntry[];
}

/** Recomputes the chain; returns the first broken entry, or null when every link holds. */
export function verifyAuditChain(db: Db): { seq: number; problem: string } | null {
  let prev = GENESIS;
  for (const e of db.prepare('SELECT * FROM audit ORDER BY seq').iterate() as Iterable<AuditEntry>) {
    if (e.prev_hash !== prev) return { seq: e.seq, problem: 'does not link to the entry before it (an entry was removed or inserted)' };
    if (entryHash(prev, e) !== e.hash) return { seq: e.seq, problem: 'its content does not match its hash (the entry was altered)' };
    prev = e.hash;
  }
  return null;
}
