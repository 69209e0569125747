// The three report dialects, the login exchange and the sub-device event, as the protocol module
// reads and writes them (docs/protocol-dialects.md).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import {
  BYTES_PER_MB,
  checkNestingDepth,
  decodeUtf8Strict,
  echoOf,
  firstInvalidUtf8Offset,
  LIMITS,
  loginUrlFor,
  parseAnyReport,
  parseLoginQuery,
  parseLoginResponse,
  parseReport,
  parseReportBytes,
  parseReportDetailed,
  parseSubDeviceEvent,
  redactText,
  redactUrl,
  textWithoutUserInfo,
  withoutUserInfo,
  ReportValidationError,
  toDialectWire,
  toEventWire,
} from '../src/protocol/index.js';
import { backends, startServer, type RunningServer } from './support/server.js';

const exampleText = (name: string) => readFileSync(new URL(`../examples/reports/${name}.json`, import.meta.url), 'utf8');
const example = (name: string) => JSON.parse(exampleText(name)) as Record<string, any>;

function refuses(fn: () => unknown, field: string, reason: RegExp) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ReportValidationError, `expected ReportValidationError, got ${String(e)}`);
    assert.equal(e.field, field);
    assert.match(e.reason, reason);
    return true;
  });
}

/** A value nested `depth` objects deep: {"a":{"a":...1}}. */
const nested = (depth: number) => JSON.parse('{"a":'.repeat(depth - 1) + '{"a":1}' + '}'.repeat(depth - 1));

