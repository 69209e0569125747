// Rendering grouped notifications in zh-CN and en for every channel format: counts, durations,
// places, reminders, flapping, size limits, escaping, and phrase tables complete in both languages.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RenderedEmail, RenderedFeishuCard, RenderedMarkdown } from '../src/alerts/channels/types.js';
import {
  PHRASES,
  renderEmail,
  renderFeishuCard,
  renderFor,
  renderJson,
  renderMarkdown,
  stripCredentials,
  type GroupedNotification,
} from '../src/alerts/message/index.js';
import { mdUrl } from '../src/alerts/message/md-escape.js';
import { AT, camera, DASHBOARD, englishWords, many, omittedIn, sample } from './support/alert-fixtures.js';

describe('alert messages', () => {
  it('has every phrase in both languages, and no English in the zh-CN ones', () => {
    const zh = PHRASES['zh-CN'] as unknown as Record<string, unknown>;
    const en = PHRASES.en as unknown as Record<string, unknown>;
    assert.deepEqual(Object.keys(zh).sort(), Object.keys(en).sort(), 'zh-CN and en have the same keys');
    const sampleOut = (v: unknown): string[] => {
      if (typeof v === 'string') return [v];
      if (typeof v === 'function') return [String((v as (...a: unknown[]) => unknown)('名称', 2, 3))];
      if (v && typeof v === 'object') return Object.values(v).flatMap(sampleOut);
      return [];
    };
    for (const key of Object.keys(zh)) {
      for (const [lang, table] of [['zh-CN', zh], ['en', en]] as const) {
        const v = table[key];
        assert.ok(v !== undefined && v !== null, `${key} is missing in ${lang}`);
        for (const s of sampleOut(v)) assert.ok(s.trim().length > 0, `${key} is empty in ${lang}`);
      }
      for (const s of sampleOut(zh[key])) assert.deepEqual(englishWords(s), [], `zh-CN ${key} has English: ${s}`);
      // Nested tables (status, reason, type names) must have the same keys too.
      if (zh[key] && typeof zh[key] === 'object') {
        assert.deepEqual(Object.keys(zh[key]).sort(), Object.keys(en[key] as object).sort(), `${key} keys match`);
      }
    }
  });

  it('renders the counts, durations and places in zh-CN with no English left in', () => {
    const md = renderMarkdown(sample(), { lang: 'zh-CN', maxBytes: 4096 });
    assert.match(md.title, /3号仓库/);
    assert.match(md.text, /3 台设备下 12 个摄像头离线，1 台设备离线，2 个摄像头恢复在线/);
    assert.match(md.text, /离线 12 分钟/);
    assert.match(md.text, /离线 30 分钟/);
    assert.match(md.text, /离线 5 分钟后恢复在线/);
    assert.match(md.text, /设备超时未上报/);
    assert.match(md.text, /未出现在设备上报中/);
    assert.match(md.text, /视频流/);
    assert.match(md.text, /1号盒-通道1/);
    assert.match(md.text, /1号分析盒 \(SN20240001\)/);
    assert.match(md.text, /3号仓库 东门/);
    // 06:00 UTC is 14:00 in China; the list shows the local time the problem began.
    assert.match(md.text, /11-25 13:48 起/);
    assert.match(md.text, /rtsp:\/\/192\.168\.1\.1:554\/live/);
    assert.doesNotMatch(md.text, /s3cret|admin/);
    assert.ok(md.text.includes(`[打开监控页面](${DASHBOARD})`));
    assert.deepEqual(englishWords(md.text), []);

    const mail = renderEmail(sample(), { lang: 'zh-CN' });
    assert.deepEqual(englishWords(mail.subject), []);
    assert.deepEqual(englishWords(mail.text), []);
    const htmlText = mail.html.replace(/<[^>]*>/g, ' ').replace(/&[a-z]+;|&#\d+;/g, ' ');
    assert.deepEqual(englishWords(htmlText), []);
    assert.match(htmlText, /3 台设备下 12 个摄像头离线/);
    const card = renderFeishuCard(sample(), { lang: 'zh-CN' });
    assert.deepEqual(englishWords(card.plain), []);
    assert.match(card.plain, /3 台设备下 12 个摄像头离线/);
  });

  it('renders the same in English', () => {
    const md = renderMarkdown(sample(), { lang: 'en', maxBytes: 4096 });
    assert.match(md.text, /12 cameras offline at 3 boxes, 1 box offline, 2 cameras back online/);
    assert.match(md.text, /offline for 12 min/);
    assert.match(md.text, /offline for 30 min/);
    assert.match(md.text, /back online after 5 min offline/);
    assert.match(md.text, /no report in time/);
    assert.match(md.text, /since 11-25 13:48/);
    assert.match(md.title, /^\[devstatus\] 3号仓库: 12 cameras offline/);
    assert.ok(md.text.includes(`[Open the dashboard](${DASHBOARD})`));
    assert.doesNotMatch(md.text, /[离线恢复设备摄像头]{2}/, 'no Chinese phrases in English (data names aside)');
    const unknown = { ...sample(), changes: [camera(1, 1), camera(2, 1, { to: 'unknown' as const }), camera(2, 2, { to: 'unknown' as const })] };
    assert.match(renderMarkdown(unknown, { lang: 'en' }).text, /1 camera offline at 1 box, 2 cameras in unknown state/);
    assert.match(renderMarkdown(unknown, { lang: 'en' }).text, /status unknown for 12 min/);
    assert.match(renderMarkdown(unknown, { lang: 'zh-CN' }).text, /1 台设备下 1 个摄像头离线，2 个摄像头状态未知/);
    const one = renderMarkdown({ ...sample(), changes: [camera(1, 1)] }, { lang: 'en' });
    assert.match(one.text, /1 camera offline at 1 box/);
  });

  it('shows reminders, escalations, flapping and test messages in both languages', () => {
    const n = sample({ reminder: { count: 2 }, escalation: { level: 1 } });
    n.changes[0]!.transitions = 5;
    const zh = renderMarkdown(n, { lang: 'zh-CN' }).text;
    assert.match(zh, /第 2 次提醒：以下问题仍未恢复/);
    assert.match(renderMarkdown(n, { lang: 'zh-CN' }).title, /^【设备告警·已升级·第 2 次提醒】3号仓库：/);
    assert.match(renderEmail(n, { lang: 'en' }).subject, /^\[devstatus · escalated · reminder #2\] 3号仓库: /);
    const recovered = { ...sample(), changes: sample().changes.filter((e) => e.to === 'online') };
    assert.equal(renderMarkdown(recovered, { lang: 'zh-CN' }).title, '【设备恢复】3号仓库：2 个摄像头恢复在线');
    assert.equal(renderMarkdown(recovered, { lang: 'en' }).title, '[devstatus recovered] 3号仓库: 2 cameras back online');
    assert.match(zh, /已升级（第 1 级）/);
    assert.match(zh, /1号盒-通道1 状态反复变化（共 5 次）/);
    assert.match(zh, /未出现在设备上报中，反复变化 5 次）/);
    const en = renderMarkdown(n, { lang: 'en' }).text;
    assert.match(en, /Reminder #2: these problems are still open/);
    assert.match(en, /Escalated \(level 1\)/);
    assert.match(en, /1号盒-通道1 keeps changing state \(5 changes\)/);
    assert.match(en, /missing from the box's report, changed 5 times\)/);
    n.changes[1]!.transitions = 3;
    assert.match(renderMarkdown(n, { lang: 'zh-CN' }).text, /2 个对象状态反复变化/);
    assert.match(renderMarkdown(n, { lang: 'en' }).text, /2 devices keep changing state/);

    const test: GroupedNotification = { kind: 'test', group: { key: 'test', label: '值班群' }, changes: [], at: AT, link: DASHBOARD };
    const tz = renderMarkdown(test, { lang: 'zh-CN' });
    assert.match(tz.title, /测试消息/);
    assert.match(tz.text, /告警通道“值班群”配置正确/);
    assert.deepEqual(englishWords(tz.text), []);
    assert.match(renderEmail(test, { lang: 'en' }).text, /This is a test message/);
    assert.match(renderFeishuCard(test, { lang: 'en' }).plain, /alert channel "值班群" is set up/);
  });

  it('cuts long lists with "and N more" so each channel size limit holds', () => {
    const n = many(300);
    for (const lang of ['zh-CN', 'en'] as const) {
      const wecom = renderFor('wecom', n, lang) as RenderedMarkdown;
      assert.ok(Buffer.byteLength(wecom.text) <= 4096, `wecom ${lang}: ${Buffer.byteLength(wecom.text)} bytes`);
      const listedWecom = wecom.text.split('\n').filter((l) => l.startsWith('- ')).length;
      assert.ok(listedWecom > 5, 'a useful number of entries is listed');
      assert.equal(listedWecom + omittedIn(wecom.text, lang), 300);

      const ding = renderFor('dingtalk', n, lang) as RenderedMarkdown;
      assert.ok([...ding.text].length <= 5000);
      const listedDing = ding.text.split('\n').filter((l) => l.startsWith('- ')).length;
      assert.equal(listedDing + omittedIn(ding.text, lang), 300);

      const card = renderFor('feishu', n, lang) as RenderedFeishuCard;
      assert.ok(Buffer.byteLength(JSON.stringify(card.card)) <= 19_000);
      const elements = card.card['elements'] as unknown[];
      const listedCard = elements.length - 1 /* head */ - 1 /* more */ - 2; /* hr, button */
      assert.equal(listedCard + omittedIn(card.plain, lang), 300);

      const mail = renderFor('email', n, lang) as RenderedEmail;
      assert.equal(omittedIn(mail.text, lang), 100);
      assert.equal(omittedIn(mail.html, lang), 100);
    }
    const json = renderJson(many(1200), { lang: 'en' }).body;
    assert.equal((json['changes'] as unknown[]).length, 1000);
    assert.equal(json['omitted'], 200);
    assert.equal((json['counts'] as { camerasOffline: number }).camerasOffline, 1200);
  });

  it('escapes HTML in e-mail and markup in markdown', () => {
    const n = sample();
    n.changes[0]!.camera_name = '<script>alert(1)</script> **粗体** [链接](http://evil)';
    const mail = renderEmail(n, { lang: 'zh-CN' });
    assert.ok(mail.html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
    assert.ok(!mail.html.includes('<script>'));
    const md = renderMarkdown(n, { lang: 'zh-CN' });
    assert.ok(!md.text.includes('[链接](http://evil)'));
    assert.ok(!md.text.includes('**粗体**'));
  });

  it('strips credentials from stream addresses', () => {
    assert.equal(stripCredentials('rtsp://admin:pa55@10.0.0.8:554/h264'), 'rtsp://10.0.0.8:554/h264');
    assert.equal(stripCredentials('rtsp://admin@10.0.0.8/h264'), 'rtsp://10.0.0.8/h264');
    assert.equal(stripCredentials('10.0.0.8'), '10.0.0.8');
    assert.equal(stripCredentials('rtsp://u:p%40ss@[::1]:554/x'), 'rtsp://[::1]:554/x');
  });

  it('renders plain JSON for the webhook with counts and stripped addresses', () => {
    const body = renderJson(sample(), { lang: 'en' }).body;
    assert.deepEqual(body['counts'], {
      camerasOffline: 12,
      boxesWithOfflineCameras: 3,
      boxesOffline: 1,
      camerasUnknown: 0,
      camerasRecovered: 2,
      boxesRecovered: 0,
      flapping: 0,
    });
    assert.equal(body['headline'], '12 cameras offline at 3 boxes, 1 box offline, 2 cameras back online');
    assert.ok(!JSON.stringify(body).includes('s3cret'));
    const first = (body['changes'] as Record<string, unknown>[])[0]!;
    assert.equal(first['subject'], 'box', 'boxes offline come first');
  });
});

describe('the box\'s reason for an offline camera (ep_detail)', () => {
  it('is carried in every format, escaped, without credentials, and only while the camera is offline', () => {
    const down = camera(1, 1, { to: 'offline', from: 'online', detail: 'DESCRIBE 401 *bad* rtsp://admin:s3cret@10.0.0.8/x' });
    const up = camera(1, 2, { to: 'online', from: 'offline', detail: 'ECONNREFUSED' });
    const n = sample({ changes: [down, up] });
    const md = renderMarkdown(n, { lang: 'en' }).text;
    assert.ok(md.includes('DESCRIBE 401 ＊bad＊ rtsp://10.0.0.8/x'), md);
    assert.ok(!md.includes('ECONNREFUSED'), 'a recovered camera carries no reason');
    const mail = renderEmail(n, { lang: 'zh-CN' });
    assert.ok(mail.text.includes('DESCRIBE 401 *bad* rtsp://10.0.0.8/x'), mail.text);
    assert.ok(mail.html.includes('DESCRIBE 401 *bad* rtsp://10.0.0.8/x'));
    const changes = renderJson(n, { lang: 'en' }).body['changes'] as Array<Record<string, unknown>>;
    assert.deepEqual(changes.map((c) => c['detail']), ['DESCRIBE 401 *bad* rtsp://10.0.0.8/x', null]);
    assert.ok(!JSON.stringify(changes).includes('s3cret'));
  });
});

describe('markdown escaping', () => {
  it('keeps links whole when a URL has parentheses or spaces', () => {
    assert.equal(mdUrl('https://x/a (b)/c d'), 'https://x/a%20%28b%29/c%20d');
    const n = sample({ link: 'https://x/dash(1)' });
    assert.ok(renderMarkdown(n, { lang: 'en' }).text.endsWith('[Open the dashboard](https://x/dash%281%29)'));
  });
});
