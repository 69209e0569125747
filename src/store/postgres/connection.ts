// Reaching PostgreSQL: what a database URL points at, errors that say what to check, and the
// transaction helper that retries what may simply be tried again.
import pg from 'pg';
import { asError } from '../batch.js';
import type { StoreLogger } from '../coordination.js';

export const stderrLogger: StoreLogger = {
  info: () => {},
  warn: (obj, msg) => console.error(`devstatus: ${msg}`, obj),
};

/** What the URL points at, without the password: for messages and logs. */
export interface DatabaseTarget {
  host: string;
  port: number;
  database: string;
  user: string;
  /** postgres://user@host:port/database */
  display: string;
}

export function describeDatabaseUrl(url: string): DatabaseTarget {
  if (!/^postgres(ql)?:\/\//i.test(url)) {
    throw new Error('the database URL must look like postgres://user[:password]@host[:port]/database');
  }
  // pg's own view of it, defaults and PG* environment variables included.
  const c = new pg.Client({ connectionString: url });
  const host = c.host;
  const port = c.port;
  const database = c.database ?? '';
  const user = c.user ?? '';
  const hostPart = host.includes(':') && !host.startsWith('/') ? `[${host}]` : host;
  return {
    host,
    port,
    database,
    user,
    display: `postgres://${encodeURIComponent(user)}@${hostPart}:${port}/${encodeURIComponent(database)}`,
  };
}

function passwordOf(url: string): string | undefined {
  try {
    const p = new URL(url).password;
    return p ? decodeURIComponent(p) : undefined;
  } catch {
    return undefined;
  }
}

/** A message about a failure to reach the database that says where and what to check. */
export function explainConnectError(e: unknown, url: string): Error {
  const t = describeDatabaseUrl(url);
  const err = e as { code?: string; message?: string };
  const where = `PostgreSQL database "${t.database}" at ${t.host}:${t.port} as user "${t.user}"`;
  let why: string;
  let check: string;
  switch (err.code) {
    case 'ECONNREFUSED':
      why = 'connection refused';
      check = `check that PostgreSQL is running and listens on ${t.host} port ${t.port}`;
      break;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      why = `host name "${t.host}" does not resolve`;
      check = 'check the host in the database URL';
      break;
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      why = `no route or no answer (${err.code})`;
      check = 'check the host and port in the database URL and any firewall in between';
      break;
    case '28P01':
    case '28000':
      why = `the server refused the login (${err.message ?? err.code})`;
      check = "check the user and password in the database URL and the server's pg_hba.conf";
      break;
    case '3D000':
      why = `database "${t.database}" does not exist`;
      check = `create it (createdb -h ${t.host} -p ${t.port} -U ${t.user} ${t.database}) or fix the database name in the URL`;
      break;
    default:
      why = /timeout/i.test(err.message ?? '') ? 'no answer in time' : (err.message ?? String(e));
      check = 'check that PostgreSQL is running and that the database URL names the right host, port, database and user';
  }
  // pg's own messages never carry the password; this is in case some other layer's does.
  const password = passwordOf(url);
  if (password && password.length >= 4) why = why.split(password).join('***');
  const message = `cannot open the ${where}: ${why}; ${check} (--database-url / DATABASE_URL)`;
  return Object.assign(new Error(message), { code: err.code });
}

export function isConnectionProblem(e: unknown): boolean {
  const code = (e as { code?: string }).code ?? '';
  return (
    /^(08|28|3D|57P)/.test(code) ||
    /^E[A-Z]+$/.test(code) ||
    /timeout|terminated|Connection/i.test((e as Error).message ?? '')
  );
}

/** Errors after which the same batch may simply be tried again. */
export function isTransient(e: unknown): boolean {
  const code = (e as { code?: string }).code;
  return code === '40P01' || code === '40001' || code === '23505';
}

/** Runs work in one transaction on one connection; a deadlock or serialization failure runs it again. */
export async function transaction<T>(pool: pg.Pool, work: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const c = await pool.connect();
  for (let attempt = 1; ; attempt++) {
    try {
      await c.query('BEGIN');
      const result = await work(c);
      await c.query('COMMIT');
      c.release();
      return result;
    } catch (e) {
      try {
        await c.query('ROLLBACK');
      } catch (broken) {
        c.release(asError(broken));
        throw e;
      }
      if (isTransient(e) && attempt < 3) continue;
      c.release();
      throw e;
    }
  }
}
