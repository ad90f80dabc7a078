import { appendAudit } from '../audit/log.js';
import type { BoardConfig } from '../config/schema.js';
import type { Db } from '../db/open.js';
import { AttemptCounts, lockedAt, reserveAttempt, settleFailure, type AttemptCount } from './lockout.js';
import { hashPassword, passwordProblem, verifyPassword } from './passwords.js';
import { ROLES, isRole, type Role } from './roles.js';

export interface User {
  name: string;
  role: Role;
  created_at: string;
  password_changed_at: string;
  disabled_at: string | null;
  failed_logins: number;
  locked_until: string | null;
}

/** A refused account change; the message names the fix. */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}

export type LoginResult = { ok: true; user: User } | { ok: false; reason: 'unknown' | 'bad-password' | 'locked' | 'disabled'; lockedUntil?: string };

const NAME = /^[a-z0-9][a-z0-9._-]{1,63}$/;
const COLUMNS = 'name, role, created_at, password_changed_at, disabled_at, failed_logins, locked_until';

/** The stored (lower-case) form of a user name, or a UserError saying what a name may contain. */
export function userName(input: string): string {
  const name = input.trim().toLowerCase();
  if (!NAME.test(name)) {
    throw new UserError(`user name "${input}" is not valid: use 2 to 64 characters a-z, 0-9, ".", "_" or "-", starting with a letter or digit`);
  }
  return name;
}

function checkedPassword(password: string): void {
  const problem = passwordProblem(password);
  if (problem) throw new UserError(problem);
}

function roleOf(input: string): Role {
  if (!isRole(input)) throw new UserError(`unknown role "${input}": choose one of ${ROLES.join(', ')}`);
  return input;
}

export function findUser(db: Db, name: string): User | undefined {
  return db.prepare(`SELECT ${COLUMNS} FROM users WHERE name = ?`).get(name.trim().toLowerCase()) as User | undefined;
}

function existingUser(db: Db, input: string): User {
  const name = userName(input);
  const user = findUser(db, name);
  if (!user) throw new UserError(`no user "${name}"; see \`kikv users list\`, or add it with \`kikv users add ${name} --role ROLE\``);
  return user;
}

export async function addUser(db: Db, name: string, role: Role, password: string, actor: string): Promise<User> {
  const n = userName(name);
  const r = roleOf(role);
  checkedPassword(password);
  if (findUser(db, n)) throw new UserError(`user "${n}" already exists; change its password with \`kikv users passwd ${n}\``);
  const hash = await hashPassword(password);
  const at = new Date().toISOString();
  db.transaction(() => {
    // Checked again inside the transaction: another process may have added the name while we hashed.
    if (findUser(db, n)) throw new UserError(`user "${n}" already exists; change its password with \`kikv users passwd ${n}\``);
    db.prepare('INSERT INTO users (name, role, password_hash, created_at, password_changed_at) VALUES (?, ?, ?, ?, ?)').run(n, r, hash, at, at);
    appendAudit(db, { actor, action: 'user.added', subject: `user:${n}`, details: { name: n, role: r }, at: new Date(at) });
  })();
  return findUser(db, n)!;
}

/** A new password also unlocks the account and ends its sessions (whoever had the old one is logged out). */
export async function setPassword(db: Db, name: string, password: string, actor: string): Promise<void> {
  const user = existingUser(db, name);
  checkedPassword(password);
  const hash = await hashPassword(password);
  const at = new Date();
  db.transaction(() => {
    db.prepare('UPDATE users SET password_hash = ?, password_changed_at = ?, failed_logins = 0, locked_until = NULL WHERE name = ?').run(hash, at.toISOString(), user.name);
    const ended = db.prepare('DELETE FROM sessions WHERE user_name = ?').run(user.name).changes;
    appendAudit(db, { actor, action: 'user.password-changed', subject: `user:${user.name}`, details: { name: user.name, sessionsEnded: ended }, at });
  })();
}

export function listUsers(db: Db): User[] {
  return db.prepare(`SELECT ${COLUMNS} FROM users ORDER BY name`).all() as User[];
}

/** Disabling ends the user's sessions at once; the account and its history are kept. */
export function disableUser(db: Db, name: string, actor: string): void {
  const user = existingUser(db, name);
  if (user.disabled_at) throw new UserError(`user "${user.name}" is already disabled (since ${user.disabled_at})`);
  const at = new Date();
  db.transaction(() => {
    db.prepare('UPDATE users SET disabled_at = ? WHERE name = ?').run(at.toISOString(), user.name);
    const ended = db.prepare('DELETE FROM sessions WHERE user_name = ?').run(user.name).changes;
    appendAudit(db, { actor, action: 'user.disabled', subject: `user:${user.name}`, details: { name: user.name, sessionsEnded: ended }, at });
  })();
}

// Checked against when the account's own hash is not, so every answer takes as long as a wrong password.
let decoy: Promise<string> | undefined;

async function decoyCheck(password: string): Promise<void> {
  await verifyPassword(password, await (decoy ??= hashPassword('decoy password, never valid')));
}

const unknownCounts = new WeakMap<Db, AttemptCounts>();

function unknownCountsOf(db: Db): AttemptCounts {
  let counts = unknownCounts.get(db);
  if (!counts) unknownCounts.set(db, (counts = new AttemptCounts()));
  return counts;
}

type UserRow = User & { password_hash: string };
type Start = { kind: 'unknown' } | { kind: 'refused'; result: Exclude<LoginResult, { ok: true }> } | { kind: 'check'; user: UserRow };

