import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCli, startServeCli } from './support/cli.js';
import { createTestDatabase } from './support/pg.js';
import { report } from './support/server.js';
import { eventually, startWebhookReceiver } from './support/webhook.js';

const post = (url: string, body: unknown) =>
  fetch(`${url}/DeviceStatus`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('devstatus serve: fleet monitoring flags (real process)', () => {
  for (const store of ['sqlite', 'postgres'] as const) {
    it(`takes offline timing, registry mode, webhooks and secret from the environment (${store})`, async () => {
      const cwd = mkdtempSync(join(tmpdir(), 'devstatus-cli-'));
      const hook = await startWebhookReceiver();
      const db = store === 'postgres' ? await createTestDatabase() : null;
      try {
        const { proc, url } = await startServeCli(['--alert-dedup-s', '0'], {
          cwd,
          env: {
            DEVSTATUS_REPORT_INTERVAL: '0.2',
            DEVSTATUS_OFFLINE_MISSES: '2',
            DEVSTATUS_REGISTRY_MODE: 'strict',
            DEVSTATUS_WEBHOOKS: `${hook.url}?a=1, ${hook.url}?b=2`,
            DEVSTATUS_WEBHOOK_SECRET: 'cli-secret',
            DEVSTATUS_ADMIN_TOKEN: 'fleet-admin-token',
            ...(db ? { DATABASE_URL: db.url } : {}),
          },
        });
        try {
          assert.equal((await post(url, report('CLI1', { '10.0.0.1': 'online' }))).status, 403);
          const auth = { authorization: 'Bearer fleet-admin-token' };
          assert.equal((await fetch(`${url}/api/admin/codes`, { method: 'POST' })).status, 401);
          const issued = await (await fetch(`${url}/api/admin/codes`, { method: 'POST', headers: auth })).json();
          assert.equal((await post(url, report(issued.dev_sno, { '10.0.0.1': 'online' }))).status, 200);
          // Silent for 0.2 s x 2: offline, alerted to both URLs, signed with the secret.
          await eventually(async () => (await (await fetch(`${url}/api/devices/${issued.dev_sno}`, { headers: auth })).json()).box.status === 'offline');
          const reqs = await hook.waitFor(2);
          for (const r of reqs) {
            assert.equal(r.json.reason, 'report_timeout');
            assert.equal(r.headers['x-devstatus-signature'], `sha256=${createHmac('sha256', 'cli-secret').update(r.body).digest('hex')}`);
          }
          const metrics = await (await fetch(`${url}/metrics`)).text();
          assert.match(metrics, /devstatus_reports_rejected_total\{reason="forbidden"\} 1/);
          assert.match(metrics, /devstatus_boxes\{status="offline"\} 1/);
        } finally {
          assert.equal(await proc.stop(), 0);
        }
      } finally {
        await hook.close();
        await db?.drop();
        rmSync(cwd, { recursive: true, force: true });
      }
    });
  }

  it('rejects bad fleet flags with clear messages', async () => {
    for (const [args, message] of [
      [['--registry-mode', 'closed'], /registry-mode/],
      [['--webhook', 'ftp://example.invalid/x'], /must be an http:\/\/ or https:\/\/ URL/],
      [['--report-interval', '0'], /report interval must be a number of seconds/],
      [['--offline-misses', '0'], /offline misses must be a whole number/],
    ] as const) {
      const proc = runCli(['serve', '--port', '0', '--host', '127.0.0.1', ...args]);
      const code = await new Promise((r) => proc.child.once('exit', r));
      assert.notEqual(code, 0, args.join(' '));
      assert.match(proc.output(), message);
    }
  });
});
