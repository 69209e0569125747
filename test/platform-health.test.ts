// Box health (issue 11): the latest health in the box API, a compact series (one point per box per
// 5 min bucket, 24 h kept) at /api/devices/:dev_sno/health, and fleet gauges on /metrics. Both stores.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { backends, withFreshServerForSuite, type RunningServer } from './support/server.js';
import { eventually } from './support/webhook.js';

const RICH = 'AFVKQF000120210604151110';
const rich = () => JSON.parse(readFileSync(new URL('../examples/reports/rich.json', import.meta.url), 'utf8'));

for (const backend of backends()) {
  describe(`box health (${backend.name})`, () => {
    let server: RunningServer;
    withFreshServerForSuite(backend, {}, (s) => {
      server = s;
    });

    it('keeps the latest health in the box and one point per 5 min bucket in the series', async () => {
      assert.equal((await server.post(rich())).status, 200);
      const points = await eventually(async () => {
        const h = await (await server.get(`/api/devices/${RICH}/health?window=24h`)).json();
        return h.points.length > 0 ? h : undefined;
      });
      assert.equal(points.latest.cpu_pct, 37.5);
      assert.equal(points.window_s, 86_400);
      assert.equal(points.points[0].cpu_pct, 37.5);
      assert.equal(points.points[0].disk_pct, 66.7);
      // A second report in the same bucket changes the latest health, not the series.
      const body = rich();
      body.gateway_ext_data.cpu_usage = 80;
      assert.equal((await server.post(body)).status, 200);
      const box = await (await server.get(`/api/devices/${RICH}`)).json();
      assert.equal(box.box.health.cpu_pct, 80);
      const h = await (await server.get(`/api/devices/${RICH}/health`)).json();
      assert.equal(h.latest.cpu_pct, 80);
      assert.equal(h.points.length, 1);
    });

    it('answers the window asked for and forgets points older than 24 h', async () => {
      const now = Date.now();
      await server.store.platform.recordHealthPoint(RICH, now - 25 * 3_600_000, { cpu_pct: 1 });
      await server.store.platform.recordHealthPoint(RICH, now - 2 * 3_600_000, { cpu_pct: 2 });
      const day = await (await server.get(`/api/devices/${RICH}/health?window=24h`)).json();
      assert.deepEqual(day.points.map((p: { cpu_pct: number }) => p.cpu_pct).slice(0, 1), [2]);
      const hour = await (await server.get(`/api/devices/${RICH}/health?window=60m`)).json();
      assert.equal(hour.points.some((p: { cpu_pct: number }) => p.cpu_pct === 2), false);
      assert.equal(await server.store.platform.pruneHealth(now - 24 * 3_600_000), 1);
      assert.equal((await (await server.get(`/api/devices/${RICH}/health?window=2h`)).json()).window_s, 7200);
    });

    it('refuses a window that is not a duration, and an unknown box', async () => {
      const bad = await server.get(`/api/devices/${RICH}/health?window=yesterday`);
      assert.equal(bad.status, 400);
      assert.equal((await bad.json()).field, 'window');
      assert.equal((await server.get('/api/devices/NOSUCH/health')).status, 404);
    });

    it('shows boxes by software version and boxes with a full disk on /metrics', async () => {
      const full = rich();
      full.dev_sno = 'FULLDISK01';
      full.gateway_ext_data.sw_version = '2.5.0';
      full.gateway_ext_data.disk_free_size = 1024;
      full.sub_devices = [];
      assert.equal((await server.post(full)).status, 200);
      const text = await (await server.get('/metrics')).text();
      assert.match(text, /devstatus_boxes_by_sw_version\{sw_version="2\.4\.1"\} 1/);
      assert.match(text, /devstatus_boxes_by_sw_version\{sw_version="2\.5\.0"\} 1/);
      assert.match(text, /devstatus_boxes_disk_full 1/);
      // The boxes on one version, for an upgrade round.
      const fleet = await (await server.get('/api/fleet/health?sw_version=2.5.0')).json();
      assert.deepEqual(fleet.boxes, ['FULLDISK01']);
      assert.equal(fleet.disk_full, 1);
      assert.deepEqual(fleet.by_sw_version, [{ sw_version: '2.4.1', boxes: 1 }, { sw_version: '2.5.0', boxes: 1 }]);
    });
  });
}
