// What only the PostgreSQL store has to prove: the same answers as SQLite, correctness when
// several receivers ingest the same boxes, group commit with savepoints, migrations, and
// clear errors when the database cannot be reached.
import assert from 'node:assert/strict';
import pg from 'pg';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseReport } from '../src/protocol/index.js';
import { PG_MIGRATIONS, PostgresStore, SqliteStore } from '../src/store/index.js';
import type { AlertDelivery, HistoryEntry, Store, Transition } from '../src/store/types.js';
import { ADMIN_URL, createTestDatabase, onDatabase, terminateSessions, type TestDatabase } from './support/pg.js';
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

  it('answers the fleet methods (offline, registry, alerts) exactly as the SQLite store does', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'devstatus-same-'));
    const own = await createTestDatabase();
    const sqlite = new SqliteStore({ file: join(dir, 'x.db') });
    const postgres = await openPg(own);
    const both = [sqlite, postgres] as const;
    /** Runs the same call on both stores and asserts the same answer. */
    const same = async <T>(what: string, call: (s: Store) => Promise<T>, view: (x: T) => unknown = (x) => x): Promise<T> => {
      const [a, b] = [await call(sqlite), await call(postgres)];
      assert.deepEqual(view(b), view(a), what);
      return b;
    };
    // Alert ids are random: compare deliveries without them.
    const withoutIds = (ds: AlertDelivery[]) => ds.map((d) => ({ ...d, body: { ...JSON.parse(d.body), alert_id: '-' } }));
    try {
      const t0 = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
      const urls = ['http://127.0.0.1:1/a', 'http://127.0.0.1:1/b'];
      const alertOpts = (now: number) => ({ now, dedupMs: 10_000, urls });
      await same('addCode', (s) => s.addCode({ dev_sno: 'REG1', source: 'registered', name: 'Gate', location: 'Hall' }, t0));
      await same('addCode twice', (s) => s.addCode({ dev_sno: 'REG1', source: 'issued' }, t0));
      await same('strict refuses unknown', (s) =>
        s.ingest(parsed('NOPE1', { '10.0.0.1': 'online' }), t0, { registryMode: 'strict' }).then(
          () => 'stored',
          (e: Error) => `${e.name}: ${e.message}`,
        ),
      );
      for (const [i, r] of [
        parsed('REG1', { '10.0.0.1': 'online', '10.0.0.2': 'offline' }),
        parsed('AUTO1', { '10.0.0.1': 'online' }),
        parsed('REG1', { '10.0.0.1': 'offline', '10.0.0.2': 'offline' }),
        parsed('AUTO2', {}),
      ].entries()) {
        const ingested = await same(`ingest ${i}`, (s) => s.ingest(r, t0 + 1000 * (i + 1), { registryMode: i === 0 ? 'strict' : 'open' }));
        await same(`queueAlerts ${i}`, (s) => s.queueAlerts(ingested.transitions, alertOpts(t0 + 1000 * (i + 1))));
      }
      await same('revoke', (s) => s.setCodeStatus('AUTO2', 'revoked', t0 + 5000));
      await same('revoked refused', (s) =>
        s.ingest(parsed('AUTO2', {}), t0 + 5500).then(() => 'stored', (e: Error) => `${e.name}: ${e.message}`),
      );
      await same('updateCode', (s) => s.updateCode('REG1', { location: null }, t0 + 6000));
      await same('updateCode unknown', (s) => s.updateCode('NOPE', { name: 'x' }, t0 + 6000));
      await same('listCodes', (s) => s.listCodes());
      await same('listCodes revoked', (s) => s.listCodes({ status: 'revoked' }));
      await same('fleetHistory before timeouts', (s) => s.fleetHistory());
      await same('fleetHistory page', (s) => s.fleetHistory({ before: 5, limit: 2 }));
      // Boxes timing out at the same moment come in no particular order (SQLite: the order of
      // its index; PostgreSQL: dev_sno), so the history ids of those entries may differ.
      const byBox = (ts: Transition[]) => [...ts].sort((x, y) => (x.dev_sno < y.dev_sno ? -1 : 1));
      const timeouts = byBox(
        await same('markSilentBoxesOffline', (s) => s.markSilentBoxesOffline(t0 + 3500, t0 + 20_000), byBox),
      );
      assert.deepEqual(timeouts.map((t) => t.dev_sno), ['AUTO1', 'REG1']);
      await same('markSilentBoxesOffline again', (s) => s.markSilentBoxesOffline(t0 + 3500, t0 + 20_001));
      await same('queue timeouts', (s) => s.queueAlerts(timeouts, alertOpts(t0 + 20_000)));
      for (const devSno of ['REG1', 'AUTO1', 'AUTO2']) await same(`getBox ${devSno}`, (s) => s.getBox(devSno));
      await same('summary', (s) => s.summary());
      await same('listBoxes by name', (s) => s.listBoxes({ q: 'gATE' }));
      await same('listBoxes offline', (s) => s.listBoxes({ status: 'offline' }));
      await same('fleetHistory', (s) => s.fleetHistory(), (h) => byBox(h.map(({ id: _id, ...e }) => e as Transition)));
      await same('releaseHeldAlerts early', (s) => s.releaseHeldAlerts(alertOpts(t0 + 5000)));
      await same('releaseHeldAlerts', (s) => s.releaseHeldAlerts(alertOpts(t0 + 30_000)));
      await same('listDeliveries', (s) => s.listDeliveries(), withoutIds);
      await same('deliveryCounts', (s) => s.deliveryCounts());
      const claimed = await same('claimDueDeliveries', (s) => s.claimDueDeliveries(t0 + 30_000, t0 + 40_000, 3), withoutIds);
      await same('claim again: leased', (s) => s.claimDueDeliveries(t0 + 30_000, t0 + 40_000, 100), (ds) => ds.map((d) => d.id));
      for (const [i, d] of claimed.entries()) {
        const result = { ok: i === 0, httpStatus: i === 0 ? 200 : 500, error: i === 0 ? null : 'HTTP 500', now: t0 + 31_000, retryAt: i === 1 ? t0 + 32_000 : null };
        for (const s of both) await s.recordDeliveryResult(d.id, result);
      }
      await same('listDeliveries after', (s) => s.listDeliveries({ limit: 100 }), withoutIds);
      await same('listDeliveries failed', (s) => s.listDeliveries({ status: 'failed' }), withoutIds);
      await same('listDeliveries page', (s) => s.listDeliveries({ before: 4, limit: 2 }), withoutIds);
      await same('deliveryCounts after', (s) => s.deliveryCounts());
      await same('prune', (s) => s.pruneDeliveries(t0 + 40_000));
      await same('deliveryCounts pruned', (s) => s.deliveryCounts());
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
      // Every migration once, in order (1, 2, 3, … as many as there are).
      assert.deepEqual(versions.rows, PG_MIGRATIONS.map((_, i) => ({ version: i + 1 })));

      await onDatabase(own, (c) => c.query('INSERT INTO schema_migrations VALUES (99, 0)'));
      await assert.rejects(openPg(own), new RegExp(`schema version 99, newer than this devstatus knows \\(${PG_MIGRATIONS.length}\\); upgrade devstatus`));
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

  it('refuses a report, rather than leaving it unanswered, when no ingest connection can be opened', async () => {
    // From the server's own database: a database cannot refuse connections to itself.
    const onAdmin = async (work: (c: pg.Client) => Promise<unknown>) => {
      const c = new pg.Client({ connectionString: ADMIN_URL });
      await c.connect();
      await work(c).finally(() => c.end());
    };
    const store = await openPg(db, { applicationName: 'ds-noconn' });
    try {
      await store.ingest(parsed('NOCONN1', { '10.0.0.1': 'online' }), Date.now());
      await onAdmin((c) => c.query(`ALTER DATABASE "${db.name}" ALLOW_CONNECTIONS false`));
      await terminateSessions(db, 'ds-noconn');
      const answer = await Promise.race([
        store.ingest(parsed('NOCONN1', { '10.0.0.1': 'offline' }), Date.now()).then(
          () => 'stored',
          () => 'refused',
        ),
        new Promise((r) => setTimeout(() => r('no answer in 5 s'), 5000)),
      ]);
      assert.equal(answer, 'refused');
    } finally {
      await onAdmin((c) => c.query(`ALTER DATABASE "${db.name}" ALLOW_CONNECTIONS true`));
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

describe('postgres store: fleet monitoring shared by several receivers (separate stores, one database)', () => {
  let db: TestDatabase;
  let a: PostgresStore;
  let b: PostgresStore;
  before(async () => {
    db = await createTestDatabase();
    a = await openPg(db, { applicationName: 'ds-fleet-a' });
    b = await openPg(db, { applicationName: 'ds-fleet-b' });
  });
  after(async () => {
    await a.close();
    await b.close();
    await db.drop();
  });

  it('records each report timeout once when both mark silent boxes offline at the same time', async () => {
    const boxes = Array.from({ length: 40 }, (_, i) => `SILENT${String(i).padStart(2, '0')}`);
    const t0 = Date.now();
    await Promise.all(boxes.map((box, i) => (i % 2 ? a : b).ingest(parsed(box, { '10.0.0.1': 'online' }), t0)));
    // Both receivers' detectors fire together, several times over.
    const runs = await Promise.all(
      Array.from({ length: 6 }, (_, i) => (i % 2 ? a : b).markSilentBoxesOffline(t0 + 1, t0 + 10_000 + i)),
    );
    const marked = runs.flat().map((t) => t.dev_sno).sort();
    assert.deepEqual(marked, boxes, 'every silent box reported offline once, by one of them');
    assert.ok(runs.every((r) => r.every((t) => t.reason === 'report_timeout' && t.from_status === 'online')));
    for (const box of boxes) {
      const h = await a.history(box);
      assert.deepEqual(h.map((e) => `${e.ep_id ?? 'box'} ${e.to_status} ${e.reason}`).slice(0, 1), ['box offline report_timeout']);
      assert.equal(h.filter((e) => e.reason === 'report_timeout').length, 1, `${box}: one timeout entry`);
    }
    assert.equal((await b.summary()).sub_devices.unknown, boxes.length);
  });

  it('never marks offline a box whose report is being written by the other receiver', async () => {
    const t0 = Date.now();
    await a.ingest(parsed('BUSY1', { '10.0.0.1': 'online' }), t0);
    // The report is committed before or after the check; either way the history chain holds.
    const [timeouts] = await Promise.all([b.markSilentBoxesOffline(t0 + 1, t0 + 5000), a.ingest(parsed('BUSY1', { '10.0.0.1': 'online' }), t0 + 6000)]);
    const found = (await b.getBox('BUSY1'))!;
    const h = await a.history('BUSY1');
    if (timeouts.length) {
      assert.deepEqual(h.map((e) => `${e.ep_id ?? 'box'} ${e.to_status}`).slice(0, 2), ['box online', 'box offline']);
    } else {
      assert.equal(h.length, 2, 'no timeout written');
    }
    assert.equal(found.box.status, 'online');
  });

  it('never hands the same delivery to both dispatchers', async () => {
    const now = Date.now();
    const transitions: Transition[] = Array.from({ length: 60 }, (_, i) => ({
      at: new Date(now).toISOString(),
      dev_sno: 'CLAIM1',
      ep_id: `CLAIM1__10.0.${i}.1`,
      from_status: 'online',
      to_status: 'offline',
      reason: 'report',
    }));
    const urls = ['http://127.0.0.1:1/x', 'http://127.0.0.1:1/y'];
    assert.deepEqual(await a.queueAlerts(transitions, { now, dedupMs: 60_000, urls }), { queued: 60, held: 0 });
    const seen = new Map<number, string>();
    const claimAll = async (store: PostgresStore, name: string) => {
      for (;;) {
        const got = await store.claimDueDeliveries(now + 1, now + 60_000, 7);
        if (got.length === 0) return;
        for (const d of got) {
          assert.equal(seen.get(d.id), undefined, `delivery ${d.id} claimed by ${name} after ${seen.get(d.id)}`);
          seen.set(d.id, name);
        }
      }
    };
    await Promise.all([claimAll(a, 'a1'), claimAll(b, 'b1'), claimAll(a, 'a2'), claimAll(b, 'b2')]);
    assert.equal(seen.size, 120, 'every delivery claimed exactly once');
    assert.ok(new Set(seen.values()).size >= 2, 'both dispatchers took part');
    // Leased: nothing is due again until the lease ends; then a failed attempt is due once more.
    assert.deepEqual(await b.claimDueDeliveries(now + 2, now + 60_000, 500), []);
    assert.equal((await a.claimDueDeliveries(now + 60_001, now + 120_000, 500)).length, 120);
  });

  it('keeps the de-duplication window across receivers: one alert per subject, the rest held and released once', async () => {
    const now = Date.now();
    const urls = ['http://127.0.0.1:1/dedup'];
    const flip = (i: number): Transition => ({
      at: new Date(now + i).toISOString(),
      dev_sno: 'DEDUP1',
      ep_id: 'DEDUP1__10.0.0.1',
      from_status: i % 2 ? 'offline' : 'online',
      to_status: i % 2 ? 'online' : 'offline',
      reason: 'report',
    });
    // A subject never alerted before, queued by both at once, over and over.
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).queueAlerts([flip(i)], { now: now + i, dedupMs: 60_000, urls })),
    );
    assert.equal(results.reduce((n, r) => n + r.queued, 0), 1, 'one alert inside the window');
    assert.equal(results.reduce((n, r) => n + r.held, 0), 9);
    const later = { now: now + 61_000, dedupMs: 60_000, urls };
    const released = await Promise.all([a.releaseHeldAlerts(later), b.releaseHeldAlerts(later), a.releaseHeldAlerts(later)]);
    assert.equal(released.reduce((n, r) => n + r, 0), 1, 'the held transitions make one coalesced alert');
    const bodies = (await a.listDeliveries({ limit: 1000 }))
      .filter((d) => d.subject === 'sub:DEDUP1__10.0.0.1')
      .map((d) => JSON.parse(d.body) as { transitions: number });
    assert.deepEqual(bodies.map((x) => x.transitions).sort(), [1, 9]);
  });

  it('refuses on one receiver a code revoked through the other, and takes it again once reinstated', async () => {
    const now = Date.now();
    assert.ok(await a.addCode({ dev_sno: 'REVOKE1', source: 'registered' }, now));
    await b.ingest(parsed('REVOKE1', { '10.0.0.1': 'online' }), now, { registryMode: 'strict' });
    // Reports keep arriving at b while a revokes the code.
    let stop = false;
    const outcomes: Array<{ at: number; ok: boolean }> = [];
    const sender = (async () => {
      while (!stop) {
        const sent = Date.now();
        const ok = await b.ingest(parsed('REVOKE1', { '10.0.0.1': 'online' }), sent).then(() => true, () => false);
        outcomes.push({ at: sent, ok });
      }
    })();
    await new Promise((r) => setTimeout(r, 100));
    const revoked = await a.setCodeStatus('REVOKE1', 'revoked', Date.now());
    const revokedAt = Date.now();
    assert.equal(revoked?.status, 'revoked');
    await new Promise((r) => setTimeout(r, 100));
    stop = true;
    await sender;
    assert.ok(outcomes.some((o) => o.ok), 'accepted before the revocation');
    const late = outcomes.filter((o) => o.at > revokedAt);
    assert.ok(late.length > 0 && late.every((o) => !o.ok), 'every report sent after the revocation returned is refused');
    await assert.rejects(b.ingest(parsed('REVOKE1', {}), Date.now()), { name: 'RegistryRejectedError', reason: 'revoked_code' });
    const count = (await a.getBox('REVOKE1'))!.box.report_count;
    assert.equal(count, 1 + outcomes.filter((o) => o.ok).length, 'refused reports stored nothing');

    await a.setCodeStatus('REVOKE1', 'active', Date.now());
    await b.ingest(parsed('REVOKE1', { '10.0.0.1': 'offline' }), Date.now(), { registryMode: 'strict' });
    assert.equal((await a.getBox('REVOKE1'))!.sub_devices[0]!.ep_status, 'offline');
    // An unknown code in strict mode leaves no trace (no box claimed, nothing registered).
    await assert.rejects(b.ingest(parsed('STRANGER1', {}), Date.now(), { registryMode: 'strict' }), { reason: 'unknown_code' });
    assert.equal(await a.getBox('STRANGER1'), null);
    assert.equal(await a.getCode('STRANGER1'), null);
  });

  it('lets a revocation return only once reports admitted before it are committed', async () => {
    assert.ok(await a.addCode({ dev_sno: 'SLOW1', source: 'registered' }, Date.now()));
    await b.ingest(parsed('SLOW1', { '10.0.0.1': 'online' }), Date.now(), { registryMode: 'strict' });
    // Writing SLOW1's box row takes 0.6 s: the report is admitted, then stays in its transaction.
    await onDatabase(db, (c) =>
      c.query(`CREATE FUNCTION slow_box() RETURNS trigger LANGUAGE plpgsql AS $$
                 BEGIN IF NEW.dev_sno = 'SLOW1' THEN PERFORM pg_sleep(0.6); END IF; RETURN NEW; END $$;
               CREATE TRIGGER slow_box BEFORE UPDATE ON boxes FOR EACH ROW EXECUTE FUNCTION slow_box();`),
    );
    try {
      const order: string[] = [];
      const report = b.ingest(parsed('SLOW1', { '10.0.0.1': 'offline' }), Date.now()).then(() => order.push('report stored'));
      await new Promise((r) => setTimeout(r, 200));
      const revoke = a.setCodeStatus('SLOW1', 'revoked', Date.now()).then(() => order.push('revoked'));
      await Promise.all([report, revoke]);
      // Otherwise a receiver would acknowledge a report of a code after its revocation returned.
      assert.deepEqual(order, ['report stored', 'revoked']);
    } finally {
      await onDatabase(db, (c) => c.query('DROP TRIGGER slow_box ON boxes; DROP FUNCTION slow_box()'));
    }
    await assert.rejects(b.ingest(parsed('SLOW1', {}), Date.now()), { reason: 'revoked_code' });
  });
});

// Keeps `Store` referenced for readers: the PostgreSQL store is used only through it elsewhere.
export type { Store };
