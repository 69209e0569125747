// Table upkeep on PostgreSQL (src/store/postgres/maintenance.ts, src/server/table-upkeep.ts): when
// the server does not vacuum a table ingest rewrites (autovacuum off, here per table so the test
// does not depend on the server's setting), the leader vacuums it once its dead
// rows pass autovacuum's own threshold, and leaves alone a table the server looks after.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PostgresStore } from '../src/store/index.js';
import { parseReport } from '../src/protocol/index.js';
import { createTestDatabase, onDatabase } from './support/pg.js';
import { report, startServer } from './support/server.js';
import { eventually } from './support/webhook.js';

const quiet = { info: () => {}, warn: () => {} };
const T0 = Date.UTC(2026, 0, 1);

/** A counter of `table` in pg_stat_user_tables, as the server's views show it now (each backend reports its own, late). */
const tableStat = (db: Parameters<typeof onDatabase>[0], table: string, counter: 'vacuum_count' | 'n_tup_upd') =>
  onDatabase(db, async (c) => {
    await c.query('SELECT pg_stat_clear_snapshot()');
    const { rows } = await c.query<{ n: string }>(`SELECT ${counter} AS n FROM pg_stat_user_tables WHERE relname = $1`, [table]);
    return Number(rows[0]!.n);
  });
const vacuumsOf = (db: Parameters<typeof onDatabase>[0], table: string) => tableStat(db, table, 'vacuum_count');
/** Rows updated in `table`. */
const updatesOf = (db: Parameters<typeof onDatabase>[0], table: string) => tableStat(db, table, 'n_tup_upd');

/** 40 boxes of 8 cameras, every camera flipped `flips` times: 320 dead sub-device rows a flip. */
async function flipFleet(store: PostgresStore, flips: number): Promise<void> {
  const ips = Array.from({ length: 8 }, (_, i) => `10.0.0.${i + 1}`);
  for (let f = 0; f <= flips; f++) {
    const status = f % 2 === 0 ? 'online' : 'offline';
    await Promise.all(
      Array.from({ length: 40 }, (_, b) =>
        store.ingest(parseReport(report(`UPK${b}`, Object.fromEntries(ips.map((ip) => [ip, status])))), T0 + f * 1000, {}),
      ),
    );
  }
}

describe('postgres table upkeep', () => {
  it('vacuums sub_devices once its dead rows pass the threshold, only where the server does not', async () => {
    const db = await createTestDatabase();
    const store = await PostgresStore.open({ url: db.url, log: quiet });
    try {
      await onDatabase(db, (c) => c.query('ALTER TABLE sub_devices SET (autovacuum_enabled = false)'));
      await onDatabase(db, (c) => c.query('ALTER TABLE history SET (autovacuum_enabled = true)'));
      // Few dead rows yet: nothing to do.
      await flipFleet(store, 0);
      assert.deepEqual((await store.upkeepTables()).vacuumed, []);
      const before = await vacuumsOf(db, 'sub_devices');
      // 5 flips of 320 cameras: 1,600 dead rows against 320 live (threshold 50 + 64). An idle
      // backend sends its statistics to the server's views within 10 s (PostgreSQL 15).
      await flipFleet(store, 5);
      // Every ingest connection's counts reached the views: none arrives after the vacuum to
      // make it look due again (a batch may have gone on any of the receiver's connections).
      await eventually(async () => (await updatesOf(db, 'sub_devices')) >= 5 * 320, 20_000, 'the flips counted');
      const done = await eventually(
        async () => {
          const d = await store.upkeepTables();
          return d.vacuumed.includes('sub_devices') && d;
        },
        20_000,
        'sub_devices to be vacuumed',
      );
      assert.equal(await vacuumsOf(db, 'sub_devices'), before + 1);
      // history has autovacuum on (for this table at least, whatever the server says): not ours.
      if (await onDatabase(db, async (c) => (await c.query("SELECT current_setting('autovacuum') AS v")).rows[0].v === 'on')) {
        assert.ok(!done.vacuumed.includes('history'));
      }
      // Vacuumed: nothing left to do for it.
      assert.ok(!(await store.upkeepTables()).vacuumed.includes('sub_devices'));
    } finally {
      await store.close();
      await db.drop();
    }
  });

  it('is run by the receiver on its own, in the leader', async () => {
    const db = await createTestDatabase();
    const store = await PostgresStore.open({ url: db.url, log: quiet });
    const leadership = await store.acquireLeadership('devstatus-serve');
    const server = await startServer(store, { leadership, tableUpkeep: { intervalMs: 100 } });
    try {
      await onDatabase(db, (c) => c.query('ALTER TABLE sub_devices SET (autovacuum_enabled = false)'));
      const before = await vacuumsOf(db, 'sub_devices');
      await flipFleet(store, 5);
      await eventually(async () => (await vacuumsOf(db, 'sub_devices')) > before, 20_000, 'the receiver to vacuum sub_devices');
    } finally {
      await server.close();
      await leadership.release();
      await store.close();
      await db.drop();
    }
  });
});
