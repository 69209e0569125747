// Fresh PostgreSQL databases for tests: one uniquely named database per call on the server at
// DEVSTATUS_TEST_PG_URL (default: 127.0.0.1:5432, user postgres, trust auth), dropped afterwards.
// When that server cannot be reached the tests fail, saying so: they never skip.
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const ADMIN_URL = process.env.DEVSTATUS_TEST_PG_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

async function admin<T>(work: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 10_000 });
  try {
    await client.connect();
  } catch (e) {
    const safe = ADMIN_URL.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
    throw new Error(
      `PostgreSQL for the tests is not reachable at ${safe} (${(e as Error).message}). ` +
        'The PostgreSQL tests are mandatory: start PostgreSQL on 127.0.0.1:5432 (user postgres, trust auth; ' +
        'scripts/install-test-deps.sh does it on Debian) or set DEVSTATUS_TEST_PG_URL to an admin URL of one.',
    );
  }
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `devstatus_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    // FORCE: a test that failed half-way may have left sessions open.
    drop: () => admin(async (c) => void (await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))),
  };
}

/** Runs SQL on a test database as the admin user (to break things on purpose, mostly). */
export async function onDatabase<T>(db: TestDatabase, work: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Kills the sessions of a test database with this application_name, as a crash or network cut would. */
export async function terminateSessions(db: TestDatabase, applicationName: string): Promise<number> {
  return admin(async (c) => {
    const { rows } = await c.query(
      `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE datname = $1 AND application_name = $2`,
      [db.name, applicationName],
    );
    return rows.length;
  });
}
