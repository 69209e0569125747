// Helpers for the alert engine tests: event factories, a fake-clock driver that calls
// flush() exactly when the engine asks, and the "nothing dropped" accounting check.
import assert from 'node:assert/strict';
import { AlertEngine, route, type AlertEngineConfig, type AlertEngineState, type AlertEvent, type Notification, type Rule, type SuppressedEvent } from '../../src/alerts/engine/index.js';

export const T0 = Date.parse('2026-11-25T02:00:00Z');
export const S = 1000;
export const MIN = 60_000;

let seq = 0;

interface Place {
  box_name?: string | null;
  location_id?: string | null;
  location_name?: string | null;
  group?: string | null;
}

export function camEvent(dev: string, n: number, from: string | null, to: string, at: number, place: Place = {}): AlertEvent {
  return {
    id: `e${++seq}`,
    kind: 'sub_device',
    dev_sno: dev,
    box_name: place.box_name ?? `Box ${dev}`,
    ep_id: `${dev}__10.0.0.${n}`,
    ep_name: `Camera ${n}`,
    ep_type: 'rtsp',
    address: `10.0.0.${n}`,
    location_id: place.location_id ?? null,
    location_name: place.location_name ?? null,
    group: place.group ?? null,
    from,
    to,
    at,
    reason: 'report',
  };
}

export function boxEvent(dev: string, from: string | null, to: string, at: number, place: Place = {}): AlertEvent {
  return {
    ...camEvent(dev, 0, from, to, at, place),
    kind: 'box',
    ep_id: null,
    ep_name: null,
    ep_type: null,
    address: null,
    reason: to === 'offline' ? 'report_timeout' : 'report',
  };
}

/** Drives an engine with a fake clock and keeps everything it put out. */
export class Driver {
  readonly engine: AlertEngine;
  readonly events: AlertEvent[] = [];
  readonly notifications: Notification[] = [];
  readonly suppressed: SuppressedEvent[] = [];
  now = T0;

  constructor(
    readonly config: AlertEngineConfig,
    state?: AlertEngineState,
  ) {
    this.engine = new AlertEngine(config, state);
  }

  /** Runs every flush due up to `until` (at the times the engine asks), then ingests. */
  ingest(events: AlertEvent[], at = events[0]?.at ?? this.now): this {
    this.advance(at);
    this.events.push(...events);
    this.suppressed.push(...this.engine.ingest(events, at).suppressed);
    return this;
  }

  advance(until: number): Notification[] {
    const before = this.notifications.length;
    for (let guard = 0; ; guard++) {
      assert.ok(guard < 100_000, 'the engine keeps asking to be woken at the same time');
      const wake = this.engine.nextWakeAt();
      if (wake === null || wake > until) break;
      const at = Math.max(wake, this.now);
      this.now = at;
      const out = this.engine.flush(at);
      this.notifications.push(...out.notifications);
      this.suppressed.push(...out.suppressed);
    }
    this.now = Math.max(this.now, until);
    return this.notifications.slice(before);
  }

  on(channel: string): Notification[] {
    return this.notifications.filter((n) => n.channel === channel);
  }
}

/**
 * Every event is in exactly one notification per channel it routes to, or suppressed (for
 * every channel, or for that channel): nothing dropped, nothing sent twice.
 */
export function assertAccounted(d: Driver, rules: readonly Rule[] = d.config.rules): void {
  const covered = new Map<string, number>();
  const bump = (k: string) => covered.set(k, (covered.get(k) ?? 0) + 1);
  for (const n of d.notifications) for (const id of n.covered_event_ids) bump(`${n.channel}|${id}`);
  for (const s of d.suppressed) bump(`${s.channel ?? '*'}|${s.event_id}`);
  for (const e of d.events) {
    const everywhere = covered.get(`*|${e.id}`) ?? 0;
    const channels = route(rules, e).map((t) => t.channel);
    if (everywhere > 0) {
      assert.equal(everywhere, 1, `${e.id} suppressed twice`);
      for (const ch of channels) assert.equal(covered.get(`${ch}|${e.id}`), undefined, `${e.id} suppressed and sent on ${ch}`);
      continue;
    }
    for (const ch of channels) assert.equal(covered.get(`${ch}|${e.id}`), 1, `${e.id} (${e.ep_id ?? e.dev_sno} ${e.to}) on ${ch}`);
  }
}

/** Per channel and group key: sends at least group_interval apart. */
export function assertIntervals(notifications: Notification[], intervalMs: number): void {
  const last = new Map<string, number>();
  for (const n of notifications) {
    for (const key of n.folded_groups ?? [n.group_key]) {
      const k = `${n.channel}|${n.rule_id}|${key}`;
      const prev = last.get(k);
      if (prev !== undefined) assert.ok(n.created_at - prev >= intervalMs, `${k} sent ${n.created_at - prev} ms after the previous one`);
      last.set(k, n.created_at);
    }
  }
}

/** No sliding window of per_ms holds more than max sends on the channel. */
export function assertRateLimit(notifications: Notification[], channel: string, max: number, perMs: number): void {
  const times = notifications.filter((n) => n.channel === channel).map((n) => n.created_at);
  for (let i = 0; i < times.length; i++) {
    const inWindow = times.filter((t) => t >= times[i]! && t < times[i]! + perMs).length;
    assert.ok(inWindow <= max, `${inWindow} sends on ${channel} within ${perMs} ms from ${times[i]}`);
  }
}
