// Alert channels against local fakes of DingTalk, WeCom, Feishu and an SMTP server: delivery,
// permanent failures with the service's own codes, rate limits, and configs.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Value } from '@sinclair/typebox/value';
import { DingTalkChannel } from '../src/alerts/channels/dingtalk.js';
import { EmailChannel } from '../src/alerts/channels/email.js';
import { createChannel, sendNotification } from '../src/alerts/channels/factory.js';
import { FeishuChannel } from '../src/alerts/channels/feishu.js';
import { SlidingWindowLimiter } from '../src/alerts/channels/rate-limit.js';
import { ChannelConfigSchema, type RenderedEmail, type RenderedFeishuCard, type RenderedMarkdown, type SendResult } from '../src/alerts/channels/types.js';
import { WeComChannel } from '../src/alerts/channels/wecom.js';
import { renderFor, renderMarkdown } from '../src/alerts/message/index.js';
import { DASHBOARD, many, sample } from './support/alert-fixtures.js';
import { startFakeDingTalk } from './support/fakes/dingtalk.js';
import { startFakeFeishu } from './support/fakes/feishu.js';
import { startFakeSmtp } from './support/fakes/smtp.js';
import { startFakeWeCom } from './support/fakes/wecom.js';

describe('client rate limiter', () => {
  it('allows 5 a second and 100 a minute and says when the next slot frees', () => {
    const l = new SlidingWindowLimiter([
      { max: 5, perMs: 1000 },
      { max: 100, perMs: 60_000 },
    ]);
    for (let i = 0; i < 5; i++) assert.equal(l.take(1000 + i).ok, true);
    assert.deepEqual(l.take(1500), { ok: false, retryAfterMs: 500, paused: false });
    assert.equal(l.take(2000).ok, true);
    let t = 2000;
    let sent = 6;
    while (sent < 100) {
      t += 250;
      if (l.take(t).ok) sent++;
    }
    const refused = l.take(t + 250);
    assert.equal(refused.ok, false);
    // The 100-a-minute window frees when the first send (t=1000) is a minute old.
    assert.equal(refused.ok === false && refused.retryAfterMs, 1000 + 60_000 - (t + 250));
  });
});

function results(list: SendResult[]) {
  return {
    delivered: list.filter((r) => r.outcome === 'delivered').length,
    retry: list.filter((r) => r.outcome === 'retry') as Extract<SendResult, { outcome: 'retry' }>[],
    failed: list.filter((r) => r.outcome === 'failed') as Extract<SendResult, { outcome: 'failed' }>[],
  };
}

