// Offline detection per box (issue 11): a box is offline after the period it was told at login
// x misses of silence, so boxes on 20 s and on 5 s are each judged right, and a box that never
// logged in keeps the receiver's default. Times are given to tick() explicitly: no timing bounds.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseReport } from '../src/protocol/index.js';
import { FleetEvents } from '../src/server/events.js';
import { OfflineDetector } from '../src/server/offline.js';
import { backends, report, withFreshServerForSuite, type RunningServer } from './support/server.js';

const put = (body: unknown) => ({ method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

for (const backend of backends()) {
  describe(`offline detection by each box's own period (${backend.name})`, () => {
    let server: RunningServer;
    withFreshServerForSuite(backend, { offline: false }, (s) => {
      server = s;
    });
    /** Logs the box in (registering it) and has it told `periodS`. */
    const loginWithPeriod = async (devSno: string, periodS: number) => {
      assert.equal((await server.get(`/login?dev_sno=${devSno}&hex_mac=001122334455`)).status, 200);
      assert.equal((await fetch(`${server.url}/api/codes/${devSno}`, put({ report_period_s: periodS }))).status, 200);
      const answer = await (await server.get(`/login?dev_sno=${devSno}&hex_mac=001122334455`)).json();
      assert.equal(answer.deviceMonitorPeriod, periodS);
    };
    const statusOf = async (devSno: string) => (await (await server.get(`/api/devices/${devSno}`)).json()).box.status;
    const reportAt = (devSno: string, at: number) => server.store.ingest(parseReport(report(devSno, { '10.0.0.1': 'online' })), at);

    it('judges a box on 20 s by 20 s x 3 and a box on 5 s by 5 s x 3; one that never logged in by the default', async () => {
      await loginWithPeriod('PER20', 20);
      await loginWithPeriod('PER5', 5);
      // The default: a 5 s report interval, 3 misses (15 s).
      const detector = new OfflineDetector({ store: server.store, events: new FleetEvents(), reportIntervalMs: 5000, misses: 3 });
      const t0 = Date.now();
      for (const d of ['PER20', 'PER5', 'NOLOGIN']) await reportAt(d, t0);

      const at16 = await detector.tick(t0 + 16_000);
      assert.deepEqual(at16.map((t) => t.dev_sno).sort(), ['NOLOGIN', 'PER5']);
      assert.equal(await statusOf('PER20'), 'online', 'a box on 20 s is not offline after 16 s');
      assert.equal(await statusOf('PER5'), 'offline');
      assert.deepEqual(await detector.tick(t0 + 45_000), [], 'nor after 45 s');
      const at61 = await detector.tick(t0 + 61_000);
      assert.deepEqual(at61.map((t) => [t.dev_sno, t.reason]), [['PER20', 'report_timeout']]);
      // A report brings it back.
      await reportAt('PER20', t0 + 62_000);
      assert.equal(await statusOf('PER20'), 'online');
    });

    it('a box moved from 5 s to 20 s is judged by 20 s from its next login: no false alarm', async () => {
      await loginWithPeriod('MOVED', 5);
      const detector = new OfflineDetector({ store: server.store, events: new FleetEvents(), reportIntervalMs: 5000, misses: 3 });
      const t0 = Date.now();
      await reportAt('MOVED', t0);
      await loginWithPeriod('MOVED', 20);
      await reportAt('MOVED', t0 + 1000);
      assert.deepEqual(await detector.tick(t0 + 1000 + 30_000), []);
      assert.equal(await statusOf('MOVED'), 'online');
      assert.equal((await detector.tick(t0 + 1000 + 61_000)).length, 1);
    });

    it('judges no box before its own timeout has passed since the receiver started listening', async () => {
      await loginWithPeriod('LATE20', 20);
      const t0 = Date.now();
      await reportAt('LATE20', t0);
      // Started listening long after the box last reported (the receiver was down).
      const detector = new OfflineDetector({ store: server.store, events: new FleetEvents(), reportIntervalMs: 5000, misses: 3 });
      detector.start(t0 + 100_000);
      await detector.stop();
      assert.deepEqual(await detector.tick(t0 + 100_000 + 30_000), [], '30 s of listening is less than its 60 s');
      assert.equal((await detector.tick(t0 + 100_000 + 61_000)).map((t) => t.dev_sno).includes('LATE20'), true);
    });
  });
}
