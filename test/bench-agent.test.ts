// Smoke run of `npm run bench:agent` with tiny settings, so the agent benchmark keeps working:
// it measures rounds, memory, the queue and the drain, and every channel (all up) is online.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runBenchScript } from './support/bench.js';

describe('agent benchmark', () => {
  it('measures rounds, RSS, the queue and the drain for RTSP channels behind one server', { timeout: 120_000 }, async () => {
    const { code, out, err } = await runBenchScript('bench/agent.ts', [
      ...['--channels', '16', '--interval', '0.5', '--warm', '2', '--outage', '2', '--after', '1', '--json'],
    ]);
    assert.equal(code, 0, err);
    const r = JSON.parse(out);
    assert.equal(r.channels, 16);
    assert.ok(r.rounds >= 3, out);
    assert.equal(r.false_offline, 0, out);
    assert.ok(r.round_ms.max > 0 && r.round_to_limit.max > 0, out);
    assert.ok(r.rss_mib.peak > 0 && r.rss_mib.bare_node > 0 && r.rss_mib.steady_before_outage > 0, out);
    assert.ok(r.queue.max_reports >= 1 && r.queue.bytes_per_report > 0, out);
    assert.ok(Number.isFinite(r.drain_delay_ms) && Number.isFinite(r.drained_ms), out);
    assert.equal(r.received_in_order, true, out);
    assert.ok(r.stop_ms >= 0, out);
  });
});
