import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backends, report, startServer } from './support/server.js';

/** Value of one sample line of the Prometheus text format, or undefined. */
function sample(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

for (const backend of backends()) {
  describe(`GET /metrics (Prometheus, real server, ${backend.name})`, () => {
    it('counts received and rejected reports by reason, ingest latency, and fleet status', async () => {
      const fresh = await backend.fresh();
      const server = await startServer(fresh.store, { bodyLimit: 4096, offline: { reportIntervalMs: 5000, misses: 3 } });
      const fresh2 = await backend.fresh();
      const other = await startServer(fresh2.store, { offline: false });
      try {
        assert.equal((await server.post(report('M1', { '10.0.0.1': 'online', '10.0.0.2': 'offline' }))).status, 200);
        assert.equal((await server.post(report('M1', { '10.0.0.1': 'online', '10.0.0.2': 'offline' }))).status, 200);
        assert.equal((await server.post(report('M2', { '10.0.0.1': 'online' }))).status, 200);
        assert.equal((await server.post(report('M3', { '10.0.0.1': 'x' as 'online' }))).status, 400);
        assert.equal((await server.post('{nope', { raw: true })).status, 400);
        const big = report('M4', { '10.0.0.1': 'online' });
        big.sub_devices[0]!.ep_name = 'x'.repeat(5000);
        assert.equal((await server.post(big)).status, 413);
        await fetch(`${server.url}/api/admin/codes/M2/revoke`, { method: 'POST' });
        assert.equal((await server.post(report('M2', { '10.0.0.1': 'online' }))).status, 403);

        let res = await server.get('/metrics');
        assert.equal(res.status, 200);
        assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
        let text = await res.text();
        assert.equal(sample(text, 'devstatus_reports_received_total'), 7);
        assert.equal(sample(text, 'devstatus_reports_stored_total'), 3);
        assert.equal(sample(text, 'devstatus_reports_rejected_total{reason="invalid_field"}'), 1);
        assert.equal(sample(text, 'devstatus_reports_rejected_total{reason="bad_body"}'), 1);
        assert.equal(sample(text, 'devstatus_reports_rejected_total{reason="too_large"}'), 1);
        assert.equal(sample(text, 'devstatus_reports_rejected_total{reason="forbidden"}'), 1);
        assert.equal(sample(text, 'devstatus_ingest_duration_seconds_count'), 3);
        const sum = sample(text, 'devstatus_ingest_duration_seconds_sum')!;
        assert.ok(sum > 0 && sum < 5, `ingest time sum ${sum}`);
        assert.equal(sample(text, 'devstatus_ingest_duration_seconds_bucket{le="+Inf"}'), 3);
        assert.equal(sample(text, 'devstatus_boxes{status="online"}'), 2);
        assert.equal(sample(text, 'devstatus_boxes{status="offline"}'), 0);
        assert.equal(sample(text, 'devstatus_sub_devices{status="online"}'), 2);
        assert.equal(sample(text, 'devstatus_sub_devices{status="offline"}'), 1);
        assert.equal(sample(text, 'devstatus_transitions_total{kind="sub_device",to="online"}'), 2);
        // M1's second report and M2's were the same bytes as their first: recognized without
        // parsing (M2's still refused, its code being revoked by then).
        assert.equal(sample(text, 'devstatus_reports_repeated_total'), 2);
        assert.ok(sample(text, 'devstatus_repeat_cache_bytes')! > 0);

        // Boxes go silent: an outside tick past the timeout marks them offline.
        await server.app.offlineDetector!.tick(Date.now() + 60_000);
        text = await (await server.get('/metrics')).text();
        assert.equal(sample(text, 'devstatus_boxes{status="offline"}'), 2);
        assert.equal(sample(text, 'devstatus_sub_devices{status="unknown"}'), 3);
        assert.equal(sample(text, 'devstatus_sub_devices{status="online"}'), 0);
        assert.equal(sample(text, 'devstatus_transitions_total{kind="box",to="offline"}'), 2);
        assert.equal(sample(text, 'devstatus_sub_devices{status="removed"}'), 0);

        // M1 comes back without 10.0.0.2: that one counts as removed, the rest add up apart.
        assert.equal((await server.post(report('M1', { '10.0.0.1': 'online' }))).status, 200);
        text = await (await server.get('/metrics')).text();
        assert.equal(sample(text, 'devstatus_sub_devices{status="removed"}'), 1);
        assert.equal(sample(text, 'devstatus_sub_devices{status="online"}'), 1);
        assert.equal(sample(text, 'devstatus_sub_devices{status="unknown"}'), 1);

        // Each server has its own registry.
        const otherText = await (await other.get('/metrics')).text();
        assert.equal(sample(otherText, 'devstatus_reports_received_total'), 0);
      } finally {
        await server.close();
        await other.close();
        await fresh.store.close();
        await other.store.close();
        await fresh.cleanup();
        await fresh2.cleanup();
      }
    });
  });
}

