// Every console page in both languages and on a phone: no untranslated words, nothing wider
// than a 390 px screen (tables become cards), status colours and controls with AA contrast.
// Screenshots (1440 and 390 px, zh-CN and English) are kept in DEVSTATUS_KEEP_SHOTS, if set.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { launchChromium, type Browser } from './support/browser.js';
import { startConsoleFleet, type ConsoleFleet } from './support/console-fleet.js';
import { contrast } from './support/contrast.js';

const TOKEN = 'dashboard-console-layout-token';
const WAIT = { timeout: 15_000 };
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1440, height: 900 };
/** Each page, and what shows it has its data. */
const PAGES: { name: string; hash: string; ready: string }[] = [
  { name: 'problems', hash: '#/', ready: 'tr.problem-row' },
  { name: 'boxes', hash: '#/boxes', ready: 'tr.box-row' },
  { name: 'box', hash: '#/boxes/EDGE-OLD', ready: '.availability-chart canvas' },
  { name: 'history', hash: '#/history', ready: '.timeline-item' },
  { name: 'codes', hash: '#/admin/codes', ready: 'tr.code-row' },
  { name: 'locations', hash: '#/admin/locations', ready: 'tr.empty-row, tr.location-row' },
  { name: 'silences', hash: '#/alerts/silences', ready: 'table.silences tbody tr' },
  { name: 'channels', hash: '#/alerts/channels', ready: 'table.channels tbody tr' },
  { name: 'notifications', hash: '#/alerts/notifications', ready: 'tr.empty-row, tr.notification-row' },
];
/** Words that are names, not text to translate (product, units, formats, protocol fields). */
// CPU: the box page's health panel, written so in Chinese too (CPU 使用率).
const NOT_WORDS = new Set(['devstatus', 'English', 'IP', 'CPU', 'CSV', 'GMT', 'UTC', 'rtsp', 'photo', 'file', 'gb', 'curl', 'POST', 'DeviceStatus', 'Webhook']);

/** The visible text of the page with what the boxes sent (ids, addresses, names) taken out. */
async function visibleWords(page: Page, pattern: RegExp): Promise<string[]> {
  const text = await page.evaluate(() => {
    const shell = document.querySelector('.shell')!.cloneNode(true) as HTMLElement;
    for (const el of shell.querySelectorAll('.mono, code, .dev-sno-small, .box-link, .subject, .type, select, .u-axis, .lang-switch')) el.remove();
    document.body.append(shell);
    const t = shell.innerText;
    shell.remove();
    return t;
  });
  // Also the protocol's field names (dev_sno, ep_id, access_token) and DingTalk's own name for signing (加签), shown as they are.
  const cleaned = text.replace(/EDGE-[A-Z0-9-]+|cam [\d.]+|rtsp:\S+|[0-9a-f]{8}-[0-9a-f-]{27}|[\d.]+|dev_sno|ep_id|access_token|加签/g, ' ');
  return (cleaned.match(pattern) ?? []).filter((w) => !NOT_WORDS.has(w));
}

/** Nav links outside the screen, or a nav that scrolls sideways (each entry must be in view). */
async function navOutOfView(page: Page, width: number): Promise<string[]> {
  return page.evaluate((w) => {
    const nav = document.querySelector('.main-nav')!;
    const out = [...nav.querySelectorAll('a')].filter((a) => {
      const r = a.getBoundingClientRect();
      return r.left < 0 || r.right > w || r.width === 0;
    });
    return [...out.map((a) => a.textContent ?? ''), ...(nav.scrollWidth > nav.clientWidth ? ['(the nav scrolls sideways)'] : [])];
  }, width);
}

/** Filter buttons (status choices) cut by the viewport or by a container that scrolls sideways. */
async function filterButtonsOutOfView(page: Page, width: number): Promise<string[]> {
  return page.evaluate((w) =>
    [...document.querySelectorAll<HTMLElement>('.segmented')].flatMap((group) => [
      ...[...group.querySelectorAll<HTMLElement>('.seg')]
        .filter((b) => {
          const r = b.getBoundingClientRect();
          return r.left < 0 || r.right > w || r.width === 0;
        })
        .map((b) => b.textContent ?? ''),
      ...(group.scrollWidth > group.clientWidth ? [`(${group.textContent} scrolls sideways)`] : []),
    ]), width);
}

/** Pairs of the availability chart's x labels that run into each other (measured in uPlot's axis font). */
async function overlappingChartLabels(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const holder = document.querySelector<HTMLElement>('.availability-chart')!;
    const ticks = JSON.parse(holder.dataset.xTicks ?? '[]') as [number, string][];
    const ctx = document.createElement('canvas').getContext('2d')!;
    ctx.font = '12px system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", sans-serif';
    // Half the width of each label's widest line (labels are centred on their tick).
    const halves = ticks.map(([, text]) => Math.max(...text.split('\n').map((line) => ctx.measureText(line).width)) / 2);
    const bad: string[] = [];
    for (let i = 1; i < ticks.length; i++) {
      const [x0, a] = ticks[i - 1]!;
      const [x1, b] = ticks[i]!;
      // At least 4 px of space between two labels.
      if (x0 + halves[i - 1]! + 4 > x1 - halves[i]!) bad.push(`${JSON.stringify(a)} @${x0} / ${JSON.stringify(b)} @${x1}`);
    }
    return ticks.length < 2 ? ['fewer than two labels'] : bad;
  });
}

