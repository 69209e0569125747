// Reports a PostgreSQL receiver writes without reading the box (src/store/postgres/known-rows.ts):
// a byte-for-byte repeat of the last report it wrote of a box, and a report that changes statuses
// only, are written by one set-based statement that applies only while the box's row is still the
// version this receiver wrote. These pin down that whatever another receiver (or the leader's
// offline sweep, or a revocation) did to the box in between, the report is handed back and the
// full path decides, and that nothing is counted twice, lost or written out of order.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseReport, parseReportBytes } from '../src/protocol/index.js';
import { storedFormOf } from '../src/store/platform-fields.js';
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

describe('postgres store: reports that wait together', () => {
  it('are shared among the ingest connections, and each box still gets exactly its own', async () => {
    await twoStores(async (a) => {
      const snos = Array.from({ length: 48 }, (_, i) => `PGS${String(i).padStart(2, '0')}`);
      const subs = { '10.0.0.1': 'online', '10.0.0.2': 'online' } as const;
      await Promise.all(snos.map((s) => ingestBody(a, bodyOf(s, subs), T0)));
      // A batch's reports are answered as it commits; it gives its connection back just after.
      await new Promise((resolve) => setTimeout(resolve, 100));
      const before = paths(a);
      // 48 status changes in one tick, 3 ingest connections free: 3 batches of 16 side by side,
      // not one of 48 with two connections idle.
      const results = await Promise.all(snos.map((s, i) => ingestBody(a, bodyOf(s, { ...subs, [`10.0.0.${(i % 2) + 1}`]: 'offline' }), T0 + 10)));
      const after = paths(a);
      assert.equal(after.statusChanges - before.statusChanges, 48);
      assert.equal(after.batches - before.batches, 3);
      results.forEach((r, i) => assert.deepEqual(r.transitions.map((t) => [t.ep_id, t.to_status]), [[`${snos[i]}__10.0.0.${(i % 2) + 1}`, 'offline']]));
      for (const [i, s] of snos.entries()) {
        assert.deepEqual(await states(a, s), { ...subs, [`10.0.0.${(i % 2) + 1}`]: 'offline' }, s);
      }
      // Ten are not split: batches of fewer than 8 would only add commits.
      await new Promise((resolve) => setTimeout(resolve, 100));
      await Promise.all(snos.slice(0, 10).map((s) => ingestBody(a, bodyOf(s, subs), T0 + 20)));
      assert.equal(paths(a).batches - after.batches, 1);
    });
  });
});

const states = async (store: Store, devSno: string) =>
  Object.fromEntries((await store.getBox(devSno))!.sub_devices.map((s) => [s.ep_ip, s.ep_status]));
const historyOf = async (store: Store, devSno: string) =>
  (await store.history(devSno)).map((h) => `${h.ep_id?.split('__')[1] ?? 'box'}>${h.to_status}`).reverse();
const paths = (store: Store) => ({ ...(store as PostgresStore).ingestPaths });

