// `devstatus user add|passwd|remove|list`: operator accounts, straight in the database (SQLite
// file or PostgreSQL), also while a receiver runs on it (sessions and roles are read afresh at
// every request). Passwords come from DEVSTATUS_PASSWORD, standard input, or a prompt.
import { userInfo } from 'node:os';
import { createInterface } from 'node:readline';
import { hashPassword, passwordProblem } from '../server/passwords.js';
import { ROLES, type Role } from '../store/accounts.js';
import { openStore } from '../store/index.js';
import type { Store } from '../store/types.js';

export interface UserCliOptions {
  db: string;
  databaseUrl?: string;
}

/** The audit log has the command line's changes too, by the system user who ran them. */
async function audit(store: Store, what: string, ok: boolean): Promise<void> {
  let who = 'unknown';
  try {
    who = userInfo().username;
  } catch {
    /* no passwd entry */
  }
  await store.accounts.appendAudit({
    at: Date.now(),
    actor: `command line (${who})`,
    role: null,
    method: 'CLI',
    path: `devstatus ${what}`,
    ip: null,
    status: ok ? 200 : 404,
    detail: null,
  });
}

async function withStore<T>(opts: UserCliOptions, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore({ databaseUrl: opts.databaseUrl || undefined, dbFile: opts.db, beside: true });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** Reads a password: the environment, else one line of piped input, else a prompt that does not echo. */
async function readPassword(prompt: string): Promise<string> {
  const fromEnv = process.env.DEVSTATUS_PASSWORD;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: process.stdin.isTTY === true });
  if (process.stdin.isTTY) {
    process.stderr.write(prompt);
    // Typed characters are not shown.
    (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = () => {};
  }
  try {
    const line = await new Promise<string>((resolve, reject) => {
      rl.once('line', resolve);
      rl.once('close', () => reject(new Error('no password given (set DEVSTATUS_PASSWORD or pipe it in)')));
    });
    if (process.stdin.isTTY) process.stderr.write('\n');
    return line.replace(/\r$/, '');
  } finally {
    rl.close();
  }
}

async function newPassword(): Promise<string> {
  const password = await readPassword('new password: ');
  const problem = passwordProblem(password);
  if (problem) throw new Error(`the password ${problem}`);
  return password;
}

export function checkRole(role: string): Role {
  if (!(ROLES as readonly string[]).includes(role)) throw new Error(`role must be one of: ${ROLES.join(', ')}`);
  return role as Role;
}

export async function userAdd(opts: UserCliOptions, username: string, role: string): Promise<void> {
  const r = checkRole(role);
  if (!/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/.test(username)) {
    throw new Error('user names are 1-64 letters, digits, dots, dashes, underscores or @, starting with a letter or digit');
  }
  const hash = await hashPassword(await newPassword());
  await withStore(opts, async (store) => {
    const user = await store.accounts.addUser({ username, role: r, password_hash: hash }, Date.now());
    await audit(store, `user add ${username} --role ${r}`, user !== null);
    if (!user) throw new Error(`user ${username} exists already (change the password with devstatus user passwd ${username})`);
    console.log(`user ${username} added (${r})`);
  });
}

export async function userPasswd(opts: UserCliOptions, username: string, role?: string): Promise<void> {
  const r = role === undefined ? undefined : checkRole(role);
  const hash = await hashPassword(await newPassword());
  await withStore(opts, async (store) => {
    const found = await store.accounts.updateUser(username, { password_hash: hash, role: r }, Date.now());
    await audit(store, `user passwd ${username}${r ? ` --role ${r}` : ''}`, found);
    if (!found) throw new Error(`no user ${username}`);
    console.log(`password of ${username} changed${r ? `, role ${r}` : ''}; their sessions have ended`);
  });
}

export async function userRemove(opts: UserCliOptions, username: string): Promise<void> {
  await withStore(opts, async (store) => {
    const found = await store.accounts.removeUser(username);
    await audit(store, `user remove ${username}`, found);
    if (!found) throw new Error(`no user ${username}`);
    console.log(`user ${username} removed, with their sessions and API keys`);
  });
}

export async function userList(opts: UserCliOptions, json: boolean): Promise<void> {
  await withStore(opts, async (store) => {
    const users = await store.accounts.listUsers();
    if (json) return console.log(JSON.stringify(users, null, 2));
    if (users.length === 0) return console.log('no users (the admin token works: see the admin-token file next to the database)');
    const width = Math.max(8, ...users.map((u) => u.username.length));
    console.log(`${'USER'.padEnd(width)}  ROLE      CREATED`);
    for (const u of users) console.log(`${u.username.padEnd(width)}  ${u.role.padEnd(8)}  ${u.created_at}`);
  });
}