/** Timeline rows whose time (its text as drawn) overlaps the name of what changed. */
async function timeOverName(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const range = document.createRange();
    return [...document.querySelectorAll('.timeline-item')].flatMap((li) => {
      const time = li.querySelector('.timeline-time');
      const subject = li.querySelector('.subject');
      if (!time || !subject) return [];
      // The text as drawn (it may overflow its element), not the element's box.
      range.selectNodeContents(time);
      const a = range.getBoundingClientRect();
      range.selectNodeContents(subject);
      const b = range.getBoundingClientRect();
      const apart = a.right <= b.left || b.right <= a.left || a.bottom <= b.top || b.bottom <= a.top;
      return apart ? [] : [`${time.textContent}|${subject.textContent}`];
    });
  });
}

describe('operator console pages in both languages, on a phone, with AA contrast', { timeout: 300_000 }, () => {
  let fleet: ConsoleFleet;
  const browsers: Browser[] = [];
  const pageErrors: string[] = [];
  const keep = process.env.DEVSTATUS_KEEP_SHOTS;
  const shots = keep ? (mkdirSync(keep, { recursive: true }), keep) : mkdtempSync(join(tmpdir(), 'devstatus-console-shots-'));

  async function openPage(locale: string, viewport: { width: number; height: number }): Promise<Page> {
    const browser = await launchChromium({ locale, viewport, timezoneId: 'Asia/Shanghai' });
    browsers.push(browser);
    const page = await browser.context.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(`${fleet.server.url}/?token=${encodeURIComponent(TOKEN)}`);
    await page.locator('.live-badge.live').waitFor(WAIT);
    return page;
  }

  async function show(page: Page, p: (typeof PAGES)[number]): Promise<void> {
    await page.goto(`${fleet.server.url}/${p.hash}`);
    await page.locator(p.ready).first().waitFor(WAIT);
    // Let the throttled live refetches settle before measuring.
    await page.waitForTimeout(300);
  }

  before(async () => {
    fleet = await startConsoleFleet(TOKEN);
  });

  after(async () => {
    for (const b of browsers) await b.close();
    await fleet?.close();
    if (keep) console.log(`screenshots kept in ${shots}`);
    else rmSync(shots, { recursive: true, force: true });
  });

  for (const [locale, lang] of [
    ['zh-CN', 'zh-CN'],
    ['en-US', 'en'],
  ] as const) {
    for (const [viewport, size] of [
      [DESKTOP, 1440],
      [PHONE, 390],
    ] as const) {
      it(`shows every page in ${lang} at ${size} px with no missing strings${size === 390 ? ' and no sideways scrolling' : ''}`, async () => {
        const page = await openPage(locale, viewport);
        assert.equal(await page.evaluate(() => document.documentElement.lang), lang);
        for (const p of PAGES) {
          await show(page, p);
          const file = join(shots, `${p.name}-${size}-${lang}.png`);
          await page.screenshot({ path: file, fullPage: true });
          assert.ok(readFileSync(file).length > 10_000, `${file} has content`);
          if (lang === 'zh-CN') assert.deepEqual(await visibleWords(page, /[A-Za-z]{2,}/g), [], `no English on the Chinese ${p.name} page`);
          else assert.deepEqual(await visibleWords(page, /[\u4e00-\u9fff]+/g), [], `no Chinese on the English ${p.name} page`);
          assert.deepEqual(await navOutOfView(page, viewport.width), [], `${p.name}: every nav entry in view`);
          assert.deepEqual(await filterButtonsOutOfView(page, viewport.width), [], `${p.name}: every filter button in view`);
          if (p.name === 'box') {
            assert.deepEqual(await overlappingChartLabels(page), [], 'chart time labels apart');
            assert.deepEqual(await timeOverName(page), [], 'history times apart from the names');
          }
          if (size === 390) {
            const width = await page.evaluate(() => document.documentElement.scrollWidth);
            assert.ok(width <= PHONE.width, `${p.name} page is ${width} px wide on a 390 px phone`);
            for (const row of await page.locator('table.data-table tbody tr').all()) {
              assert.equal(await row.evaluate((tr) => getComputedStyle(tr).display), 'block', `${p.name}: rows are cards`);
            }
          }
        }
      });
    }
  }

  it('draws each status with at least 4.5:1 contrast and in words, and the console’s controls too', async () => {
    const page = await openPage('en-US', DESKTOP);
    const seen = new Map<string, number>();
    for (const status of ['problems', 'online', 'unknown', 'removed']) {
      await page.goto(`${fleet.server.url}/#/?status=${status}`);
      const wanted = status === 'problems' ? 'offline' : status;
      await page.locator(`tr.problem-row .pill[data-status="${wanted}"]`).first().waitFor(WAIT);
      for (const pill of await page.locator('.pill').all()) {
        const s = (await pill.getAttribute('data-status'))!;
        assert.equal((await pill.innerText()).trim(), s, 'the status is written out');
        seen.set(s, Math.min(await contrast(pill), seen.get(s) ?? Infinity));
      }
      for (const sel of ['.seg', '.nav-link', '.card-value', '.card-label', '.kind-tag', '.location-id', '.sort-button', '.select-label span', '.lasting']) {
        for (const el of await page.locator(sel).all()) {
          const ratio = await contrast(el);
          assert.ok(ratio >= 4.5, `${sel} contrast ${ratio.toFixed(2)} (status=${status})`);
        }
      }
    }
    assert.deepEqual([...seen.keys()].sort(), ['offline', 'online', 'removed', 'unknown']);
    for (const [status, ratio] of seen) assert.ok(ratio >= 4.5, `${status} pill contrast ${ratio.toFixed(2)}`);
  });

  it('raised no script error', () => {
    assert.deepEqual(pageErrors, []);
  });
});
