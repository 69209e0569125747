// Issue 11's done test, end to end with real processes: `devstatus serve` (strict registry, the
// box's code registered, its period set to 2 s) and `devstatus agent` with login_url. The agent
// logs in, reports where and as often as it was told, in the rich dialect with its own health;
// a camera behind a closed loopback port is offline with its reason in the current state, in
// history and on the box page in Chromium. A period changed on the platform is followed (the
// agent logs in again), and a 403 (the code revoked) sends it back to the login until the code
// is reinstated, with every report delivered in the end.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { hostname, totalmem } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { mainInterface } from '../src/agent/box-info.js';
import { launchChromium, type Browser } from './support/browser.js';
import { startServeCli, type CliProcess } from './support/cli.js';
import { logLines, startAgent, stoppedStats, tempDir, waitUntil, writeConfig } from './support/agent.js';
import { freeTcpPort } from './support/peers.js';

const TOKEN = 'platform-e2e-admin-token-0123456789';
const BOX = 'E2EBOX000120261125';
const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const MB = 1024 * 1024;
const WAIT = { timeout: 15_000 };

describe('a box logs in, reports its health and its cameras\' offline reasons, and follows the platform', { timeout: 180_000 }, () => {
  let serve: CliProcess;
  let url: string;
  let agent: CliProcess;
  let browser: Browser | undefined;
  let closedPort: number;
  const { dir, cleanup } = tempDir('devstatus-e2e-');
  const iface = mainInterface();
  // The MAC of the machine's main interface, as the agent finds it; one is set when there is none.
  const mac = iface?.mac ?? '02:00:00:00:e2:e2';

  const api = async (path: string, init: RequestInit = {}) => {
    const res = await fetch(`${url}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${TOKEN}`, ...(init.body ? { 'content-type': 'application/json' } : {}), ...init.headers },
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };
  const box = async () => (await api(`/api/devices/${BOX}`)).body;
  const deliveredAt = () =>
    logLines(agent.output())
      .filter((l) => l.msg === 'report delivered')
      .map((l) => Number(l.time));

  before(async () => {
    const db = join(dir, 'devstatus.db');
    ({ proc: serve, url } = await startServeCli(['--db', db, '--registry-mode', 'strict'], { cwd: dir, env: { DEVSTATUS_ADMIN_TOKEN: TOKEN } }));
    assert.equal((await api('/api/admin/codes', { method: 'POST', body: JSON.stringify({ dev_sno: BOX }) })).status, 201);
    assert.equal((await api(`/api/codes/${BOX}`, { method: 'PUT', body: JSON.stringify({ report_period_s: 2 }) })).status, 200);
    closedPort = await freeTcpPort();
    writeFileSync(join(dir, 'video.mp4'), 'data');
    const config = writeConfig(dir, {
      dev_sno: BOX,
      login_url: `${url}/login`,
      // Short, so the test sees a period changed on the platform taken up within seconds.
      relogin_interval_s: 1,
      gateway_sn: 'SE3A2107001234',
      sdk_version: '3.0.0',
      ...(iface ? {} : { mac }),
      probe_timeout_s: 1,
      post_timeout_s: 2,
      backoff: { initial_s: 0.1, max_s: 0.5 },
      queue: { dir: 'queue' },
      sub_devices: [
        { type: 'photo', ip: '127.0.0.1', port: closedPort, ep_location: 'L1', ep_name: 'gate camera' },
        { type: 'file', path: join(dir, 'video.mp4'), ep_location: 'L1', ep_name: 'local video' },
      ],
    });
    agent = await startAgent(config);
  });

  after(async () => {
    await browser?.close();
    await agent?.stop();
    await serve?.stop();
    cleanup();
  });

  it('logs in with its code and its own MAC and reports where and as often as it was told (2 s)', async () => {
    await agent.waitFor(/logged in: reporting to http:\/\/127\.0\.0\.1:\d+\/DeviceStatus every 2 s/, 10_000);
    const code = (await api(`/api/codes/${BOX}`)).body;
    assert.equal(code.login.mac, mac.replace(/:/g, ''));
    assert.equal(code.login.period_s, 2);
    await waitUntil('three reports delivered after the login', () => deliveredAt().length >= 4, 15_000);
    const times = deliveredAt();
    // The first report may have waited for the login; those after it are 2 s apart.
    const gaps = times.slice(2).map((t, i) => t - times[i + 1]!);
    for (const gap of gaps) assert.ok(gap > 1500 && gap < 3000, `reports ${gaps.join(', ')} ms apart, expected ~2000`);
  });

  it('reports in the rich dialect with its own health, which the receiver keeps', async () => {
    const b = (await box()).box;
    assert.equal(b.dialect, 'rich');
    assert.deepEqual(b.gateway, { sn: 'SE3A2107001234', ...(iface?.ip ? { ip: iface.ip } : {}), name: hostname(), status: 'online' });
    const h = b.health;
    assert.equal(h.sw_version, VERSION);
    assert.equal(h.sdk_version, '3.0.0');
    assert.equal(h.mac, mac);
    assert.ok(h.cpu_pct >= 0 && h.cpu_pct <= 100, `cpu ${h.cpu_pct}`);
    assert.ok(h.mem_pct > 0 && h.mem_pct < 100, `memory ${h.mem_pct}`);
    assert.equal(h.mem_total_bytes, Math.round(totalmem() / MB) * MB);
    assert.ok(h.disk_total_bytes > 0 && h.disk_free_bytes <= h.disk_total_bytes, JSON.stringify(h));
    assert.ok(h.disk_pct >= 0 && h.disk_pct <= 100);
    const series = (await api(`/api/devices/${BOX}/health?window=1h`)).body;
    assert.ok(series.points.length >= 1, JSON.stringify(series));
    const fleet = (await api('/api/fleet/health?sw_version=' + VERSION)).body;
    assert.ok(fleet.boxes.includes(BOX), JSON.stringify(fleet));
    // The box list filters by its version and by how full its disk is.
    const listed = async (q: string) => (await api(`/api/devices?${q}`)).body.boxes.map((x: { dev_sno: string }) => x.dev_sno);
    assert.deepEqual(await listed(`version=${VERSION}`), [BOX]);
    assert.deepEqual(await listed('version=0.0.0-none'), []);
    assert.deepEqual(await listed(`disk_min=${Math.floor(h.disk_pct)}`), [BOX]);
    if (h.disk_pct < 99) assert.deepEqual(await listed(`disk_min=${Math.ceil(h.disk_pct) + 1}`), []);
    assert.equal((await api('/api/devices?disk_min=101')).status, 400);
  });

  it('a camera behind a closed port is offline with its reason, in the current state and in history', async () => {
    const { sub_devices: subs } = await box();
    const gate = subs.find((s: { ep_name: string }) => s.ep_name === 'gate camera');
    assert.equal(gate.ep_status, 'offline');
    assert.equal(gate.ep_detail, 'ECONNREFUSED');
    assert.equal(subs.find((s: { ep_name: string }) => s.ep_name === 'local video').ep_status, 'online');
    const history = (await api(`/api/devices/${BOX}/history?ep_id=${encodeURIComponent(gate.ep_id)}`)).body.entries;
    assert.deepEqual(
      history.map((e: Record<string, unknown>) => [e.from_status, e.to_status, e.reason, e.detail]),
      [[null, 'offline', 'first_seen', 'ECONNREFUSED']],
    );
    const fleet = (await api(`/api/history?dev_sno=${BOX}`)).body.entries;
    assert.equal(fleet.find((e: { ep_id: string }) => e.ep_id === gate.ep_id).detail, 'ECONNREFUSED');
    // The box itself and the file have no reason.
    assert.ok(fleet.filter((e: { ep_id: string }) => e.ep_id !== gate.ep_id).every((e: { detail: unknown }) => e.detail === null));
  });

  it('the box page shows the health figures and the offline reason (Chromium)', async () => {
    browser = await launchChromium();
    const page = await browser.context.newPage();
    await page.goto(`${url}/?token=${encodeURIComponent(TOKEN)}#/boxes/${BOX}`);
    const facts = page.locator('.box-health .facts');
    await facts.waitFor(WAIT);
    const text = await facts.innerText();
    assert.match(text, /CPU\s*\d+(\.\d)?%/);
    assert.match(text, /memory\s*\d+(\.\d)?%/);
    assert.match(text, /disk\s*\d+(\.\d)?%/);
    assert.ok(text.includes(VERSION), text);
    await page.locator('.ep-detail', { hasText: 'ECONNREFUSED' }).waitFor(WAIT);
    await page.locator('.timeline-item .timeline-detail', { hasText: 'ECONNREFUSED' }).waitFor(WAIT);
    await page.close();
  });

  it('follows a period changed on the platform (logs in again) and reports at the new one', async () => {
    assert.equal((await api(`/api/codes/${BOX}`, { method: 'PUT', body: JSON.stringify({ report_period_s: 1 }) })).status, 200);
    await agent.waitFor(/report period is now 1 s \(was 2 s\)/, 10_000);
    const from = deliveredAt().length;
    await waitUntil('four reports at the new period', () => deliveredAt().length >= from + 4, 15_000);
    const times = deliveredAt().slice(from);
    const gaps = times.slice(2).map((t, i) => t - times[i + 1]!);
    for (const gap of gaps) assert.ok(gap > 600 && gap < 1600, `reports ${gaps.join(', ')} ms apart, expected ~1000`);
    assert.equal((await api(`/api/codes/${BOX}`)).body.login.period_s, 1);
  });

  it('a 403 sends it back to the login; once the code is reinstated every report is delivered', async () => {
    assert.equal((await api(`/api/admin/codes/${BOX}/revoke`, { method: 'POST' })).status, 200);
    await agent.waitFor(/platform refused a report \(HTTP 403[^)]*\); logging in again/, 10_000);
    await agent.waitFor(/login failed \(login answered 403/, 10_000);
    // Reports wait in the queue meanwhile.
    await waitUntil('reports queued while refused', () => logLines(agent.output()).filter((l) => l.msg === 'report queued').length >= 3, 10_000);
    const before = deliveredAt().length;
    assert.equal((await api(`/api/admin/codes/${BOX}/reinstate`, { method: 'POST' })).status, 200);
    await waitUntil('reports delivered again', () => deliveredAt().length >= before + 3, 15_000);
    const code = await agent.stop('SIGINT');
    assert.equal(code, 0);
    const stats = stoppedStats(agent.output());
    assert.equal(stats.rejected, 0, 'no report dropped');
    assert.equal(stats.left_in_queue, 0);
    // Every report the agent counted as delivered is stored, and nothing more.
    assert.equal((await box()).box.report_count, stats.delivered);
  });
});
