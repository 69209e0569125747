// A local Feishu custom bot endpoint (POST /open-apis/bot/v2/hook/:token) that checks what
// Feishu checks: the token, the signature in the body and that its timestamp (seconds) is
// within an hour, the keywords, the 20 KB body limit, and 5 a second / 100 a minute; it
// answers Feishu's own codes.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { SendLog, startFakeHttp, type FakeAnswer, type FakeRequest } from './http-fake.js';

export interface FakeFeishuBot {
  secret?: string;
  keywords?: string[];
}

export interface FeishuMessage {
  token: string;
  msg_type: string;
  card: Record<string, unknown>;
  /** Every text content in the card, in order. */
  texts: string[];
}

const answer = (code: number, msg: string, status = 200): FakeAnswer => ({ status, body: { code, msg, data: {} } });

/** All `content` strings of a card (headers, lark_md, buttons), as Feishu's keyword check sees them. */
export function cardTexts(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) node.forEach((n) => cardTexts(n, out));
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === 'content' && typeof v === 'string') out.push(v);
      else cardTexts(v, out);
    }
  }
  return out;
}

export async function startFakeFeishu(bots: Record<string, FakeFeishuBot>) {
  const delivered: FeishuMessage[] = [];
  const logs = new Map<string, SendLog>();
  const log = (token: string) => logs.get(token) ?? logs.set(token, new SendLog()).get(token)!;

  function handle(req: FakeRequest): FakeAnswer {
    const m = /^\/open-apis\/bot\/v2\/hook\/([^/]+)$/.exec(req.url.pathname);
    if (req.method !== 'POST' || !m) return { status: 404, body: { code: 404, msg: 'not found' } };
    const token = decodeURIComponent(m[1]!);
    const bot = bots[token];
    if (!bot) return answer(19001, 'param invalid: incoming webhook access token invalid');
    if (Buffer.byteLength(req.raw) > 20 * 1024) return answer(9499, 'request body too large', 400);
    const body = req.json;
    if (!body) return answer(9499, 'Bad Request', 400);
    const now = Date.now();
    if (bot.secret) {
      const ts = Number(body['timestamp']);
      const sign = typeof body['sign'] === 'string' ? body['sign'] : '';
      const expected = createHmac('sha256', `${body['timestamp']}\n${bot.secret}`).update('').digest();
      const given = Buffer.from(sign, 'base64');
      const fresh = typeof body['timestamp'] === 'string' && Number.isInteger(ts) && Math.abs(now / 1000 - ts) <= 3600;
      if (!fresh || given.length !== expected.length || !timingSafeEqual(given, expected)) {
        return answer(19021, 'sign match fail or timestamp is not within one hour from current time');
      }
    }
    const card = body['card'];
    if (body['msg_type'] !== 'interactive' || !card || typeof card !== 'object') return answer(19002, 'params error, msg_type need');
    const texts = cardTexts(card);
    if (bot.keywords?.length && !bot.keywords.some((k) => texts.some((t) => t.includes(k)))) return answer(19024, 'Key Words Not Found');
    if (log(token).countSince(now - 1000) >= 5 || log(token).countSince(now - 60_000) >= 100) {
      return answer(9499, 'too many request', 429);
    }
    log(token).add(now);
    delivered.push({ token, msg_type: 'interactive', card: card as Record<string, unknown>, texts });
    return { body: { StatusCode: 0, StatusMessage: 'success', code: 0, msg: 'success', data: {} } };
  }

  const server = await startFakeHttp(handle);
  return {
    ...server,
    delivered,
    exhaust(token: string) {
      log(token).add(Date.now(), 100);
    },
  };
}