describe('postgres store: a report that changes statuses only', () => {
  it('is written without a read while the box is as this receiver left it', async () => {
    await twoStores(async (a) => {
      const subs = { '10.0.0.1': 'online', '10.0.0.2': 'online', '10.0.0.3': 'online' } as const;
      await ingestBody(a, bodyOf('PGK1', subs), T0);
      const before = paths(a);
      const down = bodyOf('PGK1', { ...subs, '10.0.0.2': 'offline' });
      const r = await ingestBody(a, down, T0 + 10);
      assert.deepEqual(r.transitions.map((t) => [t.ep_id, t.from_status, t.to_status]), [['PGK1__10.0.0.2', 'online', 'offline']]);
      const after = paths(a);
      assert.equal(after.statusChanges - before.statusChanges, 1, 'taken by the known path');
      assert.equal(after.full, before.full, 'no lock and read');
      const found = (await a.getBox('PGK1'))!;
      assert.equal(found.box.report_count, 2);
      assert.equal(found.box.sub_devices_online, 2);
      assert.equal(found.box.sub_devices_offline, 1);
      assert.equal(found.box.last_report_at, new Date(T0 + 10).toISOString());
      const cam = found.sub_devices.find((s) => s.ep_ip === '10.0.0.2')!;
      assert.equal(cam.ep_status, 'offline');
      assert.equal(cam.status_changed_at, new Date(T0 + 10).toISOString());
      assert.equal(found.sub_devices.find((s) => s.ep_ip === '10.0.0.1')!.status_changed_at, new Date(T0).toISOString());
      // Its repeat is known by its digest now, and the way back is a status change again.
      assert.equal(await repeat(a, 'PGK1', down, T0 + 20), true);
      const up = await ingestBody(a, bodyOf('PGK1', subs), T0 + 30);
      assert.deepEqual(up.transitions.map((t) => [t.ep_id, t.to_status]), [['PGK1__10.0.0.2', 'online']]);
      assert.equal(paths(a).statusChanges - before.statusChanges, 2);
      assert.equal(paths(a).full, before.full);
      assert.equal(await count(a, 'PGK1'), 4);
      assert.deepEqual(await historyOf(a, 'PGK1'), ['box>online', '10.0.0.1>online', '10.0.0.2>online', '10.0.0.3>online', '10.0.0.2>offline', '10.0.0.2>online']);
      // The known path writes each flip's history row from the sub-device's new status alone.
      const flips = (await a.history('PGK1')).filter((h) => h.ep_id === 'PGK1__10.0.0.2').reverse();
      assert.deepEqual(
        flips.map((h) => [h.from_status, h.to_status, h.reason, h.at]),
        [
          [null, 'online', 'first_seen', new Date(T0).toISOString()],
          ['online', 'offline', 'report', new Date(T0 + 10).toISOString()],
          ['offline', 'online', 'report', new Date(T0 + 30).toISOString()],
        ],
      );
    });
  });

  it('leaves a report with a new reason to the full path, which stores the reason', async () => {
    await twoStores(async (a) => {
      await ingestBody(a, bodyOf('PGK2', { '10.0.0.1': 'online' }), T0);
      const down = { dev_sno: 'PGK2', sub_devices: [{ ...report('PGK2', { '10.0.0.1': 'offline' }).sub_devices[0]!, ep_detail: 'rtsp://admin:secret@10.0.0.1/ch1 timed out' }] };
      const body = Buffer.from(JSON.stringify(down));
      const before = paths(a);
      // As the receiver parses a body: the reason goes into the sub-device's row, so the report
      // says more than statuses, and the known path (which writes statuses only) must not take it.
      const r = await a.ingest(storedFormOf(parseReportBytes(body).report), T0 + 1, { source: body });
      assert.equal(paths(a).statusChanges, before.statusChanges);
      assert.equal(paths(a).full - before.full, 1);
      assert.equal((await a.getBox('PGK2'))!.sub_devices[0]!.ep_detail, 'rtsp://***@10.0.0.1/ch1 timed out');
      assert.deepEqual(r.transitions.map((t) => [t.to_status, t.detail]), [['offline', 'rtsp://***@10.0.0.1/ch1 timed out']]);
      const h = await a.history('PGK2');
      assert.equal(h.find((x) => x.to_status === 'offline')!.detail, 'rtsp://***@10.0.0.1/ch1 timed out');
      assert.doesNotMatch(JSON.stringify(h), /secret/);
    });
  });

  it('is handed back when another receiver wrote the box meanwhile, and the full path diffs against what it wrote', async () => {
    await twoStores(async (a, b) => {
      const subs = { '10.0.0.1': 'online', '10.0.0.2': 'online' } as const;
      await ingestBody(a, bodyOf('PGK3', subs), T0);
      // The box reports through the other receiver for a while (a load balancer moved it).
      await ingestBody(b, bodyOf('PGK3', { '10.0.0.1': 'offline', '10.0.0.2': 'online' }), T0 + 1);
      const before = paths(a);
      // Back at the first receiver, with a status change from what that one remembers.
      const r = await ingestBody(a, bodyOf('PGK3', { '10.0.0.1': 'offline', '10.0.0.2': 'offline' }), T0 + 2);
      assert.deepEqual(r.transitions.map((t) => [t.ep_id, t.from_status, t.to_status]), [['PGK3__10.0.0.2', 'online', 'offline']]);
      assert.equal(paths(a).handedBack - before.handedBack, 1);
      assert.equal(paths(a).full - before.full, 1);
      assert.deepEqual(await states(a, 'PGK3'), { '10.0.0.1': 'offline', '10.0.0.2': 'offline' });
      assert.equal((await a.getBox('PGK3'))!.box.sub_devices_offline, 2);
      assert.deepEqual(await historyOf(a, 'PGK3'), ['box>online', '10.0.0.1>online', '10.0.0.2>online', '10.0.0.1>offline', '10.0.0.2>offline']);
      // And the other receiver, whose memory is stale now, hands its next change back too.
      const r2 = await ingestBody(b, bodyOf('PGK3', { '10.0.0.1': 'online', '10.0.0.2': 'online' }), T0 + 3);
      assert.deepEqual(r2.transitions.map((t) => [t.ep_id, t.from_status, t.to_status]), [['PGK3__10.0.0.1', 'offline', 'online'], ['PGK3__10.0.0.2', 'offline', 'online']]);
      assert.equal(await count(a, 'PGK3'), 4);
    });
  });

  it('is handed back once another receiver marked the box offline, and the box comes back online', async () => {
    await twoStores(async (a, b) => {
      await ingestBody(a, bodyOf('PGK4', { '10.0.0.1': 'online', '10.0.0.2': 'online' }), T0);
      await b.markSilentBoxesOffline(T0 + 10, T0 + 20);
      const r = await ingestBody(a, bodyOf('PGK4', { '10.0.0.1': 'online', '10.0.0.2': 'offline' }), T0 + 30);
      assert.deepEqual(r.transitions.map((t) => [t.ep_id, t.from_status, t.to_status]), [[null, 'offline', 'online'], ['PGK4__10.0.0.2', 'online', 'offline']]);
      const found = (await a.getBox('PGK4'))!;
      assert.equal(found.box.status, 'online');
      assert.equal(found.box.sub_devices_offline, 1);
    });
  });

  it('is refused once another receiver revoked the code', async () => {
    await twoStores(async (a, b) => {
      await ingestBody(a, bodyOf('PGK5', { '10.0.0.1': 'online' }), T0);
      await b.setCodeStatus('PGK5', 'revoked', T0 + 1);
      await assert.rejects(ingestBody(a, bodyOf('PGK5', { '10.0.0.1': 'offline' }), T0 + 2), /revoked/);
      assert.deepEqual(await states(a, 'PGK5'), { '10.0.0.1': 'online' });
      assert.equal(await count(a, 'PGK5'), 1);
    });
  });

  it('keeps a box\'s reports in order when several of them share a batch', async () => {
    await twoStores(async (a) => {
      const on = bodyOf('PGK6', { '10.0.0.1': 'online', '10.0.0.2': 'online' });
      const one = bodyOf('PGK6', { '10.0.0.1': 'offline', '10.0.0.2': 'online' });
      const two = bodyOf('PGK6', { '10.0.0.1': 'offline', '10.0.0.2': 'offline' });
      await ingestBody(a, on, T0);
      // Same tick: one batch. Two status changes of the box: both take the full path, in order.
      const [r1, r2] = await Promise.all([ingestBody(a, one, T0 + 1), ingestBody(a, two, T0 + 2)]);
      assert.deepEqual(r1.transitions.map((t) => t.ep_id), ['PGK6__10.0.0.1']);
      assert.deepEqual(r2.transitions.map((t) => t.ep_id), ['PGK6__10.0.0.2']);
      // A status change, then a repeat of the report before it: handed back, written after it.
      const change = ingestBody(a, on, T0 + 3);
      const behind = repeat(a, 'PGK6', two, T0 + 4);
      assert.deepEqual((await change).transitions.map((t) => t.to_status), ['online', 'online']);
      assert.equal(await behind, false);
      await ingestBody(a, two, T0 + 4);
      assert.deepEqual(await states(a, 'PGK6'), { '10.0.0.1': 'offline', '10.0.0.2': 'offline' });
      assert.equal(await count(a, 'PGK6'), 5);
      assert.equal((await a.getBox('PGK6'))!.box.last_report_at, new Date(T0 + 4).toISOString());
    });
  });

  it('takes the changes of many boxes in one batch; the boxes another receiver wrote are handed back and written in order', async () => {
    await twoStores(async (a, b) => {
      const sno = (i: number) => `PGN${String(i).padStart(2, '0')}`;
      await Promise.all(Array.from({ length: 40 }, (_, i) => ingestBody(a, bodyOf(sno(i), { '10.0.0.1': 'online', '10.0.0.2': 'online' }), T0)));
      // The other receiver flips the second camera of every fourth box.
      await Promise.all(Array.from({ length: 10 }, (_, k) => ingestBody(b, bodyOf(sno(4 * k), { '10.0.0.1': 'online', '10.0.0.2': 'offline' }), T0 + 1)));
      const before = paths(a);
      // Every box: the first camera goes down, and right behind, in the same batch for some, comes back.
      const downs = Array.from({ length: 40 }, (_, i) => ingestBody(a, bodyOf(sno(i), { '10.0.0.1': 'offline', '10.0.0.2': i % 4 === 0 ? 'offline' : 'online' }), T0 + 2));
      const results = await Promise.all(downs);
      for (const r of results) assert.deepEqual(r.transitions.map((t) => [t.ep_id!.split('__')[1], t.to_status]), [['10.0.0.1', 'offline']]);
      const after = paths(a);
      assert.equal(after.statusChanges - before.statusChanges, 30);
      assert.equal(after.handedBack - before.handedBack, 10);
      for (let i = 0; i < 40; i++) {
        assert.deepEqual(await states(a, sno(i)), { '10.0.0.1': 'offline', '10.0.0.2': i % 4 === 0 ? 'offline' : 'online' });
        assert.equal(await count(a, sno(i)), i % 4 === 0 ? 3 : 2);
      }
    });
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
