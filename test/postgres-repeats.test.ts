// Byte-for-byte repeats on PostgreSQL (src/store/postgres/repeats.ts): a receiver writes a repeat
// of the last report it wrote of a box as one UPDATE that applies only while the box's row is
// still the version it wrote. These pin down that whatever another receiver (or the leader's
// offline sweep, or a revocation) did to the box in between, the repeat is handed back and the
// full path decides, and that nothing is counted twice or lost.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseReport } from '../src/protocol/index.js';
import { digestOfBytes } from '../src/util/body-digest.js';
import { PostgresStore } from '../src/store/index.js';
import type { Store } from '../src/store/types.js';
import { createTestDatabase } from './support/pg.js';
import { postgresBackend, report, startServer } from './support/server.js';

const T0 = Date.UTC(2026, 0, 1);
const bodyOf = (devSno: string, subs: Record<string, 'online' | 'offline'>) => Buffer.from(JSON.stringify(report(devSno, subs)));
const ingestBody = (store: Store, body: Buffer, at: number) => store.ingest(parseReport(JSON.parse(body.toString())), at, { source: body });
const repeat = (store: Store, devSno: string, body: Buffer, at: number) => store.ingestRepeat!(devSno, digestOfBytes(body), at);
const count = async (store: Store, devSno: string) => (await store.getBox(devSno))!.box.report_count;

/** Two stores (two receivers) on one fresh database. */
async function twoStores(fn: (a: PostgresStore, b: PostgresStore) => Promise<void>): Promise<void> {
  const fresh = await postgresBackend.fresh();
  const a = fresh.store as PostgresStore;
  const b = (await fresh.reopen()) as PostgresStore;
  try {
    await fn(a, b);
  } finally {
    await Promise.all([a.close(), b.close()]);
    await fresh.cleanup();
  }
}

