// Prometheus metrics on a registry of this server's own (not prom-client's global one), so
// several servers in one process (tests) do not share counters.
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Store } from '../store/types.js';
import type { FleetEvents } from './events.js';
import type { BodyBudget } from './body-budget.js';
import type { RepeatCache } from './repeat-cache.js';

// busy: over the memory budget for bodies in flight; timeout: a body that stalled.
export const REJECT_REASONS = ['bad_body', 'invalid_field', 'too_large', 'forbidden', 'store_error', 'busy', 'timeout'] as const;

export function installMetrics(
  app: FastifyInstance,
  opts: { store: Store; events: FleetEvents; repeats?: RepeatCache; bodyBudget?: BodyBudget; processMetrics?: boolean },
): Registry {
  const { store, events, repeats, bodyBudget } = opts;
  const registry = new Registry();
  if (opts.processMetrics) collectDefaultMetrics({ register: registry, prefix: 'devstatus_' });

  const received = new Counter({
    name: 'devstatus_reports_received_total',
    help: 'Reports received on the report path, stored or rejected',
    registers: [registry],
  });
  const stored = new Counter({
    name: 'devstatus_reports_stored_total',
    help: 'Reports validated and stored',
    registers: [registry],
  });
  const rejected = new Counter({
    name: 'devstatus_reports_rejected_total',
    help: 'Reports rejected, by reason',
    labelNames: ['reason'],
    registers: [registry],
  });
  for (const reason of REJECT_REASONS) rejected.inc({ reason }, 0);
  const transitions = new Counter({
    name: 'devstatus_transitions_total',
    help: 'Status transitions of boxes and sub-devices, by kind and new status',
    labelNames: ['kind', 'to'],
    registers: [registry],
  });
  const ingest = new Histogram({
    name: 'devstatus_ingest_duration_seconds',
    help: 'Time to receive, validate and durably store a report (stored reports only)',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const alertsQueued = new Counter({
    name: 'devstatus_alerts_queued_total',
    help: 'Alerts queued for delivery (each goes to every webhook URL)',
    registers: [registry],
  });
  const alertsHeld = new Counter({
    name: 'devstatus_alert_transitions_held_total',
    help: 'Transitions held back by alert de-duplication (flapping)',
    registers: [registry],
  });
  const deliveries = new Counter({
    name: 'devstatus_alert_delivery_attempts_total',
    help: 'Webhook delivery attempts, by outcome (delivered, retrying, failed)',
    labelNames: ['outcome'],
    registers: [registry],
  });
  for (const outcome of ['delivered', 'retrying', 'failed']) deliveries.inc({ outcome }, 0);

  new Gauge({
    name: 'devstatus_boxes',
    help: 'Boxes by status',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      const s = await store.summary();
      this.set({ status: 'online' }, s.boxes.online);
      this.set({ status: 'offline' }, s.boxes.offline);
    },
  });
  new Gauge({
    name: 'devstatus_sub_devices',
    help: 'Sub-devices by status (unknown: the box is offline; removed: missing from its box\'s latest report)',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      const s = await store.summary();
      this.set({ status: 'online' }, s.sub_devices.online);
      this.set({ status: 'offline' }, s.sub_devices.offline);
      this.set({ status: 'unknown' }, s.sub_devices.unknown);
      this.set({ status: 'removed' }, s.sub_devices.removed);
    },
  });
  if (repeats) {
    new Counter({
      name: 'devstatus_reports_repeated_total',
      help: "Reports that were byte for byte their box's last stored one, so not parsed again",
      registers: [registry],
      collect() {
        this.reset();
        this.inc(repeats.stats.hits);
      },
    });
    new Gauge({
      name: 'devstatus_repeat_cache_bytes',
      help: 'Memory held for recognizing repeated reports (an estimate)',
      registers: [registry],
      collect() {
        this.set(repeats.stats.bytes);
      },
    });
  }
  if (bodyBudget) {
    new Gauge({
      name: 'devstatus_report_body_bytes_in_flight',
      help: 'Bytes of report bodies being received now, all connections together (limit: --body-budget)',
      registers: [registry],
      collect() {
        this.set(bodyBudget.used);
      },
    });
  }
  new Gauge({
    name: 'devstatus_alert_deliveries',
    help: 'Webhook deliveries in the outbox, by status',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      const c = await store.deliveryCounts();
      for (const [status, n] of Object.entries(c)) this.set({ status }, n);
    },
  });

  events.on('report', () => {
    received.inc();
    stored.inc();
  });
  events.on('rejected', (reason) => {
    received.inc();
    rejected.inc({ reason });
  });
  // A storm brings thousands of transitions a second: each (kind, status) counter is looked up
  // once, not by its labels at every transition.
  const transitionCounters = { box: new Map<string, Counter.Internal>(), sub_device: new Map<string, Counter.Internal>() };
  events.on('transitions', (ts) => {
    for (const t of ts) {
      const kind = t.ep_id === null ? 'box' : 'sub_device';
      let counter = transitionCounters[kind].get(t.to_status);
      if (counter === undefined) transitionCounters[kind].set(t.to_status, (counter = transitions.labels({ kind, to: t.to_status })));
      counter.inc();
    }
  });
  events.on('alerts', (queued, held) => {
    alertsQueued.inc(queued);
    alertsHeld.inc(held);
  });
  events.on('delivery', (outcome) => deliveries.inc({ outcome }));

  events.on('ingested', (seconds) => ingest.observe(seconds));

  app.get('/metrics', async (_req, reply) => {
    const body = await registry.metrics();
    return reply.type(registry.contentType).send(body);
  });
  return registry;
}
