import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { PostgresStore } from '../src/store/index.js';
import { createTestDatabase, onDatabase } from './support/pg.js';
import { backends, report, sqliteBackend, startServer, withFreshServer, type Backend, type RunningServer } from './support/server.js';

const send = (server: RunningServer, method: string, path: string, body?: unknown) =>
  fetch(`${server.url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

async function withServer(backend: Backend, mode: 'open' | 'strict', fn: (server: RunningServer) => Promise<void>) {
  await withFreshServer(backend, { registryMode: mode, offline: false }, fn);
}

for (const backend of backends()) {
  describe(`device registry, strict mode (${backend.name})`, () => {
    let server: RunningServer;
    let fresh: Awaited<ReturnType<Backend['fresh']>>;
    before(async () => {
      fresh = await backend.fresh();
      server = await startServer(fresh.store, { registryMode: 'strict', offline: false });
    });
    after(async () => {
      await server.close();
      await fresh.store.close();
      await fresh.cleanup();
    });

    it('refuses an unknown dev_sno with 403 naming it, and stores nothing', async () => {
      const res = await server.post(report('UNKNOWN1', { '10.0.0.1': 'online' }));
      assert.equal(res.status, 403);
      const err = await res.json();
      assert.equal(err.error, 'forbidden');
      assert.equal(err.field, 'dev_sno');
      assert.equal(err.dev_sno, 'UNKNOWN1');
      assert.match(err.message, /UNKNOWN1/);
      assert.equal((await server.get('/api/devices/UNKNOWN1')).status, 404);
      assert.equal((await server.get('/api/admin/codes/UNKNOWN1')).status, 404);
      assert.deepEqual(await fresh.store.history('UNKNOWN1'), []);
    });

    it('issues a code that a box can then report with; name and location show in the device API', async () => {
      const res = await send(server, 'POST', '/api/admin/codes', { name: 'Gate east', location: 'Building 3' });
      assert.equal(res.status, 201);
      const code = await res.json();
      assert.match(code.dev_sno, /^[A-Z0-9]{24}$/);
      assert.equal(code.source, 'issued');
      assert.equal(code.status, 'active');
      assert.equal(code.last_report_at, null);
      const other = await (await send(server, 'POST', '/api/admin/codes')).json(); // no body at all
      assert.notEqual(other.dev_sno, code.dev_sno);
      assert.equal(other.name, null);

      assert.equal((await server.post(report(code.dev_sno, { '10.0.0.1': 'online' }))).status, 200);
      const box = await (await server.get(`/api/devices/${code.dev_sno}`)).json();
      assert.equal(box.box.name, 'Gate east');
      assert.equal(box.box.location, 'Building 3');
      const list = await (await server.get('/api/devices?q=gate')).json();
      assert.deepEqual(list.boxes.map((b: { dev_sno: string; name: string }) => [b.dev_sno, b.name]), [[code.dev_sno, 'Gate east']]);
      const entry = await (await server.get(`/api/admin/codes/${code.dev_sno}`)).json();
      assert.notEqual(entry.last_report_at, null);
    });

    it('registers an existing code once (409 the second time)', async () => {
      const res = await send(server, 'POST', '/api/admin/codes', { dev_sno: 'ZKZCPI000120190807142601', location: 'lab' });
      assert.equal(res.status, 201);
      assert.equal((await res.json()).source, 'registered');
      const again = await send(server, 'POST', '/api/admin/codes', { dev_sno: 'ZKZCPI000120190807142601' });
      assert.equal(again.status, 409);
      assert.equal((await again.json()).field, 'dev_sno');
      assert.equal((await server.post(report('ZKZCPI000120190807142601', { '192.168.1.101': 'online' }))).status, 200);
    });

    it('refuses a revoked code (nothing stored) and accepts it again once reinstated', async () => {
      const devSno = 'ZKZCPI000120190807142601';
      const revoked = await send(server, 'POST', `/api/admin/codes/${devSno}/revoke`);
      assert.equal(revoked.status, 200);
      const entry = await revoked.json();
      assert.equal(entry.status, 'revoked');
      assert.notEqual(entry.revoked_at, null);
      const res = await server.post(report(devSno, { '192.168.1.101': 'offline' }));
      assert.equal(res.status, 403);
      assert.match((await res.json()).message, /revoked/);
      const box = await (await server.get(`/api/devices/${devSno}`)).json();
      assert.equal(box.box.report_count, 1);
      assert.equal(box.sub_devices[0].ep_status, 'online');
      const codes = await (await server.get('/api/admin/codes?status=revoked')).json();
      assert.deepEqual(codes.codes.map((c: { dev_sno: string }) => c.dev_sno), [devSno]);

      assert.equal((await send(server, 'POST', `/api/admin/codes/${devSno}/reinstate`)).status, 200);
      assert.equal((await server.post(report(devSno, { '192.168.1.101': 'offline' }))).status, 200);
      assert.equal((await send(server, 'POST', '/api/admin/codes/NOPE/revoke')).status, 404);
    });

    it('sets and clears names and locations, validating the body', async () => {
      const devSno = 'ZKZCPI000120190807142601';
      const res = await send(server, 'PATCH', `/api/admin/devices/${devSno}`, { name: 'Lobby box' });
      assert.equal(res.status, 200);
      const e = await res.json();
      assert.deepEqual([e.name, e.location], ['Lobby box', 'lab']);
      const cleared = await (await send(server, 'PATCH', `/api/admin/devices/${devSno}`, { location: null })).json();
      assert.deepEqual([cleared.name, cleared.location], ['Lobby box', null]);
      const box = await (await server.get(`/api/devices/${devSno}`)).json();
      assert.equal(box.box.name, 'Lobby box');
      assert.equal((await send(server, 'PATCH', '/api/admin/devices/NOPE', { name: 'x' })).status, 404);
      const bad = await send(server, 'PATCH', `/api/admin/devices/${devSno}`, { name: { first: 'x' } });
      assert.equal(bad.status, 400);
      assert.equal((await bad.json()).error, 'bad_request');
      assert.equal((await send(server, 'PATCH', `/api/admin/devices/${devSno}`, { colour: 'red' })).status, 400);
      assert.equal((await send(server, 'POST', '/api/admin/codes', { dev_sno: 'has space' })).status, 400);
      assert.equal((await server.get('/api/admin/codes?status=maybe')).status, 400);
    });
  });

  describe(`device registry, open mode (default, ${backend.name})`, () => {
    it('registers an unknown dev_sno on its first report, but still refuses a revoked one', async () => {
      await withServer(backend, 'open', async (server) => {
        assert.equal((await server.post(report('AUTO1', { '10.0.0.1': 'online' }))).status, 200);
        const codes = await (await server.get('/api/admin/codes')).json();
        assert.equal(codes.total, 1);
        assert.equal(codes.codes[0].dev_sno, 'AUTO1');
        assert.equal(codes.codes[0].source, 'auto');
        assert.equal((await send(server, 'POST', '/api/admin/codes/AUTO1/revoke')).status, 200);
        const res = await server.post(report('AUTO1', { '10.0.0.1': 'offline' }));
        assert.equal(res.status, 403);
        assert.equal((await (await server.get('/api/devices/AUTO1')).json()).box.report_count, 1);
      });
    });
  });
}

describe('device registry migration', () => {
  it('registers boxes that reported before the registry existed (sqlite)', async () => {
    const fresh = await sqliteBackend.fresh();
    await fresh.store.ingest({ dev_sno: 'OLD1', sub_devices: [], extra: {} }, Date.now());
    const file = (fresh.store as unknown as { db: { name: string } }).db.name;
    await fresh.store.close();
    // Turn the file back into a database of schema version 1 (version 5 already dropped the
    // column that version 4 adds).
    const raw = new Database(file);
    raw.exec(
      'DROP TABLE registry; DROP TABLE alert_deliveries; DROP TABLE alert_subjects; ' +
        // The alerting tables (issue 12), added by the last migration.
        'DROP TABLE alert_channels; DROP TABLE alert_rules; DROP TABLE alert_silences; DROP TABLE alert_engine; ' +
        'DROP TABLE alert_acks; DROP TABLE alert_notifications; DROP TABLE alert_suppressed; ' +
        // The ep_detail column of history (added by a later migration than version 1).
        'ALTER TABLE history DROP COLUMN detail; ' +
        'DELETE FROM schema_migrations WHERE version > 1',
    );
    raw.close();
    const store = await fresh.reopen();
    try {
      const code = await store.getCode('OLD1');
      assert.equal(code?.source, 'auto');
      assert.equal(code?.status, 'active');
    } finally {
      await store.close();
      await fresh.cleanup();
    }
  });

  it('registers boxes that reported before the registry existed (postgres)', async () => {
    const db = await createTestDatabase();
    try {
      const first = await PostgresStore.open({ url: db.url });
      await first.ingest({ dev_sno: 'OLD1', sub_devices: [], extra: {} }, Date.now());
      await first.close();
      // Turn the database back into one of schema version 1.
      await onDatabase(db, (c) =>
        c.query(
          'DROP TABLE registry, alert_deliveries, alert_subjects, alert_channels, alert_rules, alert_silences, alert_engine, ' +
            'alert_acks, alert_notifications, alert_suppressed; DELETE FROM schema_migrations WHERE version > 1',
        ),
      );
      const store = await PostgresStore.open({ url: db.url });
      try {
        const code = await store.getCode('OLD1');
        assert.equal(code?.source, 'auto');
        assert.equal(code?.status, 'active');
        assert.equal((await store.listCodes()).length, 1);
      } finally {
        await store.close();
      }
    } finally {
      await db.drop();
    }
  });
});
