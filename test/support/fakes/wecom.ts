// A local WeCom group robot endpoint (POST /cgi-bin/webhook/send?key=…) that checks what WeCom
// checks: the key, markdown content of at most 4096 UTF-8 bytes, and 20 messages a minute;
// it answers WeCom's own errcodes.
import { SendLog, startFakeHttp, type FakeAnswer, type FakeRequest } from './http-fake.js';

export interface WeComMessage {
  key: string;
  content: string;
}

const err = (errcode: number, errmsg: string): FakeAnswer => ({ body: { errcode, errmsg } });

export async function startFakeWeCom(keys: string[]) {
  const delivered: WeComMessage[] = [];
  const logs = new Map<string, SendLog>();
  const log = (key: string) => logs.get(key) ?? logs.set(key, new SendLog()).get(key)!;

  function handle(req: FakeRequest): FakeAnswer {
    if (req.method !== 'POST' || req.url.pathname !== '/cgi-bin/webhook/send') return { status: 404, body: { errcode: 404, errmsg: 'not found' } };
    const key = req.url.searchParams.get('key') ?? '';
    if (!keys.includes(key)) return err(93000, 'invalid webhook url, hint: [fake]');
    const body = req.json;
    if (!body) return err(40035, 'invalid json');
    const md = body['markdown'] as { content?: unknown } | undefined;
    if (body['msgtype'] !== 'markdown' || typeof md?.content !== 'string') return err(40008, 'invalid message type');
    if (Buffer.byteLength(md.content, 'utf8') > 4096) return err(40058, 'markdown.content exceed max length 4096');
    const now = Date.now();
    if (log(key).countSince(now - 60_000) >= 20) return err(45009, 'api freq out of limit');
    log(key).add(now);
    delivered.push({ key, content: md.content });
    return err(0, 'ok');
  }

  const server = await startFakeHttp(handle);
  return {
    ...server,
    delivered,
    exhaust(key: string) {
      log(key).add(Date.now(), 20);
    },
  };
}
