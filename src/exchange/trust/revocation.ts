import { readFileSync, statSync } from 'node:fs';

/**
 * Revoked credential ids from a file (one per line, lines starting with `#` are comments, or a JSON array), re-read when the
 * file changes so an operator can revoke without a restart. No file: nothing is revoked.
 */
export function revocationListOf(file: string | undefined): (credentialId: string) => Promise<boolean> {
  if (!file) return async () => false;
  let stamp = -1;
  let ids = new Set<string>();
  return async (credentialId) => {
    let mtime: number;
    try {
      mtime = statSync(file).mtimeMs;
    } catch (e) {
      // Failing closed: a missing list must not silently accept revoked credentials.
      throw new Error(`the revocation list ${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)}); restore it or remove trust.revokedCredentials`);
    }
    if (mtime !== stamp) {
      ids = idsOf(readFileSync(file, 'utf8'));
      stamp = mtime;
    }
    return ids.has(credentialId);
  };
}

function idsOf(text: string): Set<string> {
  const trimmed = text.trim();
  if (trimmed.startsWith('[')) return new Set((JSON.parse(trimmed) as unknown[]).filter((x): x is string => typeof x === 'string'));
  return new Set(text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#')));
}
