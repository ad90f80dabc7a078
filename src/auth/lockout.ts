import type { BoardConfig } from '../config/schema.js';

/** An account's failed-password count and lock, as kept in the users table (or in memory for an unknown name). */
export interface AttemptCount {
  failed_logins: number;
  locked_until: string | null;
}

export function lockedAt(c: AttemptCount, now: Date): boolean {
  return c.locked_until !== null && Date.parse(c.locked_until) > now.getTime();
}

export type Reservation = { go: true; next: AttemptCount } | { go: false; next: AttemptCount; lockedUntil: string; lockedNow: boolean };

/**
 * Counts an attempt as failed before its password is checked, so that however many attempts run at
 * once, at most cfg.lockoutFailures of them are ever checked: one more than that locks the account
 * at once. A right password gives the count back (settled by the caller); a lock that has run out
 * starts a fresh count.
 */
export function reserveAttempt(c: AttemptCount, cfg: Pick<BoardConfig, 'lockoutFailures' | 'lockoutMinutes'>, now: Date): Reservation {
  if (lockedAt(c, now)) return { go: false, next: c, lockedUntil: c.locked_until!, lockedNow: false };
  const failures = (c.locked_until !== null ? 0 : c.failed_logins) + 1;
  if (failures > cfg.lockoutFailures) {
    const until = lockEnd(cfg, now);
    return { go: false, next: { failed_logins: failures, locked_until: until }, lockedUntil: until, lockedNow: true };
  }
  return { go: true, next: { failed_logins: failures, locked_until: null } };
}

/** After a wrong password (already counted by reserveAttempt): locked when the count has reached the limit. */
export function settleFailure(c: AttemptCount, cfg: Pick<BoardConfig, 'lockoutFailures' | 'lockoutMinutes'>, now: Date): { next: AttemptCount; lockedUntil?: string; lockedNow: boolean } {
  if (lockedAt(c, now)) return { next: c, lockedUntil: c.locked_until!, lockedNow: false };
  if (c.failed_logins >= cfg.lockoutFailures) {
    const until = lockEnd(cfg, now);
    return { next: { failed_logins: c.failed_logins, locked_until: until }, lockedUntil: until, lockedNow: true };
  }
  return { next: c, lockedNow: false };
}

function lockEnd(cfg: Pick<BoardConfig, 'lockoutMinutes'>, now: Date): string {
  return new Date(now.getTime() + cfg.lockoutMinutes * 60_000).toISOString();
}

const DAY_MS = 24 * 60 * 60_000;

/**
 * Counts for names that have no account, kept in memory so that such a name locks after the same
 * number of failures as a real one (the answer must not tell whether a name exists). Bounded: the
 * least recently used name is dropped beyond `max`, and a name untouched for `keepMs` is forgotten
 * (a real account's count is kept until a success; guessing that difference takes a day's wait).
 */
export class AttemptCounts {
  private readonly counts = new Map<string, { count: AttemptCount; touched: number }>();

  constructor(
    private readonly max = 10_000,
    private readonly keepMs = DAY_MS,
  ) {}

  get(key: string, now: Date): AttemptCount {
    const e = this.counts.get(key);
    if (!e || e.touched + this.keepMs <= now.getTime()) return { failed_logins: 0, locked_until: null };
    return e.count;
  }

  set(key: string, count: AttemptCount, now: Date): void {
    // Re-inserted so the map's order is least recently used first.
    this.counts.delete(key);
    this.counts.set(key, { count, touched: now.getTime() });
    while (this.counts.size > this.max) this.counts.delete(this.counts.keys().next().value!);
  }

  get size(): number {
    return this.counts.size;
  }
}
