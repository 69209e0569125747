import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import type { AlertOptions } from '../src/alerts/dispatcher.js';
import { parseReport } from '../src/protocol/index.js';
import { backends, report, startServer, withFreshServer, type RunningServer } from './support/server.js';
import { eventually, startWebhookReceiver, type WebhookReceiver } from './support/webhook.js';

const FAST = { pollMs: 40, retryBaseMs: 60, dedupMs: 0 } satisfies Partial<AlertOptions>;

for (const backend of backends()) {
  async function withServer(
    alerts: AlertOptions,
    fn: (server: RunningServer) => Promise<void>,
    extra: Parameters<typeof startServer>[1] = {},
  ) {
    await withFreshServer(backend, { offline: false, ...extra, alerts }, fn);
  }

  async function deliveries(server: RunningServer, query = '') {
    return (await server.get(`/api/alerts/deliveries${query}`)).json();
  }

  /** A loopback port nobody listens on. */
  async function closedPort(): Promise<number> {
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as { port: number }).port;
    await new Promise((r) => srv.close(r));
    return port;
  }

  describe(`webhook alerts (real HTTP receivers on 127.0.0.1, ${backend.name})`, () => {
    it('posts a signed JSON alert for sub-device and box transitions, including report timeouts', async () => {
      const hook = await startWebhookReceiver();
      try {
        await withServer(
          { urls: [hook.url], secret: 's3cret', ...FAST },
          async (server) => {
            await server.post(report('ALERT1', { '10.0.0.1': 'online' }));
            const named = await fetch(`${server.url}/api/admin/devices/ALERT1`, {
              method: 'PATCH',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ name: 'Gate 1', location: 'Hall B' }),
            });
            assert.equal(named.status, 200);
            await server.post(report('ALERT1', { '10.0.0.1': 'offline' }));
            const [first] = await hook.waitFor(1);
            // Appearing online is not alerted: the first alert is the sub-device going offline.
            assert.equal(hook.requests.filter((r) => r.json.reason === 'first_seen').length, 0);
            const expected = `sha256=${createHmac('sha256', 's3cret').update(first!.body).digest('hex')}`;
            assert.equal(first!.headers['x-devstatus-signature'], expected);
            assert.equal(first!.headers['content-type'], 'application/json');
            assert.equal(first!.json.kind, 'sub_device');
            assert.equal(first!.json.dev_sno, 'ALERT1');
            assert.equal(first!.json.ep_id, 'ALERT1__10.0.0.1');
            assert.equal(first!.json.from, 'online');
            assert.equal(first!.json.to, 'offline');
            assert.equal(first!.json.reason, 'report');
            assert.equal(first!.json.transitions, 1);
            assert.equal(first!.json.suppressed_flips, 0);
            assert.equal(first!.json.box_name, 'Gate 1');
            assert.equal(first!.json.box_location, 'Hall B');
            assert.match(String(first!.json.at), /^\d{4}-\d\d-\d\dT/);

            // The box stops reporting: a box alert with reason report_timeout.
            const [, boxAlert] = await hook.waitFor(2);
            assert.equal(boxAlert!.json.kind, 'box');
            assert.equal(boxAlert!.json.ep_id, null);
            assert.deepEqual([boxAlert!.json.from, boxAlert!.json.to, boxAlert!.json.reason], ['online', 'offline', 'report_timeout']);
            assert.equal(
              boxAlert!.headers['x-devstatus-signature'],
              `sha256=${createHmac('sha256', 's3cret').update(boxAlert!.body).digest('hex')}`,
            );

            // The webhook has the request a moment before the dispatcher records the answer.
            const d = await eventually(async () => {
              const x = await deliveries(server);
              return x.counts.delivered === 2 && x.deliveries.length === 2 ? x : null;
            }, 5000, 'two deliveries recorded as delivered');
            assert.equal(d.counts.pending + d.counts.failed, 0);
            assert.ok(d.deliveries.every((x: { status: string; attempts: number; last_http_status: number }) =>
              x.status === 'delivered' && x.attempts === 1 && x.last_http_status === 200));
            assert.equal(d.deliveries[0].url, hook.url);
          },
          { offline: { reportIntervalMs: 200, misses: 2 } },
        );
      } finally {
        await hook.close();
      }
    });

    it('sends no signature header without a secret, and one copy per webhook URL', async () => {
      const a = await startWebhookReceiver();
      const b = await startWebhookReceiver();
      try {
        await withServer({ urls: [a.url, b.url], ...FAST }, async (server) => {
          await server.post(report('ALERT2', { '10.0.0.1': 'offline' })); // first seen offline: alerted
          const [ra] = await a.waitFor(1);
          const [rb] = await b.waitFor(1);
          assert.equal(ra!.headers['x-devstatus-signature'], undefined);
          assert.equal(ra!.json.alert_id, rb!.json.alert_id);
          assert.deepEqual([ra!.json.from, ra!.json.to, ra!.json.reason], [null, 'offline', 'first_seen']);
        });
      } finally {
        await a.close();
        await b.close();
      }
    });

    it('retries after 500s with backoff, then delivers the very same body', async () => {
      const hook = await startWebhookReceiver((n) => (n < 2 ? 500 : 200));
      try {
        await withServer({ urls: [hook.url], secret: 'k', ...FAST }, async (server) => {
          await server.post(report('RETRY1', { '10.0.0.1': 'online' }));
          await server.post(report('RETRY1', { '10.0.0.1': 'offline' }));
          const reqs = await hook.waitFor(3);
          assert.equal(new Set(reqs.map((r) => r.body)).size, 1, 'same bytes each attempt');
          assert.equal(new Set(reqs.map((r) => r.headers['x-devstatus-signature'])).size, 1);
          const gap1 = reqs[1]!.at - reqs[0]!.at;
          const gap2 = reqs[2]!.at - reqs[1]!.at;
          assert.ok(gap1 >= 50, `first retry after ${gap1} ms`);
          assert.ok(gap2 >= 110, `second retry after ${gap2} ms (backoff doubles)`);
          const d = await eventually(async () => {
            const x = await deliveries(server);
            return x.deliveries[0]?.status === 'delivered' ? x : null;
          });
          assert.equal(d.deliveries[0].attempts, 3);
          assert.equal(d.deliveries[0].last_http_status, 200);
          assert.equal(d.deliveries[0].last_error, null);
          assert.equal(d.deliveries[0].body.ep_id, 'RETRY1__10.0.0.1');
          const metrics = await (await server.get('/metrics')).text();
          assert.match(metrics, /devstatus_alert_delivery_attempts_total\{outcome="retrying"\} 2/);
          assert.match(metrics, /devstatus_alert_delivery_attempts_total\{outcome="delivered"\} 1/);
        });
      } finally {
        await hook.close();
      }
    });

    it('marks a delivery failed after its last attempt and shows why in the API', async () => {
      const hook = await startWebhookReceiver(() => 503);
      const deadUrl = `http://127.0.0.1:${await closedPort()}/hook`;
      try {
        await withServer({ urls: [hook.url, deadUrl], ...FAST, maxAttempts: 2 }, async (server) => {
          await server.post(report('FAIL2', { '10.0.0.1': 'offline' }));
          const d = await eventually(async () => {
            const x = await deliveries(server, '?status=failed');
            return x.deliveries.length === 2 ? x : null;
          }, 5000, 'two failed deliveries');
          const byUrl = Object.fromEntries(d.deliveries.map((x: { url: string }) => [x.url, x]));
          assert.equal(byUrl[hook.url].attempts, 2);
          assert.equal(byUrl[hook.url].last_http_status, 503);
          assert.equal(byUrl[hook.url].last_error, 'HTTP 503');
          assert.equal(byUrl[deadUrl].last_http_status, null);
          assert.match(byUrl[deadUrl].last_error, /ECONNREFUSED/);
          assert.equal(hook.requests.length, 2);
          assert.equal(d.counts.failed, 2);
          assert.equal((await deliveries(server, '?status=delivered')).deliveries.length, 0);
          assert.equal((await server.get('/api/alerts/deliveries?status=lost')).status, 400);
          const metrics = await (await server.get('/metrics')).text();
          assert.match(metrics, /devstatus_alert_deliveries\{status="failed"\} 2/);
          // Retention: finished deliveries older than the cut-off go.
          assert.equal(await server.store.pruneDeliveries(Date.now() - 60_000), 0);
          assert.equal(await server.store.pruneDeliveries(Date.now() + 1), 2);
          assert.equal((await deliveries(server)).deliveries.length, 0);
        });
      } finally {
        await hook.close();
      }
    });

    it('coalesces a flapping sub-device into one alert per window, per subject', async () => {
      const hook = await startWebhookReceiver();
      try {
        await withServer({ urls: [hook.url], ...FAST, dedupMs: 1500 }, async (server) => {
          const cam = (s: 'online' | 'offline', other: 'online' | 'offline' = 'online') =>
            server.post(report('FLAP1', { '10.0.0.1': s, '10.0.0.2': other }));
          await cam('online');
          const t0 = Date.now();
          // 6 flips of 10.0.0.1; the first is alerted at once, the other 5 are held.
          for (const s of ['offline', 'online', 'offline', 'online', 'offline', 'online'] as const) await cam(s);
          // Another sub-device changing inside the window is its own subject: alerted at once.
          await cam('online', 'offline');
          const early = await hook.waitFor(2);
          assert.ok(Date.now() - t0 < 1500, 'test sent everything inside one window');
          assert.deepEqual(
            early.map((r) => [r.json.ep_id, r.json.from, r.json.to, r.json.transitions]),
            [
              ['FLAP1__10.0.0.1', 'online', 'offline', 1],
              ['FLAP1__10.0.0.2', 'online', 'offline', 1],
            ],
          );
          const all = await hook.waitFor(3, 5000);
          const summary = all[2]!;
          assert.ok(summary.at - early[0]!.at >= 1400, 'coalesced alert waits for the window');
          assert.equal(summary.json.ep_id, 'FLAP1__10.0.0.1');
          assert.equal(summary.json.from, 'offline'); // what receivers were last told
          assert.equal(summary.json.to, 'online'); // the latest state
          assert.equal(summary.json.transitions, 5);
          assert.equal(summary.json.suppressed_flips, 4);
          await new Promise((r) => setTimeout(r, 900));
          assert.equal(hook.requests.length, 3, 'nothing more once the flapping stopped');
          const metrics = await (await server.get('/metrics')).text();
          assert.match(metrics, /devstatus_alert_transitions_held_total 5/);
        });
      } finally {
        await hook.close();
      }
    });

    it('alerts on transitions committed while no receiver was queuing (history cursor), and only once', async () => {
      const hook: WebhookReceiver = await startWebhookReceiver();
      const fresh = await backend.fresh();
      try {
        const opts = { urls: [hook.url], ...FAST };
        let server = await startServer(fresh.store, { offline: false, alerts: opts });
        await server.post(report('CURSOR1', { '10.0.0.1': 'online' }));
        await server.close();
        // As if the receiver had died right after the report's commit: stored, never queued.
        await fresh.store.ingest(parseReport(report('CURSOR1', { '10.0.0.1': 'offline' })), Date.now());
        server = await startServer(fresh.store, { offline: false, alerts: opts });
        try {
          const [got] = await hook.waitFor(1);
          assert.equal(got!.json.ep_id, 'CURSOR1__10.0.0.1');
          assert.equal(got!.json.to, 'offline');
          await new Promise((r) => setTimeout(r, 300));
          assert.equal(hook.requests.length, 1);
        } finally {
          await server.close();
        }
      } finally {
        await fresh.store.close();
        await hook.close();
        await fresh.cleanup();
      }
    });

    it('keeps undelivered alerts across a restart and delivers them afterwards', async () => {
      const hook: WebhookReceiver = await startWebhookReceiver(() => 503);
      const fresh = await backend.fresh();
      try {
        const opts = { urls: [hook.url], ...FAST, retryBaseMs: 100 };
        let server = await startServer(fresh.store, { offline: false, alerts: opts });
        await server.post(report('DURABLE1', { '10.0.0.1': 'offline' }));
        await hook.waitFor(1);
        assert.equal(await fresh.store.pruneDeliveries(Date.now() + 60_000), 0, 'pending deliveries are never pruned');
        await server.close();
        await fresh.store.close();
        const before = hook.requests.length;

        hook.respond = () => 200;
        const store = await fresh.reopen();
        server = await startServer(store, { offline: false, alerts: opts });
        try {
          const d = await eventually(async () => {
            const x = await deliveries(server);
            return x.deliveries[0]?.status === 'delivered' ? x : null;
          }, 5000, 'delivered after restart');
          assert.equal(d.deliveries.length, 1);
          assert.equal(d.deliveries[0].attempts, before + 1);
          assert.equal(hook.requests.at(-1)!.json.alert_id, hook.requests[0]!.json.alert_id);
        } finally {
          await server.close();
          await store.close();
        }
      } finally {
        await hook.close();
        await fresh.cleanup();
      }
    });
  });
}