describe('DingTalk channel', () => {
  let fake: Awaited<ReturnType<typeof startFakeDingTalk>>;
  const signed = { token: randomUUID(), secret: `SEC${randomUUID()}` };
  const withKeyword = { token: randomUUID(), secret: `SEC${randomUUID()}` };
  before(async () => {
    fake = await startFakeDingTalk({
      [signed.token]: { secret: signed.secret },
      [withKeyword.token]: { secret: withKeyword.secret, keywords: ['监控告警'] },
    });
  });
  after(() => fake.close());

  const channel = (token: string, secret: string, extra: Partial<ConstructorParameters<typeof DingTalkChannel>[0]> = {}, now?: () => number) =>
    new DingTalkChannel({ kind: 'dingtalk', access_token: token, secret, base_url: fake.baseUrl, ...extra }, now);

  it('delivers a signed markdown message, adding the keyword the robot requires', async () => {
    const msg = renderFor('dingtalk', sample(), 'zh-CN') as RenderedMarkdown;
    assert.deepEqual(await channel(signed.token, signed.secret).send(msg), { outcome: 'delivered' });
    const ch = channel(withKeyword.token, withKeyword.secret, { keywords: ['监控告警'] });
    assert.deepEqual(await ch.send(msg), { outcome: 'delivered' });
    assert.equal(fake.delivered.length, 2);
    assert.match(fake.delivered[0]!.text, /3 台设备下 12 个摄像头离线/);
    assert.match(fake.delivered[1]!.text, /监控告警$/);
    assert.ok(!ch.target.includes(withKeyword.token));
  });

  it('fails for good with DingTalk 310000 on a wrong secret, a stale timestamp or a missing keyword', async () => {
    const msg = renderFor('dingtalk', sample(), 'en') as RenderedMarkdown;
    const before = fake.delivered.length;
    const wrong = await channel(signed.token, 'SECwrong').send(msg);
    assert.equal(wrong.outcome, 'failed');
    assert.equal(wrong.outcome === 'failed' && wrong.code, 310000);
    assert.equal(wrong.outcome === 'failed' && wrong.message, 'sign not match');
    const stale = await channel(signed.token, signed.secret, {}, () => Date.now() - 2 * 3600_000).send(msg);
    assert.equal(stale.outcome === 'failed' && stale.code, 310000);
    const noKeyword = await channel(withKeyword.token, withKeyword.secret).send(msg);
    assert.equal(noKeyword.outcome === 'failed' && noKeyword.code, 310000);
    const unknown = await channel(randomUUID(), signed.secret).send(msg);
    assert.equal(unknown.outcome === 'failed' && unknown.code, 300001);
    assert.equal(fake.delivered.length, before);
  });

  it('sends at most 20 a minute; the rest are retry-later and never reach DingTalk', async () => {
    const robot = { token: randomUUID(), secret: `SEC${randomUUID()}` };
    const local = await startFakeDingTalk({ [robot.token]: { secret: robot.secret } });
    try {
      const frozen = Date.now();
      const ch = new DingTalkChannel({ kind: 'dingtalk', access_token: robot.token, secret: robot.secret, base_url: local.baseUrl }, () => frozen);
      const msg = renderFor('dingtalk', sample(), 'zh-CN') as RenderedMarkdown;
      const r = results(await Promise.all(Array.from({ length: 25 }, () => ch.send(msg))));
      assert.equal(r.delivered, 20);
      assert.equal(r.retry.length, 5);
      for (const x of r.retry) {
        assert.equal(x.code, 'client_rate_limit');
        assert.equal(x.retryAfterMs, 60_000);
      }
      assert.equal(local.requests.length, 20, 'nothing over the limit was sent');
      assert.equal(local.delivered.length, 20);
    } finally {
      await local.close();
    }
  });

  it('answers retry-later when DingTalk itself says 130101 (robot throttled)', async () => {
    const robot = { token: randomUUID(), secret: `SEC${randomUUID()}` };
    const local = await startFakeDingTalk({ [robot.token]: { secret: robot.secret } });
    try {
      local.exhaust(robot.token);
      const ch = new DingTalkChannel({ kind: 'dingtalk', access_token: robot.token, secret: robot.secret, base_url: local.baseUrl });
      const r = await ch.send(renderFor('dingtalk', sample(), 'zh-CN') as RenderedMarkdown);
      assert.equal(r.outcome, 'retry');
      assert.equal(r.outcome === 'retry' && r.code, 130101);
      assert.equal(r.outcome === 'retry' && r.retryAfterMs, 10 * 60_000);
      // The robot is muted for 10 minutes: later messages wait here instead of being refused there.
      const sent = local.requests.length;
      const held = await ch.send(renderFor('dingtalk', sample(), 'zh-CN') as RenderedMarkdown);
      assert.equal(held.outcome === 'retry' && held.code, 'client_rate_limit');
      assert.match(held.outcome === 'retry' ? held.message : '', /130101/);
      assert.ok(held.outcome === 'retry' && held.retryAfterMs > 9 * 60_000);
      assert.equal(local.requests.length, sent);
    } finally {
      await local.close();
    }
  });
});

