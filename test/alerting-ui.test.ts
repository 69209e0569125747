// Alerting from the dashboard (issue 12), in real headless Chromium against the real receiver
// and a local DingTalk fake that checks the signature: add a channel and send a test message,
// silence a box (its camera going offline sends nothing and shows as silenced), acknowledge a
// problem (no more reminders for it while an unacknowledged one keeps getting them).
// Screenshots go to .tmp/shots (or DEVSTATUS_KEEP_SHOTS) for a person to look at.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { launchChromium, type Browser } from './support/browser.js';
import { startFakeDingTalk } from './support/fakes/dingtalk.js';
import { report, sqliteBackend, startServer, type RunningServer } from './support/server.js';
import { eventually } from './support/webhook.js';

const TOKEN = 'alerting-ui-test-token';
const SECRET = 'SECabcdef0123456789abcdef0123456789';
const WAIT = { timeout: 15_000 };

describe('alerting from the dashboard (Chromium, DingTalk fake)', { timeout: 180_000 }, () => {
  let server: RunningServer;
  let cleanup: () => Promise<void>;
  let browser: Browser;
  let page: Page;
  let ding: Awaited<ReturnType<typeof startFakeDingTalk>>;
  const pageErrors: string[] = [];
  const shots = process.env.DEVSTATUS_KEEP_SHOTS ?? join(process.cwd(), '.tmp', 'shots');
  mkdirSync(shots, { recursive: true });

  const apiCall = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, json: (await res.json().catch(() => ({}))) as Record<string, any> };
  };
  const texts = () => ding.delivered.map((m) => m.text);

  before(async () => {
    ding = await startFakeDingTalk({ uitok: { secret: SECRET } });
    const fresh = await sqliteBackend.fresh();
    server = await startServer(fresh.store, {
      adminToken: TOKEN,
      offline: false,
      alerting: { tickMs: 100, publicUrl: 'http://devstatus.test' },
    });
    cleanup = async () => {
      await server.close();
      await fresh.store.close();
      await fresh.cleanup();
    };
    browser = await launchChromium({ locale: 'en-US', viewport: { width: 1280, height: 900 }, timezoneId: 'Asia/Shanghai' });
    page = await browser.context.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(`${server.url}/?token=${encodeURIComponent(TOKEN)}`);
    await page.locator('.live-badge.live').waitFor(WAIT);
  });

  after(async () => {
    await browser?.close();
    await cleanup?.();
    await ding?.close();
  });

  it('adds a DingTalk channel and sends a signed test message from the channels page', async () => {
    await page.locator('nav.main-nav a', { hasText: 'Alert channels' }).click();
    await page.locator('h1', { hasText: 'Alert channels' }).waitFor(WAIT);
    const form = page.locator('form.panel');
    await form.locator('select[name=kind]').selectOption('dingtalk');
    await form.locator('input[name=name]').fill('Ops');
    await form.locator('input[name=access_token]').fill('uitok');
    await form.locator('input[name=secret]').fill(SECRET);
    await form.locator('input[name=base_url]').fill(ding.baseUrl);
    await form.locator('select[name=lang]').selectOption('en');
    await form.locator('button[type=submit]').click();
    const row = page.locator('table.channels tbody tr', { hasText: 'Ops' });
    await row.waitFor(WAIT);
    assert.ok(!(await page.content()).includes(SECRET), 'the secret is not on the page');
    await row.locator('button', { hasText: 'Send test message' }).click();
    await row.locator('.result.ok', { hasText: 'Test message delivered.' }).waitFor(WAIT);
    assert.equal(ding.delivered.length, 1);
    assert.equal(ding.delivered[0]!.token, 'uitok');
    await page.screenshot({ path: join(shots, 'alerting-channels.png'), fullPage: true });
  });

  it('silences a box from the dashboard: its camera going offline sends nothing and shows as silenced', async () => {
    // Quick timing for the test: send at once, remind every 1.2 s (the default rule waits 10 s).
    const rule = await apiCall('POST', '/api/alert-rules', {
      id: 'ui',
      channels: ['dingtalk:ops'],
      group_wait_s: 0,
      group_interval_s: 1,
      reminder_every_min: 0.02,
      send_recoveries: false,
    });
    assert.equal(rule.status, 201, JSON.stringify(rule.json));
    for (const box of ['BOX-SIL', 'BOX-ACK', 'BOX-OPEN']) await server.post(report(box, { '10.0.0.1': 'online' }));

    await page.locator('nav.main-nav a', { hasText: 'Silences' }).click();
    const form = page.locator('form.panel');
    await form.locator('input[name=box]').fill('BOX-SIL');
    await form.locator('select[name=hours]').selectOption('2');
    await form.locator('input[name=comment]').fill('replacing the switch');
    await form.locator('button[type=submit]').click();
    await page.locator('table.silences tbody tr', { hasText: 'BOX-SIL' }).locator('.pill.silenced').waitFor(WAIT);

    for (const box of ['BOX-SIL', 'BOX-ACK', 'BOX-OPEN']) await server.post(report(box, { '10.0.0.1': 'offline' }));
    await eventually(async () => texts().some((t) => t.includes('BOX-ACK')) && texts().some((t) => t.includes('BOX-OPEN')), 10_000, 'alerts about the other boxes');
    const silencedRow = page.locator('table.problems tbody tr', { hasText: 'BOX-SIL' });
    await silencedRow.locator('.pill.silenced').waitFor(WAIT);
    assert.ok(!texts().some((t) => t.includes('BOX-SIL')), 'nothing sent about the silenced box');
    const suppressed = await apiCall('GET', '/api/alert-suppressed?reason=silenced');
    assert.ok(suppressed.json.suppressed.some((s: any) => s.transition?.dev_sno === 'BOX-SIL'), 'the silenced transition is recorded');
    await page.screenshot({ path: join(shots, 'alerting-silenced.png'), fullPage: true });
  });

  it('acknowledges a problem from the dashboard: no more reminders for it', async () => {
    const row = page.locator('table.problems tbody tr', { hasText: 'BOX-ACK' });
    await row.locator('button.ack-button').click();
    await row.locator('.ack-form input').fill('on site, cable cut');
    await row.locator('.ack-form button[type=submit]').click();
    await row.locator('.pill.ack', { hasText: 'Acknowledged by admin' }).waitFor(WAIT);
    await page.screenshot({ path: join(shots, 'alerting-acknowledged.png'), fullPage: true });
    // A reminder already on its way may still arrive; count from a moment later.
    await new Promise((r) => setTimeout(r, 800));
    const from = ding.delivered.length;
    await eventually(
      async () => texts().slice(from).filter((t) => /Reminder/.test(t) && t.includes('BOX-OPEN')).length >= 2,
      10_000,
      'reminders about the unacknowledged box',
    );
    assert.ok(!texts().slice(from).some((t) => t.includes('BOX-ACK')), 'no reminder about the acknowledged box');
    const problems = await apiCall('GET', '/api/alert-problems');
    const acked = problems.json.problems.find((p: any) => p.dev_sno === 'BOX-ACK');
    assert.equal(acked.acknowledged.note, 'on site, cable cut');
    assert.deepEqual(pageErrors, []);
  });

  it('reads in Chinese too', async () => {
    await page.evaluate(() => localStorage.setItem('devstatus.lang', 'zh-CN'));
    await page.reload();
    await page.locator('h1', { hasText: '未恢复的问题' }).waitFor(WAIT);
    await page.locator('table.problems .pill.silenced', { hasText: '已静默' }).first().waitFor(WAIT);
    await page.screenshot({ path: join(shots, 'alerting-silences-zh.png'), fullPage: true });
    await page.locator('nav.main-nav a', { hasText: '告警通道' }).click();
    await page.locator('button', { hasText: '发送测试消息' }).first().waitFor(WAIT);
    await page.screenshot({ path: join(shots, 'alerting-channels-zh.png'), fullPage: true });
  });
});
