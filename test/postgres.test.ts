// What only the PostgreSQL store has to prove: the same answers as SQLite, correctness when
// several receivers ingest the same boxes, group commit with savepoints, migrations, and
// clear errors when the database cannot be reached.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseReport } from '../src/protocol/index.js';
import { PostgresStore } from '../src/store/postgres.js';
import { SqliteStore } from '../src/store/sqlite.js';
import type { HistoryEntry, Store } from '../src/store/types.js';
import { createTestDatabase, onDatabase, terminateSessions, type TestDatabase } from './support/pg.js';
import { report, startServer } from './support/server.js';

const quiet = { info: () => {}, warn: () => {} };
const openPg = (db: TestDatabase, extra: Partial<Parameters<typeof PostgresStore.open>[0]> = {}) =>
  PostgresStore.open({ url: db.url, log: quiet, ...extra });
const parsed = (devSno: string, subs: Record<string, 'online' | 'offline'>) => parseReport(report(devSno, subs));

/** Per ep (or the box), the transitions in the order they were written must form one chain. */
function assertChains(entries: HistoryEntry[], current: Map<string, string>): void {
  const byEp = new Map<string, HistoryEntry[]>();
  for (const e of [...entries].sort((a, b) => a.id - b.id)) {
    const key = e.ep_id ?? '(box)';
    byEp.set(key, [...(byEp.get(key) ?? []), e]);
  }
  for (const [ep, chain] of byEp) {
    assert.equal(chain[0]!.from_status, null, `${ep}: the first transition starts from nothing`);
    assert.equal(chain[0]!.reason, 'first_seen');
    for (let i = 1; i < chain.length; i++) {
      assert.equal(chain[i]!.from_status, chain[i - 1]!.to_status, `${ep}: transition ${i} does not follow on (lost or duplicated)`);
      assert.notEqual(chain[i]!.from_status, chain[i]!.to_status, `${ep}: a transition that changes nothing`);
    }
    if (current.has(ep)) assert.equal(chain.at(-1)!.to_status, current.get(ep), `${ep}: history ends where the state is`);
  }
}