describe('protocol dialects: the current one', () => {
  it('validates as today and echoes the very bytes it came in', () => {
    const text = exampleText('current');
    const bytes = Buffer.from(text);
    const parsed = parseReportBytes(bytes);
    assert.equal(parsed.dialect, 'current');
    assert.equal(parsed.report.dialect, 'current');
    assert.equal(parsed.normalized, false);
    const today = parseReportDetailed(JSON.parse(text));
    assert.deepEqual({ ...parsed.report, dialect: undefined }, { ...today.report, dialect: undefined });
    assert.equal(echoOf(parsed, bytes), bytes);
    assert.deepEqual(toDialectWire(parsed.report), JSON.parse(text));
  });

  it('normalizes the same way as today, and says the same about bad fields', () => {
    const body = example('current');
    body.dev_sno = ` ${body.dev_sno} `;
    body.sub_devices[0].ep_status = 'ONLINE';
    delete body.sub_devices[1].ep_name;
    const any = parseAnyReport(body);
    assert.equal(any.normalized, true);
    assert.deepEqual({ ...any.report, dialect: undefined }, { ...parseReport(body), dialect: undefined });
    const bad = example('current');
    bad.sub_devices[1].ep_id = 'OTHER__10.0.0.1';
    refuses(() => parseAnyReport(bad), 'sub_devices[1].ep_id', /with dev_sno "ZKZCPI000120190807142601"/);
    refuses(() => parseAnyReport({ sub_devices: [] }), 'dev_sno', /required/);
    refuses(() => parseAnyReport('x'), '(body)', /JSON object/);
  });

  it('accepts vendor ep_type codes and names, and echoes a code back as the code', () => {
    const body = example('current');
    body.sub_devices[0].ep_type = 1;
    body.sub_devices[1].ep_type = 'Access_Control';
    const { report, normalized } = parseAnyReport(body);
    assert.equal(normalized, true);
    assert.equal(report.dialect, 'current');
    assert.equal(report.sub_devices[0]!.ep_type, 'snapshot');
    assert.equal(report.sub_devices[0]!.ep_type_code, 1);
    assert.equal(report.sub_devices[1]!.ep_type, 'access_control');
    assert.equal(report.sub_devices[1]!.ep_type_code, undefined);
    const wire = toDialectWire(report) as any;
    assert.equal(wire.sub_devices[0].ep_type, 1);
    assert.equal(wire.sub_devices[1].ep_type, 'access_control');
    // Today's entry point is unchanged: it knows the four names only.
    refuses(() => parseReport(body), 'sub_devices[0].ep_type', /one of: photo, rtsp, file, gb28181/);
    for (const code of [5, -1, 1.5]) {
      body.sub_devices[0].ep_type = code;
      refuses(() => parseAnyReport(body), 'sub_devices[0].ep_type', /one of: photo, rtsp, file, gb28181, gate, snapshot, ipc_static, ipc_dynamic, access_control, or a vendor code 0-4/);
    }
  });

  it('lifts ep_url and ep_detail into the model, keeps other unknown fields, and bounds ep_detail', () => {
    const body = example('current');
    body.sub_devices[1].ep_detail = 'x'.repeat(1000);
    body.sub_devices[0].ep_url = 'rtsp://admin:pw@192.168.1.101:554/h264';
    body.sub_devices[0].channel = 3;
    const { report } = parseAnyReport(body);
    assert.equal(report.sub_devices[0]!.ep_url, 'rtsp://admin:pw@192.168.1.101:554/h264');
    assert.deepEqual(report.sub_devices[0]!.extra, { channel: 3 });
    const detail = report.sub_devices[1]!.ep_detail!;
    assert.equal(detail.length, LIMITS.epDetailMaxLength);
    assert.ok(detail.endsWith('…'));
    refuses(() => parseAnyReport({ ...body, sub_devices: [{ ...body.sub_devices[0], ep_detail: 5 }] }), 'sub_devices[0].ep_detail', /string/);
  });

  it('hides credentials in ep_detail before anything keeps or shows it', () => {
    const body = example('current');
    body.sub_devices[0].ep_detail = 'DESCRIBE rtsp://admin:Hik12345@192.168.1.101:554/h264?token=abc failed, retry with password=hunter2; pwd: s3cret';
    body.sub_devices[1].ep_detail = 'DESCRIBE 401 credentials rejected';
    const { report } = parseAnyReport(body);
    assert.equal(
      report.sub_devices[0]!.ep_detail,
      'DESCRIBE rtsp://***@192.168.1.101:554/h264?token=*** failed, retry with password=***; pwd: ***',
    );
    assert.equal(report.sub_devices[1]!.ep_detail, 'DESCRIBE 401 credentials rejected', 'a reason without secrets stays as sent');
    assert.equal(redactText('ECONNREFUSED 10.0.0.5:554'), 'ECONNREFUSED 10.0.0.5:554');
    assert.equal(redactText('timeout after 3000 ms'), 'timeout after 3000 ms');
  });
});

