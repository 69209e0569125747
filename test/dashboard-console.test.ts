// The operator console in real headless Chromium against the real receiver on loopback: the
// problems view (ranking, live updates, filters), names and places set by an admin, counts that
// agree, and a box's availability, outages and history pages.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { launchChromium, type Browser } from './support/browser.js';
import { LOCATION_ID, startConsoleFleet, type ConsoleFleet } from './support/console-fleet.js';

const TOKEN = 'dashboard-console-test-token';
const WAIT = { timeout: 15_000 };

/** The keys of the problem rows, top to bottom. */
async function problemKeys(page: Page): Promise<string[]> {
  return page.locator('tr.problem-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-key') ?? ''));
}

describe('operator console in headless Chromium', { timeout: 240_000 }, () => {
  let fleet: ConsoleFleet;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  before(async () => {
    fleet = await startConsoleFleet(TOKEN);
    browser = await launchChromium({ locale: 'en-US', viewport: { width: 1440, height: 900 }, timezoneId: 'Asia/Shanghai' });
    page = await browser.context.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(`${fleet.server.url}/?token=${encodeURIComponent(TOKEN)}`);
    await page.locator('.live-badge.live').waitFor(WAIT);
  });

  after(async () => {
    await browser?.close();
    await fleet?.close();
  });

  it('lands on the problems view: boxes and cameras down now, longest down first, no credentials shown', async () => {
    assert.equal(await page.locator('a.nav-link[aria-current="page"]').innerText(), 'Problems');
    await page.locator('tr.problem-row[data-key="sub:EDGE-NEW__10.2.0.1"]').waitFor(WAIT);
    const keys = await problemKeys(page);
    const at = (k: string) => keys.indexOf(k);
    assert.ok(at('sub:EDGE-OLD__10.1.0.1') >= 0 && at('box:EDGE-SILENT') >= 0, `rows: ${keys.join(', ')}`);
    // 3 h down, then the box silent for 30 min, then 10 min down.
    assert.ok(at('sub:EDGE-OLD__10.1.0.1') < at('box:EDGE-SILENT'), keys.join(', '));
    assert.ok(at('box:EDGE-SILENT') < at('sub:EDGE-NEW__10.2.0.1'), keys.join(', '));
    // The silent box is one row, its cameras are not listed as problems of their own.
    assert.equal(keys.filter((k) => k.startsWith('sub:EDGE-SILENT')).length, 0);
    const oldRow = page.locator('tr.problem-row[data-key="sub:EDGE-OLD__10.1.0.1"]');
    assert.match(await oldRow.locator('td.for').innerText(), /^3 h/);
    assert.match(await oldRow.locator('td.since').innerText(), /\d{2}\/\d{2}\/\d{4}.*\d{2}:\d{2} GMT\+8/);
    assert.match(await page.locator('tr.problem-row[data-key="box:EDGE-SILENT"]').innerText(), /2 cameras unknown/);
    const newRow = await page.locator('tr.problem-row[data-key="sub:EDGE-NEW__10.2.0.1"]').innerText();
    assert.match(newRow, /rtsp:\/\/10\.2\.0\.1:554\/stream1/);
    assert.doesNotMatch(await page.locator('main').innerText(), /secret/);
  });

  it('adds a camera that goes offline, live and without reload, and drops it when it is back', async () => {
    await page.evaluate(() => ((window as unknown as { sameDocument: boolean }).sameDocument = true));
    fleet.state['EDGE-OLD']!['10.1.0.2'] = 'offline';
    const row = page.locator('tr.problem-row[data-key="sub:EDGE-OLD__10.1.0.2"]');
    await row.waitFor(WAIT);
    const keys = await problemKeys(page);
    assert.equal(keys[keys.length - 1], 'sub:EDGE-OLD__10.1.0.2', 'down just now: last');
    assert.match(await row.locator('td.for').innerText(), /^\d+ s$/);
    fleet.state['EDGE-OLD']!['10.1.0.2'] = 'online';
    await row.waitFor({ state: 'detached', ...WAIT });
    assert.equal(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument), true, 'no reload');
  });

  it('filters by status with pressed buttons (mouse or keyboard), sorts by column, keeps both in the address', async () => {
    const unknown = page.getByRole('button', { name: 'Unknown', exact: true });
    await unknown.focus();
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.querySelectorAll('tr.problem-row .pill[data-status="unknown"]').length === 2, undefined, WAIT);
    assert.equal(await unknown.getAttribute('aria-pressed'), 'true');
    assert.equal(await page.getByRole('button', { name: 'Problems', exact: true }).getAttribute('aria-pressed'), 'false');
    assert.match(page.url(), /#\/\?status=unknown$/);
    await page.getByRole('button', { name: 'Problems', exact: true }).click();
    await page.locator('tr.problem-row[data-key="box:EDGE-SILENT"]').waitFor(WAIT);
    await page.locator('th button.sort-button', { hasText: 'Box' }).click();
    await page.waitForFunction(() => location.hash === '#/?sort=box', undefined, WAIT);
    assert.equal(await page.locator('th[aria-sort="ascending"]').innerText(), 'Box↕'.replace('↕', '▲'));
    const keys = await problemKeys(page);
    const boxes = keys.map((k) => k.replace(/^(sub|box):/, '').replace(/__.*/, ''));
    assert.deepEqual(boxes, [...boxes].sort(), `sorted by box: ${boxes.join(', ')}`);
    await page.goto(`${fleet.server.url}/#/`);
  });

  it('has summary counts that add up, each card a link to its list, and no alarm colour for zero', async () => {
    await page.locator('.card-value').first().waitFor(WAIT);
    const summary = (await (await fetch(`${fleet.server.url}/api/summary`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as {
      sub_devices: { total: number; online: number; offline: number; unknown: number; removed: number };
    };
    const s = summary.sub_devices;
    assert.equal(s.total, s.online + s.offline + s.unknown);
    assert.ok(s.unknown >= 2 && s.removed >= 1, JSON.stringify(s));
    const unknownCard = page.locator('a.card', { hasText: 'sub-devices unknown' });
    await page.waitForFunction((n) => document.querySelector('a.card.warn .card-value')?.textContent === String(n), s.unknown, WAIT);
    assert.equal(await page.locator('a.card', { hasText: 'sub-devices removed' }).locator('.card-value').innerText(), String(s.removed));
    await unknownCard.click();
    await page.waitForURL(/#\/\?status=unknown$/, WAIT);
    await page.locator('tr.problem-row .pill[data-status="unknown"]').first().waitFor(WAIT);
    // Zero offline boxes would be plain text, not red: the card's class says which.
    const offlineBoxes = page.locator('a.card', { hasText: 'boxes offline' });
    assert.match((await offlineBoxes.getAttribute('class')) ?? '', /\bbad\b/, 'one box is offline: red');
    assert.equal(await offlineBoxes.getAttribute('href'), '#/boxes?status=offline');
  });

  it('shows an offline box’s cameras as unknown in the box list and on its page, header and rows alike', async () => {
    await page.goto(`${fleet.server.url}/#/boxes`);
    const row = page.locator('tr.box-row', { hasText: 'EDGE-SILENT' });
    await row.waitFor(WAIT);
    assert.match(await row.locator('.subs').innerText(), /^2 unknown$/);
    await row.getByRole('link').click();
    await page.waitForFunction(() => document.querySelectorAll('tr.sub-row .pill[data-status="unknown"]').length === 2, undefined, WAIT);
    assert.match(await page.locator('.facts .counts').innerText(), /0 online · 0 offline · 2 unknown/);
  });

  it('sorts the box list by a column header (again: the other way) and filters by location and version', async () => {
    await page.goto(`${fleet.server.url}/#/boxes`);
    await page.locator('tr.box-row').first().waitFor(WAIT);
    const asked = (want: Record<string, string>) =>
      page.waitForRequest((r) => {
        const u = new URL(r.url());
        return u.pathname === '/api/devices' && Object.entries(want).every(([k, v]) => u.searchParams.get(k) === v);
      }, WAIT);
    let request = asked({ sort: 'status_since', order: 'asc' });
    await page.locator('th button.sort-button', { hasText: 'Status since' }).click();
    await request;
    assert.equal(await page.locator('th[aria-sort]').getAttribute('aria-sort'), 'ascending');
    request = asked({ sort: 'status_since', order: 'desc' });
    await page.locator('th button.sort-button', { hasText: 'Status since' }).click();
    await request;
    assert.equal(await page.locator('th[aria-sort]').getAttribute('aria-sort'), 'descending');
    request = asked({ location: LOCATION_ID, version: '2.1.0', sort: 'status_since', order: 'desc' });
    await page.getByLabel('Location…').fill(LOCATION_ID);
    await page.getByLabel('Version…').fill('2.1.0');
    await request;
    assert.match(page.url(), /#\/boxes\?location=[^&]+&version=2\.1\.0&sort=status_since&order=desc$/);
  });

  it('filters the box list by disk use (kept in the address), shows each box’s disk use, and at 390 px the control fits', async () => {
    await page.goto(`${fleet.server.url}/#/boxes`);
    const oldRow = page.locator('tr.box-row[data-dev-sno="EDGE-OLD"]');
    await oldRow.waitFor(WAIT);
    await page.waitForFunction(() => document.querySelector('tr.box-row[data-dev-sno="EDGE-OLD"] td.disk')?.textContent === '93 %', undefined, WAIT);
    assert.equal(await page.locator('tr.box-row[data-dev-sno="EDGE-NEW"] td.disk').innerText(), '41 %');
    assert.equal(await page.locator('tr.box-row[data-dev-sno="EDGE-FLIP"] td.disk').innerText(), '—');
    const asked = page.waitForRequest((r) => r.url().includes('/api/devices?') && new URL(r.url()).searchParams.get('disk_min') === '90', WAIT);
    await page.getByLabel('Disk use').selectOption('90');
    await asked;
    await page.locator('tr.box-row[data-dev-sno="EDGE-NEW"]').waitFor({ state: 'detached', ...WAIT });
    const shown = await page.locator('tr.box-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-dev-sno')));
    assert.deepEqual(shown, ['EDGE-OLD']);
    assert.match(page.url(), /#\/boxes\?disk=90$/);
    // Opened from the address, the filter is on again.
    await page.reload();
    await page.locator('tr.box-row[data-dev-sno="EDGE-OLD"]').waitFor(WAIT);
    assert.equal(await page.getByLabel('Disk use').inputValue(), '90');
    assert.equal(await page.locator('tr.box-row').count(), 1);
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      const box = await page.getByLabel('Disk use').boundingBox();
      assert.ok(box && box.x >= 0 && box.x + box.width <= 390, `disk select inside the screen: ${JSON.stringify(box)}`);
      assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 390), 'no sideways scrolling');
    } finally {
      await page.setViewportSize({ width: 1440, height: 900 });
    }
    await page.getByLabel('Disk use').selectOption('');
    await page.locator('tr.box-row[data-dev-sno="EDGE-NEW"]').waitFor(WAIT);
    assert.match(page.url(), /#\/boxes$/);
  });

  it('shows a box’s availability, outages with durations, a chart, and pages its history back without limit', async () => {
    await page.goto(`${fleet.server.url}/#/boxes/EDGE-OLD`);
    await page.locator('.availability-value').waitFor(WAIT);
    assert.match(await page.locator('.availability-value').innerText(), /^\d+\.\d %$/);
    assert.match(await page.locator('tr.sub-row[data-ep-id="EDGE-OLD__10.1.0.1"] td.availability').innerText(), /^0\.0 %$/);
    const outage = page.locator('tr.outage-row.ongoing', { hasText: 'cam 10.1.0.1' });
    await outage.waitFor(WAIT);
    assert.match(await outage.locator('td.for').innerText(), /^3 h/);
    await page.locator('.availability-chart canvas').waitFor(WAIT);
    await page.getByRole('button', { name: '7 days' }).click();
    await page.waitForFunction(() => document.querySelector('.box-stats .seg[aria-pressed="true"]')?.textContent === '7 days', undefined, WAIT);
    await page.waitForURL(/#\/boxes\/EDGE-OLD\?window=7d$/, WAIT);

    await page.goto(`${fleet.server.url}/#/boxes/EDGE-FLIP`);
    await page.waitForFunction(() => document.querySelectorAll('.timeline-item').length >= 100, undefined, WAIT);
    const first = await page.locator('.timeline-item').count();
    await page.getByRole('button', { name: 'Older changes' }).click();
    await page.waitForFunction((n) => document.querySelectorAll('.timeline-item').length > n, first, WAIT);
    // Only one camera's changes.
    await page.getByLabel('Camera', { exact: true }).selectOption('EDGE-FLIP__10.4.0.1');
    await page.waitForFunction(() => [...document.querySelectorAll('.timeline-item .subject')].every((s) => /10\.4\.0\.1/.test(s.textContent ?? '')), undefined, WAIT);
    assert.match(page.url(), /ep_id=EDGE-FLIP__10\.4\.0\.1/);
    // A time range typed in the operator's zone (the browser's: Asia/Shanghai, UTC+8) is asked
    // for in UTC (the server's filtering is tested with the API, test/console-api.test.ts).
    const from = Math.floor((Date.now() - 110 * 60_000) / 60_000) * 60_000;
    const typed = new Date(from + 8 * 3600_000).toISOString().slice(0, 16);
    const asked = page.waitForRequest((r) => r.url().includes('/history?') && new URL(r.url()).searchParams.get('from') === new Date(from).toISOString(), WAIT);
    await page.getByLabel('From', { exact: true }).fill(typed);
    await asked;
    assert.ok(page.url().includes(`from=${encodeURIComponent(new Date(from).toISOString())}`), page.url());
    await page.getByLabel('From', { exact: true }).fill('');
    await page.waitForFunction(() => !/from=/.test(location.hash), undefined, WAIT);
    const csv = await page.getByRole('link', { name: 'Export CSV' }).getAttribute('href');
    assert.match(csv ?? '', /^\/api\/export\/history\.csv\?dev_sno=EDGE-FLIP&ep_id=EDGE-FLIP__10\.4\.0\.1$/);
    const res = await fetch(`${fleet.server.url}${csv}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(res.status, 200);
    assert.ok((await res.text()).split('\n').length > 100, 'the export holds every change');
  });

  it('lets an admin name a code and a location, and the problems row then shows the names', async () => {
    await page.goto(`${fleet.server.url}/#/admin/codes`);
    const code = page.locator('tr.code-row[data-dev-sno="EDGE-OLD"]');
    await code.waitFor(WAIT);
    await code.getByRole('button', { name: 'Edit' }).click();
    await code.getByLabel('Name').fill('Nanshan north gate');
    await code.getByLabel('Location').fill('Shenzhen campus');
    await code.getByRole('button', { name: 'Save' }).click();
    await page.locator('tr.code-row[data-dev-sno="EDGE-OLD"]', { hasText: 'Nanshan north gate' }).waitFor(WAIT);

    await page.getByRole('link', { name: 'Locations' }).click();
    await page.getByLabel('Location id').fill(LOCATION_ID);
    await page.getByLabel('Name', { exact: true }).fill('Building 1, lobby');
    await page.getByRole('button', { name: 'Add or replace' }).click();
    await page.locator('tr.location-row', { hasText: 'Building 1, lobby' }).waitFor(WAIT);

    await page.getByRole('link', { name: 'Problems' }).click();
    const row = page.locator('tr.problem-row[data-key="sub:EDGE-OLD__10.1.0.1"]');
    await row.waitFor(WAIT);
    await page.waitForFunction(() => /Nanshan north gate/.test(document.querySelector('tr.problem-row[data-key="sub:EDGE-OLD__10.1.0.1"]')?.textContent ?? ''), undefined, WAIT);
    assert.match(await row.locator('td.box').innerText(), /Nanshan north gate/);
    assert.equal(await row.locator('td.location').innerText(), 'Building 1, lobby');
  });

  it('sets a box’s report period and group, and a group’s period, on the codes page; a wrong value is named and nothing is saved', async () => {
    const settings = async () => {
      const res = await fetch(`${fleet.server.url}/api/codes/EDGE-NEW`, { headers: { authorization: `Bearer ${TOKEN}` } });
      return ((await res.json()) as { settings: Record<string, unknown> }).settings;
    };
    const before = await settings();
    await page.goto(`${fleet.server.url}/#/admin/codes`);
    const code = page.locator('tr.code-row[data-dev-sno="EDGE-NEW"]');
    await code.waitFor(WAIT);
    // The list itself says each code's period and where it comes from, before any editor opens.
    const periodCell = code.locator('td.code-period-cell');
    assert.equal(await periodCell.innerText(), 'every 20 s · fleet default');
    await code.getByRole('button', { name: 'Edit' }).click();
    const form = code.locator('form.edit-code');
    await form.locator('.period-now', { hasText: 'reports every 20 s (fleet default)' }).waitFor(WAIT);
    for (const [bad, says] of [
      ['abc', 'Report period: “abc” is not a whole number of seconds from 1 to 86400.'],
      ['0', 'Report period: “0” is not a whole number of seconds from 1 to 86400.'],
      ['90000', 'Report period: “90000” is not a whole number of seconds from 1 to 86400.'],
      ['2.5', 'Report period: “2.5” is not a whole number of seconds from 1 to 86400.'],
    ]) {
      await form.getByLabel('Report period (s)').fill(bad!);
      await form.getByRole('button', { name: 'Save' }).click();
      assert.equal(await form.getByRole('alert').innerText(), says);
    }
    await form.getByLabel('Report period (s)').fill('30');
    await form.getByLabel('Group').fill(' '.padEnd(3) + 'x'.repeat(65));
    await form.getByRole('button', { name: 'Save' }).click();
    assert.equal(await form.getByRole('alert').innerText(), 'Group: a name of 1 to 64 characters, no spaces at either end.');
    assert.deepEqual(await settings(), before, 'nothing saved while a field is wrong');

    await form.getByLabel('Group').fill('north gate');
    await form.getByRole('button', { name: 'Save' }).click();
    await page.locator('.notice', { hasText: 'Saved EDGE-NEW. reports every 30 s (set for this box)' }).waitFor(WAIT);
    assert.deepEqual(await settings(), { dev_sno: 'EDGE-NEW', group: 'north gate', report_period_s: 30, effective_period_s: 30, period_source: 'box' });
    await page.locator('tr.code-row[data-dev-sno="EDGE-NEW"] td.code-period-cell', { hasText: 'every 30 s · set for this box' }).waitFor(WAIT);

    // The group's own period: the box takes it once its own is cleared.
    const group = page.locator('tr.group-row[data-group="north gate"]');
    await group.waitFor(WAIT);
    assert.equal(await group.locator('td.num').innerText(), '1');
    await group.getByLabel('Report period (s) · north gate').fill('-5');
    await group.getByRole('button', { name: 'Save' }).click();
    assert.match(await group.getByRole('alert').innerText(), /“-5” is not a whole number/);
    await group.getByLabel('Report period (s) · north gate').fill('45');
    await group.getByRole('button', { name: 'Save' }).click();
    await group.getByRole('status').waitFor(WAIT);
    await code.getByRole('button', { name: 'Edit' }).click();
    await form.getByLabel('Report period (s)').fill('');
    await form.getByRole('button', { name: 'Save' }).click();
    await page.locator('.notice', { hasText: 'reports every 45 s (from its group)' }).waitFor(WAIT);
    assert.deepEqual(await settings(), { dev_sno: 'EDGE-NEW', group: 'north gate', report_period_s: null, effective_period_s: 45, period_source: 'group' });
    await page.locator('tr.code-row[data-dev-sno="EDGE-NEW"] td.code-period-cell', { hasText: 'every 45 s · group north gate' }).waitFor(WAIT);
    assert.equal(await page.locator('tr.code-row[data-dev-sno="EDGE-OLD"] td.code-period-cell').innerText(), 'every 20 s · fleet default');
  });

  it('shows the report URL and a curl line to copy when there is no code yet', async () => {
    await page.goto(`${fleet.server.url}/#/admin/codes`);
    await page.getByRole('button', { name: 'Issue a code' }).click();
    const issued = page.locator('.issued .issued-code');
    await issued.waitFor(WAIT);
    const code = await issued.innerText();
    assert.match(code, /^[A-Z0-9]{24}$/);
    assert.equal(await page.locator('.issued .report-url').innerText(), `${fleet.server.url}/DeviceStatus`);
    const curl = await page.locator('.issued .curl-line').innerText();
    assert.ok(curl.startsWith(`curl -X POST '${fleet.server.url}/DeviceStatus'`) && curl.includes(`"dev_sno":"${code}"`), curl);
  });

  it('raised no script error', () => {
    assert.deepEqual(pageErrors, []);
  });
});
