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