describe('protocol dialects: the richer one', () => {
  it('validates, normalizes health into explicit units, and echoes back in the richer dialect', () => {
    const text = exampleText('rich');
    const parsed = parseReportBytes(Buffer.from(text));
    assert.equal(parsed.dialect, 'rich');
    const r = parsed.report;
    assert.equal(r.dev_sno, 'AFVKQF000120210604151110');
    assert.deepEqual(r.gateway, { sn: 'SE3A2107001234', ip: '192.168.1.19', name: '仓库 AI 盒子', status: 'online' });
    assert.deepEqual(r.health, {
      cpu_pct: 37.5,
      mem_pct: 61.2,
      mem_total_bytes: 4096 * BYTES_PER_MB,
      disk_pct: 66.7,
      disk_total_bytes: 61440 * BYTES_PER_MB,
      disk_free_bytes: 20480 * BYTES_PER_MB,
      sw_version: '2.4.1',
      sdk_version: '3.0.0',
      mac: 'e0:a5:09:12:34:56',
    });
    assert.deepEqual(r.extra, {});
    assert.deepEqual(
      r.sub_devices.map((s) => [s.ep_type, s.ep_type_code, s.ep_status, s.ep_detail]),
      [
        ['ipc_static', 2, 'online', undefined],
        ['gate', 0, 'offline', 'ECONNREFUSED'],
        ['rtsp', undefined, 'offline', 'DESCRIBE 401 credentials rejected'],
      ],
    );
    // Stored as given; shown without the credentials.
    assert.equal(r.sub_devices[0]!.ep_url, 'rtsp://admin:hik12345@192.168.1.101:554/Streaming/Channels/101');
    assert.equal(redactUrl(r.sub_devices[0]!.ep_url!), 'rtsp://***@192.168.1.101:554/Streaming/Channels/101');
    assert.deepEqual(toDialectWire(r), JSON.parse(text));
    assert.deepEqual(JSON.parse(echoOf(parsed, Buffer.from(text)) as string), JSON.parse(text));
  });

  it('reads figures sent as text, treats empty ones as unknown, and refuses garbage by name', () => {
    const body = example('rich');
    body.gateway_ext_data.cpu_usage = ' 12.5% ';
    body.gateway_ext_data.memory_usage = '';
    body.gateway_ext_data.memory_size = '2048MB';
    body.gateway_ext_data.npu_temp = 61;
    body.gateway_status = 'OFFLINE';
    const r = parseAnyReport(body).report;
    assert.equal(r.health!.cpu_pct, 12.5);
    assert.equal(r.health!.mem_pct, undefined);
    assert.equal(r.health!.mem_total_bytes, 2048 * BYTES_PER_MB);
    assert.equal(r.gateway!.status, 'offline');
    assert.deepEqual(r.gateway!.ext_extra, { npu_temp: 61 });
    assert.equal((toDialectWire(r) as any).gateway_ext_data.npu_temp, 61);
    body.gateway_ext_data.cpu_usage = 'high';
    refuses(() => parseAnyReport(body), 'gateway_ext_data.cpu_usage', /percentage.*"high"/);
    body.gateway_ext_data.cpu_usage = -3;
    refuses(() => parseAnyReport(body), 'gateway_ext_data.cpu_usage', /percentage/);
    body.gateway_ext_data.cpu_usage = 10;
    body.gateway_status = 'up';
    refuses(() => parseAnyReport(body), 'gateway_status', /one of: online, offline/);
  });
});

describe('protocol dialects: the older one', () => {
  it('names the box by gateway_sn, reads its health and ep_ext_data, and echoes back in the older dialect', () => {
    const text = exampleText('legacy');
    const parsed = parseReportBytes(Buffer.from(text));
    assert.equal(parsed.dialect, 'legacy');
    const r = parsed.report;
    assert.equal(r.dev_sno, 'ZKZCPI000120190807142601');
    assert.deepEqual(r.health, { cpu_pct: 12.5, mem_pct: 48, disk_pct: 71.3, status_code: 0, status_desc: '正常' });
    assert.deepEqual(
      r.sub_devices.map((s) => [s.ep_type, s.ep_type_code, s.ep_ext_data]),
      [
        ['snapshot', 1, { sw_version: 'V5.5.0', group_name: '北门' }],
        ['access_control', 4, { sw_version: 'V2.1', group_name: '北门' }],
      ],
    );
    const echo = JSON.parse(echoOf(parsed, Buffer.from(text)) as string);
    assert.deepEqual(echo, JSON.parse(text));
    assert.equal(echo.dev_sno, undefined, 'the older dialect has no dev_sno');
  });

  it('holds sub-devices to the same rules as today', () => {
    const body = example('legacy');
    body.sub_devices[1].ep_id = body.sub_devices[0].ep_id;
    refuses(() => parseAnyReport(body), 'sub_devices[1].ep_id', /repeated/);
    refuses(() => parseAnyReport({ gateway_sn: '', sub_devices: [] }), 'gateway_sn', /empty/);
    refuses(() => parseAnyReport({ gateway_sn: 'BOX1' }), 'sub_devices', /required/);
  });
});

