// The dashboard's box page shows the box's health (latest figures and the 24 h chart) and, on an
// offline sub-device, the box's reason; never a camera password. Real Chromium, real receiver.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { launchChromium, type Browser } from './support/browser.js';
import { sqliteBackend, startServer, type FreshStore, type RunningServer } from './support/server.js';

const RICH = 'AFVKQF000120210604151110';
const WAIT = { timeout: 15_000 };

describe('dashboard: box health and offline reasons', { timeout: 120_000 }, () => {
  let server: RunningServer;
  let fresh: FreshStore;
  let browser: Browser;
  before(async () => {
    fresh = await sqliteBackend.fresh();
    server = await startServer(fresh.store);
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    await fresh?.store.close();
    await fresh?.cleanup();
  });

  it('shows CPU, memory, disk and version, a chart once there are points, and the reason a camera is offline', async () => {
    const text = readFileSync(new URL('../examples/reports/rich.json', import.meta.url), 'utf8');
    assert.equal((await server.post(text, { raw: true })).status, 200);
    // An earlier point, so the chart has a line to draw.
    await server.store.platform.recordHealthPoint(RICH, Date.now() - 3_600_000, { cpu_pct: 10, mem_pct: 50, disk_pct: 60 });
    const page = await browser.context.newPage();
    await page.goto(`${server.url}/#/boxes/${RICH}`);
    const panel = page.locator('.box-health');
    await panel.waitFor(WAIT);
    const facts = await panel.locator('.facts').innerText();
    assert.match(facts, /CPU\s*37\.5%/);
    assert.match(facts, /memory\s*61\.2%/);
    assert.match(facts, /disk\s*66\.7%/);
    assert.match(facts, /2\.4\.1/);
    await page.locator('.health-chart polyline.line-cpu').waitFor({ ...WAIT, state: 'attached' });
    const reason = page.locator('.ep-detail', { hasText: 'ECONNREFUSED' });
    await reason.waitFor(WAIT);
    assert.equal(await page.locator('.ep-detail', { hasText: 'DESCRIBE 401 credentials rejected' }).count(), 1);
    assert.equal((await page.content()).includes('hik12345'), false);
    assert.equal(await page.locator('.box-login').count(), 0, 'a box that never logged in shows no login facts');
    await page.close();
  });

  it('shows how the box logged in (when, MAC, period) and warns in words when its code logged in from a second MAC', async () => {
    const login = (mac: string) => fetch(`${server.url}/login?dev_sno=${RICH}&hex_mac=${mac}`);
    assert.equal((await login('e0a509123456')).status, 200);
    const page = await browser.context.newPage();
    await page.goto(`${server.url}/#/boxes/${RICH}`);
    const facts = page.locator('.box-login');
    await facts.waitFor(WAIT);
    assert.match(await facts.innerText(), /e0:a5:09:12:34:56/);
    assert.match(await facts.innerText(), /every \d+ s/);
    assert.equal(await page.locator('.mac-conflict').count(), 0, 'one MAC: no warning');

    assert.equal((await login('e0a5090000ff')).status, 200);
    await page.reload();
    const warning = page.locator('.mac-conflict');
    await warning.waitFor(WAIT);
    const text = await warning.innerText();
    assert.match(text, /2 different MACs: possibly a cloned box/);
    assert.match(text, /e0:a5:09:12:34:56, e0:a5:09:00:00:ff/);
    assert.equal(await warning.getAttribute('role'), 'alert');
    const keep = process.env.DEVSTATUS_KEEP_SHOTS;
    if (keep) {
      for (const width of [1440, 390]) {
        await page.setViewportSize({ width, height: 900 });
        await page.screenshot({ path: join(keep, `box-login-${width}-en.png`) });
      }
    }
    await page.close();
  });
});
