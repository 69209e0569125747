// The console's alerting parts in real headless Chromium against the real receiver (issue 13):
// the problems view shows each row's alert state (acknowledged by whom and when, silenced until
// when), acknowledges from the row, picks up a silence made elsewhere without a reload and hides
// handled rows on request; the notifications page lists what each channel was sent with its
// delivery (sent, failed with the service's answer), filters and pages back without losing rows
// that share a time; viewers get neither the Acknowledge button nor the notifications.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { launchChromium, type Browser } from './support/browser.js';
import { report, sqliteBackend, startServer, type RunningServer } from './support/server.js';
import { eventually, startWebhookReceiver, type WebhookReceiver } from './support/webhook.js';

const TOKEN = 'dashboard-alert-console-token';
const WAIT = { timeout: 15_000 };
const BULK = 30;

describe('alert state and notifications in the console (Chromium)', { timeout: 240_000 }, () => {
  let server: RunningServer;
  let cleanup: () => Promise<void>;
  let ok: WebhookReceiver;
  let broken: WebhookReceiver;
  const browsers: Browser[] = [];
  let page: Page;
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

  async function browse(locale = 'en-US', viewport = { width: 1440, height: 900 }): Promise<Page> {
    const browser = await launchChromium({ locale, viewport, timezoneId: 'Asia/Shanghai' });
    browsers.push(browser);
    const p = await browser.context.newPage();
    p.on('pageerror', (e) => pageErrors.push(e.message));
    return p;
  }

  const row = (ep: string) => page.locator(`tr.problem-row[data-key="sub:${ep}"]`);

  before(async () => {
    ok = await startWebhookReceiver();
    broken = await startWebhookReceiver(() => 400);
    const fresh = await sqliteBackend.fresh();
    server = await startServer(fresh.store, { adminToken: TOKEN, offline: false, alerting: { tickMs: 100, retryBaseMs: 100, publicUrl: 'http://devstatus.test' } });
    cleanup = async () => {
      await server.close();
      await fresh.store.close();
      await fresh.cleanup();
    };
    for (const [name, url] of [
      ['Ops hook', ok.url],
      ['Broken hook', broken.url],
    ] as const) {
      const r = await apiCall('POST', '/api/alert-channels', { name, config: { kind: 'webhook', url } });
      assert.equal(r.status, 201, JSON.stringify(r.json));
    }
    const rule = await apiCall('POST', '/api/alert-rules', { id: 'quick', channels: ['webhook:ops-hook', 'webhook:broken-hook'], group_wait_s: 0, group_interval_s: 1, send_recoveries: false });
    assert.equal(rule.status, 201, JSON.stringify(rule.json));
    const viewer = await apiCall('POST', '/api/users', { username: 'vic', password: 'viewer-password-1', role: 'viewer' });
    assert.equal(viewer.status, 201, JSON.stringify(viewer.json));

    await server.post(report('BOX-A', { '10.0.0.1': 'online', '10.0.0.2': 'online' }));
    await server.post(report('BOX-B', { '10.0.1.1': 'online' }));
    // The engine starts past what was there when it first looked: let it look, then break things.
    await new Promise((r) => setTimeout(r, 500));
    await server.post(report('BOX-A', { '10.0.0.1': 'offline', '10.0.0.2': 'offline' }));
    await server.post(report('BOX-B', { '10.0.1.1': 'offline' }));
    await eventually(async () => ((await apiCall('GET', '/api/alert-problems')).json.problems as unknown[]).length === 3, 10_000, 'three open problems');

    page = await browse();
    await page.goto(`${server.url}/?token=${encodeURIComponent(TOKEN)}`);
    await page.locator('.live-badge.live').waitFor(WAIT);
  });

  after(async () => {
    for (const b of browsers) await b.close();
    await cleanup?.();
    await ok?.close();
    await broken?.close();
  });

  it('acknowledges a camera from its problems row: the row then says who did, and when', async () => {
    await row('BOX-A__10.0.0.1').waitFor(WAIT);
    const cell = row('BOX-A__10.0.0.1').locator('td.alert-cell');
    await cell.locator('button.ack-button').click();
    await cell.locator('.ack-form input').fill('cable cut, on site');
    await cell.locator('.ack-form button[type=submit]').click();
    const pill = cell.locator('.pill.ack');
    await pill.waitFor(WAIT);
    assert.match(await pill.innerText(), /^Acknowledged by admin-token · (\d+ s ago|just now|now)/);
    assert.equal(await pill.getAttribute('title'), 'cable cut, on site');
    // The other rows still offer the button; none is silenced.
    assert.equal(await row('BOX-A__10.0.0.2').locator('td.alert-cell button.ack-button').count(), 1);
    assert.equal(await page.locator('td.alert-cell .pill.silenced').count(), 0);
    const stored = (await apiCall('GET', '/api/alert-problems')).json.problems.find((p: any) => p.subject === 'sub:BOX-A__10.0.0.1');
    assert.equal(stored.acknowledged.by, 'admin-token');
    assert.equal(stored.acknowledged.note, 'cable cut, on site');
  });

  it('shows an acknowledgement made on another page within 2 s, without a reload, and its withdrawal too', async () => {
    await page.evaluate(() => ((window as unknown as { sameDocument: boolean }).sameDocument = true));
    const other = await page.context().newPage();
    other.on('pageerror', (e) => pageErrors.push(e.message));
    try {
      await other.goto(`${server.url}/`);
      const cell = other.locator('tr.problem-row[data-key="sub:BOX-A__10.0.0.2"] td.alert-cell');
      await cell.locator('button.ack-button').click();
      await cell.locator('.ack-form input').fill('second page');
      const started = Date.now();
      await cell.locator('.ack-form button[type=submit]').click();
      const pill = row('BOX-A__10.0.0.2').locator('td.alert-cell .pill.ack');
      await pill.waitFor({ timeout: 2_000 });
      const tookMs = Date.now() - started;
      assert.equal(await pill.getAttribute('title'), 'second page');
      // Withdrawn elsewhere (the API): the first page offers the button again.
      const unack = await apiCall('POST', '/api/problems/unack', { subject: 'sub:BOX-A__10.0.0.2' });
      assert.equal(unack.status, 200, JSON.stringify(unack.json));
      await row('BOX-A__10.0.0.2').locator('td.alert-cell button.ack-button').waitFor({ timeout: 2_000 });
      assert.equal(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument), true, 'no reload');
      console.log(`acknowledgement shown on the other page ${tookMs} ms after the click`);
    } finally {
      await other.close();
    }
  });

  it('shows a silence made elsewhere without a reload, with its end time, in text', async () => {
    const endsAt = Date.parse('2031-05-06T07:08:00Z');
    const s = await apiCall('POST', '/api/silences', { matchers: { boxes: ['BOX-B'] }, ends_at: endsAt, comment: 'road works' });
    assert.equal(s.status, 201, JSON.stringify(s.json));
    const pill = row('BOX-B__10.0.1.1').locator('td.alert-cell .pill.silenced');
    // Pushed over the live stream: well before the page's slow safety-net refetch (60 s).
    await pill.waitFor({ timeout: 3_000 });
    // 07:08 UTC is 15:08 in Shanghai, the browser's zone.
    assert.match(await pill.innerText(), /^Silenced until .*15:08/);
    assert.equal(await pill.getAttribute('href'), '#/alerts/silences');
    await page.screenshot({ path: join(shots, 'problems-alert-state-1440-en.png'), fullPage: true });
  });

  it('hides acknowledged and silenced rows when asked, and keeps the choice in the address', async () => {
    // Asked of the server (before it pages), not only filtered in the page.
    const asked = page.waitForRequest((r) => r.url().includes('/api/sub-devices?') && new URL(r.url()).searchParams.get('handled') === 'hide', WAIT);
    await page.locator('label.hide-handled input').check();
    await asked;
    await page.waitForFunction(() => document.querySelectorAll('tr.problem-row').length === 1);
    assert.deepEqual(await page.locator('tr.problem-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-key'))), ['sub:BOX-A__10.0.0.2']);
    assert.match(page.url(), /handled=hide/);
    await page.locator('label.hide-handled input').uncheck();
    await page.waitForFunction(() => document.querySelectorAll('tr.problem-row').length === 3);
  });

  it('lists every notification per channel with time, group, status, attempts and the last error; filters; pages back without losing rows', async () => {
    // Enough notifications for two pages, many decided in one step (one created_at).
    for (let i = 0; i < BULK; i++) await server.post(report(`BULK-${String(i).padStart(2, '0')}`, { '10.9.0.1': 'online' }));
    await new Promise((r) => setTimeout(r, 300));
    for (let i = 0; i < BULK; i++) await server.post(report(`BULK-${String(i).padStart(2, '0')}`, { '10.9.0.1': 'offline' }));
    await eventually(
      async () => {
        const c = (await apiCall('GET', '/api/alert-notifications?limit=1')).json.counts;
        return c.pending === 0 && c.delivered + c.failed >= 2 * (BULK + 2) && c;
      },
      20_000,
      'every notification settled',
    );
    const counts = (await apiCall('GET', '/api/alert-notifications?limit=1')).json.counts as Record<string, number>;
    const total = (counts.delivered ?? 0) + (counts.failed ?? 0);

    await page.locator('nav.main-nav a', { hasText: 'Notifications' }).click();
    await page.locator('h1', { hasText: 'Alert notifications' }).waitFor(WAIT);
    await page.locator('tr.notification-row').first().waitFor(WAIT);
    assert.equal(await page.locator('.counts-line').innerText(), `${counts.delivered} sent · 0 pending · ${counts.failed} failed`);
    assert.equal(await page.locator('tr.notification-row').count(), 50);
    const failed = page.locator('tr.notification-failed', { hasText: 'BULK-' }).first();
    assert.match(await failed.locator('td.channel').innerText(), /Broken hook/);
    assert.match(await failed.locator('td.status').innerText(), /Failed/);
    assert.match(await failed.locator('td.last-error').innerText(), /HTTP 400/);
    assert.equal(await failed.locator('td.attempts').innerText(), '1');
    const sent = page.locator('tr.notification-delivered', { hasText: 'BULK-' }).first();
    assert.match(await sent.locator('td.channel').innerText(), /Ops hook/);
    assert.match(await sent.locator('td.status').innerText(), /Sent.*sent /s);
    assert.match(await sent.locator('td.group').innerText(), /BULK-\d\d.*1 change\(s\)/s);
    assert.equal(await sent.locator('td.last-error').innerText(), '—');
    await page.screenshot({ path: join(shots, 'notifications-1440-en.png'), fullPage: true });

    await page.locator('button.older').click();
    await page.waitForFunction((n) => document.querySelectorAll('tr.notification-row').length === n, total);
    const ids = await page.locator('tr.notification-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-id')));
    // The oldest, on the second page: BOX-A's two cameras went out together in one notification.
    assert.match(await page.locator('tr.notification-delivered', { hasText: 'BOX-A' }).first().locator('td.group').innerText(), /BOX-A.*2 change\(s\)/s);
    assert.equal(new Set(ids).size, total, 'no row twice, none lost between the pages');
    assert.equal(await page.locator('button.older').count(), 0);

    await page.locator('.segmented button[data-value=failed]').click();
    await page.waitForFunction((n) => document.querySelectorAll('tr.notification-row').length === n, counts.failed);
    assert.equal(await page.locator('tr.notification-row:not(.notification-failed)').count(), 0);
    await page.locator('.segmented button[data-value=""]').click();
    await page.locator('select[aria-label=Channel]').selectOption('webhook:ops-hook');
    await page.waitForFunction(() => [...document.querySelectorAll('tr.notification-row td.channel')].every((td) => td.textContent!.includes('Ops hook')));
    assert.equal(ok.requests.length, counts.delivered);
  });

  it('gives a viewer the state but not the button, and not the notifications', async () => {
    const viewer = await browse();
    await viewer.goto(`${server.url}/`);
    await viewer.locator('input[autocomplete=username], input[name=username]').first().fill('vic');
    await viewer.locator('input[type=password]').first().fill('viewer-password-1');
    await viewer.locator('form button[type=submit]').first().click();
    const acked = viewer.locator('tr.problem-row[data-key="sub:BOX-A__10.0.0.1"] td.alert-cell .pill.ack');
    await acked.waitFor(WAIT);
    assert.match(await acked.innerText(), /Acknowledged by admin-token/);
    assert.equal(await viewer.locator('button.ack-button').count(), 0);
    assert.equal(await viewer.locator('nav.main-nav a[data-page=notifications]').count(), 0);
    await viewer.goto(`${server.url}/#/alerts/notifications`);
    await viewer.locator('.forbidden', { hasText: 'Only operators and admins' }).waitFor(WAIT);
    assert.equal(await viewer.locator('tr.notification-row').count(), 0);
    const res = await fetch(`${server.url}/api/alert-notifications`, { headers: { cookie: (await viewer.context().cookies()).map((c) => `${c.name}=${c.value}`).join('; ') } });
    assert.equal(res.status, 403);
  });

  it('reads in Chinese, and on a phone the notifications are cards within the screen', async () => {
    const zh = await browse('zh-CN', { width: 390, height: 844 });
    await zh.goto(`${server.url}/?token=${encodeURIComponent(TOKEN)}`);
    await zh.locator('.live-badge.live').waitFor(WAIT);
    const acked = zh.locator('tr.problem-row[data-key="sub:BOX-A__10.0.0.1"] td.alert-cell .pill.ack');
    await acked.waitFor(WAIT);
    assert.match(await acked.innerText(), /已由 admin-token 确认/);
    assert.match(await zh.locator('tr.problem-row[data-key="sub:BOX-B__10.0.1.1"] .pill.silenced').innerText(), /^已静默，至/);
    await zh.screenshot({ path: join(shots, 'problems-alert-state-390-zh.png'), fullPage: true });
    await zh.locator('nav.main-nav a[data-page=notifications]').click();
    await zh.locator('h1', { hasText: '告警通知' }).waitFor(WAIT);
    await zh.locator('tr.notification-row').first().waitFor(WAIT);
    assert.ok(await zh.evaluate(() => document.documentElement.scrollWidth <= 390), 'nothing wider than the phone');
    assert.equal(await zh.locator('tr.notification-row').first().evaluate((r) => getComputedStyle(r).display), 'block', 'rows are cards');
    await zh.screenshot({ path: join(shots, 'notifications-390-zh.png') });
  });

  it('fits every alerting page and the codes editor in both languages at 1440 and 390 px (screenshots kept)', async () => {
    for (const [locale, lang] of [
      ['zh-CN', 'zh'],
      ['en-US', 'en'],
    ] as const) {
      for (const viewport of [
        { width: 1440, height: 900 },
        { width: 390, height: 844 },
      ]) {
        const p = await browse(locale, viewport);
        await p.goto(`${server.url}/?token=${encodeURIComponent(TOKEN)}`);
        await p.locator('.live-badge.live').waitFor(WAIT);
        for (const [name, hash, ready] of [
          ['problems', '#/', 'td.alert-cell .pill.ack'],
          ['notifications', '#/alerts/notifications', 'tr.notification-row'],
          ['silences', '#/alerts/silences', 'table.silences tbody tr'],
          ['channels', '#/alerts/channels', 'table.channels tbody tr'],
          ['codes', '#/admin/codes', 'tr.code-row'],
        ] as const) {
          await p.goto(`${server.url}/${hash}`);
          await p.locator(ready).first().waitFor(WAIT);
          if (name === 'codes') {
            await p.locator('tr.code-row[data-dev-sno="BOX-A"] button').first().click();
            await p.locator('tr.code-row[data-dev-sno="BOX-A"] .period-now').waitFor(WAIT);
          }
          await p.waitForTimeout(200);
          const out = await p.evaluate((w) => [...document.querySelectorAll('.main-nav a')].filter((a) => a.getBoundingClientRect().right > w).length, viewport.width);
          assert.equal(out, 0, `${name}: nav entries in view`);
          assert.ok(await p.evaluate((w) => document.documentElement.scrollWidth <= w, viewport.width), `${name} at ${viewport.width} px: no sideways scrolling`);
          await p.screenshot({ path: join(shots, `${name}-${viewport.width}-${lang}.png`) });
          if (name === 'problems' && viewport.width === 390) {
            // The sticky filter bar would cover the card in its picture.
            await p.evaluate(() => document.querySelector<HTMLElement>('.problem-filters')!.style.setProperty('position', 'static'));
            for (const key of ['sub:BOX-A__10.0.0.1', 'sub:BOX-B__10.0.1.1']) {
              await p.locator(`tr.problem-row[data-key="${key}"]`).screenshot({ path: join(shots, `problems-card-${key.slice(4, 9)}-${lang}.png`) });
            }
          }
        }
      }
    }
    assert.deepEqual(pageErrors, []);
  });
});
