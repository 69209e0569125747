import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCli, startServeCli } from './support/cli.js';
import { report } from './support/server.js';

const api = (url: string, path: string, token: string) => fetch(`${url}${path}`, { headers: { authorization: `Bearer ${token}` } });
const post = (url: string, body: unknown) =>
  fetch(`${url}/DeviceStatus`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('devstatus serve (real process)', () => {
  it('runs with no config, stores under ./data/ and keeps data across a restart', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'devstatus-cli-'));
    try {
      const first = await startServeCli([], { cwd, env: { DEVSTATUS_ADMIN_TOKEN: '' } });
      assert.equal((await post(first.url, report('RESTART1', { '10.0.0.1': 'online' }))).status, 200);
      assert.equal((await post(first.url, report('RESTART1', { '10.0.0.1': 'offline' }))).status, 200);
      // The API is protected by a token generated on first start, kept next to the database.
      const tokenFile = join(cwd, 'data', 'admin-token');
      await first.proc.waitFor(/new admin token generated/);
      const token = readFileSync(tokenFile, 'utf8').trim();
      assert.ok(token.length >= 32, 'a long random token');
      assert.equal(statSync(tokenFile).mode & 0o777, 0o600);
      assert.match(first.proc.output(), new RegExp(`dashboard at ${first.url}/ \\(admin token in data/admin-token: cat data/admin-token\\)`));
      assert.ok(first.proc.output().includes(`${first.url}/?token=${token}`), 'a first-login link');
      assert.equal((await fetch(`${first.url}/api/devices`)).status, 401);
      assert.equal((await api(first.url, '/api/devices', token)).status, 200);
      assert.equal(await first.proc.stop('SIGTERM'), 0);
      assert.ok(existsSync(join(cwd, 'data', 'devstatus.db')), 'default database file under ./data/');

      const second = await startServeCli([], { cwd, env: { DEVSTATUS_ADMIN_TOKEN: '' } });
      // Same token after a restart, and no login link printed again.
      assert.equal(readFileSync(tokenFile, 'utf8').trim(), token);
      await second.proc.waitFor(/dashboard at/);
      assert.doesNotMatch(second.proc.output(), /token=/);
      const box = await (await api(second.url, '/api/devices/RESTART1', token)).json();
      assert.equal(box.box.report_count, 2);
      assert.equal(box.sub_devices[0].ep_status, 'offline');
      const hist = await (await api(second.url, '/api/devices/RESTART1/history', token)).json();
      assert.equal(hist.entries.length, 3);
      await second.proc.stop();
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  it('takes port, path and db from flags and environment', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'devstatus-cli-'));
    try {
      const proc = runCli(['serve', '--host', '127.0.0.1', '--port', '0', '--db', join(cwd, 'x', 'fleet.db')], {
        cwd,
        env: { DEVSTATUS_PATH: '/status/report', DEVSTATUS_ADMIN_TOKEN: 'token-from-env' },
      });
      const m = await proc.waitFor(/listening on (http:\/\/[^"\s]+?)\/status\/report/);
      const res = await fetch(`${m[1]}/status/report`, { method: 'POST', body: JSON.stringify(report('ENV1', {})) });
      assert.equal(res.status, 200);
      assert.ok(existsSync(join(cwd, 'x', 'fleet.db')));
      assert.equal((await api(m[1]!, '/api/devices/ENV1', 'token-from-env')).status, 200);
      assert.equal((await api(m[1]!, '/api/devices/ENV1', 'other')).status, 401);
      await proc.waitFor(/dashboard at .*--admin-token \/ DEVSTATUS_ADMIN_TOKEN/);
      assert.ok(!existsSync(join(cwd, 'x', 'admin-token')), 'no token file when the token is given');
      await proc.stop();
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  it('rejects a bad flag with a clear message and a non-zero exit', async () => {
    const proc = runCli(['serve', '--port', 'ninety']);
    const code = await new Promise((r) => proc.child.once('exit', r));
    assert.notEqual(code, 0);
    assert.match(proc.output(), /port must be a whole number/);
  });
});
