// Leadership and publish/subscribe: the same contract on both stores, and across "processes"
// (separate PostgresStore instances, each with its own connections) on PostgreSQL.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { PostgresStore } from '../src/store/index.js';
import type { Leadership, Store } from '../src/store/types.js';
import { createTestDatabase, terminateSessions, type TestDatabase } from './support/pg.js';
import { backends, withFreshStoreForSuite } from './support/server.js';

/** Resolves when `leadership` reports becoming `leader`, or fails after `ms`. */
function becomes(leadership: Leadership, leader: boolean, ms = 5000): Promise<void> {
  if (leadership.isLeader() === leader) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      leadership.off('change', onChange);
      reject(new Error(`${leadership.name}: not ${leader ? 'leader' : 'follower'} after ${ms} ms`));
    }, ms);
    const onChange = (now: boolean) => {
      if (now !== leader) return;
      clearTimeout(timer);
      leadership.off('change', onChange);
      resolve();
    };
    leadership.on('change', onChange);
  });
}

/** Collects what a subscription receives. */
async function inbox(store: Store, channel: string) {
  const got: unknown[] = [];
  const waiters: Array<() => void> = [];
  const unsubscribe = await store.subscribe(channel, (m) => {
    got.push(m);
    for (const w of waiters.splice(0)) w();
  });
  return {
    got,
    unsubscribe,
    async next(count: number, ms = 5000): Promise<unknown[]> {
      const deadline = Date.now() + ms;
      while (got.length < count) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`received ${got.length} of ${count} messages on ${channel} in ${ms} ms`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, left);
        });
      }
      return got.slice(0, count);
    },
  };
}

const settle = (ms = 300) => new Promise((r) => setTimeout(r, ms));

for (const backend of backends()) {
  describe(`leadership and messages on one store (${backend.name})`, () => {
    let store: Store;
    withFreshStoreForSuite(backend, (fresh) => {
      store = fresh.store;
    });

    it('gives a leadership to exactly one contender and hands it over on release', async () => {
      const first = await store.acquireLeadership('jobs');
      const second = await store.acquireLeadership('jobs');
      const other = await store.acquireLeadership('another-name');
      assert.equal(first.isLeader(), true);
      assert.equal(second.isLeader(), false);
      assert.equal(other.isLeader(), true, 'a different name is a different leadership');
      await settle();
      assert.equal(second.isLeader(), false, 'the follower stays a follower while the leader holds on');

      const lost = once(first, 'change');
      await first.release();
      assert.deepEqual(await lost, [false]);
      assert.equal(first.isLeader(), false);
      await becomes(second, true);
      await second.release();
      await other.release();
    });

    it('delivers a published message to every subscriber, including the publisher, until unsubscribed', async () => {
      const a = await inbox(store, 'fleet.changes');
      const b = await inbox(store, 'fleet.changes');
      const elsewhere = await inbox(store, 'other.channel');
      await store.publish('fleet.changes', { dev_sno: 'BOX1', n: 3, names: ['é', '"quoted"'] });
      assert.deepEqual(await a.next(1), [{ dev_sno: 'BOX1', n: 3, names: ['é', '"quoted"'] }]);
      assert.deepEqual(await b.next(1), [{ dev_sno: 'BOX1', n: 3, names: ['é', '"quoted"'] }]);

      await b.unsubscribe();
      await store.publish('fleet.changes', [2]);
      assert.deepEqual(await a.next(2), [{ dev_sno: 'BOX1', n: 3, names: ['é', '"quoted"'] }, [2]]);
      await settle();
      assert.equal(b.got.length, 1, 'no delivery after unsubscribe');
      assert.equal(elsewhere.got.length, 0, 'no delivery on another channel');
      await a.unsubscribe();
      await elsewhere.unsubscribe();
    });

    it('keeps delivering to the others when a subscriber throws', async () => {
      const warned = once(process, 'warning');
      const unsubscribe = await store.subscribe('throwing', () => {
        throw new Error('subscriber bug');
      });
      const good = await inbox(store, 'throwing');
      await store.publish('throwing', { ok: 1 });
      assert.deepEqual(await good.next(1), [{ ok: 1 }]);
      assert.match(String((await warned)[0]), /subscriber bug/);
      await unsubscribe();
      await good.unsubscribe();
    });

    it('refuses messages too big for NOTIFY and bad channel names, clearly', async () => {
      await assert.rejects(store.publish('big', { blob: 'x'.repeat(8000) }), /is 8\d{3} bytes; at most 7999 fit/);
      await assert.rejects(store.publish('', {}), /channel name must be a non-empty string/);
      await assert.rejects(store.subscribe('c'.repeat(64), () => {}), /longer than 63 bytes/);
    });
  });
}

describe('leadership and messages across PostgreSQL stores (as separate processes)', () => {
  let db: TestDatabase;
  const stores: PostgresStore[] = [];
  const open = async (applicationName: string) => {
    const store = await PostgresStore.open({
      url: db.url,
      applicationName,
      leaderRetryMs: 200,
      log: { info: () => {}, warn: () => {} },
    });
    stores.push(store);
    return store;
  };
  before(async () => {
    db = await createTestDatabase();
  });
  after(async () => {
    for (const s of stores) await s.close();
    await db.drop();
  });

  it('lets exactly one store lead and fails over within seconds when the leader closes', async () => {
    const a = await open('ds-a');
    const b = await open('ds-b');
    const la = await a.acquireLeadership('offline-detection');
    const lb = await b.acquireLeadership('offline-detection');
    assert.equal(la.isLeader(), true);
    assert.equal(lb.isLeader(), false);
    await settle(600); // several retries of the follower
    assert.equal(lb.isLeader(), false);

    const started = Date.now();
    await a.close();
    await becomes(lb, true, 5000);
    assert.ok(Date.now() - started < 5000);
    assert.equal(la.isLeader(), false);
    await lb.release();
  });

  it("fails over when the leader's session dies, and the old leader steps down to follower", async () => {
    const c = await open('ds-c');
    const d = await open('ds-d');
    const lc = await c.acquireLeadership('alerts');
    const ld = await d.acquireLeadership('alerts');
    assert.equal(lc.isLeader(), true);
    assert.equal(ld.isLeader(), false);

    const cLost = becomes(lc, false, 5000);
    assert.equal(await terminateSessions(db, 'ds-c-leader'), 1);
    await cLost;
    await becomes(ld, true, 5000);
    await settle(600); // c reconnects and keeps trying, but d holds it now
    assert.equal(lc.isLeader(), false);
    assert.equal(ld.isLeader(), true);

    await d.close();
    await becomes(lc, true, 5000);
    await lc.release();
  });

  it('delivers a message published by one store to subscribers of another, and after a dropped LISTEN connection', async () => {
    const e = await open('ds-e');
    const f = await open('ds-f');
    const atF = await inbox(f, 'dashboard');
    const atE = await inbox(e, 'dashboard');
    await e.publish('dashboard', { changed: ['BOX7'] });
    assert.deepEqual(await atF.next(1), [{ changed: ['BOX7'] }]);
    assert.deepEqual(await atE.next(1), [{ changed: ['BOX7'] }]);

    // Cut f's LISTEN connection; it must reconnect and LISTEN again on its own.
    assert.equal(await terminateSessions(db, 'ds-f-listen'), 1);
    const deadline = Date.now() + 8000;
    let n = 0;
    while (!atF.got.some((m) => (m as { after?: number }).after !== undefined)) {
      assert.ok(Date.now() < deadline, 'no message reached the reconnected subscriber within 8 s');
      await e.publish('dashboard', { after: n++ });
      await settle(200);
    }
  });
});
