// The echo: a report already in normal form comes back as the very text the box sent; anything
// that normalization changed or filled in comes back normalized.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseReportDetailed } from '../src/protocol/index.js';
import { backends, report, startServer, type RunningServer } from './support/server.js';

const backend = backends()[0]!;

describe('echo of the report', () => {
  let server: RunningServer;
  let fresh: Awaited<ReturnType<typeof backend.fresh>>;
  before(async () => {
    fresh = await backend.fresh();
    server = await startServer(fresh.store);
  });
  after(async () => {
    await server.close();
    await fresh.store.close();
    await fresh.cleanup();
  });

  it('returns the body as sent when it is already normal', async () => {
    const text = JSON.stringify(report('ECHOA', { '10.0.0.1': 'online', '10.0.0.2': 'offline' }), null, 1);
    const res = await server.post(text, { raw: true });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(await res.text(), text);
    assert.equal(parseReportDetailed(JSON.parse(text)).normalized, false);
  });

  it('returns the normalized report when something was trimmed, lower-cased or filled in', async () => {
    const body = report('ECHOB', { '10.0.0.1': 'online', '10.0.0.2': 'online' }) as { sub_devices: Array<Record<string, unknown>> };
    delete body.sub_devices[0]!.ep_name;
    body.sub_devices[1]!.ep_type = 'RTSP';
    body.sub_devices[1]!.ep_ip = ' 10.0.0.2 ';
    const res = await server.post(body);
    assert.equal(res.status, 200);
    const echo = await res.json();
    assert.equal(echo.sub_devices[0].ep_name, '');
    assert.equal(echo.sub_devices[1].ep_type, 'rtsp');
    assert.equal(echo.sub_devices[1].ep_ip, '10.0.0.2');
    // The caller's object is left as it was.
    assert.equal(body.sub_devices[1]!.ep_type, 'RTSP');
    for (const [what, change] of [
      ['missing ep_name', (b: any) => delete b.sub_devices[0].ep_name],
      ['padded dev_sno', (b: any) => (b.dev_sno = ` ${b.dev_sno}`)],
      ['padded ep_location', (b: any) => (b.sub_devices[0].ep_location += ' ')],
      ['upper-case status', (b: any) => (b.sub_devices[0].ep_status = 'ONLINE')],
    ] as const) {
      const b = report('ECHOC', { '10.0.0.1': 'online' });
      change(b);
      assert.equal(parseReportDetailed(b).normalized, true, what);
    }
  });

  it('stores the same thing either way', async () => {
    const box = await (await server.get('/api/devices/ECHOA')).json();
    assert.deepEqual(
      box.sub_devices.map((s: { ep_id: string; ep_status: string; ep_name: string }) => [s.ep_id, s.ep_status, s.ep_name]),
      [
        ['ECHOA__10.0.0.1', 'online', 'cam 10.0.0.1'],
        ['ECHOA__10.0.0.2', 'offline', 'cam 10.0.0.2'],
      ],
    );
  });
});
