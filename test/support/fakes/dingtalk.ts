// A local DingTalk custom robot endpoint (POST /robot/send) that checks what DingTalk checks:
// the access_token, the "加签" signature and that its timestamp is within an hour, the
// keywords, and 20 messages a minute; it answers DingTalk's own errcodes.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { SendLog, startFakeHttp, type FakeAnswer, type FakeRequest } from './http-fake.js';

export interface FakeDingTalkRobot {
  secret?: string;
  keywords?: string[];
}

export interface DingTalkMessage {
  token: string;
  title: string;
  text: string;
}

const err = (errcode: number, errmsg: string): FakeAnswer => ({ body: { errcode, errmsg } });

export async function startFakeDingTalk(robots: Record<string, FakeDingTalkRobot>) {
  const delivered: DingTalkMessage[] = [];
  const logs = new Map<string, SendLog>();
  const log = (token: string) => logs.get(token) ?? logs.set(token, new SendLog()).get(token)!;

  function handle(req: FakeRequest): FakeAnswer {
    if (req.method !== 'POST' || req.url.pathname !== '/robot/send') return { status: 404, body: { errcode: 404, errmsg: 'not found' } };
    const token = req.url.searchParams.get('access_token') ?? '';
    const robot = robots[token];
    if (!robot) return err(300001, 'token is not exist');
    const now = Date.now();
    if (robot.secret) {
      const timestamp = Number(req.url.searchParams.get('timestamp'));
      const sign = req.url.searchParams.get('sign') ?? '';
      if (!Number.isInteger(timestamp) || Math.abs(now - timestamp) > 3600_000) return err(310000, 'invalid timestamp');
      const expected = createHmac('sha256', robot.secret).update(`${timestamp}\n${robot.secret}`).digest();
      const given = Buffer.from(sign, 'base64');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return err(310000, 'sign not match');
    }
    const body = req.json;
    if (!body) return err(40035, 'json parse error');
    const md = body['markdown'] as { title?: unknown; text?: unknown } | undefined;
    if (body['msgtype'] !== 'markdown' || typeof md?.title !== 'string' || typeof md.text !== 'string') return err(40035, 'missing markdown title or text');
    if (robot.keywords?.length && !robot.keywords.some((k) => (md.text as string).includes(k))) {
      return err(310000, 'keywords not in content');
    }
    if (log(token).countSince(now - 60_000) >= 20) return err(130101, 'send too fast, exceed 20 times per minute');
    log(token).add(now);
    delivered.push({ token, title: md.title, text: md.text });
    return err(0, 'ok');
  }

  const server = await startFakeHttp(handle);
  return {
    ...server,
    delivered,
    /** Uses up a robot's minute as if another system had just sent 20 messages through it. */
    exhaust(token: string) {
      log(token).add(Date.now(), 20);
    },
  };
}
