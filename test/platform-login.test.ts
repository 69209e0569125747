// The box login (GET /login?dev_sno=&hex_mac=): known codes learn where and how often to report
// (the protocol's login answer), refused codes are told why, the MACs are recorded and a second
// MAC flags the code; periods per box, per group and for the fleet. Both stores.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseLoginResponse } from '../src/protocol/index.js';
import { backends, withFreshServer, withFreshServerForSuite, type RunningServer } from './support/server.js';

const json = (body: unknown) => ({ method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

for (const backend of backends()) {
  describe(`box login (${backend.name})`, () => {
    let server: RunningServer;
    withFreshServerForSuite(backend, { registryMode: 'strict' }, (s) => {
      server = s;
    });
    const addCode = async (devSno: string) =>
      fetch(`${server.url}/api/admin/codes`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ dev_sno: devSno }) });
    const login = (devSno: string, mac: string) => server.get(`/login?dev_sno=${encodeURIComponent(devSno)}&hex_mac=${encodeURIComponent(mac)}`);

    it('answers a known code with a token, the report address and the fleet period, which the box reports to', async () => {
      assert.equal((await addCode('BOXLOGIN1')).status, 201);
      const res = await login('BOXLOGIN1', 'e0:a5:09:12:34:56');
      assert.equal(res.status, 200);
      const answer = parseLoginResponse(await res.json(), `${server.url}/login`);
      assert.equal(answer.reportUrl, `${server.url}/DeviceStatus`);
      assert.equal(answer.reportPeriodS, 20);
      assert.match(answer.token, /^[0-9a-f]{20}$/);
      // The address it was given takes its report.
      const report = { dev_sno: 'BOXLOGIN1', sub_devices: [] };
      const posted = await fetch(answer.reportUrl, { method: 'POST', body: JSON.stringify(report) });
      assert.equal(posted.status, 200);
    });

    it('refuses an unknown code in strict mode, and a revoked code, naming why', async () => {
      const unknown = await login('NOSUCHCODE', 'e0a509123456');
      assert.equal(unknown.status, 403);
      const body = await unknown.json();
      assert.equal(body.code, 'unknown_code');
      assert.match(body.message, /NOSUCHCODE is not a registered code/);
      await addCode('BOXREVOKED');
      await fetch(`${server.url}/api/admin/codes/BOXREVOKED/revoke`, { method: 'POST' });
      const revoked = await login('BOXREVOKED', 'e0a509123456');
      assert.equal(revoked.status, 403);
      assert.equal((await revoked.json()).code, 'revoked_code');
    });

    it('refuses a malformed MAC naming the field', async () => {
      const res = await login('BOXLOGIN1', 'not-a-mac');
      assert.equal(res.status, 400);
      const body = await res.json();
      assert.equal(body.field, 'hex_mac');
      assert.match(body.reason, /12 hex digits/);
    });

    it('records the MAC, and flags a code that logs in from a second MAC', async () => {
      await addCode('BOXCLONE');
      await login('BOXCLONE', 'AA:BB:CC:DD:EE:01');
      await login('BOXCLONE', 'aabbccddee01');
      let code = await (await server.get('/api/codes/BOXCLONE')).json();
      assert.equal(code.login.mac, 'aabbccddee01');
      assert.equal(code.login.mac_conflict, false);
      assert.equal(code.login.login_count, 2);
      await login('BOXCLONE', 'aa-bb-cc-dd-ee-02');
      code = await (await server.get('/api/codes/BOXCLONE')).json();
      assert.equal(code.login.mac_conflict, true);
      assert.deepEqual(code.login.macs, ['aabbccddee01', 'aabbccddee02']);
    });

    it('tells each box its own period, else its group\'s, else the fleet\'s', async () => {
      for (const c of ['BOXP1', 'BOXP2', 'BOXP3']) await addCode(c);
      const period = async (c: string) => (await (await login(c, '001122334455')).json()).deviceMonitorPeriod;
      assert.equal((await fetch(`${server.url}/api/groups/warehouse`, json({ report_period_s: 5 }))).status, 200);
      const put = await fetch(`${server.url}/api/codes/BOXP1`, json({ group: 'warehouse' }));
      assert.equal(put.status, 200);
      assert.deepEqual((await put.json()).settings, { dev_sno: 'BOXP1', group: 'warehouse', report_period_s: null, effective_period_s: 5, period_source: 'group' });
      await fetch(`${server.url}/api/codes/BOXP2`, json({ group: 'warehouse', report_period_s: 60 }));
      assert.equal(await period('BOXP1'), 5);
      assert.equal(await period('BOXP2'), 60);
      assert.equal(await period('BOXP3'), 20);
      const groups = await (await server.get('/api/groups')).json();
      assert.deepEqual(groups.groups, [{ name: 'warehouse', report_period_s: 5, boxes: 2 }]);
      // Clearing the box's own period falls back to its group's.
      await fetch(`${server.url}/api/codes/BOXP2`, json({ report_period_s: null }));
      assert.equal(await period('BOXP2'), 5);
      // The login record says what the box was told.
      assert.equal((await (await server.get('/api/codes/BOXP2')).json()).login.period_s, 5);
    });

    it('lists every code with the period it is told and where that comes from (box, group, fleet)', async () => {
      for (const c of ['LISTP1', 'LISTP2', 'LISTP3', 'LISTP4']) await addCode(c);
      assert.equal((await fetch(`${server.url}/api/groups/yard`, json({ report_period_s: 7 }))).status, 200);
      await fetch(`${server.url}/api/codes/LISTP1`, json({ report_period_s: 45 }));
      await fetch(`${server.url}/api/codes/LISTP2`, json({ group: 'yard' }));
      // Its own period wins over its group's.
      await fetch(`${server.url}/api/codes/LISTP3`, json({ group: 'yard', report_period_s: 90 }));
      await fetch(`${server.url}/api/admin/codes/LISTP4/revoke`, { method: 'POST' });
      type Row = { dev_sno: string; group: string | null; report_period_s: number | null; effective_period_s: number; period_source: string; status: string };
      const list = async (query = '') => ((await (await server.get(`/api/admin/codes${query}`)).json()).codes as Row[]).filter((c) => c.dev_sno.startsWith('LISTP'));
      const pick = (rows: Row[]) => rows.map(({ dev_sno, group, report_period_s, effective_period_s, period_source }) => ({ dev_sno, group, report_period_s, effective_period_s, period_source }));
      assert.deepEqual(pick(await list()), [
        { dev_sno: 'LISTP1', group: null, report_period_s: 45, effective_period_s: 45, period_source: 'box' },
        { dev_sno: 'LISTP2', group: 'yard', report_period_s: null, effective_period_s: 7, period_source: 'group' },
        { dev_sno: 'LISTP3', group: 'yard', report_period_s: 90, effective_period_s: 90, period_source: 'box' },
        { dev_sno: 'LISTP4', group: null, report_period_s: null, effective_period_s: 20, period_source: 'fleet' },
      ]);
      // The same as each code's own settings page says, and as its login is told.
      for (const row of await list()) {
        const settings = (await (await server.get(`/api/codes/${row.dev_sno}`)).json()).settings;
        assert.equal(settings.effective_period_s, row.effective_period_s, row.dev_sno);
        assert.equal(settings.period_source, row.period_source, row.dev_sno);
      }
      // A group without a period of its own: the fleet's.
      await fetch(`${server.url}/api/groups/yard`, json({ report_period_s: null }));
      const after = await list('?status=active');
      assert.deepEqual(after.map((r) => [r.dev_sno, r.effective_period_s, r.period_source]), [['LISTP1', 45, 'box'], ['LISTP2', 20, 'fleet'], ['LISTP3', 90, 'box']]);
    });

    it('refuses a bad period and an unknown code in the admin API', async () => {
      assert.equal((await fetch(`${server.url}/api/codes/BOXP1`, json({ report_period_s: 0 }))).status, 400);
      assert.equal((await fetch(`${server.url}/api/codes/BOXP1`, json({ period: 5 }))).status, 400);
      assert.equal((await fetch(`${server.url}/api/codes/NOSUCH`, json({ report_period_s: 5 }))).status, 404);
    });
  });

  it(`registers an unknown code at login in open mode, on a configured path, with the public URL (${backend.name})`, async () => {
    await withFreshServer(backend, { loginPath: 'box/login/', publicUrl: 'https://status.example.cn/', reportPeriodS: 30 }, async (server) => {
      const res = await server.get('/box/login?dev_sno=NEWBOX01&hex_mac=001122334455');
      assert.equal(res.status, 200);
      // The codes list names the fleet default this receiver is configured with.
      const listed = (await (await server.get('/api/admin/codes')).json()).codes.find((c: { dev_sno: string }) => c.dev_sno === 'NEWBOX01');
      assert.equal(listed.effective_period_s, 30);
      assert.equal(listed.period_source, 'fleet');
      const body = await res.json();
      assert.equal(body.deviceMonitorAddr, 'https://status.example.cn/DeviceStatus');
      assert.equal(body.deviceMonitorPeriod, 30);
      const code = await (await server.get('/api/admin/codes/NEWBOX01')).json();
      assert.equal(code.source, 'auto');
    });
  });
}