describe('the sub-device change event', () => {
  it('validates an add, normalizes the vendor type and renders back as sent', () => {
    const body = example('sub-device-event');
    const event = parseSubDeviceEvent(body);
    assert.equal(event.action, 'add');
    assert.equal(event.dev_sno, 'AFVKQF000120210604151110');
    assert.equal(event.sub_devices[0]!.ep_type, 'ipc_dynamic');
    assert.equal(event.sub_devices[0]!.ep_type_code, 3);
    assert.deepEqual(toEventWire(event), body);
  });

  it('takes a delete by ep_id alone, from a box named by gateway_sn, and refuses a bad action by name', () => {
    const event = parseSubDeviceEvent({ gateway_sn: 'BOX1', action: 2, sub_devices: [{ ep_id: 'BOX1__10.0.0.9' }] });
    assert.equal(event.action, 'delete');
    assert.deepEqual(toEventWire(event), { gateway_sn: 'BOX1', action: 2, sub_devices: [{ ep_id: 'BOX1__10.0.0.9' }] });
    refuses(() => parseSubDeviceEvent({ dev_sno: 'BOX1', action: 3, sub_devices: [{ ep_id: 'BOX1__a' }] }), 'action', /1 \(sub-devices added\) or 2/);
    refuses(() => parseSubDeviceEvent({ action: 1, sub_devices: [{ ep_id: 'BOX1__a' }] }), 'dev_sno', /required/);
    refuses(() => parseSubDeviceEvent({ dev_sno: 'BOX1', action: 1, sub_devices: [{ ep_id: 'BOX2__a' }] }), 'sub_devices[0].ep_id', /dev_sno "BOX1"/);
    refuses(() => parseSubDeviceEvent({ dev_sno: 'BOX1', action: 1, sub_devices: [] }), 'sub_devices', /at least 1|minItems|1/);
  });
});

describe('strict UTF-8', () => {
  it('refuses bytes that are not UTF-8, naming the byte, so different bytes never become the same text', () => {
    const errors: string[] = [];
    for (const bytes of [Buffer.from('UTF\xff', 'latin1'), Buffer.from('UTF\xfe', 'latin1')]) {
      assert.throws(
        () => decodeUtf8Strict(bytes),
        (e: unknown) => {
          assert.ok(e instanceof ReportValidationError);
          assert.equal(e.field, '(body)');
          assert.match(e.reason, /not valid UTF-8: byte 0xF[EF] at offset 3/);
          errors.push(e.reason);
          return true;
        },
      );
    }
    assert.notEqual(errors[0], errors[1]);
    // GBK text (what a Chinese Windows tool may send) is refused, with a hint.
    const gbk = Buffer.from([0x7b, 0x22, 0xb6, 0xab, 0xc3, 0xc5, 0x22, 0x7d]); // {"东门"} in GBK
    assert.throws(() => decodeUtf8Strict(gbk), /offset 2.*GBK/);
    for (const bad of [[0xc0, 0x80], [0xed, 0xa0, 0x80], [0xe4, 0xb8], [0xf4, 0x90, 0x80, 0x80], [0x80]]) {
      assert.throws(() => decodeUtf8Strict(Buffer.from(bad)), /not valid UTF-8/, JSON.stringify(bad));
    }
  });

  it('skips a leading byte order mark and keeps everything else as sent', () => {
    assert.equal(decodeUtf8Strict(Buffer.from('\ufeff{"名":"东门"}')), '{"名":"东门"}');
    assert.equal(decodeUtf8Strict(Buffer.from('{"a":"\ufeff"}')), '{"a":"\ufeff"}');
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(exampleText('current'))]);
    const parsed = parseReportBytes(bytes);
    assert.equal(parsed.report.dev_sno, 'ZKZCPI000120190807142601');
    // The echo is the report, not the byte order mark.
    assert.deepEqual(JSON.parse(echoOf(parsed, bytes) as string), example('current'));
    assert.throws(() => decodeUtf8Strict(Buffer.from([0xef, 0xbb, 0xbf, 0xff])), /offset 3/);
  });

  it('finds the first bad byte exactly where a strict decoder stops', () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
    for (let n = 0; n < 3000; n++) {
      const bytes = Buffer.from(Array.from({ length: 1 + Math.floor(rnd() * 8) }, () => (rnd() < 0.5 ? 0xe0 + Math.floor(rnd() * 32) : Math.floor(rnd() * 256))));
      const at = firstInvalidUtf8Offset(bytes);
      let valid = true;
      try {
        decoder.decode(bytes);
      } catch {
        valid = false;
      }
      assert.equal(at === -1, valid, bytes.toString('hex'));
      if (at > 0) assert.doesNotThrow(() => decoder.decode(bytes.subarray(0, at)), bytes.toString('hex'));
    }
  });
});