describe('postgres store: a repeat known by its digest alone', () => {
  it('is one update while the box is as this receiver left it, and handed back once revoked', async () => {
    await twoStores(async (a) => {
      const body = bodyOf('PGR1', { '10.0.0.1': 'online' });
      await ingestBody(a, body, T0);
      assert.equal(await repeat(a, 'PGR1', body, T0 + 1), true);
      assert.equal(await repeat(a, 'PGR1', body, T0 + 2), true, 'a repeat of a repeat');
      const one = bodyOf('PGR1', { '10.0.0.1': 'offline' });
      assert.equal(a.ingestRepeat('PGR1', digestOfBytes(one), T0 + 3), undefined, 'another body of the box');
      assert.equal(a.ingestRepeat('PGR2', digestOfBytes(body), T0 + 3), undefined, 'another box');
      let found = (await a.getBox('PGR1'))!;
      assert.equal(found.box.report_count, 3);
      assert.equal(found.box.last_report_at, new Date(T0 + 2).toISOString());
      assert.equal(found.sub_devices[0]!.last_seen_at, new Date(T0 + 2).toISOString());
      assert.equal((await a.history('PGR1')).length, 2, 'the first report only');

      await a.setCodeStatus('PGR1', 'revoked', T0 + 4);
      assert.equal(await repeat(a, 'PGR1', body, T0 + 5), false, 'the code changed: the full path decides');
      await assert.rejects(ingestBody(a, body, T0 + 5), /revoked/);
      await a.setCodeStatus('PGR1', 'active', T0 + 6);
      assert.equal(await repeat(a, 'PGR1', body, T0 + 7), undefined, 'forgotten once handed back');
      await ingestBody(a, body, T0 + 7);
      assert.equal(await repeat(a, 'PGR1', body, T0 + 8), true);
      found = (await a.getBox('PGR1'))!;
      assert.equal(found.box.report_count, 5);
    });
  });

  it('is handed back when another receiver wrote the box meanwhile, and the full path records the change', async () => {
    await twoStores(async (a, b) => {
      const steady = bodyOf('PGR3', { '10.0.0.1': 'online', '10.0.0.2': 'online' });
      const flipped = bodyOf('PGR3', { '10.0.0.1': 'online', '10.0.0.2': 'offline' });
      await ingestBody(a, steady, T0);
      assert.equal(await repeat(a, 'PGR3', steady, T0 + 1), true);
      // The box now reports through the other receiver (a load balancer moved it).
      await ingestBody(b, flipped, T0 + 2);
      assert.equal(await repeat(b, 'PGR3', flipped, T0 + 3), true);
      // Back at the first receiver with its old report: not what the rows say any more.
      assert.equal(await repeat(a, 'PGR3', steady, T0 + 4), false);
      const back = await ingestBody(a, steady, T0 + 4);
      assert.deepEqual(back.transitions.map((t) => [t.ep_id, t.from_status, t.to_status]), [['PGR3__10.0.0.2', 'offline', 'online']]);
      // The other receiver's repeat of its own last report must not be taken now either.
      assert.equal(await repeat(b, 'PGR3', flipped, T0 + 5), false);
      assert.equal(await repeat(a, 'PGR3', steady, T0 + 6), true);
      const found = (await a.getBox('PGR3'))!;
      assert.equal(found.box.report_count, 6);
      assert.equal(found.box.sub_devices_online, 2);
      assert.equal(found.sub_devices.find((s) => s.ep_id === 'PGR3__10.0.0.2')!.ep_status, 'online');
      assert.deepEqual(
        (await a.history('PGR3')).map((h) => `${h.ep_id ?? 'box'}>${h.to_status}`).reverse(),
        ['box>online', 'PGR3__10.0.0.1>online', 'PGR3__10.0.0.2>online', 'PGR3__10.0.0.2>offline', 'PGR3__10.0.0.2>online'],
      );
    });
  });

  it('is handed back once another receiver marked the box offline, and the full path brings it back', async () => {
    await twoStores(async (a, b) => {
      const body = bodyOf('PGR4', { '10.0.0.1': 'online' });
      await ingestBody(a, body, T0);
      assert.equal(await repeat(a, 'PGR4', body, T0 + 1), true);
      assert.deepEqual((await b.markSilentBoxesOffline(T0 + 10, T0 + 20)).map((t) => t.to_status), ['offline']);
      assert.equal(await repeat(a, 'PGR4', body, T0 + 30), false);
      const back = await ingestBody(a, body, T0 + 30);
      assert.deepEqual(back.transitions.map((t) => [t.ep_id, t.to_status]), [[null, 'online']]);
      assert.equal((await a.getBox('PGR4'))!.box.status, 'online');
    });
  });

  it('keeps a box\'s reports in order when a repeat and a changed report share a batch', async () => {
    await twoStores(async (a) => {
      const steady = bodyOf('PGR5', { '10.0.0.1': 'online' });
      const flipped = bodyOf('PGR5', { '10.0.0.1': 'offline' });
      await ingestBody(a, steady, T0);
      // Same tick: one batch. The repeat came first, so it is written, then the change.
      const first = repeat(a, 'PGR5', steady, T0 + 1);
      const second = ingestBody(a, flipped, T0 + 2);
      assert.equal(await first, true);
      assert.deepEqual((await second).transitions.map((t) => t.to_status), ['offline']);
      // A repeat behind a changed report of its box in one batch: handed back, then written after it.
      const change = ingestBody(a, steady, T0 + 3);
      const behind = repeat(a, 'PGR5', flipped, T0 + 4);
      assert.deepEqual((await change).transitions.map((t) => t.to_status), ['online']);
      assert.equal(await behind, false);
      await ingestBody(a, flipped, T0 + 4);
      const found = (await a.getBox('PGR5'))!;
      assert.equal(found.box.report_count, 5);
      assert.equal(found.sub_devices[0]!.ep_status, 'offline');
      assert.equal(found.box.last_report_at, new Date(T0 + 4).toISOString());
    });
  });

  it('takes repeats from many boxes in one batch, each box counted once per repeat', async () => {
    await twoStores(async (a, b) => {
      const bodies = Array.from({ length: 50 }, (_, i) => bodyOf(`PGM${String(i).padStart(2, '0')}`, { '10.0.0.1': 'online' }));
      await Promise.all(bodies.map((body) => ingestBody(a, body, T0)));
      // The other receiver rewrites every fifth box.
      await Promise.all(bodies.filter((_, i) => i % 5 === 0).map((body) => ingestBody(b, body, T0 + 1)));
      const answers = await Promise.all(bodies.flatMap((body, i) => [repeat(a, `PGM${String(i).padStart(2, '0')}`, body, T0 + 2), repeat(a, `PGM${String(i).padStart(2, '0')}`, body, T0 + 3)]));
      assert.deepEqual(answers, bodies.flatMap((_, i) => (i % 5 === 0 ? [false, false] : [true, true])));
      for (let i = 0; i < 50; i++) assert.equal(await count(a, `PGM${String(i).padStart(2, '0')}`), i % 5 === 0 ? 2 : 3);
    });
  });

  it('takes no repeat once a revocation through another receiver has returned, while repeats keep coming', async () => {
    await twoStores(async (a, b) => {
      const body = bodyOf('PGR7', { '10.0.0.1': 'online' });
      await ingestBody(a, body, T0);
      let revoked = false;
      let stop = false;
      let stored = 0;
      let afterRevocation = 0;
      // The same body back to back, as a box on a fast loop would send it, until well after the
      // revocation; what the repeat path hands back goes the full path, as the receiver does it.
      const sender = (async () => {
        for (let i = 1; !stop; i++) {
          const startedAfter = revoked;
          const answer = repeat(a, 'PGR7', body, T0 + i);
          let took = answer !== undefined && (await answer);
          if (!took) took = await ingestBody(a, body, T0 + i).then(() => true, () => false);
          if (took) stored++;
          if (took && startedAfter) afterRevocation++;
        }
      })();
      await new Promise((r) => setTimeout(r, 150));
      await b.setCodeStatus('PGR7', 'revoked', T0 + 1_000_000);
      revoked = true;
      await new Promise((r) => setTimeout(r, 150));
      stop = true;
      await sender;
      assert.ok(stored > 1, 'reports were taken before the revocation');
      assert.equal(afterRevocation, 0, 'a report sent after the revocation returned was taken');
      assert.equal(await count(a, 'PGR7'), 1 + stored);
    });
  });

  it('remembers nothing with no memory for it', async () => {
    const db = await createTestDatabase();
    const store = await PostgresStore.open({ url: db.url, knownBytes: 0, log: { info: () => {}, warn: () => {} } });
    try {
      const body = bodyOf('PGR6', { '10.0.0.1': 'online' });
      await ingestBody(store, body, T0);
      assert.equal(repeat(store, 'PGR6', body, T0 + 1), undefined);
    } finally {
      await store.close();
      await db.drop();
    }
  });
});

