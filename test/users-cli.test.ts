import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listAudit } from '../src/audit/log.js';
import { checkPassword, findUser } from '../src/auth/users.js';
import { loadConfig } from '../src/config/load.js';
import { openDb } from '../src/db/open.js';
import { ROOT, runCli, writeConfig, type CliResult } from './helpers.js';

const PW = 'een lang wachtwoord';

/** The CLI with a password piped to standard input (runCli gives the child no stdin). */
function runCliWithStdin(args: string[], input: string): Promise<CliResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), ...args], { cwd: ROOT, env: { ...process.env, KIKV_PASSWORD: undefined }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(input);
  return new Promise((res) => child.on('close', (code, signal) => res({ code, signal, stdout, stderr })));
}

describe('kikv users add | passwd | list | disable', () => {
  it('manages accounts end to end, with clear errors for a short or missing password, an unknown role and an existing user', async () => {
    const { file } = writeConfig();
    const cfg = loadConfig(file);
    const run = (args: string[], password?: string) => runCli([...args, '--config', file], { KIKV_PASSWORD: password });

    // Independent invocations run side by side: each CLI start costs seconds on a busy machine.
    // The refusals are decided before the database is opened; the add creates it.
    const [added, role, short, missing] = await Promise.all([
      run(['users', 'add', 'Marieke', '--role', 'board'], PW),
      run(['users', 'add', 'piet', '--role', 'admin'], PW),
      run(['users', 'add', 'piet', '--role', 'viewer'], 'kort'),
      run(['users', 'add', 'piet', '--role', 'viewer']),
    ]);
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toContain('Added user marieke with role board.');
    expect(role.code).toBe(2);
    expect(role.stderr).toContain('unknown role "admin": choose one of board, quality, operator, viewer');
    expect(short.code).toBe(2);
    expect(short.stderr).toMatch(/the password must be at least 12 characters long/);
    expect(short.stderr).not.toMatch(/\n\s+at /); // a message, not a stack
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no password given: use --password-stdin, set KIKV_PASSWORD, or run the command in a terminal');

    const [again, piped, unknown] = await Promise.all([
      run(['users', 'add', 'marieke', '--role', 'quality'], PW),
      runCliWithStdin(['users', 'add', 'piet', '--role', 'quality', '--password-stdin', '--config', file], `${PW}\n`),
      run(['users', 'passwd', 'nobody'], PW),
    ]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('user "marieke" already exists; change its password with `kikv users passwd marieke`');
    expect(piped.code, piped.stderr).toBe(0);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no user "nobody"');

    const [passwd, disabled] = await Promise.all([run(['users', 'passwd', 'marieke'], 'nog een langer wachtwoord'), run(['users', 'disable', 'piet'])]);
    expect(passwd.code, passwd.stderr).toBe(0);
    expect(disabled.code, disabled.stderr).toBe(0);
    const list = await run(['users', 'list']);
    expect(list.stdout).toMatch(/marieke\s+board\s+active/);
    expect(list.stdout).toMatch(/piet\s+quality\s+disabled since/);

    const db = openDb(cfg.storage.dataDir);
    try {
      // The piped password (without its newline) and the changed one are the ones that work.
      expect(findUser(db, 'piet')!.disabled_at).not.toBeNull();
      expect(await checkPassword(db, 'marieke', PW, cfg.board, 'login')).toMatchObject({ ok: false, reason: 'bad-password' });
      expect((await checkPassword(db, 'marieke', 'nog een langer wachtwoord', cfg.board, 'login')).ok).toBe(true);
      const actions = listAudit(db).filter((e) => e.actor === 'operator (cli)').map((e) => `${e.action} ${e.subject}`);
      expect(actions.sort()).toEqual(['user.added user:marieke', 'user.added user:piet', 'user.disabled user:piet', 'user.password-changed user:marieke']);
      expect(JSON.stringify(listAudit(db))).not.toContain(PW);
    } finally {
      db.close();
    }
  }, 60_000);
});