describe('WeCom channel', () => {
  let fake: Awaited<ReturnType<typeof startFakeWeCom>>;
  const key = randomUUID();
  before(async () => {
    fake = await startFakeWeCom([key]);
  });
  after(() => fake.close());

  const channel = (k: string, now?: () => number) => new WeComChannel({ kind: 'wecom', key: k, base_url: fake.baseUrl }, now);

  it('delivers markdown within 4096 bytes, cutting an over-long text cleanly with a link', async () => {
    assert.deepEqual(await channel(key).send(renderFor('wecom', sample(), 'zh-CN') as RenderedMarkdown), { outcome: 'delivered' });
    assert.match(fake.delivered.at(-1)!.content, /3 台设备下 12 个摄像头离线/);
    // A message rendered without a budget (e.g. a digest meant for e-mail) is cut by the channel.
    const huge = renderMarkdown(many(200), { lang: 'zh-CN' });
    assert.ok(Buffer.byteLength(huge.text) > 4096);
    assert.deepEqual(await channel(key).send(huge), { outcome: 'delivered' });
    const content = fake.delivered.at(-1)!.content;
    assert.ok(Buffer.byteLength(content) <= 4096);
    assert.ok(content.endsWith(`…(已截断) [查看全部](${DASHBOARD})`), content.slice(-80));
    assert.ok(!content.includes('\uFFFD'));
    const en = renderMarkdown(many(200), { lang: 'en' });
    assert.deepEqual(await channel(key).send(en), { outcome: 'delivered' });
    assert.ok(fake.delivered.at(-1)!.content.endsWith(`…(truncated) [view all](${DASHBOARD})`));
  });

  it('fails for good with 93000 on a wrong key, and never shows the key', async () => {
    const wrongKey = randomUUID();
    const ch = channel(wrongKey);
    const r = await ch.send(renderFor('wecom', sample(), 'en') as RenderedMarkdown);
    assert.equal(r.outcome, 'failed');
    assert.equal(r.outcome === 'failed' && r.code, 93000);
    assert.ok(!JSON.stringify(r).includes(wrongKey));
    assert.ok(!ch.target.includes(wrongKey));
    assert.ok(ch.target.endsWith(wrongKey.slice(-4)));
  });

  it('sends at most 20 a minute per robot; the rest are retry-later and never reach WeCom', async () => {
    const k = randomUUID();
    const local = await startFakeWeCom([k]);
    try {
      const frozen = Date.now();
      const ch = new WeComChannel({ kind: 'wecom', key: k, base_url: local.baseUrl }, () => frozen);
      // A second channel object for the same robot shares its quota.
      const twin = new WeComChannel({ kind: 'wecom', key: k, base_url: local.baseUrl }, () => frozen);
      const msg = renderFor('wecom', sample(), 'zh-CN') as RenderedMarkdown;
      const r = results(await Promise.all(Array.from({ length: 24 }, (_, i) => (i % 2 ? twin : ch).send(msg))));
      assert.equal(r.delivered, 20);
      assert.equal(r.retry.length, 4);
      assert.equal(local.requests.length, 20);
    } finally {
      await local.close();
    }
  });

  it('answers retry-later on WeCom 45009 (rate limited by others)', async () => {
    const k = randomUUID();
    const local = await startFakeWeCom([k]);
    try {
      local.exhaust(k);
      const r = await new WeComChannel({ kind: 'wecom', key: k, base_url: local.baseUrl }).send(renderFor('wecom', sample(), 'en') as RenderedMarkdown);
      assert.equal(r.outcome === 'retry' && r.code, 45009);
    } finally {
      await local.close();
    }
  });
});