/**
 * A login (or the password asked again at approval, `confirm`). Failures of both kinds count toward
 * the lock-out; a success resets the count. Each attempt is counted before the slow hash (see
 * reserveAttempt), so parallel guesses cannot get past the limit, and a right password that arrives
 * while or after the account locked is refused. A disabled or locked account is refused even with
 * the right password, after a decoy hash so it answers no faster. An unknown name answers like a
 * real one, lock included, and is audited without the name typed (it may be a mistyped password).
 */
export async function checkPassword(db: Db, name: string, password: string, cfg: BoardConfig, purpose: 'login' | 'confirm', now: Date = new Date()): Promise<LoginResult> {
  const key = name.trim().toLowerCase();
  const failedAction = purpose === 'login' ? 'user.login-failed' : 'user.confirm-failed';
  const start = db.transaction((): Start => {
    const user = NAME.test(key) ? (db.prepare(`SELECT password_hash, ${COLUMNS} FROM users WHERE name = ?`).get(key) as UserRow | undefined) : undefined;
    if (!user) return { kind: 'unknown' };
    const subject = `user:${user.name}`;
    if (!lockedAt(user, now) && user.disabled_at) {
      appendAudit(db, { actor: user.name, action: failedAction, subject, details: { reason: 'disabled' }, at: now });
      return { kind: 'refused', result: { ok: false, reason: 'disabled' } };
    }
    const r = reserveAttempt(user, cfg, now);
    setCount(db, user.name, r.next);
    if (r.go) return { kind: 'check', user };
    appendAudit(db, { actor: user.name, action: failedAction, subject, details: { reason: r.lockedNow ? 'too-many-attempts' : 'locked', lockedUntil: r.lockedUntil }, at: now });
    if (r.lockedNow) appendAudit(db, { actor: user.name, action: 'user.locked', subject, details: { failures: r.next.failed_logins, lockedUntil: r.lockedUntil }, at: now });
    return { kind: 'refused', result: { ok: false, reason: 'locked', lockedUntil: r.lockedUntil } };
  })();
  if (start.kind === 'unknown') return unknownName(db, key, password, cfg, failedAction, now);
  if (start.kind === 'refused') {
    await decoyCheck(password);
    return start.result;
  }
  const user = start.user;
  const subject = `user:${user.name}`;
  const matches = await verifyPassword(password, user.password_hash);
  return db.transaction((): LoginResult => {
    // Re-read: other attempts (or a disable) may have changed the account while we hashed.
    const fresh = db.prepare('SELECT failed_logins, locked_until, disabled_at FROM users WHERE name = ?').get(user.name) as Pick<User, 'failed_logins' | 'locked_until' | 'disabled_at'>;
    if (fresh.disabled_at) {
      appendAudit(db, { actor: user.name, action: failedAction, subject, details: { reason: 'disabled' }, at: now });
      return { ok: false, reason: 'disabled' };
    }
    if (matches && !lockedAt(fresh, now)) {
      setCount(db, user.name, { failed_logins: 0, locked_until: null });
      appendAudit(db, { actor: user.name, action: purpose === 'login' ? 'user.login' : 'user.confirmed', subject, at: now });
      return { ok: true, user: { ...toUser(user), failed_logins: 0, locked_until: null } };
    }
    if (matches) {
      appendAudit(db, { actor: user.name, action: failedAction, subject, details: { reason: 'locked', lockedUntil: fresh.locked_until }, at: now });
      return { ok: false, reason: 'locked', lockedUntil: fresh.locked_until! };
    }
    const s = settleFailure(fresh, cfg, now);
    appendAudit(db, { actor: user.name, action: failedAction, subject, details: { reason: 'bad-password', failures: fresh.failed_logins }, at: now });
    if (s.lockedNow) {
      setCount(db, user.name, s.next);
      appendAudit(db, { actor: user.name, action: 'user.locked', subject, details: { failures: s.next.failed_logins, lockedUntil: s.lockedUntil }, at: now });
    }
    return s.lockedUntil ? { ok: false, reason: 'locked', lockedUntil: s.lockedUntil } : { ok: false, reason: 'bad-password' };
  })();
}

function setCount(db: Db, name: string, c: AttemptCount): void {
  db.prepare('UPDATE users SET failed_logins = ?, locked_until = ? WHERE name = ?').run(c.failed_logins, c.locked_until, name);
}

/** An unknown name goes through the same count and lock as an account, in memory. */
async function unknownName(db: Db, key: string, password: string, cfg: BoardConfig, failedAction: string, now: Date): Promise<LoginResult> {
  const counts = unknownCountsOf(db);
  const r = reserveAttempt(counts.get(key, now), cfg, now);
  counts.set(key, r.next, now);
  await decoyCheck(password);
  db.transaction(() => appendAudit(db, { actor: 'anonymous', action: failedAction, details: { reason: 'unknown' }, at: now }))();
  if (!r.go) return { ok: false, reason: 'locked', lockedUntil: r.lockedUntil };
  const s = settleFailure(counts.get(key, now), cfg, now);
  counts.set(key, s.next, now);
  return s.lockedUntil ? { ok: false, reason: 'locked', lockedUntil: s.lockedUntil } : { ok: false, reason: 'unknown' };
}

function toUser(u: User & { password_hash?: string }): User {
  return { name: u.name, role: u.role, created_at: u.created_at, password_changed_at: u.password_changed_at, disabled_at: u.disabled_at, failed_logins: u.failed_logins, locked_until: u.locked_until };
}