describe('postgres store', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase();
  });
  after(async () => {
    await db.drop();
  });

  it('answers every read exactly as the SQLite store does for the same reports', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'devstatus-same-'));
    const own = await createTestDatabase();
    const sqlite = new SqliteStore({ file: join(dir, 'x.db') });
    const postgres = await openPg(own);
    try {
      const t0 = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
      const reports = [
        report('b-2', { '10.0.0.1': 'online', '10.0.0.2': 'offline' }),
        report('B-1', { '10.0.0.1': 'online' }),
        report('a', {}),
        report('Étage1', { 'rtsp://10.0.0.9/live?x=1&y="2"': 'online' }),
        report('_x', { '10.0.0.1': 'offline' }),
        report('b-2', { '10.0.0.2': 'online' }),
        report('B-1', { '10.0.0.1': 'offline', '10.0.0.3': 'online' }),
        report('b-2', { '10.0.0.1': 'online', '10.0.0.2': 'online' }),
      ];
      Object.assign(reports[0]!, { firmware: { z: 1, a: [1, { b: 2, a: 1 }], ü: 'x', n: null, f: 1.5 } });
      Object.assign(reports[1]!.sub_devices[0]!, { channel: 2, 'a key': 'é\\"' });
      for (const [i, r] of reports.entries()) {
        const a = await sqlite.ingest(parseReport(r), t0 + i * 1000);
        const b = await postgres.ingest(parseReport(r), t0 + i * 1000);
        assert.deepEqual(b, a, `transitions of report ${i}`);
      }
      for (const q of [{}, { q: 'B' }, { q: 'b-' }, { q: 'étage' }, { q: 'Étage' }, { status: 'online' as const }, { limit: 2, offset: 1 }]) {
        assert.deepEqual(await postgres.listBoxes(q), await sqlite.listBoxes(q), `listBoxes ${JSON.stringify(q)}`);
      }
      for (const devSno of ['b-2', 'B-1', 'a', 'Étage1', '_x', 'nope']) {
        assert.deepEqual(await postgres.getBox(devSno), await sqlite.getBox(devSno), `getBox ${devSno}`);
        for (const q of [{}, { limit: 2 }, { ep_id: `${devSno}__10.0.0.1` }, { before: 5 }]) {
          assert.deepEqual(await postgres.history(devSno, q), await sqlite.history(devSno, q), `history ${devSno} ${JSON.stringify(q)}`);
        }
      }
      assert.deepEqual(await postgres.summary(), await sqlite.summary());
      assert.deepEqual(
        (await postgres.listBoxes()).boxes.map((b) => b.dev_sno),
        ['B-1', '_x', 'a', 'b-2', 'Étage1'],
        'bytewise order, as in SQLite',
      );
    } finally {
      await sqlite.close();
      await postgres.close();
      await own.drop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('loses and duplicates no transition when two stores ingest the same boxes at once', async () => {
    const own = await createTestDatabase();
    const a = await openPg(own, { applicationName: 'ds-a' });
    const b = await openPg(own, { applicationName: 'ds-b' });
    try {
      const boxes = Array.from({ length: 8 }, (_, i) => `SAME${i}`);
      const returned: number[] = [];
      const count = (p: Promise<{ transitions: unknown[] }>) => p.then((r) => returned.push(r.transitions.length));

      // Both see each box for the first time at the same moment: one first_seen each, not two.
      await Promise.all(
        boxes.flatMap((box) =>
          [a, b, a, b, a, b].map((s, i) => count(s.ingest(parsed(box, { '10.0.0.1': 'online', '10.0.0.2': 'online' }), Date.now() + i))),
        ),
      );
      for (const box of boxes) {
        const h = await a.history(box);
        assert.deepEqual(
          h.map((e) => `${e.ep_id ?? 'box'} ${e.reason}`).sort(),
          [`${box}__10.0.0.1 first_seen`, `${box}__10.0.0.2 first_seen`, 'box first_seen'],
        );
        assert.equal((await b.getBox(box))!.box.report_count, 6);
      }

      // Then one store says 10.0.0.1 is offline while the other says online, over and over.
      await Promise.all(
        boxes.flatMap((box) =>
          Array.from({ length: 12 }, (_, i) =>
            count((i % 2 ? a : b).ingest(parsed(box, { '10.0.0.1': i % 2 ? 'offline' : 'online', '10.0.0.2': 'online' }), Date.now())),
          ),
        ),
      );
      let rows = 0;
      for (const box of boxes) {
        const found = (await b.getBox(box))!;
        assert.equal(found.box.report_count, 18);
        const current = new Map(found.sub_devices.map((s) => [s.ep_id, s.ep_status as string]));
        current.set('(box)', found.box.status);
        const h = await a.history(box, { limit: 1000 });
        rows += h.length;
        assertChains(h, current);
      }
      assert.equal(returned.reduce((x, y) => x + y, 0), rows, 'every returned transition is in the history, once');
    } finally {
      await a.close();
      await b.close();
      await own.drop();
    }
  });

  it('commits reports that arrive together in one transaction; a failing one rolls back alone, whole', async () => {
    const own = await createTestDatabase();
    const store = await openPg(own, { ingestLanes: 1 });
    try {
      await onDatabase(own, (c) =>
        c.query(`CREATE FUNCTION fail_one() RETURNS trigger LANGUAGE plpgsql AS $$
                   BEGIN IF NEW.ep_id = 'FAIL1__10.0.0.2' THEN RAISE EXCEPTION 'disk says no'; END IF; RETURN NEW; END $$;
                 CREATE TRIGGER fail_one BEFORE INSERT ON sub_devices FOR EACH ROW EXECUTE FUNCTION fail_one();
                 -- txid_current() is the top-level transaction, even inside a savepoint.
                 CREATE TABLE tx_seen (dev_sno text, txid bigint);
                 CREATE FUNCTION note_tx() RETURNS trigger LANGUAGE plpgsql AS $$
                   BEGIN INSERT INTO tx_seen VALUES (NEW.dev_sno, txid_current()); RETURN NEW; END $$;
                 CREATE TRIGGER note_tx AFTER UPDATE ON boxes FOR EACH ROW EXECUTE FUNCTION note_tx();`),
      );
      const names = ['GOOD1', 'FAIL1', 'GOOD2', 'GOOD3'];
      const results = await Promise.allSettled(
        names.map((n) => store.ingest(parsed(n, { '10.0.0.1': 'online', '10.0.0.2': 'online' }), Date.now())),
      );
      assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
      assert.match(String((results[1] as PromiseRejectedResult).reason), /disk says no/);
      assert.equal(await store.getBox('FAIL1'), null, 'no half-written box');
      assert.deepEqual(await store.history('FAIL1'), []);
      for (const n of ['GOOD1', 'GOOD2', 'GOOD3']) assert.equal((await store.getBox(n))!.sub_devices.length, 2);
      const seen = await onDatabase(own, (c) => c.query(`SELECT dev_sno, txid FROM tx_seen ORDER BY dev_sno`));
      assert.deepEqual(seen.rows.map((r) => r.dev_sno), ['GOOD1', 'GOOD2', 'GOOD3']);
      assert.equal(new Set(seen.rows.map((r) => r.txid)).size, 1, 'the three good reports were committed by one transaction');
    } finally {
      await store.close();
      await own.drop();
    }
  });

  it('migrates once when several receivers open a fresh database together, and refuses a newer schema', async () => {
    const own = await createTestDatabase();
    try {
      const opened = await Promise.all([openPg(own), openPg(own), openPg(own)]);
      for (const s of opened) await s.close();
      const versions = await onDatabase(own, (c) => c.query('SELECT version FROM schema_migrations ORDER BY version'));
      assert.deepEqual(versions.rows, [{ version: 1 }]);

      await onDatabase(own, (c) => c.query('INSERT INTO schema_migrations VALUES (99, 0)'));
      await assert.rejects(openPg(own), /schema version 99, newer than this devstatus knows \(1\); upgrade devstatus/);
    } finally {
      await own.drop();
    }
  });

  it('keeps ingesting after its database connections are cut', async () => {
    const store = await openPg(db, { applicationName: 'ds-cut' });
    try {
      await store.ingest(parsed('CUT1', { '10.0.0.1': 'online' }), Date.now());
      assert.ok((await terminateSessions(db, 'ds-cut')) >= 1);
      // The pool drops the dead connections and opens new ones; a report in flight when the
      // cut happens fails (500, the box sends it again), later ones are stored.
      const deadline = Date.now() + 5000;
      for (;;) {
        try {
          await store.ingest(parsed('CUT1', { '10.0.0.1': 'offline' }), Date.now());
          break;
        } catch (e) {
          if (Date.now() > deadline) throw e;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      const found = (await store.getBox('CUT1'))!;
      assert.equal(found.sub_devices[0]!.ep_status, 'offline');
      assert.deepEqual((await store.history('CUT1')).map((e) => e.to_status), ['offline', 'online', 'online']);
    } finally {
      await store.close();
    }
  });

  it('rejects a report with a NUL character as a bad field (PostgreSQL text cannot hold one)', async () => {
    const store = await openPg(db);
    const server = await startServer(store);
    try {
      const body = report('NUL1', { '10.0.0.1': 'online' });
      body.sub_devices[0]!.ep_name = 'cam\u0000one';
      const res = await server.post(body);
      assert.equal(res.status, 400);
      assert.equal((await res.json()).field, 'sub_devices[0].ep_name');
      assert.equal((await server.get('/api/devices/NUL1')).status, 404);
    } finally {
      await server.close();
      await store.close();
    }
  });

  it('says where and what to check when the database cannot be reached, never the password', async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const { port } = srv.address() as { port: number };
        srv.close(() => resolve(port));
      });
    });
    const refused = await PostgresStore.open({ url: `postgres://fleet:s3cr3t-pw@127.0.0.1:${closedPort}/fleetdb` }).then(
      () => assert.fail('opened a database on a closed port'),
      (e: Error) => e.message,
    );
    assert.match(refused, new RegExp(`PostgreSQL database "fleetdb" at 127\\.0\\.0\\.1:${closedPort} as user "fleet"`));
    assert.match(refused, /connection refused; check that PostgreSQL is running/);
    assert.doesNotMatch(refused, /s3cr3t/);

    const missing = new URL(db.url);
    missing.pathname = '/devstatus_no_such_db';
    missing.password = 's3cr3t-pw';
    const noDb = await PostgresStore.open({ url: missing.toString() }).then(
      () => assert.fail('opened a database that does not exist'),
      (e: Error) => e.message,
    );
    assert.match(noDb, /database "devstatus_no_such_db" does not exist; create it \(createdb /);
    assert.doesNotMatch(noDb, /s3cr3t/);

    await assert.rejects(PostgresStore.open({ url: 'mysql://x@127.0.0.1/db' }), /must look like postgres:\/\//);
  });
});

// Keeps `Store` referenced for readers: the PostgreSQL store is used only through it elsewhere.
export type { Store };
