// The dashboard in real headless Chromium against the real receiver over HTTP on loopback.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { DEFAULT_DASHBOARD_DIR } from '../src/server/routes/dashboard.js';
import type { Store } from '../src/store/types.js';
import { CHROMIUM, launchChromium, type Browser } from './support/browser.js';
import { report, sqliteBackend, startServer, type RunningServer } from './support/server.js';

const TOKEN = 'dashboard-test-token-42';
const WAIT = { timeout: 15_000 };

function assertPng(file: string): void {
  const png = readFileSync(file);
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
  assert.equal(png.readUInt32BE(16), 1280, 'screenshot width');
  assert.ok(png.length > 15_000, `screenshot has content (${png.length} bytes)`);
}

// Its own test, so that a missing browser shows as a failure, not only as cancelled tests.
it('has Chromium to test the dashboard with', () => {
  assert.ok(existsSync(CHROMIUM), `Chromium not found at ${CHROMIUM}: run scripts/install-test-deps.sh as root`);
});

describe('dashboard in headless Chromium', { timeout: 120_000 }, () => {
  let server: RunningServer;
  let store: Store;
  let cleanup: () => Promise<void>;
  let browser: Browser;
  let page: Page;
  const shots = mkdtempSync(join(tmpdir(), 'devstatus-shots-'));
  const dialogs: string[] = [];
  const pageErrors: string[] = [];
  const foreignRequests: string[] = [];

  before(async () => {
    assert.ok(existsSync(join(DEFAULT_DASHBOARD_DIR, 'index.html')), 'dashboard is built (npm run build)');
    const fresh = await sqliteBackend.fresh();
    store = fresh.store;
    cleanup = fresh.cleanup;
    server = await startServer(store, { adminToken: TOKEN });
    browser = await launchChromium();
    // Everything the page loads comes from the receiver: nothing from a CDN, nothing off-host.
    await browser.context.route('**/*', (route) => {
      const url = new URL(route.request().url());
      if (url.hostname === '127.0.0.1') return route.continue();
      foreignRequests.push(url.href);
      return route.abort();
    });
    page = await browser.context.newPage();
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    page.on('pageerror', (e) => pageErrors.push(e.message));
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    await store?.close();
    await cleanup?.();
    if (process.env.DEVSTATUS_KEEP_SHOTS) console.log(`screenshots kept in ${shots}`);
    else rmSync(shots, { recursive: true, force: true });
  });

  it('asks for the token and logs in', async () => {
    await page.goto(`${server.url}/#/boxes`);
    const token = page.getByLabel('Admin token');
    await token.waitFor(WAIT);
    await token.fill('not-the-token');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByText('Wrong token.').waitFor(WAIT);
    await token.fill(TOKEN);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.locator('.live-badge.live').waitFor(WAIT);
    await page.getByText('No box has reported yet.', { exact: false }).waitFor(WAIT);
    const cookies = await browser.context.cookies();
    const session = cookies.find((c) => c.name === 'devstatus_session');
    assert.ok(session, 'session cookie set');
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, 'Strict');
  });

  it('shows a box live, without reload, when its report is POSTed over HTTP', async () => {
    await page.evaluate(() => ((window as unknown as { sameDocument: boolean }).sameDocument = true));
    for (const [dev, subs] of [
      ['LIVE-BOX-1', { '192.168.1.101': 'online', '192.168.1.102': 'offline', '192.168.1.103': 'online' }],
      ['LIVE-BOX-2', { '192.168.2.101': 'online' }],
    ] as const) {
      assert.equal((await server.post(report(dev, subs))).status, 200);
    }
    const row = page.locator('tr.box-row', { hasText: 'LIVE-BOX-1' });
    await row.waitFor(WAIT);
    await page.locator('tr.box-row', { hasText: 'LIVE-BOX-2' }).waitFor(WAIT);
    assert.match(await row.innerText(), /2 on\s*\/\s*1 off/);
    await page.waitForFunction(() => document.querySelector('.card.ok .card-value')?.textContent === '2', undefined, WAIT);
    assert.equal(await page.locator('.timeline-item').count() >= 5, true, 'fleet timeline lists the transitions');
    assert.equal(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument), true, 'no reload');

    const shot = join(shots, 'fleet-live.png');
    await page.screenshot({ path: shot, fullPage: true });
    assertPng(shot);
  });

  it('filters by status and searches by dev_sno', async () => {
    await page.getByRole('button', { name: 'Offline', exact: true }).click();
    await page.getByText('No box matches.').waitFor(WAIT);
    await page.getByRole('button', { name: 'All', exact: true }).click();
    await page.getByLabel('Search boxes by dev_sno').fill('box-2');
    await page.waitForFunction(() => document.querySelectorAll('tr.box-row').length === 1, undefined, WAIT);
    assert.match(await page.locator('tr.box-row').innerText(), /LIVE-BOX-2/);
    assert.match(page.url(), /\?q=box-2$/);
    await page.getByLabel('Search boxes by dev_sno').fill('');
    await page.waitForFunction(() => document.querySelectorAll('tr.box-row').length === 2, undefined, WAIT);
  });

  it('opens a box page with its sub-devices, and its timeline follows a transition live', async () => {
    await page.locator('tr.box-row', { hasText: 'LIVE-BOX-1' }).getByRole('link').click();
    await page.waitForURL(/\/boxes\/LIVE-BOX-1$/, WAIT);
    const subRows = page.locator('tr.sub-row');
    await page.waitForFunction(() => document.querySelectorAll('tr.sub-row').length === 3, undefined, WAIT);
    // Offline first.
    const first = await subRows.first().innerText();
    assert.match(first, /offline/);
    assert.match(first, /cam 192\.168\.1\.102/);
    assert.match(first, /rtsp/);
    assert.match(first, /95274d2c-0941-4d96-b032-ab200f81362c/);
    // The timeline is its own request: wait for it rather than count what has arrived so far.
    await page.waitForFunction(() => document.querySelectorAll('.timeline-item').length >= 4, undefined, WAIT);
    const before = await page.locator('.timeline-item').count();
    assert.equal(before, 4, 'box + 3 sub-devices first seen');

    // 101 goes offline, 102 comes back.
    assert.equal((await server.post(report('LIVE-BOX-1', { '192.168.1.101': 'offline', '192.168.1.102': 'online', '192.168.1.103': 'online' }))).status, 200);
    await page.waitForFunction((n) => document.querySelectorAll('.timeline-item').length === n + 2, before, WAIT);
    const newest = await page.locator('.timeline-item').first().innerText();
    assert.match(newest, /online\s*→\s*offline|offline\s*→\s*online/);
    await page.waitForFunction(
      () => document.querySelector('tr.sub-row[data-ep-id="LIVE-BOX-1__192.168.1.101"] .pill')?.textContent === 'offline',
      undefined,
      WAIT,
    );
    assert.equal(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument), true, 'no reload');
    const shot = join(shots, 'box-live.png');
    await page.screenshot({ path: shot, fullPage: true });
    assertPng(shot);
  });

  it('renders box-supplied strings as text, never as HTML', async () => {
    const devSno = 'XSS<b>bold</b>';
    const evil = '<img src=x onerror=alert(1)>';
    const body = report(devSno, { '10.0.0.9': 'online' });
    body.sub_devices[0]!.ep_name = evil;
    body.sub_devices[0]!.ep_location = '"><script>alert(2)</script>';
    assert.equal((await server.post(body)).status, 200);

    await page.locator('a.back').click();
    const row = page.locator('tr.box-row', { hasText: devSno });
    await row.waitFor(WAIT);
    await row.getByRole('link').click();
    await page.getByText(evil, { exact: true }).waitFor(WAIT);
    await page.getByText('"><script>alert(2)</script>', { exact: true }).waitFor(WAIT);
    assert.equal(await page.locator('h1.box-title').innerText(), devSno);
    assert.equal(await page.locator('img').count(), 0, 'no <img> element was created');
    assert.equal(await page.locator('main b, main script').count(), 0, 'no markup from the box');
    await page.waitForTimeout(300);
    assert.deepEqual(dialogs, [], 'no dialog fired');
    const shot = join(shots, 'xss.png');
    await page.screenshot({ path: shot, fullPage: true });
    assertPng(shot);
  });

  it('logs out, and logs in again from a ?token= link that it then drops from the address', async () => {
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByLabel('Admin token').waitFor(WAIT);
    assert.equal((await browser.context.cookies()).some((c) => c.name === 'devstatus_session'), false);
    await page.goto(`${server.url}/?token=${encodeURIComponent(TOKEN)}#/boxes`);
    await page.locator('.live-badge.live').waitFor(WAIT);
    assert.equal(new URL(page.url()).search, '');
    await page.locator('tr.box-row', { hasText: 'LIVE-BOX-1' }).waitFor(WAIT);
  });

  it('loaded nothing from elsewhere and raised no script error', () => {
    assert.deepEqual(foreignRequests, []);
    assert.deepEqual(pageErrors, []);
  });
});
