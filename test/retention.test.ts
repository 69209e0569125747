// Retention: history older than the configured age is deleted in small batches, on both stores,
// while reports keep being stored; recent history stays.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { parseReport } from '../src/protocol/index.js';
import { RetentionJob } from '../src/server/retention.js';
import { backends, report, withFreshServer, withFreshStore } from './support/server.js';

const DAY = 86_400_000;
const quiet = pino({ level: 'silent' });

for (const backend of backends()) {
  describe(`retention (${backend.name})`, () => {
    it('deletes history past the age in batches of the configured size, keeps the rest, and ingest goes on', async () => {
      await withFreshStore(backend, async ({ store }) => {
        const now = Date.now();
        const old = now - 100 * DAY;
        // 30 old transitions: 10 boxes appearing with 2 sub-devices each.
        for (let i = 0; i < 10; i++) await store.ingest(parseReport(report(`OLD${i}`, { '10.0.0.1': 'online', '10.0.0.2': 'online' })), old + i);
        await store.ingest(parseReport(report('NEW1', { '10.0.0.1': 'online' })), now - DAY);
        assert.equal((await store.fleetHistory({ limit: 1000 })).length, 32);

        const batches: number[] = [];
        const prune = store.accounts.pruneHistory.bind(store.accounts);
        store.accounts.pruneHistory = async (before, batch) => {
          const n = await prune(before, batch);
          batches.push(n);
          return n;
        };
        const job = new RetentionJob(store, { maxAgeMs: 90 * DAY, batchRows: 7, pauseMs: 1 }, quiet);
        // Reports keep coming while the prune runs.
        const [deleted] = await Promise.all([
          job.runOnce(now),
          ...Array.from({ length: 5 }, (_, i) => store.ingest(parseReport(report(`LIVE${i}`, {})), now)),
        ]);
        assert.equal(deleted, 30);
        assert.deepEqual(batches, [7, 7, 7, 7, 2]);
        const left = await store.fleetHistory({ limit: 1000 });
        assert.deepEqual(new Set(left.map((e) => e.dev_sno)), new Set(['NEW1', 'LIVE0', 'LIVE1', 'LIVE2', 'LIVE3', 'LIVE4']));
        // The boxes themselves stay: only their old history goes.
        assert.equal((await store.getBox('OLD3'))?.box.dev_sno, 'OLD3');
        assert.equal(await job.runOnce(now), 0);
      });
    });
  });
}

describe('retention in a running receiver', () => {
  it('prunes on its own, on the configured age', async () => {
    await withFreshServer(backends()[0]!, { retention: { maxAgeMs: 50 * DAY, intervalMs: 100 } }, async (server) => {
      await server.store.ingest(parseReport(report('AGED1', { '10.0.0.1': 'online' })), Date.now() - 60 * DAY);
      await server.post(report('FRESH1', {}));
      const deadline = Date.now() + 10_000;
      let boxes: string[] = [];
      while (Date.now() < deadline) {
        const entries = (await (await server.get('/api/history')).json()).entries as Array<{ dev_sno: string }>;
        boxes = [...new Set(entries.map((e) => e.dev_sno))];
        if (!boxes.includes('AGED1')) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.deepEqual(boxes, ['FRESH1']);
    });
  });
});
