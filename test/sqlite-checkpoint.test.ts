// SQLite's WAL checkpoints run on a worker thread (src/store/sqlite/checkpointer.ts), not inside
// the commits of the thread that serves reports: the WAL must still be copied into the database
// file while the store is open, stay bounded under writes that never pause, and lose nothing.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { parseReport } from '../src/protocol/index.js';
import { SqliteStore } from '../src/store/sqlite/store.js';
import { report } from './support/server.js';

const T0 = Date.UTC(2026, 0, 1);
const size = (file: string) => {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
};

/** Eight sub-devices, sub-device `flip` offline (-1: none). */
const boxReport = (devSno: string, flip: number) =>
  parseReport(report(devSno, Object.fromEntries(Array.from({ length: 8 }, (_, j) => [`10.1.0.${j}`, j === flip ? 'offline' : 'online'] as const))));

describe('sqlite: WAL checkpoints off the event loop', () => {
  it('copies the WAL into the database file while open, keeps it bounded, and loses nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'devstatus-ckpt-'));
    const file = join(dir, 'ckpt.db');
    let store = new SqliteStore({ file });
    try {
      const boxes = 6000;
      const dbBefore = size(file);
      let maxWal = 0;
      // 64 writers that never pause, as in a storm: the first reports of every box (the largest
      // commits there are), then two rounds of status changes.
      for (let round = 0; round < 3; round++) {
        let next = 0;
        await Promise.all(
          Array.from({ length: 64 }, async () => {
            while (next < boxes) {
              const i = next++;
              await store.ingest(boxReport(`CKP${i}`, round === 0 ? -1 : (i + round) % 8), T0 + round * 1000 + i, { registryMode: 'open' });
              maxWal = Math.max(maxWal, size(`${file}-wal`));
            }
          }),
        );
      }
      // Without checkpoints the WAL of these writes passes 100 MiB.
      assert.ok(maxWal < 64 * 1024 * 1024, `WAL grew to ${(maxWal / 1048576).toFixed(0)} MiB`);
      // Copied into the database file by the worker, with the store still open.
      const deadline = Date.now() + 5000;
      while (size(file) <= dbBefore + 4 * 1024 * 1024 && Date.now() < deadline) await sleep(20);
      assert.ok(size(file) > dbBefore + 4 * 1024 * 1024, `database file ${size(file)} bytes: nothing checkpointed`);
      // Another connection sees every box's last report.
      const reader = new Database(file, { readonly: true });
      try {
        const offline = reader.prepare(`SELECT COUNT(*) AS n FROM sub_devices WHERE ep_status = 'offline'`).get() as { n: number };
        assert.equal(offline.n, boxes);
        const counts = reader.prepare('SELECT MIN(report_count) AS lo, MAX(report_count) AS hi FROM boxes').get() as { lo: number; hi: number };
        assert.deepEqual(counts, { lo: 3, hi: 3 });
      } finally {
        reader.close();
      }
      await store.close();
      store = new SqliteStore({ file });
      const box = (await store.getBox('CKP17'))!;
      assert.equal(box.box.report_count, 3);
      assert.deepEqual(
        box.sub_devices.filter((s) => s.ep_status === 'offline').map((s) => s.ep_id),
        [`CKP17__10.1.0.${(17 + 2) % 8}`],
      );
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
