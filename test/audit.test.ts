// The audit log: every state-changing API call, who made it, from where, and how it ended, kept in
// the database and readable by admins.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { apiClient, login } from './support/accounts.js';
import { launchChromium } from './support/browser.js';
import { backends, withFreshServer } from './support/server.js';

const TOKEN = 'audit-admin-token-0123456789';
const WAIT = { timeout: 15_000 };

interface Entry {
  id: number;
  at: string;
  actor: string;
  role: string | null;
  method: string;
  path: string;
  ip: string | null;
  status: number;
  detail: string | null;
}

for (const backend of backends()) {
  describe(`audit log (${backend.name})`, () => {
    it('records who did what, when, from where and the result; reads are not recorded', async () => {
      await withFreshServer(backend, { adminToken: TOKEN }, async (server) => {
        const admin = apiClient(server, { bearer: TOKEN });
        const started = Date.now();
        await admin('POST', '/api/users', { username: 'val', password: 'val-password-1', role: 'viewer' });
        await admin('POST', '/api/admin/codes', { dev_sno: 'AUDIT1' });
        await admin('POST', '/api/admin/codes/AUDIT1/revoke');
        const val = apiClient(server, { cookie: (await login(server, 'val', 'val-password-1')).cookie });
        await val('POST', '/api/admin/codes/AUDIT1/reinstate'); // refused: a viewer
        await login(server, 'val', 'wrong-password-123');
        await admin('GET', '/api/devices');
        await fetch(`${server.url}/api/admin/codes`, { method: 'POST' }); // no credentials at all

        const res = await admin('GET', '/api/audit');
        assert.equal(res.status, 200);
        const entries = (res.body.entries as Entry[]).slice().reverse();
        const lines = entries.map((e) => `${e.actor} ${e.method} ${e.path} ${e.status}`);
        assert.deepEqual(lines, [
          'admin-token POST /api/users 201',
          'admin-token POST /api/admin/codes 201',
          'admin-token POST /api/admin/codes/AUDIT1/revoke 200',
          'val POST /api/login 200',
          'val POST /api/admin/codes/AUDIT1/reinstate 403',
          'anonymous POST /api/login 401',
          'anonymous POST /api/admin/codes 401',
        ]);
        for (const e of entries) {
          assert.equal(e.ip, '127.0.0.1');
          assert.ok(Date.parse(e.at) >= started - 1000 && Date.parse(e.at) <= Date.now() + 1000, e.at);
        }
        assert.equal(entries[0]!.detail, 'add user val (viewer)');
        assert.equal(entries[5]!.detail, 'login as val');
        assert.equal(entries[3]!.role, 'viewer');
        assert.ok(!JSON.stringify(entries).includes('password-1'), 'no passwords in the log');

        // Paging back with before; viewers may not read it.
        const page = await admin('GET', `/api/audit?limit=2&before=${res.body.entries[1].id}`);
        assert.deepEqual(page.body.entries.map((e: Entry) => e.id), [res.body.entries[2].id, res.body.entries[3].id]);
        assert.equal((await admin('GET', '/api/audit?limit=zero')).status, 400);
        assert.equal((await val('GET', '/api/audit')).status, 403);
      });
    });
  });
}

describe('users and audit in the dashboard (headless Chromium)', { timeout: 120_000 }, () => {
  it('an admin logs in with a password, adds a user, changes a role and reads the audit log; a viewer cannot', async () => {
    await withFreshServer(backends()[0]!, { adminToken: TOKEN }, async (server) => {
      await apiClient(server, { bearer: TOKEN })('POST', '/api/users', { username: 'boss', password: 'boss-password-1', role: 'admin' });
      const browser = await launchChromium({ locale: 'en-US', viewport: { width: 1280, height: 900 } });
      const errors: string[] = [];
      try {
        const page = await browser.context.newPage();
        page.on('pageerror', (e) => errors.push(e.message));
        await page.goto(`${server.url}/`);
        await page.getByLabel('User name (optional)').fill('boss');
        await page.getByLabel('Password').fill('boss-password-1');
        await page.getByRole('button', { name: 'Log in', exact: true }).click();
        await page.getByRole('link', { name: 'Users & audit' }).click();
        await page.locator('tr.user-row[data-user="boss"]').waitFor(WAIT);

        const form = page.locator('form.admin-form');
        await form.getByLabel('User name').fill('vic');
        await form.getByLabel('Password (at least 10 characters)').fill('vic-password-1');
        await form.getByLabel('Role').selectOption('operator');
        await form.getByRole('button', { name: 'Add' }).click();
        await page.locator('tr.user-row[data-user="vic"]').waitFor(WAIT);
        await page.getByLabel('Role of vic').selectOption('viewer');
        await page.getByText('Saved; the user logs in again').waitFor(WAIT);

        await page.getByRole('link', { name: 'Audit log' }).click();
        await page.locator('tr.audit-row', { hasText: 'PATCH /api/users/vic' }).waitFor(WAIT);
        const rows = await page.locator('tr.audit-row').allInnerTexts();
        assert.ok(rows.some((r) => r.includes('boss (admin)') && r.includes('POST /api/users') && r.includes('add user vic (operator)') && r.includes('201')), rows.join('\n'));

        // The API agrees with what the page showed.
        const users = await apiClient(server, { bearer: TOKEN })('GET', '/api/users');
        assert.deepEqual(users.body.users.map((u: { username: string; role: string }) => `${u.username}:${u.role}`), ['boss:admin', 'vic:viewer']);

        // A viewer sees the fleet but not the users page.
        const viewer = await launchChromium({ locale: 'en-US' });
        const vpage = await viewer.context.newPage();
        vpage.on('pageerror', (e) => errors.push(e.message));
        await vpage.goto(`${server.url}/`);
        await vpage.getByLabel('User name (optional)').fill('vic');
        await vpage.getByLabel('Password').fill('vic-password-1');
        await vpage.getByRole('button', { name: 'Log in', exact: true }).click();
        await vpage.locator('.live-badge').waitFor(WAIT);
        await vpage.waitForTimeout(500);
        assert.equal(await vpage.getByRole('link', { name: 'Users & audit' }).count(), 0, 'no link for a viewer');
        await vpage.goto(`${server.url}/#/admin/users`);
        await vpage.getByText(/needs the admin role/).first().waitFor(WAIT);
        assert.equal(await vpage.locator('tr.user-row').count(), 0);
        await viewer.close();
      } finally {
        await browser.close();
      }
      assert.deepEqual(errors, []);
    });
  });
});
