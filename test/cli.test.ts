import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCli, startServeCli } from './support/cli.js';
import { report } from './support/server.js';

const post = (url: string, body: unknown) =>
  fetch(`${url}/DeviceStatus`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('devstatus serve (real process)', () => {
  it('runs with no config, stores under ./data/ and keeps data across a restart', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'devstatus-cli-'));
    try {
      const first = await startServeCli([], { cwd });
      assert.equal((await post(first.url, report('RESTART1', { '10.0.0.1': 'online' }))).status, 200);
      assert.equal((await post(first.url, report('RESTART1', { '10.0.0.1': 'offline' }))).status, 200);
      assert.equal(await first.proc.stop('SIGTERM'), 0);
      assert.ok(existsSync(join(cwd, 'data', 'devstatus.db')), 'default database file under ./data/');

      const second = await startServeCli([], { cwd });
      const box = await (await fetch(`${second.url}/api/devices/RESTART1`)).json();
      assert.equal(box.box.report_count, 2);
      assert.equal(box.sub_devices[0].ep_status, 'offline');
      const hist = await (await fetch(`${second.url}/api/devices/RESTART1/history`)).json();
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
        env: { DEVSTATUS_PATH: '/status/report' },
      });
      const m = await proc.waitFor(/listening on (http:\/\/[^"\s]+?)\/status\/report/);
      const res = await fetch(`${m[1]}/status/report`, { method: 'POST', body: JSON.stringify(report('ENV1', {})) });
      assert.equal(res.status, 200);
      assert.ok(existsSync(join(cwd, 'x', 'fleet.db')));
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
