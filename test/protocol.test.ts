import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makeEpId, parseReport, pointerToField, ReportValidationError, toWire } from '../src/protocol/index.js';

const sub = (over: Record<string, unknown> = {}) => ({
  ep_id: 'BOX1__192.168.1.101',
  ep_ip: '192.168.1.101',
  ep_status: 'online',
  ep_location: '95274d2c-0941-4d96-b032-ab200f81362c',
  ep_type: 'rtsp',
  ...over,
});

function rejects(body: unknown, field: string, reason: RegExp) {
  assert.throws(
    () => parseReport(body),
    (e: unknown) => {
      assert.ok(e instanceof ReportValidationError, `expected ReportValidationError, got ${String(e)}`);
      assert.equal(e.field, field);
      assert.match(e.reason, reason);
      return true;
    },
  );
}

describe('protocol: parseReport', () => {
  it('accepts the seed example and fills ep_name', () => {
    const r = parseReport({ dev_sno: 'BOX1', sub_devices: [sub()] });
    assert.equal(r.dev_sno, 'BOX1');
    assert.deepEqual(r.sub_devices[0], { ...sub(), ep_name: '', extra: {} });
  });

  it('normalizes case and whitespace', () => {
    const r = parseReport({ dev_sno: ' BOX1 ', sub_devices: [sub({ ep_status: 'ONLINE ', ep_type: 'GB28181', ep_name: ' gate ' })] });
    assert.equal(r.dev_sno, 'BOX1');
    assert.equal(r.sub_devices[0]!.ep_status, 'online');
    assert.equal(r.sub_devices[0]!.ep_type, 'gb28181');
    assert.equal(r.sub_devices[0]!.ep_name, 'gate');
  });

  it('keeps unknown fields as extra and puts them back on the wire', () => {
    const body = { dev_sno: 'BOX1', fw: '2.1', sub_devices: [sub({ channel: 3 })] };
    const r = parseReport(body);
    assert.deepEqual(r.extra, { fw: '2.1' });
    assert.deepEqual(r.sub_devices[0]!.extra, { channel: 3 });
    assert.deepEqual(toWire(r), { dev_sno: 'BOX1', fw: '2.1', sub_devices: [{ ...sub({ channel: 3 }), ep_name: '' }] });
  });

  it('accepts an rtsp url as the ep_id suffix and an empty sub-device list', () => {
    const id = makeEpId('BOX1', 'rtsp://10.0.0.5:554/stream1');
    assert.equal(id, 'BOX1__rtsp://10.0.0.5:554/stream1');
    assert.equal(parseReport({ dev_sno: 'BOX1', sub_devices: [sub({ ep_id: id })] }).sub_devices[0]!.ep_id, id);
    assert.deepEqual(parseReport({ dev_sno: 'BOX1', sub_devices: [] }).sub_devices, []);
  });

  it('rejects each bad field by name', () => {
    rejects(null, '(body)', /JSON object/);
    rejects([], '(body)', /JSON object/);
    rejects({ sub_devices: [] }, 'dev_sno', /required/);
    rejects({ dev_sno: '', sub_devices: [] }, 'dev_sno', /empty/);
    rejects({ dev_sno: 5, sub_devices: [] }, 'dev_sno', /string/);
    rejects({ dev_sno: 'BOX1' }, 'sub_devices', /required/);
    rejects({ dev_sno: 'BOX1', sub_devices: {} }, 'sub_devices', /array/);
    rejects({ dev_sno: 'BOX1', sub_devices: [sub(), 'x'] }, 'sub_devices[1]', /object/);
    rejects({ dev_sno: 'BOX1', sub_devices: [sub({ ep_status: 'up' })] }, 'sub_devices[0].ep_status', /one of: online, offline/);
    rejects({ dev_sno: 'BOX1', sub_devices: [sub({ ep_type: 'usb' })] }, 'sub_devices[0].ep_type', /one of: photo, rtsp, file, gb28181/);
    rejects({ dev_sno: 'BOX1', sub_devices: [sub({ ep_location: undefined })] }, 'sub_devices[0].ep_location', /required/);
    rejects({ dev_sno: 'BOX1', sub_devices: [sub({ ep_name: 7 })] }, 'sub_devices[0].ep_name', /string/);
    rejects({ dev_sno: 'BOX1', sub_devices: [sub({ ep_ip: '' })] }, 'sub_devices[0].ep_ip', /empty/);
    rejects({ dev_sno: 'BOX1', sub_devices: [sub(), sub()] }, 'sub_devices[1].ep_id', /repeated/);
    // A long list is checked another way (a set rather than comparing): the same rule.
    const many = Array.from({ length: 20 }, (_, i) => sub({ ep_id: `BOX1__10.0.1.${i}`, ep_ip: `10.0.1.${i}` }));
    rejects({ dev_sno: 'BOX1', sub_devices: [...many, sub({ ep_id: 'BOX1__10.0.1.7' })] }, 'sub_devices[20].ep_id', /repeated/);
    rejects({ dev_sno: 'BOX1', sub_devices: [sub({ ep_location: 'a\u0000b' })] }, 'sub_devices[0].ep_location', /NUL/);
    rejects({ dev_sno: 'BOX1', sub_devices: [sub({ ep_ip: '10.0.0.\u00001' })] }, 'sub_devices[0].ep_ip', /NUL/);
    rejects({ dev_sno: 'BOX1', sub_devices: [sub({ ep_id: 'BOX1__' })] }, 'sub_devices[0].ep_id', /missing/);
    rejects({ dev_sno: 'BOX1', sub_devices: [sub({ ep_name: 'cam\u0000one' })] }, 'sub_devices[0].ep_name', /NUL/);
    rejects({ dev_sno: 'BO\u0000X1', sub_devices: [] }, 'dev_sno', /NUL/);
  });

  it("rejects a box reporting another box's sub-device", () => {
    rejects({ dev_sno: 'BOX1', sub_devices: [sub({ ep_id: 'BOX2__192.168.1.101' })] }, 'sub_devices[0].ep_id', /dev_sno "BOX1"/);
    // A prefix of the box's code is not enough: BOX1 must be followed by the separator.
    rejects({ dev_sno: 'BOX1', sub_devices: [sub({ ep_id: 'BOX10__192.168.1.101' })] }, 'sub_devices[0].ep_id', /dev_sno "BOX1"/);
  });

  it('lets a file sub-device have no ip', () => {
    const r = parseReport({ dev_sno: 'BOX1', sub_devices: [sub({ ep_type: 'file', ep_ip: '', ep_id: 'BOX1__/data/a.mp4' })] });
    assert.equal(r.sub_devices[0]!.ep_ip, '');
  });

  it('does not modify the caller object', () => {
    const body = { dev_sno: ' BOX1 ', sub_devices: [sub({ ep_status: 'ONLINE' })] };
    parseReport(body);
    assert.equal(body.dev_sno, ' BOX1 ');
    assert.equal(body.sub_devices[0]!.ep_status, 'ONLINE');
  });

  it('renders JSON pointers as readable field paths', () => {
    assert.equal(pointerToField('/sub_devices/2/ep_status'), 'sub_devices[2].ep_status');
    assert.equal(pointerToField(''), '(body)');
  });
});
