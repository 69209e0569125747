// The agent's login (login_url), as a real `devstatus agent` process: a platform that cannot be
// reached (login retried with backoff, reports kept in the queue, Ctrl-C still within 1 s, every
// report delivered once the platform is there), and a platform that answers a report with 401
// (the agent logs in again and sends that report to the address the new login gives).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import { createServer as createNetServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DurableQueue } from '../src/agent/queue.js';
import { logLines, startAgent, startReceiverOn, stoppedStats, tempDir, waitUntil, writeConfig } from './support/agent.js';
import { runCli } from './support/cli.js';
import { freeTcpPort } from './support/peers.js';

const MAC = 'aa:bb:cc:dd:ee:01';

function loginConfig(dir: string, loginUrl: string, extra: Record<string, unknown> = {}) {
  writeFileSync(join(dir, 'video.mp4'), 'data');
  return {
    dev_sno: 'LOGIN1',
    login_url: loginUrl,
    mac: MAC,
    interval_s: 0.2,
    include_report_time: true,
    probe_timeout_s: 1,
    post_timeout_s: 2,
    backoff: { initial_s: 0.05, max_s: 0.3 },
    queue: { dir: 'queue' },
    sub_devices: [{ type: 'file', path: join(dir, 'video.mp4'), ep_location: 'loc-1', ep_name: 'local video' }],
    ...extra,
  };
}

const msgs = (output: string, start: string) => logLines(output).filter((l) => String(l.msg).startsWith(start));