describe('nesting depth of unknown fields', () => {
  it('refuses a 5,000-level field with a validation error naming it, in every dialect and place', () => {
    const deep = nested(5000);
    const current = example('current');
    refuses(() => parseReportDetailed({ ...current, vendor_blob: deep }), 'vendor_blob', /more than 32 levels/);
    const sub = example('current');
    sub.sub_devices[1].vendor_blob = deep;
    refuses(() => parseReportDetailed(sub), 'sub_devices[1].vendor_blob', /more than 32 levels/);
    refuses(() => parseAnyReport(sub), 'sub_devices[1].vendor_blob', /more than 32 levels/);
    const rich = example('rich');
    rich.gateway_ext_data.npu = deep;
    refuses(() => parseAnyReport(rich), 'gateway_ext_data.npu', /more than 32 levels/);
    const legacy = example('legacy');
    legacy.sub_devices[0].ep_ext_data.tree = deep;
    refuses(() => parseAnyReport(legacy), 'sub_devices[0].ep_ext_data.tree', /more than 32 levels/);
    const text = `{"dev_sno":"B","sub_devices":[],"x":${'['.repeat(5000)}${']'.repeat(5000)}}`;
    refuses(() => parseReportBytes(Buffer.from(text)), 'x', /more than 32 levels/);
  });

  it('takes 32 levels, not 33', () => {
    assert.doesNotThrow(() => checkNestingDepth(nested(32), 'f'));
    refuses(() => checkNestingDepth(nested(33), 'f'), 'f', /32/);
    assert.equal(parseReport({ dev_sno: 'B', sub_devices: [], f: nested(32) }).extra.f !== undefined, true);
  });
});

describe('withoutUserInfo', () => {
  it('leaves the user-info out, found as redactUrl finds it (a password with "/" or "@" too)', () => {
    assert.equal(withoutUserInfo('rtsp://admin:s3cret@10.0.0.1:554/live'), 'rtsp://10.0.0.1:554/live');
    assert.equal(withoutUserInfo('rtsp://admin:p/ss@w0rd@10.0.0.1/live?x=1'), 'rtsp://10.0.0.1/live?x=1');
    assert.equal(withoutUserInfo('rtsp://10.0.0.1/live'), 'rtsp://10.0.0.1/live');
    assert.equal(withoutUserInfo('10.0.0.1'), '10.0.0.1');
    assert.equal(textWithoutUserInfo('BOX__rtsp://admin:p/ss@10.0.0.1/live'), 'BOX__rtsp://10.0.0.1/live');
    assert.equal(textWithoutUserInfo('cam rtsp://a:b@10.0.0.2/x and RTSP://c:d@10.0.0.3/y'), 'cam rtsp://10.0.0.2/x and RTSP://10.0.0.3/y');
    assert.equal(textWithoutUserInfo('BOX__10.0.0.4'), 'BOX__10.0.0.4');
  });
});

