// The receiver reads all three report dialects (docs/protocol-dialects.md): it answers each box in
// the dialect it used, keeps numeric ep_type, shows the offline reason (ep_detail) of each
// sub-device and carries it in the transition events. Both stores.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { Transition } from '../src/store/types.js';
import { backends, withFreshServerForSuite, type RunningServer } from './support/server.js';

const example = (name: string) => readFileSync(new URL(`../examples/reports/${name}.json`, import.meta.url), 'utf8');
const RICH = 'AFVKQF000120210604151110';
const LEGACY = 'ZKZCPI000120190807142601';

for (const backend of backends()) {
  describe(`report dialects on the receiver (${backend.name})`, () => {
    let server: RunningServer;
    const seen: Transition[] = [];
    withFreshServerForSuite(backend, {}, (s) => {
      server = s;
      s.app.fleetEvents.on('transitions', (ts: Transition[]) => seen.push(...ts));
    });

    it('accepts today\'s dialect and echoes its bytes as before', async () => {
      const text = example('current');
      const res = await server.post(text, { raw: true });
      assert.equal(res.status, 200);
      assert.equal(await res.text(), text);
    });

    it('hides credentials a box wrote into ep_detail: not stored, not echoed, not in history', async () => {
      // A box of its own (the legacy case below counts the example box's reports).
      const body = JSON.parse(example('current').replaceAll(JSON.parse(example('current')).dev_sno, 'SECRETS-IN-DETAIL'));
      body.sub_devices[0].ep_status = 'offline';
      body.sub_devices[0].ep_detail = 'DESCRIBE rtsp://admin:Hik12345@10.9.9.9/ch1 401, password=hunter2';
      const res = await server.post(JSON.stringify(body), { raw: true });
      assert.equal(res.status, 200);
      const echoed = await res.text();
      const box = await (await server.get(`/api/devices/${body.dev_sno}`)).text();
      const history = await (await server.get(`/api/devices/${body.dev_sno}/history`)).text();
      for (const [what, text] of [['echo', echoed], ['box', box], ['history', history]] as const) {
        assert.ok(text.includes('DESCRIBE rtsp://***@10.9.9.9/ch1 401, password=***'), `${what} keeps the reason, secrets hidden: ${text.slice(0, 400)}`);
        assert.equal(/Hik12345|hunter2/.test(text), false, `${what} shows no secret`);
      }
    });

    it('accepts the rich dialect, answers in it, keeps numeric ep_type, and shows health and offline reasons', async () => {
      const text = example('rich');
      const res = await server.post(text, { raw: true });
      assert.equal(res.status, 200, await res.clone().text());
      const echo = await res.json();
      assert.equal(echo.dev_sno, RICH);
      assert.equal(echo.gateway_sn, 'SE3A2107001234');
      assert.equal(echo.gateway_ext_data.memory_size, 4096);
      assert.equal(echo.gateway_ext_data.disk_free_size, 20480);
      assert.deepEqual(echo.sub_devices.map((s: { ep_type: unknown }) => s.ep_type), [2, 0, 'rtsp']);
      assert.equal(echo.sub_devices[1].ep_detail, 'ECONNREFUSED');

      const box = await (await server.get(`/api/devices/${RICH}`)).json();
      assert.equal(box.box.dialect, 'rich');
      assert.equal(box.box.gateway.sn, 'SE3A2107001234');
      assert.equal(box.box.health.cpu_pct, 37.5);
      assert.equal(box.box.health.sw_version, '2.4.1');
      assert.equal(box.box.health.disk_total_bytes, 61440 * 1024 * 1024);
      assert.deepEqual(box.box.extra, {}, 'the platform fields are not shown as unknown extras');
      const byIp = new Map(box.sub_devices.map((s: { ep_ip: string }) => [s.ep_ip, s]));
      const cam1 = byIp.get('192.168.1.101') as Record<string, unknown>;
      const gate = byIp.get('192.168.1.102') as Record<string, unknown>;
      const cam3 = byIp.get('192.168.1.103') as Record<string, unknown>;
      assert.equal(cam1.ep_type, 'ipc_static');
      assert.equal(cam1.ep_type_code, 2);
      assert.equal(cam1.ep_url, 'rtsp://***@192.168.1.101:554/Streaming/Channels/101', 'credentials are hidden');
      assert.equal(cam1.ep_detail, undefined);
      assert.deepEqual(cam1.extra, {});
      assert.equal(gate.ep_type, 'gate');
      assert.equal(gate.ep_detail, 'ECONNREFUSED');
      assert.equal(cam3.ep_detail, 'DESCRIBE 401 credentials rejected');
      assert.equal(JSON.stringify(box).includes('hik12345'), false, 'the camera password is never shown');

      const offline = seen.filter((t) => t.dev_sno === RICH && t.to_status === 'offline');
      assert.deepEqual(offline.map((t) => t.detail).sort(), ['DESCRIBE 401 credentials rejected', 'ECONNREFUSED']);
    });

    it('a changed offline reason is stored at once, and the transition to offline carries it', async () => {
      const body = JSON.parse(example('rich'));
      body.sub_devices[1].ep_detail = 'timeout';
      body.sub_devices[0].ep_status = 'offline';
      body.sub_devices[0].ep_detail = 'DESCRIBE 401 credentials rejected';
      assert.equal((await server.post(body)).status, 200);
      const box = await (await server.get(`/api/devices/${RICH}`)).json();
      const details = Object.fromEntries(box.sub_devices.map((s: { ep_ip: string; ep_detail?: string }) => [s.ep_ip, s.ep_detail]));
      assert.equal(details['192.168.1.102'], 'timeout');
      assert.equal(details['192.168.1.101'], 'DESCRIBE 401 credentials rejected');
      const last = seen.filter((t) => t.ep_id === `${RICH}__192.168.1.101`).at(-1)!;
      assert.equal(last.to_status, 'offline');
      assert.equal(last.detail, 'DESCRIBE 401 credentials rejected');

      // Back online without a reason: the stored reason goes too.
      body.sub_devices[0].ep_status = 'online';
      delete body.sub_devices[0].ep_detail;
      assert.equal((await server.post(body)).status, 200);
      const again = await (await server.get(`/api/devices/${RICH}`)).json();
      const cam1 = again.sub_devices.find((s: { ep_ip: string }) => s.ep_ip === '192.168.1.101');
      assert.equal(cam1.ep_status, 'online');
      assert.equal(cam1.ep_detail, undefined);
    });

    it('accepts the legacy dialect named by gateway_sn, answers in it, and a repeat is answered the same', async () => {
      const text = example('legacy');
      for (let i = 0; i < 2; i++) {
        const res = await server.post(text, { raw: true });
        assert.equal(res.status, 200);
        const echo = await res.json();
        assert.equal(echo.gateway_sn, LEGACY);
        assert.equal(echo.dev_sno, undefined, 'a legacy box is answered in its own words');
        assert.equal(echo.gateway_ext_data.cpu_use, 12.5);
        assert.deepEqual(echo.sub_devices.map((s: { ep_type: unknown }) => s.ep_type), [1, 4]);
      }
      // The same box (its code) as the current example: one box, now in the legacy dialect.
      const box = await (await server.get(`/api/devices/${LEGACY}`)).json();
      assert.equal(box.box.dialect, 'legacy');
      assert.equal(box.box.health.disk_pct, 71.3);
      assert.equal(box.box.health.status_desc, '正常');
      assert.equal(box.box.report_count, 3);
      const snap = box.sub_devices.find((s: { ep_ip: string }) => s.ep_ip === '192.168.1.101');
      assert.equal(snap.ep_type, 'snapshot');
      assert.deepEqual(snap.ep_ext_data, { sw_version: 'V5.5.0', group_name: '北门' });
    });

    it('a repeated rich body is answered in the rich dialect from memory', async () => {
      const text = example('rich');
      const first = await (await server.post(text, { raw: true })).text();
      const second = await (await server.post(text, { raw: true })).text();
      assert.equal(second, first);
      assert.equal(JSON.parse(second).gateway_sn, 'SE3A2107001234');
    });

    it('refuses a body that is not UTF-8, naming the byte', async () => {
      const bytes = Buffer.concat([Buffer.from('{"dev_sno":"'), Buffer.from([0xb1, 0xb1]), Buffer.from('","sub_devices":[]}')]);
      const res = await fetch(`${server.url}/DeviceStatus`, { method: 'POST', body: bytes });
      assert.equal(res.status, 400);
      assert.match((await res.json()).message ?? '', /not valid UTF-8/);
    });

    it('refuses an unknown vendor ep_type code, listing the accepted ones', async () => {
      const body = JSON.parse(example('rich'));
      body.sub_devices[0].ep_type = 9;
      const res = await server.post(body);
      assert.equal(res.status, 400);
      const err = await res.json();
      assert.match(JSON.stringify(err), /vendor code 0-4/);
    });
  });
}
