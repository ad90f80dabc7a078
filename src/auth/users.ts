import { appendAudit } from '../audit/log.js';
import type { BoardConfig } from '../config/schema.js';
import type { Db } from '../db/open.js';
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

// Checked against for an unknown name, so its answer takes as long as a wrong password for a real one.
let decoy: Promise<string> | undefined;

/**
 * A login (or the password asked again at approval, `confirm`). Failures of both kinds count toward
 * the lock-out; a success resets the count. A disabled or locked account is refused even with the
 * right password. An unknown name is audited without the name typed (it may be a mistyped password).
 */
export async function checkPassword(db: Db, name: string, password: string, cfg: BoardConfig, purpose: 'login' | 'confirm', now: Date = new Date()): Promise<LoginResult> {
  const key = name.trim().toLowerCase();
  const user = NAME.test(key) ? (db.prepare('SELECT password_hash, ' + COLUMNS + ' FROM users WHERE name = ?').get(key) as (User & { password_hash: string }) | undefined) : undefined;
  const failedAction = purpose === 'login' ? 'user.login-failed' : 'user.confirm-failed';
  if (!user) {
    await verifyPassword(password, await (decoy ??= hashPassword('decoy password, never valid')));
    db.transaction(() => appendAudit(db, { actor: 'anonymous', action: failedAction, details: { reason: 'unknown' }, at: now }))();
    return { ok: false, reason: 'unknown' };
  }
  const subject = `user:${user.name}`;
  const lockedNow = user.locked_until !== null && Date.parse(user.locked_until) > now.getTime();
  if (lockedNow) {
    db.transaction(() => appendAudit(db, { actor: user.name, action: failedAction, subject, details: { reason: 'locked', lockedUntil: user.locked_until }, at: now }))();
    return { ok: false, reason: 'locked', lockedUntil: user.locked_until! };
  }
  const matches = await verifyPassword(password, user.password_hash);
  if (user.disabled_at) {
    db.transaction(() => appendAudit(db, { actor: user.name, action: failedAction, subject, details: { reason: 'disabled' }, at: now }))();
    return { ok: false, reason: 'disabled' };
  }
  return db.transaction((): LoginResult => {
    // Re-read inside the transaction: concurrent attempts for the same name each count.
    const fresh = db.prepare('SELECT failed_logins, locked_until FROM users WHERE name = ?').get(user.name) as Pick<User, 'failed_logins' | 'locked_until'>;
    if (matches) {
      if (fresh.failed_logins !== 0 || fresh.locked_until !== null) db.prepare('UPDATE users SET failed_logins = 0, locked_until = NULL WHERE name = ?').run(user.name);
      appendAudit(db, { actor: user.name, action: purpose === 'login' ? 'user.login' : 'user.confirmed', subject, at: now });
      return { ok: true, user: { ...toUser(user), failed_logins: 0, locked_until: null } };
    }
    // A lock that has run out starts a fresh count.
    const expired = fresh.locked_until !== null && Date.parse(fresh.locked_until) <= now.getTime();
    const failures = (expired ? 0 : fresh.failed_logins) + 1;
    appendAudit(db, { actor: user.name, action: failedAction, subject, details: { reason: 'bad-password', failures }, at: now });
    if (failures >= cfg.lockoutFailures) {
      const until = new Date(now.getTime() + cfg.lockoutMinutes * 60_000).toISOString();
      db.prepare('UPDATE users SET failed_logins = ?, locked_until = ? WHERE name = ?').run(failures, until, user.name);
      appendAudit(db, { actor: user.name, action: 'user.locked', subject, details: { failures, lockedUntil: until }, at: now });
      return { ok: false, reason: 'locked', lockedUntil: until };
    }
    db.prepare('UPDATE users SET failed_logins = ?, locked_until = NULL WHERE name = ?').run(failures, user.name);
    return { ok: false, reason: 'bad-password' };
  })();
}

function toUser(u: User & { password_hash?: string }): User {
  return { name: u.name, role: u.role, created_at: u.created_at, password_changed_at: u.password_changed_at, disabled_at: u.disabled_at, failed_logins: u.failed_logins, locked_until: u.locked_until };
}
