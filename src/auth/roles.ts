/** Who may do what on the board's pages and API (issue 6). Users are managed on the command line only. */
export type Role = 'board' | 'quality' | 'operator' | 'viewer';
export type Permission = 'read' | 'enter-manual' | 'correct' | 'prepare' | 'approve' | 'reject' | 'import' | 'read-audit' | 'manage-users';

export const ROLES: readonly Role[] = ['board', 'quality', 'operator', 'viewer'];

const GRANTS: Record<Permission, readonly Role[]> = {
  read: ROLES,
  'enter-manual': ['quality', 'board'],
  correct: ['quality'],
  prepare: ['quality'],
  approve: ['board'],
  reject: ['board'],
  import: ['operator'],
  'read-audit': ['operator', 'board'],
  // No role manages users over HTTP: an account is made by someone with shell access (`kikv users`).
  'manage-users': [],
};

export function can(role: Role, p: Permission): boolean {
  return GRANTS[p].includes(role);
}

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}