describe('postgres: a box moving between two receivers on one database', () => {
  it('answers every report, and its state and history are those of its reports in order', async () => {
    await twoStores(async (a, b) => {
      const [ra, rb] = [await startServer(a, {}), await startServer(b, {})];
      try {
        const steady = JSON.stringify(report('PGMOVE', { '10.0.0.1': 'online', '10.0.0.2': 'online' }));
        const flipped = JSON.stringify(report('PGMOVE', { '10.0.0.1': 'online', '10.0.0.2': 'offline' }));
        const plan: Array<[typeof ra, string]> = [
          [ra, steady], [ra, steady], [rb, steady], [rb, flipped], [rb, flipped], [ra, steady], [ra, steady], [rb, flipped], [ra, flipped],
        ];
        for (const [server, text] of plan) {
          const res = await server.post(text, { raw: true });
          assert.equal(res.status, 200);
          assert.equal(await res.text(), text);
        }
        const box = (await (await ra.get('/api/devices/PGMOVE')).json()) as { box: { report_count: number }; sub_devices: Array<{ ep_id: string; ep_status: string }> };
        assert.equal(box.box.report_count, plan.length);
        assert.equal(box.sub_devices.find((s) => s.ep_id === 'PGMOVE__10.0.0.2')!.ep_status, 'offline');
        const entries = ((await (await rb.get('/api/devices/PGMOVE/history')).json()).entries as Array<{ ep_id: string | null; to_status: string }>)
          .map((e) => `${e.ep_id ?? 'box'}>${e.to_status}`)
          .reverse();
        assert.deepEqual(entries, [
          'box>online',
          'PGMOVE__10.0.0.1>online',
          'PGMOVE__10.0.0.2>online',
          'PGMOVE__10.0.0.2>offline',
          'PGMOVE__10.0.0.2>online',
          'PGMOVE__10.0.0.2>offline',
        ]);
      } finally {
        await Promise.all([ra.close(), rb.close()]);
      }
    });
  });
});