describe('Feishu channel', () => {
  let fake: Awaited<ReturnType<typeof startFakeFeishu>>;
  const bot = { token: randomUUID(), secret: randomUUID() };
  const keywordBot = { token: randomUUID() };
  before(async () => {
    fake = await startFakeFeishu({ [bot.token]: { secret: bot.secret }, [keywordBot.token]: { keywords: ['设备告警巡检'] } });
  });
  after(() => fake.close());

  it('delivers a signed interactive card', async () => {
    const ch = new FeishuChannel({ kind: 'feishu', hook_token: bot.token, secret: bot.secret, base_url: fake.baseUrl });
    assert.deepEqual(await ch.send(renderFor('feishu', sample(), 'zh-CN') as RenderedFeishuCard), { outcome: 'delivered' });
    const got = fake.delivered.at(-1)!;
    assert.ok(got.texts.some((t) => t.includes('3 台设备下 12 个摄像头离线')));
    assert.ok(got.texts.includes('打开监控页面'));
    assert.ok(!ch.target.includes(bot.token));
  });

  it('fails for good with 19021 on a wrong secret or a timestamp over an hour old', async () => {
    const msg = renderFor('feishu', sample(), 'en') as RenderedFeishuCard;
    const wrong = await new FeishuChannel({ kind: 'feishu', hook_token: bot.token, secret: 'wrong', base_url: fake.baseUrl }).send(msg);
    assert.equal(wrong.outcome, 'failed');
    assert.equal(wrong.outcome === 'failed' && wrong.code, 19021);
    assert.match(wrong.outcome === 'failed' ? wrong.message : '', /sign match fail/);
    const stale = await new FeishuChannel(
      { kind: 'feishu', hook_token: bot.token, secret: bot.secret, base_url: fake.baseUrl },
      () => Date.now() - 3700_000,
    ).send(msg);
    assert.equal(stale.outcome === 'failed' && stale.code, 19021);
  });

  it('adds the keyword the bot requires; without it Feishu answers 19024', async () => {
    const msg = renderFor('feishu', sample(), 'en') as RenderedFeishuCard;
    const bare = await new FeishuChannel({ kind: 'feishu', hook_token: keywordBot.token, base_url: fake.baseUrl }).send(msg);
    assert.equal(bare.outcome === 'failed' && bare.code, 19024);
    const told = new FeishuChannel({ kind: 'feishu', hook_token: keywordBot.token, keywords: ['设备告警巡检'], base_url: fake.baseUrl });
    assert.deepEqual(await told.send(msg), { outcome: 'delivered' });
  });

  it('sends at most 5 a second per bot; the rest are retry-later and never reach Feishu', async () => {
    const token = randomUUID();
    const local = await startFakeFeishu({ [token]: {} });
    try {
      const frozen = Date.now();
      const ch = new FeishuChannel({ kind: 'feishu', hook_token: token, base_url: local.baseUrl }, () => frozen);
      const msg = renderFor('feishu', sample(), 'zh-CN') as RenderedFeishuCard;
      const r = results(await Promise.all(Array.from({ length: 8 }, () => ch.send(msg))));
      assert.equal(r.delivered, 5);
      assert.equal(r.retry.length, 3);
      for (const x of r.retry) assert.equal(x.retryAfterMs, 1000);
      assert.equal(local.requests.length, 5);
    } finally {
      await local.close();
    }
  });

  it('answers retry-later on Feishu 9499 (too many requests)', async () => {
    const token = randomUUID();
    const local = await startFakeFeishu({ [token]: {} });
    try {
      local.exhaust(token);
      const r = await new FeishuChannel({ kind: 'feishu', hook_token: token, base_url: local.baseUrl }).send(
        renderFor('feishu', sample(), 'en') as RenderedFeishuCard,
      );
      assert.equal(r.outcome === 'retry' && r.code, 9499);
    } finally {
      await local.close();
    }
  });
});

