// Repeated reports (the steady state of a fleet) take a short path in the store; these pin down
// that it records exactly what the full path would.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseReport } from '../src/protocol/index.js';
import { backends, report } from './support/server.js';

const T0 = Date.UTC(2026, 0, 1);
const at = (s: number) => T0 + s * 1000;
const iso = (s: number) => new Date(at(s)).toISOString();

for (const backend of backends()) {
  describe(`store: repeated and changed reports (${backend.name})`, () => {
    it('counts repeats, keeps last_seen_at right and records only real changes', async () => {
      const { store, reopen, cleanup } = await backend.fresh();
      let current = store;
      try {
        const both = parseReport(report('REP1', { '10.0.0.1': 'online', '10.0.0.2': 'offline' }));
        assert.equal((await current.ingest(both, at(0))).transitions.length, 3);
        assert.deepEqual((await current.ingest(both, at(10))).transitions, []);
        assert.deepEqual((await current.ingest(both, at(20))).transitions, []);

        let found = (await current.getBox('REP1'))!;
        assert.equal(found.box.report_count, 3);
        assert.equal(found.box.last_report_at, iso(20));
        assert.equal(found.box.status_changed_at, iso(0));
        for (const sub of found.sub_devices) {
          assert.equal(sub.last_seen_at, iso(20), `${sub.ep_id} seen in the latest report`);
          assert.equal(sub.status_changed_at, iso(0));
        }

        // A field other than the status changes: stored, but it is no transition.
        const renamed = parseReport(report('REP1', { '10.0.0.1': 'online', '10.0.0.2': 'offline' }));
        renamed.sub_devices[0]!.ep_name = 'gate A';
        assert.deepEqual((await current.ingest(renamed, at(30))).transitions, []);
        found = (await current.getBox('REP1'))!;
        assert.equal(found.sub_devices.find((s) => s.ep_id === 'REP1__10.0.0.1')!.ep_name, 'gate A');

        // One sub-device leaves, the other flips.
        const one = parseReport(report('REP1', { '10.0.0.2': 'online' }));
        const t = (await current.ingest(one, at(40))).transitions;
        assert.deepEqual(
          t.map((x) => [x.ep_id, x.from_status, x.to_status, x.reason]).sort(),
          [
            ['REP1__10.0.0.1', 'online', 'removed', 'missing_from_report'],
            ['REP1__10.0.0.2', 'offline', 'online', 'report'],
          ],
        );
        assert.deepEqual((await current.ingest(one, at(50))).transitions, []);

        // Everything above must be what was committed, not what a cache in the process remembers.
        await current.close();
        current = await reopen();
        found = (await current.getBox('REP1'))!;
        assert.equal(found.box.report_count, 6);
        assert.equal(found.box.sub_devices_online, 1);
        assert.equal(found.box.sub_devices_offline, 0);
        const gone = found.sub_devices.find((s) => s.ep_id === 'REP1__10.0.0.1')!;
        assert.equal(gone.ep_status, 'removed');
        assert.equal(gone.last_seen_at, iso(30), 'a removed sub-device was last seen in the report before it left');
        assert.equal(gone.status_changed_at, iso(40));
        const kept = found.sub_devices.find((s) => s.ep_id === 'REP1__10.0.0.2')!;
        assert.equal(kept.last_seen_at, iso(50));
        assert.equal(kept.status_changed_at, iso(40));
        assert.equal((await current.history('REP1')).length, 5);

        // It comes back: the repeat of the earlier report is not mistaken for "nothing changed".
        const back = (await current.ingest(both, at(60))).transitions;
        assert.deepEqual(
          back.map((x) => [x.ep_id, x.from_status, x.to_status]).sort(),
          [
            ['REP1__10.0.0.1', 'removed', 'online'],
            ['REP1__10.0.0.2', 'online', 'offline'],
          ],
        );
      } finally {
        await current.close();
        await cleanup();
      }
    });

    it('records a report that changes statuses only exactly as any other, and never after the box or its code changed', async () => {
      const { store, reopen, cleanup } = await backend.fresh();
      let current = store;
      const flips = (t: Array<{ ep_id: string | null; from_status: string | null; to_status: string; reason: string }>) =>
        t.map((x) => [x.ep_id, x.from_status, x.to_status, x.reason]);
      try {
        const subs = { '10.0.0.1': 'online', '10.0.0.2': 'online', '10.0.0.3': 'offline' } as const;
        await current.ingest(parseReport(report('STM1', subs)), at(0));
        // Statuses only: one flips, then two.
        let t = (await current.ingest(parseReport(report('STM1', { ...subs, '10.0.0.2': 'offline' })), at(10))).transitions;
        assert.deepEqual(flips(t), [['STM1__10.0.0.2', 'online', 'offline', 'report']]);
        t = (await current.ingest(parseReport(report('STM1', { ...subs, '10.0.0.3': 'online' })), at(20))).transitions;
        assert.deepEqual(flips(t), [
          ['STM1__10.0.0.2', 'offline', 'online', 'report'],
          ['STM1__10.0.0.3', 'offline', 'online', 'report'],
        ]);
        // A status and a name at once: the name is stored too.
        const renamed = parseReport(report('STM1', { ...subs, '10.0.0.3': 'offline' }));
        renamed.sub_devices[2]!.ep_name = 'yard';
        t = (await current.ingest(renamed, at(30))).transitions;
        assert.deepEqual(flips(t), [['STM1__10.0.0.3', 'online', 'offline', 'report']]);
        let found = (await current.getBox('STM1'))!;
        const third = found.sub_devices.find((s) => s.ep_id === 'STM1__10.0.0.3')!;
        assert.equal(third.ep_name, 'yard');
        assert.equal(third.status_changed_at, iso(30));
        assert.equal(found.box.sub_devices_online, 2);
        assert.equal(found.box.sub_devices_offline, 1);
        // The box goes silent: its next report, statuses changed or not, brings it back first.
        assert.equal((await current.markSilentBoxesOffline(at(31), at(40))).length, 1);
        const back = parseReport(report('STM1', { ...subs, '10.0.0.1': 'offline' }));
        back.sub_devices[2]!.ep_name = 'yard';
        t = (await current.ingest(back, at(50))).transitions;
        assert.deepEqual(flips(t), [
          [null, 'offline', 'online', 'report'],
          ['STM1__10.0.0.1', 'online', 'offline', 'report'],
        ]);
        // A revoked code: the next change of statuses is refused, and stores nothing.
        await current.setCodeStatus('STM1', 'revoked', at(55));
        const refused = parseReport(report('STM1', subs));
        refused.sub_devices[2]!.ep_name = 'yard';
        await assert.rejects(current.ingest(refused, at(60)), /revoked/i);
        await current.setCodeStatus('STM1', 'active', at(65));
        t = (await current.ingest(refused, at(70))).transitions;
        assert.deepEqual(flips(t), [['STM1__10.0.0.1', 'offline', 'online', 'report']]);

        // What was committed, not what the process remembers.
        await current.close();
        current = await reopen();
        found = (await current.getBox('STM1'))!;
        assert.equal(found.box.report_count, 6);
        assert.equal(found.box.status, 'online');
        assert.deepEqual(
          found.sub_devices.map((s) => [s.ep_id, s.ep_status, s.status_changed_at, s.last_seen_at]).sort(),
          [
            ['STM1__10.0.0.1', 'online', iso(70), iso(70)],
            ['STM1__10.0.0.2', 'online', iso(20), iso(70)],
            ['STM1__10.0.0.3', 'offline', iso(30), iso(70)],
          ],
        );
        assert.equal((await current.history('STM1', { limit: 100 })).length, 4 + 1 + 2 + 1 + 1 + 2 + 1);
        // Statuses only, after the reopen (nothing remembered): the same as before.
        const again = parseReport(report('STM1', { ...subs, '10.0.0.2': 'offline' }));
        again.sub_devices[2]!.ep_name = 'yard';
        t = (await current.ingest(again, at(80))).transitions;
        assert.deepEqual(flips(t), [['STM1__10.0.0.2', 'online', 'offline', 'report']]);
      } finally {
        await current.close();
        await cleanup();
      }
    });

    it('records status changes of a box with more sub-devices than 32', async () => {
      const { store, cleanup } = await backend.fresh();
      try {
        const statuses = (offline: number[]) =>
          Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`10.0.1.${i}`, offline.includes(i) ? 'offline' : 'online'] as const));
        await store.ingest(parseReport(report('BIG1', statuses([]))), at(0));
        for (const [n, offline] of [[1, [35]], [2, [35, 0]], [3, [0]]] as const) {
          const t = (await store.ingest(parseReport(report('BIG1', statuses([...offline]))), at(n))).transitions;
          assert.equal(t.length, 1, `report ${n}`);
        }
        const found = (await store.getBox('BIG1'))!;
        assert.deepEqual(found.sub_devices.filter((s) => s.ep_status === 'offline').map((s) => s.ep_id), ['BIG1__10.0.1.0']);
        assert.equal(found.box.sub_devices_offline, 1);
      } finally {
        await store.close();
        await cleanup();
      }
    });

    it('never takes a changed report for a repeat, whatever characters the fields hold', async () => {
      const { store, cleanup } = await backend.fresh();
      try {
        const sub = (ep_id: string, ep_ip: string) => ({ ep_id, ep_ip, ep_status: 'online', ep_location: 'l', ep_type: 'photo', ep_name: 'n' });
        // Same characters end to end, split differently between ep_id and ep_ip.
        const a = parseReport({ dev_sno: 'AMB', sub_devices: [sub('AMB__x:y', 'z')] });
        const b = parseReport({ dev_sno: 'AMB', sub_devices: [sub('AMB__x', 'y:z')] });
        await store.ingest(a, at(0));
        const t = (await store.ingest(b, at(1))).transitions;
        assert.deepEqual(t.map((x) => [x.ep_id, x.to_status]).sort(), [
          ['AMB__x', 'online'],
          ['AMB__x:y', 'removed'],
        ]);
      } finally {
        await store.close();
        await cleanup();
      }
    });
  });
}
