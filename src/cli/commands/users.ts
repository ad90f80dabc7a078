import type { Command } from 'commander';
import { passwordProblem } from '../../auth/passwords.js';
import { ROLES, isRole } from '../../auth/roles.js';
import { UserError, addUser, disableUser, listUsers, setPassword, userName, type User } from '../../auth/users.js';
import { UsageError, withAgent } from '../context.js';
import { table } from '../format.js';

const ACTOR = 'operator (cli)';

/**
 * `kikv users add|passwd|list|disable`: the board's accounts. Only here, never over HTTP: whoever
 * manages accounts has shell access to the datastation.
 */
export function registerUsersCommands(program: Command): void {
  const users = program.command('users').description("the board's accounts (roles: board, quality, operator, viewer)");
  users
    .command('add <name>')
    .description('add a user; the password comes from --password-stdin, else $KIKV_PASSWORD, else a prompt')
    .requiredOption('--role <role>', `one of ${ROLES.join(', ')}`)
    .option('--password-stdin', 'read the password from standard input (one line)')
    .action(async (name: string, o: { role: string; passwordStdin?: boolean }, cmd: Command) => {
      if (!isRole(o.role)) throw new UsageError(`unknown role "${o.role}": choose one of ${ROLES.join(', ')}`);
      const role = o.role;
      const n = asUsage(() => userName(name));
      const password = await passwordFrom(o.passwordStdin === true, true);
      await withAgent(cmd, async ({ db }) => {
        const user = await asUsageAsync(() => addUser(db, n, role, password, ACTOR));
        console.log(`Added user ${user.name} with role ${user.role}.`);
      });
    });
  users
    .command('passwd <name>')
    .description("set a user's password (also unlocks the account and ends its sessions)")
    .option('--password-stdin', 'read the password from standard input (one line)')
    .action(async (name: string, o: { passwordStdin?: boolean }, cmd: Command) => {
      const n = asUsage(() => userName(name));
      await withAgent(cmd, async ({ db }) => {
        // Checked before asking, so nobody types a password twice for a name that does not exist.
        if (!listUsers(db).some((u) => u.name === n)) throw new UsageError(`no user "${n}"; see \`kikv users list\``);
        const password = await passwordFrom(o.passwordStdin === true, true);
        await asUsageAsync(() => setPassword(db, n, password, ACTOR));
        console.log(`Password of ${n} changed; its sessions have ended.`);
      });
    });
  users
    .command('list')
    .description('list the users with role and state')
    .option('--json', 'print the users as JSON')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      await withAgent(cmd, async ({ db }) => {
        const all = listUsers(db);
        if (o.json) console.log(JSON.stringify(all, null, 2));
        else if (all.length === 0) console.log('No users yet; add one with `kikv users add NAME --role ROLE`.');
        else console.log(table(['name', 'role', 'state', 'created', 'password changed'], all.map((u) => [u.name, u.role, stateOf(u), u.created_at, u.password_changed_at])));
      });
    });
  users
    .command('disable <name>')
    .description('disable a user: it can no longer log in and its sessions end at once')
    .action(async (name: string, _o: unknown, cmd: Command) => {
      await withAgent(cmd, async ({ db }) => {
        asUsage(() => disableUser(db, name, ACTOR));
        console.log(`Disabled user ${name.trim().toLowerCase()}; its sessions have ended.`);
      });
    });
}

function stateOf(u: User, now = new Date()): string {
  if (u.disabled_at) return `disabled since ${u.disabled_at}`;
  if (u.locked_until && Date.parse(u.locked_until) > now.getTime()) return `locked until ${u.locked_until}`;
  return u.failed_logins > 0 ? `active (${u.failed_logins} failed logins)` : 'active';
}

// An account refusal is the operator's input to fix: exit 2 with the message, no stack.
function asUsage<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof UserError) throw new UsageError(e.message);
    throw e;
  }
}

async function asUsageAsync<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof UserError) throw new UsageError(e.message);
    throw e;
  }
}

async function passwordFrom(fromStdin: boolean, twice: boolean): Promise<string> {
  let password: string;
  if (fromStdin) {
    password = (await readAll(process.stdin)).replace(/\r?\n$/, '');
    if (!password) throw new UsageError('--password-stdin: standard input was empty; pipe the password in, e.g. `printf %s "$PW" | kikv users add …`');
  } else if (process.env.KIKV_PASSWORD !== undefined) {
    password = process.env.KIKV_PASSWORD;
    if (!password) throw new UsageError('KIKV_PASSWORD is set but empty; give the password there, or use --password-stdin');
  } else if (process.stdin.isTTY) {
    password = await promptHidden('Password: ');
    const problem = passwordProblem(password);
    if (problem) throw new UsageError(problem);
    if (twice && (await promptHidden('Password again: ')) !== password) throw new UsageError('the two passwords differ; run the command again');
  } else {
    throw new UsageError('no password given: use --password-stdin, set KIKV_PASSWORD, or run the command in a terminal to be asked for it');
  }
  const problem = passwordProblem(password);
  if (problem) throw new UsageError(problem);
  return password;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
  return Buffer.concat(chunks).toString('utf8');
}

/** Reads one line from the terminal without echoing it. */
function promptHidden(question: string): Promise<string> {
  const input = process.stdin;
  process.stderr.write(question);
  input.setRawMode(true);
  input.setEncoding('utf8');
  input.resume();
  return new Promise((resolve, reject) => {
    let value: string[] = [];
    const finish = () => {
      input.setRawMode(false);
      input.pause();
      input.off('data', onData);
      process.stderr.write('\n');
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') {
          finish();
          resolve(value.join(''));
          return;
        }
        if (ch === '\u0003' || ch === '\u0004') {
          finish();
          reject(new UsageError('cancelled; no change made'));
          return;
        }
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else if (ch >= ' ') value.push(ch);
      }
    };
    input.on('data', onData);
  });
}
