import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { AgentConfigError, loadConfig, resolveConfig } from '../src/agent/config.js';
import { buildReport, FlapGuard, backoffDelay, reasonOf } from '../src/agent/agent.js';
import { parseReportBytes } from '../src/protocol/index.js';

const EXAMPLE = fileURLToPath(new URL('../examples/agent.yaml', import.meta.url));

const base = () => ({
  dev_sno: 'BOX1',
  report_url: 'http://127.0.0.1:9528/DeviceStatus',
  sub_devices: [{ type: 'photo', ip: '127.0.0.1', ep_location: 'loc' }] as Array<Record<string, unknown>>,
});

function issues(raw: unknown): Array<{ field: string; reason: string }> {
  try {
    resolveConfig(raw, '/tmp');
  } catch (err) {
    assert.ok(err instanceof AgentConfigError, String(err));
    return err.issues;
  }
  assert.fail('config was accepted');
}

describe('agent config', () => {
  it('loads the example config with defaults and protocol ep_ids, without credentials', () => {
    const c = loadConfig(EXAMPLE);
    assert.equal(c.devSno, 'ZKZCPI000120190807142601');
    assert.equal(new URL(c.reportUrl!).hostname, '127.0.0.1');
    assert.equal(c.intervalMs, 5000);
    assert.equal(c.failuresBeforeOffline, 3);
    assert.deepEqual(
      c.subDevices.map((s) => [s.type, s.epId, s.epIp]),
      [
        ['rtsp', 'ZKZCPI000120190807142601__rtsp://127.0.0.1:8554/live', '127.0.0.1'],
        ['photo', 'ZKZCPI000120190807142601__127.0.0.2', '127.0.0.2'],
        ['gb28181', 'ZKZCPI000120190807142601__127.0.0.3', '127.0.0.3'],
        ['file', 'ZKZCPI000120190807142601__/etc/hostname', ''],
      ],
    );
    assert.deepEqual(c.subDevices[1]!.target, { type: 'photo', host: '127.0.0.2', port: 80 });
    assert.ok(c.queue.dir.endsWith('examples/data/agent-queue'), c.queue.dir);
    // The report it builds passes the receiver's own validation and carries no password.
    const body = buildReport(c, c.subDevices.map((spec) => ({ spec, status: 'online' as const })), new Date());
    assert.ok(!JSON.stringify(body).includes('password'));
    assert.equal(body.sub_devices.length, 4);
  });

  it('defaults: interval 5 s, photo port 80, sip port 5060, fractional intervals down to 0.1 s', () => {
    const c = resolveConfig({ ...base(), interval_s: 0.2, sub_devices: [{ type: 'gb28181', ip: '127.0.0.1', ep_location: '' }] }, '/tmp');
    assert.equal(c.intervalMs, 200);
    assert.deepEqual(c.subDevices[0]!.target, { type: 'gb28181', host: '127.0.0.1', port: 5060 });
    assert.equal(resolveConfig(base(), '/tmp').intervalMs, 5000);
  });

  it('reads JSON too', () => {
    const dir = mkdtempSync(join(tmpdir(), 'devstatus-cfg-'));
    try {
      const file = join(dir, 'agent.json');
      writeFileSync(file, JSON.stringify({ ...base(), queue: { dir: 'q' } }));
      const c = loadConfig(file);
      assert.equal(c.queue.dir, join(dir, 'q'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names the field in every error', () => {
    const { dev_sno: _drop, ...noSno } = base();
    assert.deepEqual(issues(noSno), [{ field: 'dev_sno', reason: 'is required' }]);
    assert.deepEqual(issues({ ...base(), interval_s: 0.05 }), [{ field: 'interval_s', reason: 'must be at least 0.1' }]);
    assert.deepEqual(issues({ ...base(), intervall_s: 5 }), [{ field: 'intervall_s', reason: 'is not a known setting' }]);
    assert.deepEqual(issues({ ...base(), report_url: 'ftp://x/y' }), [{ field: 'report_url', reason: 'must be an http:// or https:// URL (got ftp://)' }]);
    assert.deepEqual(issues({ ...base(), sub_devices: [{ type: 'camera', ip: '1.2.3.4', ep_location: '' }] }), [
      { field: 'sub_devices[0].type', reason: 'must be one of: photo, rtsp, file, gb28181' },
    ]);
    assert.deepEqual(issues({ ...base(), sub_devices: [{ type: 'rtsp', ip: '127.0.0.1', ep_location: '' }] }), [
      { field: 'sub_devices[0].url', reason: 'is required for type rtsp' },
      { field: 'sub_devices[0].ip', reason: 'is not used by type rtsp (it takes url)' },
    ]);
    assert.deepEqual(issues({ ...base(), sub_devices: [{ type: 'rtsp', url: 'http://127.0.0.1/x', ep_location: '' }] }), [
      { field: 'sub_devices[0].url', reason: 'must be an rtsp:// URL (got http://)' },
    ]);
    assert.deepEqual(issues({ ...base(), sub_devices: [{ type: 'photo', ip: '127.0.0.1', port: 70000, ep_location: '' }] }), [
      { field: 'sub_devices[0].port', reason: 'must be at most 65535' },
    ]);
    assert.deepEqual(issues({ ...base(), sub_devices: [{ type: 'file', path: '/a' }] }), [{ field: 'sub_devices[0].ep_location', reason: 'is required' }]);
    assert.deepEqual(issues({ ...base(), backoff: { initial_s: 5, max_s: 1 } }), [{ field: 'backoff.max_s', reason: 'must be at least backoff.initial_s (5)' }]);
  });

  it('refuses two sub-devices with the same ep_id (credentials do not make a URL distinct)', () => {
    const got = issues({
      ...base(),
      sub_devices: [
        { type: 'rtsp', url: 'rtsp://a:b@127.0.0.1/x', ep_location: '' },
        { type: 'rtsp', url: 'rtsp://c:d@127.0.0.1/x', ep_location: '' },
      ],
    });
    assert.equal(got.length, 1);
    assert.equal(got[0]!.field, 'sub_devices[1].url');
    assert.match(got[0]!.reason, /same ep_id as sub_devices\[0\] \(BOX1__rtsp:\/\/127\.0\.0\.1\/x\)/);
  });

  it('reports every mistake at once, not one at a time', () => {
    const got = issues({
      dev_sno: 'BOX__1',
      report_url: 'ftp://x/y',
      interval_s: 'often',
      backoff: { initial_s: 5, max_s: 1 },
      sub_devices: [
        { type: 'rtsp', ep_location: '' },
        { type: 'camera', ip: '1.2.3.4', ep_location: '' },
        { type: 'photo', ip: 'not a host!', ep_location: '' },
        { type: 'file', path: '/a', ep_location: '' },
      ],
    });
    assert.deepEqual(got.map((i) => i.field).sort(), [
      'backoff.max_s',
      'dev_sno',
      'interval_s',
      'report_url',
      'sub_devices[0].url',
      'sub_devices[1].type',
      'sub_devices[2].ip',
    ]);
  });

  it('tells apart channels on one address: <dev_sno>__<ip>#<channel>', () => {
    const c = resolveConfig(
      {
        ...base(),
        sub_devices: [
          { type: 'gb28181', ip: '10.0.0.5', sip_id: '34020000001320000001', ep_location: 'L' },
          { type: 'gb28181', ip: '10.0.0.5', sip_id: '34020000001320000002', ep_location: 'L' },
          { type: 'photo', ip: '10.0.0.6', port: 80, ep_location: 'L', ep_name: 'gate' },
          { type: 'photo', ip: '10.0.0.6', port: 8080, channel: 'snapshot', ep_location: 'L', ep_name: 'camera' },
          { type: 'photo', ip: '10.0.0.7', ep_location: 'L', ep_name: 'alone' },
        ],
      },
      '/tmp',
    );
    assert.deepEqual(
      c.subDevices.map((s) => s.epId),
      ['BOX1__10.0.0.5#34020000001320000001', 'BOX1__10.0.0.5#34020000001320000002', 'BOX1__10.0.0.6#gate', 'BOX1__10.0.0.6#snapshot', 'BOX1__10.0.0.7'],
    );
    // Sharing an address with nothing to tell them apart is an error naming the fix.
    const got = issues({
      ...base(),
      sub_devices: [
        { type: 'photo', ip: '10.0.0.6', port: 80, ep_location: 'L' },
        { type: 'photo', ip: '10.0.0.6', port: 81, ep_location: 'L' },
      ],
    });
    assert.equal(got[0]!.field, 'sub_devices[0].channel');
    assert.match(got[0]!.reason, /share BOX1__10\.0\.0\.6; give each a channel/);
    const same = issues({
      ...base(),
      sub_devices: [
        { type: 'photo', ip: '10.0.0.6', channel: '1', ep_location: 'L' },
        { type: 'photo', ip: '10.0.0.6', channel: '1', ep_location: 'L' },
      ],
    });
    assert.match(same[0]!.reason, /same ep_id as sub_devices\[0\] \(BOX1__10\.0\.0\.6#1\)/);
  });

  it('reports a missing or broken file clearly', () => {
    assert.throws(() => loadConfig('/nonexistent/agent.yaml'), /agent\.yaml:\n {2}\(file\): cannot read it: no such file/);
    const dir = mkdtempSync(join(tmpdir(), 'devstatus-cfg-'));
    try {
      const file = join(dir, 'agent.yaml');
      writeFileSync(file, 'dev_sno: [unclosed\n');
      assert.throws(() => loadConfig(file), /\(file\): is not valid YAML/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('agent config: login and dialect', () => {
  const withLogin = () => {
    const { report_url: _r, ...rest } = base();
    return { ...rest, login_url: 'http://127.0.0.1:9528/login' };
  };

  it('takes login_url instead of report_url, rich by default then, today\'s dialect without it', () => {
    const c = resolveConfig({ ...withLogin(), mac: 'E0-A5-09-12-34-56', relogin_interval_s: 60, gateway_sn: ' SN1 ', sdk_version: '3.0.0' }, '/tmp');
    assert.equal(c.loginUrl, 'http://127.0.0.1:9528/login');
    assert.equal(c.reportUrl, undefined);
    assert.equal(c.dialect, 'rich');
    assert.equal(c.mac, 'e0:a5:09:12:34:56');
    assert.equal(c.reloginIntervalMs, 60_000);
    assert.equal(c.gatewaySn, 'SN1');
    assert.equal(resolveConfig(withLogin(), '/tmp').reloginIntervalMs, 300_000);
    assert.equal(resolveConfig({ ...withLogin(), dialect: 'current' }, '/tmp').dialect, 'current');
    assert.equal(resolveConfig(base(), '/tmp').dialect, 'current');
    assert.equal(resolveConfig({ ...base(), dialect: 'rich' }, '/tmp').dialect, 'rich');
  });

  it('names the field of every login mistake, all at once', () => {
    const { report_url: _r, ...none } = base();
    assert.deepEqual(issues(none), [{ field: 'report_url', reason: 'is required (or set login_url: the platform then hands out the report URL)' }]);
    assert.deepEqual(issues({ ...base(), login_url: 'http://127.0.0.1/login' }).map((i) => i.field), ['report_url']);
    const all = issues({ ...withLogin(), login_url: 'ftp://x/login', mac: 'e0:a5:09', dialect: 'legacy', relogin_interval_s: 0 });
    assert.deepEqual(
      all.map((i) => `${i.field}: ${i.reason}`).sort(),
      [
        'dialect: must be one of: current, rich',
        'login_url: must be an http:// or https:// URL (got ftp://)',
        'mac: must be a MAC address: aa:bb:cc:dd:ee:ff (or 12 hex digits)',
        'relogin_interval_s: must be at least 1',
      ],
    );
    assert.deepEqual(issues({ ...base(), relogin_interval_s: 30 }), [{ field: 'relogin_interval_s', reason: 'is only used with login_url' }]);
  });

  it('builds the rich dialect with the box\'s health through the protocol\'s serializer, and ep_detail for offline sub-devices', () => {
    const c = resolveConfig({ ...withLogin(), sub_devices: [{ type: 'photo', ip: '127.0.0.1', port: 1, ep_location: 'L' }, { type: 'file', path: '/etc/hostname', ep_location: 'L' }] }, '/tmp');
    const [photo, file] = c.subDevices;
    const MB = 1024 * 1024;
    const body = buildReport(
      c,
      [
        { spec: photo!, status: 'offline', detail: 'TCP 127.0.0.1:1: ECONNREFUSED' },
        { spec: file!, status: 'online', detail: '/etc/hostname: readable file, 3 bytes' },
      ],
      new Date(),
      {
        gateway: { sn: 'SN1', ip: '10.0.0.9', name: 'box', status: 'online' },
        health: { cpu_pct: 12.5, mem_pct: 40, mem_total_bytes: 4096 * MB, disk_total_bytes: 1000 * MB, disk_free_bytes: 250 * MB, sw_version: '0.1.0', mac: 'e0:a5:09:12:34:56' },
      },
    );
    assert.deepEqual(body.gateway_ext_data, {
      sw_version: '0.1.0', gateway_mac: 'e0:a5:09:12:34:56', cpu_usage: 12.5, memory_size: 4096, memory_usage: 40, disk_size: 1000, disk_free_size: 250,
    });
    assert.equal(body.gateway_sn, 'SN1');
    assert.equal(body.gateway_status, 'online');
    const subs = body.sub_devices as Array<Record<string, unknown>>;
    assert.equal(subs[0]!.ep_detail, 'ECONNREFUSED');
    assert.equal('ep_detail' in subs[1]!, false);
    // The receiver reads it back as the rich dialect with the same health.
    const parsed = parseReportBytes(Buffer.from(JSON.stringify(body)));
    assert.equal(parsed.dialect, 'rich');
    assert.equal(parsed.report.health?.disk_pct, 75);
    assert.equal(parsed.report.sub_devices[0]!.ep_detail, 'ECONNREFUSED');
  });

  it('keeps a probe\'s reason short: the address in front is dropped, a long one is cut', () => {
    assert.equal(reasonOf('rtsp://127.0.0.1:8554/live: DESCRIBE 401 Unauthorized (credentials rejected)'), 'DESCRIBE 401 Unauthorized (credentials rejected)');
    assert.equal(reasonOf('sip://10.0.0.5:5060: no SIP response within 3000 ms'), 'no SIP response within 3000 ms');
    assert.equal(reasonOf('probe failed: boom'), 'probe failed: boom');
    assert.equal(reasonOf(`x: ${'y'.repeat(400)}`).length, 256);
  });
});

describe('flapping guard', () => {
  it('reports offline only after N failures in a row; one success brings it back', () => {
    const g = new FlapGuard(3);
    const seq = [true, false, false, true, false, false, false, false, true].map((ok) => g.update('x', ok).status);
    assert.deepEqual(seq, ['online', 'online', 'online', 'online', 'online', 'online', 'offline', 'offline', 'online']);
    // A device never seen online is offline at once.
    assert.equal(new FlapGuard(3).update('y', false).status, 'offline');
  });
});

describe('backoff', () => {
  it('grows exponentially up to the cap, with full jitter', () => {
    assert.equal(backoffDelay(1, 1000, 60_000, () => 1), 1000);
    assert.equal(backoffDelay(4, 1000, 60_000, () => 1), 8000);
    assert.equal(backoffDelay(20, 1000, 60_000, () => 1), 60_000);
    assert.equal(backoffDelay(4, 1000, 60_000, () => 0.5), 4000);
    assert.ok(backoffDelay(4, 1000, 60_000, () => 0) > 0);
  });
});