describe('devstatus agent with login_url', () => {
  it('retries a failed login with backoff while reports wait in the queue, stops within 1 s, and delivers them all once it can log in', async () => {
    const { dir, cleanup } = tempDir();
    const port = await freeTcpPort();
    const config = writeConfig(dir, loginConfig(dir, `http://127.0.0.1:${port}/login`));
    let agent = await startAgent(config);
    let receiver;
    try {
      await waitUntil('three failed logins', () => msgs(agent.output(), 'login failed').length >= 3);
      assert.match(agent.output(), /login failed \(ECONNREFUSED[^)]*\); reports wait in the queue/);
      await waitUntil('three queued reports', () => DurableQueue.read(join(dir, 'queue')).length >= 3);
      const attempts = msgs(agent.output(), 'login failed').map((l) => Number(l.attempt));
      assert.deepEqual(attempts.slice(0, 3), [1, 2, 3]);

      const stopping = Date.now();
      assert.equal(await agent.stop('SIGINT'), 0);
      const took = Date.now() - stopping;
      assert.ok(took < 1000, `stopped after ${took} ms`);
      const first = stoppedStats(agent.output());
      assert.equal(first.delivered, 0);
      assert.equal(first.left_in_queue, first.rounds, 'every report of the run waits in the queue');

      // The platform is there now (period 1 s for every box); a new start logs in and drains.
      receiver = await startReceiverOn(port, dir, { reportPeriodS: 1 });
      agent = await startAgent(config);
      await agent.waitFor(/logged in: reporting to http:\/\/127\.0\.0\.1:\d+\/DeviceStatus every 1 s/);
      await waitUntil('the queued reports and two new ones', () => receiver!.reports.length >= first.rounds + 2);
      assert.equal(await agent.stop('SIGTERM'), 0);
      const second = stoppedStats(agent.output());
      assert.equal(second.left_in_queue, 0);
      assert.equal(receiver.reports.length, first.rounds + second.rounds, 'every report once, none lost');
      const times = receiver.reports.map((r) => String(r.extra.report_time));
      assert.deepEqual([...times].sort(), times, 'oldest first');
      // Rich by default with login_url: the box's own health.
      const last = receiver.reports.at(-1)!;
      assert.equal(last.dialect, 'rich');
      assert.equal(last.health?.mac, MAC);
      assert.equal(typeof last.health?.mem_pct, 'number');
      // The login recorded the configured MAC.
      const code = await (await fetch(`${receiver.url}/api/codes/LOGIN1`)).json();
      assert.equal(code.login.mac, MAC.replace(/:/g, ''));
    } finally {
      await agent.stop('SIGKILL');
      await receiver?.close();
      cleanup();
    }
  });

  it('stops within 1 s while a login hangs (the platform takes the connection and never answers)', async () => {
    const { dir, cleanup } = tempDir();
    const sockets: Socket[] = [];
    const silent = createNetServer((s) => void sockets.push(s));
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    const port = (silent.address() as { port: number }).port;
    const agent = await startAgent(writeConfig(dir, loginConfig(dir, `http://127.0.0.1:${port}/login`, { post_timeout_s: 30 })));
    try {
      await waitUntil('the login connection', () => sockets.length >= 1);
      await new Promise((r) => setTimeout(r, 300));
      const stopping = Date.now();
      assert.equal(await agent.stop('SIGINT'), 0);
      const took = Date.now() - stopping;
      assert.ok(took < 1000, `stopped after ${took} ms`);
      assert.equal(stoppedStats(agent.output()).logins, 0);
    } finally {
      await agent.stop('SIGKILL');
      for (const s of sockets) s.destroy();
      silent.close();
      cleanup();
    }
  });

  it('`report --once` logs in first and says where it was told to report, or that the login failed', async () => {
    const { dir, cleanup } = tempDir();
    const receiver = await startReceiverOn(0, dir, { reportPeriodS: 7 });
    try {
      const config = writeConfig(dir, loginConfig(dir, `${receiver.url}/login`));
      const ok = runCli(['report', '--config', config, '--once']);
      const [code] = await once(ok.child, 'exit');
      assert.equal(code, 0, ok.output());
      assert.match(ok.output(), /login http:\/\/127\.0\.0\.1:\d+\/login -> reporting to http:\/\/127\.0\.0\.1:\d+\/DeviceStatus every 7 s/);
      assert.match(ok.output(), /POST http:\/\/127\.0\.0\.1:\d+\/DeviceStatus -> 200: report delivered/);
      assert.equal(receiver.reports.length, 1);
      assert.equal(receiver.reports[0]!.dialect, 'rich');

      const down = writeConfig(dir, loginConfig(dir, `http://127.0.0.1:${await freeTcpPort()}/login`), 'down.yaml');
      const failed = runCli(['report', '--config', down, '--once']);
      const [failedCode] = await once(failed.child, 'exit');
      assert.equal(failedCode, 1);
      assert.match(failed.output(), /login http:\/\/127\.0\.0\.1:\d+\/login -> failed: ECONNREFUSED/);
      assert.equal(receiver.reports.length, 1);
    } finally {
      await receiver.close();
      cleanup();
    }
  });

  it('a report answered 401 makes it log in again and send that report to the new address', async () => {
    const { dir, cleanup } = tempDir();
    const seen: string[] = [];
    let logins = 0;
    const delivered: Array<Record<string, unknown>> = [];
    const platform = createServer(async (req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const path = new URL(req.url!, 'http://x').pathname;
      seen.push(`${req.method} ${path}`);
      if (req.method === 'GET' && path === '/login') {
        logins++;
        // The first login hands out /old, which then refuses reports; the next one /new.
        const addr = logins === 1 ? '/old' : '/new';
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: `t${logins}`, deviceMonitorAddr: addr, deviceMonitorPeriod: 1 }));
      } else if (path === '/old') {
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"unauthorized","message":"token expired"}');
      } else if (path === '/new') {
        const body = Buffer.concat(chunks).toString('utf8');
        delivered.push(JSON.parse(body) as Record<string, unknown>);
        res.writeHead(200, { 'content-type': 'application/json' }).end(body);
      } else res.writeHead(404).end();
    });
    platform.listen(0, '127.0.0.1');
    await once(platform, 'listening');
    const port = (platform.address() as { port: number }).port;
    const agent = await startAgent(writeConfig(dir, loginConfig(dir, `http://127.0.0.1:${port}/login`, { dialect: 'current' })));
    try {
      await waitUntil('two reports at the new address', () => delivered.length >= 2);
      assert.equal(await agent.stop('SIGTERM'), 0);
      assert.match(agent.output(), /platform refused a report \(HTTP 401: token expired\); logging in again/);
      assert.equal(logins, 2);
      const stats = stoppedStats(agent.output());
      assert.equal(stats.rejected, 0);
      // The report refused at /old is the first one delivered at /new: nothing was dropped.
      assert.equal(delivered.length, stats.delivered);
      assert.equal(stats.delivered + stats.left_in_queue, stats.rounds);
      assert.deepEqual(seen.slice(0, 4), ['GET /login', 'POST /old', 'GET /login', 'POST /new']);
      // dialect: current keeps today's report: no gateway fields.
      assert.equal(delivered[0]!.gateway_ext_data, undefined);
      assert.equal(delivered[0]!.dev_sno, 'LOGIN1');
    } finally {
      await agent.stop('SIGKILL');
      platform.close();
      cleanup();
    }
  });
});
