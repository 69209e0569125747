// The PostgreSQL store's ingest must not depend on fresh table statistics: a receiver usually
// starts on an empty database, its connections cache their plans, autovacuum may be off, and a
// plan made for an empty table scans the whole table for every batch once the fleet fills it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseReport } from '../src/protocol/index.js';
import { PostgresStore } from '../src/store/index.js';
import { createTestDatabase, onDatabase, type TestDatabase } from './support/pg.js';
import { report } from './support/server.js';

const quiet = { info: () => {}, warn: () => {} };
const parsed = (devSno: string, subs: Record<string, 'online' | 'offline'>) => parseReport(report(devSno, subs));
const TABLES = ['boxes', 'sub_devices', 'registry'];

interface Scans {
  seq: Record<string, number>;
  idx: Record<string, number>;
  /** Rows inserted into sub_devices. */
  inserted: number;
}

async function scans(db: TestDatabase): Promise<Scans> {
  return onDatabase(db, async (c) => {
    const { rows } = await c.query<{ relname: string; seq_scan: string; idx_scan: string | null; n_tup_ins: string }>(
      'SELECT relname, seq_scan, idx_scan, n_tup_ins FROM pg_stat_user_tables WHERE relname = ANY($1)',
      [TABLES],
    );
    const out: Scans = { seq: {}, idx: {}, inserted: 0 };
    for (const r of rows) {
      if (r.relname === 'sub_devices') out.inserted = Number(r.n_tup_ins);
      out.seq[r.relname] = Number(r.seq_scan);
      out.idx[r.relname] = Number(r.idx_scan ?? 0);
    }
    return out;
  });
}

/** Eight cameras 10.0.0.1-8, the n-th one offline when `flip` says so. */
const cameras = (flip: number | null): Record<string, 'online' | 'offline'> =>
  Object.fromEntries(Array.from({ length: 8 }, (_, j) => [`10.0.0.${j + 1}`, j === flip ? 'offline' : 'online']));

