import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Transition } from '../src/store/types.js';
import { backends, report, startServer, type Backend, type RunningServer } from './support/server.js';
import { eventually } from './support/webhook.js';

type Sub = { ep_id: string; ep_status: string; last_reported_status: string };
type Entry = { ep_id: string | null; from_status: string | null; to_status: string; reason: string };
const line = (e: Entry) => `${e.ep_id ?? 'box'} ${e.from_status ?? '-'}>${e.to_status} ${e.reason}`;

for (const backend of backends()) {
  describe(`box-offline detection (real server, 0.2 s x 2, ${backend.name})`, () => {
    let server: RunningServer;
    let fresh: Awaited<ReturnType<Backend['fresh']>>;
    const announced: Transition[] = [];

    before(async () => {
      fresh = await backend.fresh();
      server = await startServer(fresh.store, { offline: { reportIntervalMs: 200, misses: 2 } });
      server.app.fleetEvents.on('transitions', (ts) => announced.push(...ts));
    });
    after(async () => {
      await server.close();
      await fresh.store.close();
      await fresh.cleanup();
    });

    it('marks a silent box offline, shows its sub-devices unknown, and brings it back on its next report', async () => {
      assert.equal((await server.post(report('SILENT1', { '10.0.0.1': 'online', '10.0.0.2': 'offline' }))).status, 200);
      // A box that keeps reporting stays online meanwhile.
      let keepGoing = true;
      const chatty = (async () => {
        while (keepGoing) {
          await server.post(report('CHATTY1', { '10.0.1.1': 'online' }));
          await new Promise((r) => setTimeout(r, 80));
        }
      })();

      const box = await eventually(async () => {
        const b = await (await server.get('/api/devices/SILENT1')).json();
        return b.box.status === 'offline' ? b : null;
      }, 5000, 'SILENT1 offline');
      // Judged on the server's own clock (when it received the last report, when it changed the
      // status): the client's clock would count a slow answer under load as silence.
      const detectedAfter = Date.parse(box.box.status_changed_at) - Date.parse(box.box.last_report_at);
      assert.ok(detectedAfter >= 400, `offline after ${detectedAfter} ms, before 0.2 s x 2`);
      assert.deepEqual(
        box.sub_devices.map((s: Sub) => [s.ep_id, s.ep_status, s.last_reported_status]),
        [
          ['SILENT1__10.0.0.1', 'unknown', 'online'],
          ['SILENT1__10.0.0.2', 'unknown', 'offline'],
        ],
      );
      const hist = await (await server.get('/api/devices/SILENT1/history')).json();
      assert.equal(line(hist.entries[0]), 'box online>offline report_timeout');
      assert.ok(announced.some((t) => t.dev_sno === 'SILENT1' && t.reason === 'report_timeout'), 'transition emitted on FleetEvents');

      const summary = await (await server.get('/api/summary')).json();
      assert.equal(summary.boxes.offline, 1);
      assert.equal(summary.sub_devices.unknown, 2);
      assert.equal(summary.sub_devices.online, 1); // CHATTY1's
      const offlineList = await (await server.get('/api/devices?status=offline')).json();
      assert.deepEqual(offlineList.boxes.map((b: { dev_sno: string }) => b.dev_sno), ['SILENT1']);

      keepGoing = false;
      await chatty;
      // CHATTY1 was never offline.
      const chattyHist = await (await server.get('/api/devices/CHATTY1/history')).json();
      assert.equal(chattyHist.entries.length, 2);

      // Back: the box returns online; only real sub-device changes enter the history.
      assert.equal((await server.post(report('SILENT1', { '10.0.0.1': 'offline', '10.0.0.2': 'offline' }))).status, 200);
      const back = await (await server.get('/api/devices/SILENT1')).json();
      assert.equal(back.box.status, 'online');
      assert.deepEqual(back.sub_devices.map((s: Sub) => [s.ep_status, s.last_reported_status]), [
        ['offline', 'offline'],
        ['offline', 'offline'],
      ]);
      const all = await (await server.get('/api/devices/SILENT1/history')).json();
      assert.deepEqual(all.entries.reverse().map(line), [
        'box ->online first_seen',
        'SILENT1__10.0.0.1 ->online first_seen',
        'SILENT1__10.0.0.2 ->offline first_seen',
        'box online>offline report_timeout',
        'box offline>online report',
        'SILENT1__10.0.0.1 online>offline report',
      ]);
    });

    it('exposes tick() for an outside caller, which marks each silent box once', async () => {
      await server.post(report('TICK1', { '10.0.2.1': 'online' }));
      const detector = server.app.offlineDetector!;
      const later = Date.now() + 60_000;
      const first = await detector.tick(later);
      assert.ok(first.some((t) => t.dev_sno === 'TICK1' && t.to_status === 'offline'));
      assert.deepEqual(await detector.tick(later + 1), []);
    });
  });

  describe(`box-offline detection after a restart (${backend.name})`, () => {
    it('gives boxes a full timeout after startup before judging them', async () => {
      const fresh = await backend.fresh();
      const opts = { offline: { reportIntervalMs: 300, misses: 2 } };
      let server = await startServer(fresh.store, opts);
      await server.post(report('RESTART2', { '10.0.3.1': 'online' }));
      await server.close();
      await fresh.store.close();
      await new Promise((r) => setTimeout(r, 800)); // receiver down longer than the timeout
      const store = await fresh.reopen();
      const started = Date.now();
      server = await startServer(store, opts);
      try {
        const box = await (await server.get('/api/devices/RESTART2')).json();
        if (Date.now() - started < 500) assert.equal(box.box.status, 'online', 'not judged offline right at startup');
        await eventually(async () => (await (await server.get('/api/devices/RESTART2')).json()).box.status === 'offline', 5000, 'offline');
        assert.ok(Date.now() - started >= 600);
      } finally {
        await server.close();
        await store.close();
        await fresh.cleanup();
      }
    });
  });
}