describe('redactUrl', () => {
  it('hides user and password, and credential-like query values, leaving the rest readable', () => {
    for (const [url, shown] of [
      ['rtsp://admin:hik12345@192.168.1.101:554/Streaming/Channels/101', 'rtsp://***@192.168.1.101:554/Streaming/Channels/101'],
      ['rtsp://192.168.1.101:554/live/main', 'rtsp://192.168.1.101:554/live/main'],
      ['rtsp://admin:p@ss/w?rd@10.0.0.5/h264', 'rtsp://***@10.0.0.5/h264'],
      ['rtsp://10.0.0.5/cam/realmonitor?channel=1&user=admin&password=x1&subtype=0', 'rtsp://10.0.0.5/cam/realmonitor?channel=1&user=***&password=***&subtype=0'],
      ['http://[fe80::1]:8080/a?token=abc#t', 'http://[fe80::1]:8080/a?token=***#t'],
      ['/system/data/videos/gate-001.mp4', '/system/data/videos/gate-001.mp4'],
    ] as const) {
      assert.equal(redactUrl(url), shown);
    }
  });
});

describe('the login exchange', () => {
  it('checks the query a box sends', () => {
    assert.deepEqual(parseLoginQuery(new URLSearchParams('dev_sno=ZKZCPI000120190807142601&hex_mac=E0:A5:09:12:34:56')), {
      dev_sno: 'ZKZCPI000120190807142601',
      mac: 'e0a509123456',
    });
    assert.deepEqual(parseLoginQuery({ dev_sno: 'B', hex_mac: 'e0a509123456' }), { dev_sno: 'B', mac: 'e0a509123456' });
    refuses(() => parseLoginQuery(new URLSearchParams('dev_sno=B&hex_mac=xyz')), 'hex_mac', /12 hex digits/);
    refuses(() => parseLoginQuery(new URLSearchParams('hex_mac=e0a509123456')), 'dev_sno', /required/);
    const url = loginUrlFor('http://127.0.0.1:9528/login', 'B 1', 'E0-A5-09-12-34-56');
    assert.equal(url.href, 'http://127.0.0.1:9528/login?dev_sno=B+1&hex_mac=e0a509123456');
  });

  it('reads the answer: where and how often to report, 20 s by default, relative addresses resolved', () => {
    const answer = parseLoginResponse(example('login-response'));
    assert.equal(answer.reportUrl, 'http://192.168.1.10:9528/DeviceStatus');
    assert.equal(answer.reportPeriodS, 20);
    assert.equal(answer.deviceInfoUrl, 'http://192.168.1.10:9528/DeviceInfo');
    assert.equal(answer.recordUploadPeriodS, 60);
    const short = parseLoginResponse({ token: 't', deviceMonitorAddr: '/DeviceStatus', deviceMonitorPeriod: '5', mqHost: '10.0.0.1' }, 'http://127.0.0.1:1/login');
    assert.equal(short.reportUrl, 'http://127.0.0.1:1/DeviceStatus');
    assert.equal(short.reportPeriodS, 5);
    assert.equal((short.wire as Record<string, unknown>)['mqHost'], '10.0.0.1');
    assert.equal(parseLoginResponse({ token: 't', deviceMonitorAddr: 'http://h/x' }).reportPeriodS, 20);
    refuses(() => parseLoginResponse({ token: 't', deviceMonitorAddr: '/x' }), 'deviceMonitorAddr', /must be a URL/);
    refuses(() => parseLoginResponse({ token: 't', deviceMonitorAddr: 'ftp://h/x' }), 'deviceMonitorAddr', /http/);
    refuses(() => parseLoginResponse({ deviceMonitorAddr: 'http://h/x' }), 'token', /required/);
    refuses(() => parseLoginResponse({ token: 't', deviceMonitorAddr: 'http://h/x', deviceMonitorPeriod: 0 }), 'deviceMonitorPeriod', /.+/);
  });
});

describe('the receiver today (current dialect, unchanged call)', () => {
  const backend = backends()[0]!;
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

  it('answers 400 naming the field for a 5,000-level extra instead of failing to store it', async () => {
    const body = `{"dev_sno":"DEEP1","sub_devices":[],"blob":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}`;
    const res = await server.post(body, { raw: true });
    assert.equal(res.status, 400);
    const answer = await res.json();
    assert.equal(answer.field, 'blob');
    assert.match(answer.reason, /more than 32 levels/);
    assert.equal((await server.get('/api/devices/DEEP1')).status, 404);
  });
});