describe('postgres store: plans that do not depend on table statistics', () => {
  it('ingests into a table filled after its plans were cached, never analyzed, by index lookups only', async () => {
    const db = await createTestDatabase();
    try {
      // Migrated by a receiver that has ended (so the migration's own statistics are in).
      await (await PostgresStore.open({ url: db.url, log: quiet })).close();
      await onDatabase(db, (c) =>
        c.query(TABLES.map((t) => `ALTER TABLE ${t} SET (autovacuum_enabled = false)`).join('; ')),
      );
      let store = await PostgresStore.open({ url: db.url, log: quiet, ingestLanes: 1 });
      // Batches on the empty tables, one at a time on the same connection: enough executions
      // for PostgreSQL to settle on cached (generic) plans made for empty tables.
      for (let i = 0; i < 12; i++) await store.ingest(parsed(`EMPTY${i}`, cameras(null)), Date.now());

      // The fleet arrives: 20,000 boxes with 8 sub-devices each, and no ANALYZE.
      await onDatabase(db, (c) =>
        c.query(`
          INSERT INTO boxes (dev_sno, status, first_seen_at, last_report_at, status_changed_at, report_count, sub_online)
            SELECT 'FLEET' || lpad(i::text, 5, '0'), 'online', 1, 1, 1, 1, 8 FROM generate_series(1, 20000) i;
          INSERT INTO registry (dev_sno, status, source, created_at, updated_at)
            SELECT 'FLEET' || lpad(i::text, 5, '0'), 'active', 'auto', 1, 1 FROM generate_series(1, 20000) i;
          INSERT INTO sub_devices (dev_sno, ep_id, ep_ip, ep_status, ep_location, ep_type, ep_name, extra,
                                   first_seen_at, last_seen_at, status_changed_at)
            SELECT b.d, b.d || '__10.0.0.' || j, '10.0.0.' || j, 'online',
                   '95274d2c-0941-4d96-b032-ab200f81362c', 'rtsp', 'cam 10.0.0.' || j, '{}', 1, 1, 1
            FROM (SELECT 'FLEET' || lpad(i::text, 5, '0') AS d FROM generate_series(1, 20000) i) b, generate_series(1, 8) j;`),
      );
      const analyzed = await onDatabase(db, (c) =>
        c.query<{ n: string }>(
          `SELECT count(*) AS n FROM pg_stat_user_tables
           WHERE relname = ANY($1) AND (last_analyze IS NOT NULL OR last_autoanalyze IS NOT NULL)`,
          [TABLES],
        ),
      );
      assert.equal(Number(analyzed.rows[0]!.n), 0, 'the tables were never analyzed');
      // Counted once the filling session's own statistics have arrived.
      let before = await scans(db);
      for (const deadline = Date.now() + 10_000; before.inserted < 160_000 && Date.now() < deadline; ) {
        await new Promise((r) => setTimeout(r, 200));
        before = await scans(db);
      }
      assert.ok(before.inserted >= 160_000, 'the fill statistics arrived');

      // Repeats, changes (history), new boxes and removed sub-devices, on the cached plans.
      const reports = [];
      for (let i = 1; i <= 300; i++) {
        const devSno = `FLEET${String(i * 61).padStart(5, '0')}`;
        const subs = cameras(i % 3 === 0 ? i % 8 : null);
        if (i % 50 === 0) delete subs['10.0.0.8'];
        reports.push(parsed(devSno, subs));
      }
      for (let i = 0; i < 20; i++) reports.push(parsed(`NEW${i}`, cameras(null)));
      const results = [];
      for (let k = 0; k < reports.length; k += 40) {
        results.push(...(await Promise.all(reports.slice(k, k + 40).map((r) => store.ingest(r, Date.now())))));
      }
      const transitions = results.flatMap((r) => r.transitions);
      assert.equal(transitions.filter((t) => t.reason === 'missing_from_report').length, 6);
      assert.equal(transitions.filter((t) => t.reason === 'first_seen' && t.ep_id === null).length, 20);
      assert.equal(transitions.filter((t) => t.reason === 'report' && t.to_status === 'offline').length, 100);
      // Its backends report their table statistics when they end.
      await store.close();

      let after = await scans(db);
      for (const deadline = Date.now() + 10_000; after.idx.boxes! < before.idx.boxes! + 300 && Date.now() < deadline; ) {
        await new Promise((r) => setTimeout(r, 200));
        after = await scans(db);
      }
      assert.ok(after.idx.boxes! >= before.idx.boxes! + 300, 'the ingest statistics arrived');
      for (const t of TABLES) assert.equal(after.seq[t], before.seq[t], `sequential scans of ${t} during ingest`);

      // What was written is what the reports said.
      store = await PostgresStore.open({ url: db.url, log: quiet });
      try {
        const box = (await store.getBox('FLEET00183'))!;
        assert.equal(box.box.report_count, 2);
        assert.equal(box.sub_devices.find((s) => s.ep_ip === '10.0.0.4')!.ep_status, 'offline');
        assert.equal(box.sub_devices.find((s) => s.ep_ip === '10.0.0.1')!.last_seen_at, box.box.last_report_at);
        const removed = (await store.getBox('FLEET03050'))!.sub_devices.find((s) => s.ep_ip === '10.0.0.8')!;
        assert.equal(removed.ep_status, 'removed');
        assert.equal(removed.last_seen_at, new Date(1).toISOString(), 'last seen in the report before');
      } finally {
        await store.close();
      }
    } finally {
      await db.drop();
    }
  });

  it('stores text with quotes, backslashes, braces, commas and non-ASCII exactly (arrays travel as SQL literals)', async () => {
    const db = await createTestDatabase();
    const store = await PostgresStore.open({ url: db.url, log: quiet });
    try {
      const odd = `it's "a" \\path\\ {x,y} NULL, 摄像头 ☃ \\"`;
      const devSno = `ODD'"\\{1}`;
      const wire = report(devSno, { '10.0.0.1': 'online' });
      Object.assign(wire.sub_devices[0]!, { ep_name: odd, ep_location: odd, note: odd });
      Object.assign(wire, { firmware: odd });
      const first = await store.ingest(parseReport(wire), Date.now());
      assert.equal(first.transitions.length, 2);
      // The same report again is a repeat: the stored text compares equal to what came.
      const again = await store.ingest(parseReport(wire), Date.now());
      assert.deepEqual(again.transitions, []);
      const found = (await store.getBox(devSno))!;
      assert.equal(found.box.dev_sno, devSno);
      assert.deepEqual(found.box.extra, { firmware: odd });
      assert.equal(found.sub_devices[0]!.ep_name, odd);
      assert.equal(found.sub_devices[0]!.ep_location, odd);
      assert.deepEqual(found.sub_devices[0]!.extra, { note: odd });
      assert.equal((await store.history(devSno)).length, 2);
    } finally {
      await store.close();
      await db.drop();
    }
  });
});