describe('chat channels over a broken network', () => {
  it('answers retry-later when nobody listens or the service does not answer in time', async () => {
    const silent = createServer(() => {
      // never answers
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as AddressInfo).port;
    try {
      const slow = await new WeComChannel({ kind: 'wecom', key: randomUUID(), base_url: `http://127.0.0.1:${port}`, timeout_ms: 200 }).send(
        renderFor('wecom', sample(), 'en') as RenderedMarkdown,
      );
      assert.equal(slow.outcome, 'retry');
      assert.equal(slow.outcome === 'retry' && slow.message, 'timed out');
    } finally {
      silent.closeAllConnections();
      await new Promise((r) => silent.close(r));
    }
    const refused = await new DingTalkChannel({ kind: 'dingtalk', access_token: randomUUID(), base_url: `http://127.0.0.1:${port}` }).send(
      renderFor('dingtalk', sample(), 'en') as RenderedMarkdown,
    );
    assert.equal(refused.outcome, 'retry');
    assert.equal(refused.outcome === 'retry' && refused.message, 'ECONNREFUSED');
  });
});

describe('e-mail channel', () => {
  let smtp: Awaited<ReturnType<typeof startFakeSmtp>>;
  const account = { user: 'alerts@example.cn', pass: randomUUID() };
  before(async () => {
    smtp = await startFakeSmtp(account);
  });
  after(() => smtp.close());

  const channel = (over: Partial<ConstructorParameters<typeof EmailChannel>[0]> = {}) =>
    new EmailChannel({
      kind: 'email',
      host: smtp.host,
      port: smtp.port,
      user: account.user,
      pass: account.pass,
      from: '设备监控 <alerts@example.cn>',
      to: ['ops@example.cn', 'duty@example.cn'],
      cc: ['lead@example.cn'],
      tls_ca: smtp.cert,
      timeout_ms: 5000,
      ...over,
    });

  it('delivers over STARTTLS with AUTH, to and cc, and both a text and an HTML part', async () => {
    const ch = channel();
    try {
      const msg = renderFor('email', sample(), 'zh-CN') as RenderedEmail;
      assert.deepEqual(await ch.send(msg), { outcome: 'delivered' });
    } finally {
      await ch.close();
    }
    const mail = smtp.received.at(-1)!;
    assert.equal(mail.secure, true, 'the session was upgraded with STARTTLS');
    assert.equal(mail.user, account.user);
    assert.deepEqual(mail.to, ['ops@example.cn', 'duty@example.cn']);
    assert.deepEqual(mail.cc, ['lead@example.cn']);
    assert.deepEqual(mail.envelopeTo.sort(), ['duty@example.cn', 'lead@example.cn', 'ops@example.cn']);
    assert.match(mail.subject, /^【设备告警】3号仓库：3 台设备下 12 个摄像头离线/);
    assert.ok(mail.contentTypes.includes('multipart/alternative'));
    assert.ok(mail.contentTypes.includes('text/plain'));
    assert.ok(mail.contentTypes.includes('text/html'));
    assert.match(mail.text, /离线 12 分钟/);
    assert.match(mail.html, /<table/);
    assert.match(mail.html, /离线 12 分钟/);
    assert.ok(!mail.text.includes('s3cret') && !mail.html.includes('s3cret'));
  });

  it('fails for good on a wrong password, with the server reply code', async () => {
    const ch = channel({ pass: 'wrong' });
    try {
      const r = await ch.send(renderFor('email', sample(), 'en') as RenderedEmail);
      assert.equal(r.outcome, 'failed');
      assert.equal(r.outcome === 'failed' && r.code, 535);
    } finally {
      await ch.close();
    }
    assert.ok(smtp.authAttempts.every((a) => a.secure), 'credentials only ever went over TLS');
  });

  it('refuses a server certificate it was not told to trust', async () => {
    const ch = channel({ tls_ca: undefined });
    const before = smtp.received.length;
    try {
      const r = await ch.send(renderFor('email', sample(), 'en') as RenderedEmail);
      assert.equal(r.outcome, 'failed', JSON.stringify(r));
    } finally {
      await ch.close();
    }
    assert.equal(smtp.received.length, before);
  });
});

describe('channel configs', () => {
  it('validates each kind with its TypeBox schema', () => {
    const ok = [
      { kind: 'wecom', key: 'k-1' },
      { kind: 'dingtalk', access_token: 't', secret: 'SECx', keywords: ['告警'], lang: 'en' },
      { kind: 'feishu', hook_token: 'h', base_url: 'https://open.larksuite.com' },
      { kind: 'email', host: 'smtp.example.cn', from: 'a@example.cn', to: ['ops@example.cn'], cc: [] },
    ];
    for (const c of ok) assert.ok(Value.Check(ChannelConfigSchema, c), JSON.stringify(c));
    const bad = [
      { kind: 'wecom' },
      { kind: 'wecom', key: 'k', extra: 1 },
      { kind: 'dingtalk', access_token: 't', lang: 'fr' },
      { kind: 'feishu', hook_token: 'h', base_url: 'ftp://x' },
      { kind: 'email', host: 'smtp.example.cn', from: 'a@example.cn', to: [] },
      { kind: 'email', host: 'smtp.example.cn', from: 'a@example.cn', to: ['not an address'] },
      { kind: 'sms', to: '123' },
    ];
    for (const c of bad) assert.ok(!Value.Check(ChannelConfigSchema, c), JSON.stringify(c));
  });

  it('builds a channel from its config and sends a notification rendered its way', async () => {
    const key = randomUUID();
    const fake = await startFakeWeCom([key]);
    try {
      const ch = createChannel({ kind: 'wecom', key, lang: 'en', base_url: fake.baseUrl });
      assert.equal(ch.format, 'markdown');
      assert.deepEqual(await sendNotification(ch, sample()), { outcome: 'delivered' });
      assert.match(fake.delivered[0]!.content, /12 cameras offline at 3 boxes/);
      const zh = createChannel({ kind: 'wecom', key, base_url: fake.baseUrl });
      assert.deepEqual(await sendNotification(zh, many(300)), { outcome: 'delivered' });
      assert.match(fake.delivered[1]!.content, /……另有 \d+ 项未列出/);
    } finally {
      await fake.close();
    }
  });
});

describe('e-mail channel security', () => {
  const account = { user: 'alerts@example.cn', pass: randomUUID() };
  const config = (smtp: Awaited<ReturnType<typeof startFakeSmtp>>, security: 'starttls' | 'tls') =>
    ({
      kind: 'email',
      host: smtp.host,
      port: smtp.port,
      security,
      user: account.user,
      pass: account.pass,
      from: 'alerts@example.cn',
      to: ['ops@example.cn'],
      tls_ca: smtp.cert,
      timeout_ms: 5000,
    }) as const;

  it('will not send (nor log in) in the clear when the server offers no STARTTLS', async () => {
    const smtp = await startFakeSmtp(account, { noSTARTTLS: true });
    const ch = new EmailChannel({ ...config(smtp, 'starttls'), to: ['ops@example.cn'] });
    try {
      const r = await ch.send(renderFor('email', sample(), 'en') as RenderedEmail);
      assert.equal(r.outcome, 'failed', JSON.stringify(r));
      assert.equal(smtp.connections(), 1, 'it did reach the server');
      assert.deepEqual(smtp.authAttempts, []);
      assert.deepEqual(smtp.received, []);
    } finally {
      await ch.close();
      await smtp.close();
    }
  });

  it('delivers over TLS from the start (port 465 style)', async () => {
    const smtp = await startFakeSmtp(account, { secure: true });
    const ch = new EmailChannel({ ...config(smtp, 'tls'), to: ['ops@example.cn'] });
    try {
      assert.deepEqual(await ch.send(renderFor('email', sample(), 'en') as RenderedEmail), { outcome: 'delivered' });
      assert.equal(smtp.received[0]!.secure, true);
      assert.match(smtp.received[0]!.subject, /12 cameras offline at 3 boxes/);
    } finally {
      await ch.close();
      await smtp.close();
    }
  });
});
