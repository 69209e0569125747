// Admin API of alerting (issue 12): channels (secrets write-only, shown masked), a test message,
// routing rules, silences (+ what they silenced), acknowledging problems, and the notifications
// with the transitions each covered and its delivery state. Under /api/, so auth protects it.
import { randomUUID } from 'node:crypto';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DEFAULT_RULE_ID, type AlertingService } from '../../alerts/alerting-service.js';
import { CHANNEL_KINDS } from '../../alerts/channels/types.js';
import { AlertChannelConfigSchema, channelIdFor, maskConfig, mergeSecrets } from '../../alerts/channel-config.js';
import { findSilence, silenceActiveAt, silenceEndsAt, validateRules, validateSilence, type Problem, type Rule, type Silence } from '../../alerts/engine/index.js';
import type { HistoryEventRow, NotificationStatus, StoredChannel, StoredNotification } from '../../store/alerting-rows.js';
import type { Store } from '../../store/types.js';
import { notOneOf, sendError } from '../errors.js';
import type { AlertStateChange, FleetEvents } from '../events.js';

const ChannelBody = Type.Object(
  {
    /** `<kind>:<slug>`; made from the name when absent. */
    id: Type.Optional(Type.String({ minLength: 3, maxLength: 80, pattern: '^(dingtalk|wecom|feishu|email|webhook):[a-z0-9_-]+$' })),
    name: Type.String({ minLength: 1, maxLength: 100 }),
    enabled: Type.Optional(Type.Boolean()),
    config: Type.Record(Type.String(), Type.Unknown()),
  },
  { additionalProperties: false },
);
type ChannelBody = Static<typeof ChannelBody>;

const Strings = Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { maxItems: 1000 }));
const RuleBody = Type.Object(
  {
    id: Type.Optional(Type.String({ minLength: 1, maxLength: 80, pattern: '^[A-Za-z0-9_.-]+$' })),
    name: Type.Optional(Type.String({ maxLength: 100 })),
    position: Type.Optional(Type.Integer({ minimum: 0, maximum: 100000 })),
    match: Type.Optional(
      Type.Object(
        {
          kinds: Type.Optional(Type.Array(Type.Union([Type.Literal('box'), Type.Literal('sub_device')]))),
          severities: Type.Optional(Type.Array(Type.Union([Type.Literal('critical'), Type.Literal('warning'), Type.Literal('info')]))),
          locations: Strings,
          groups: Strings,
          boxes: Strings,
        },
        { additionalProperties: false },
      ),
    ),
    channels: Type.Array(Type.String({ minLength: 1, maxLength: 80 }), { minItems: 1, maxItems: 50 }),
    group_by: Type.Optional(Type.Union([Type.Literal('box'), Type.Literal('location'), Type.Literal('fleet')])),
    group_wait_s: Type.Optional(Type.Integer({ minimum: 0, maximum: 3600 })),
    group_interval_s: Type.Optional(Type.Integer({ minimum: 1, maximum: 86400 })),
    // Fractions allowed (0.5 = 30 s), mostly for trying it out.
    reminder_every_min: Type.Optional(Type.Number({ minimum: 0, maximum: 100000 })),
    escalate_after_min: Type.Optional(Type.Number({ minimum: 0, maximum: 100000 })),
    escalate_channels: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 80 }), { maxItems: 50 })),
    send_recoveries: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
type RuleBody = Static<typeof RuleBody>;

const TimeOrNull = Type.Optional(Type.Union([Type.Null(), Type.Integer({ minimum: 0 })]));
const SilenceBody = Type.Object(
  {
    matchers: Type.Object({ boxes: Strings, ep_ids: Strings, locations: Strings, groups: Strings }, { additionalProperties: false }),
    /** ms since the epoch; absent: from now. */
    starts_at: TimeOrNull,
    ends_at: TimeOrNull,
    recurring: Type.Optional(
      Type.Union([
        Type.Null(),
        Type.Object(
          {
            cron: Type.String({ minLength: 1, maxLength: 100 }),
            duration_min: Type.Integer({ minimum: 1, maximum: 10080 }),
            tz: Type.String({ minLength: 1, maxLength: 64 }),
          },
          { additionalProperties: false },
        ),
      ]),
    ),
    comment: Type.Optional(Type.String({ maxLength: 500 })),
    created_by: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  },
  { additionalProperties: false },
);
type SilenceBody = Static<typeof SilenceBody>;

const AckBody = Type.Object(
  {
    subject: Type.Optional(Type.String({ minLength: 5, maxLength: 400 })),
    subjects: Type.Optional(Type.Array(Type.String({ minLength: 5, maxLength: 400 }), { minItems: 1, maxItems: 5000 })),
    note: Type.Optional(Type.Union([Type.Null(), Type.String({ maxLength: 1000 })])),
    by: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  },
  { additionalProperties: false },
);
type AckBody = Static<typeof AckBody>;

/** Who made the call (a user, an API key's owner, the admin token); 'admin' when no auth is set up. */
const actorOf = (req: FastifyRequest): string => req.caller?.actor ?? 'admin';

export function publicChannel(c: StoredChannel) {
  return { id: c.id, kind: c.kind, name: c.name, enabled: c.enabled, config: maskConfig(c.config), created_at: c.created_at, updated_at: c.updated_at };
}

function historyEntry(r: HistoryEventRow) {
  return {
    id: r.id,
    at: new Date(r.at).toISOString(),
    dev_sno: r.dev_sno,
    ep_id: r.ep_id,
    from_status: r.from_status,
    to_status: r.to_status,
    reason: r.reason,
    box_name: r.box_name,
    ep_name: r.ep_name,
  };
}

/**
 * `events`: where acknowledgements and silence changes are announced (the live stream carries
 * them to the consoles, which update the rows at once).
 */
export function registerAlertingApi(app: FastifyInstance, store: Store, service: AlertingService, events?: FleetEvents): void {
  const a = store.alerting;
  const announce = (change: AlertStateChange) => events?.emit('alertState', change);
  const problemsNow = async (): Promise<{ problems: Problem[]; silenced: { subject: string; silence_id: string; until: number | null }[] }> => {
    const now = Date.now();
    const live = service.liveProblems();
    if (live) return { problems: live, silenced: service.liveSilenced(now) ?? [] };
    // Not the leader here: what the leader saved last (silences are evaluated here, as they are config).
    const [stored, silences] = await Promise.all([a.loadEngine(), a.listSilences()]);
    const problems = stored ? Object.values(stored.state.problems).sort((x, y) => x.since - y.since) : [];
    const silenced = problems.flatMap((p) => {
      const s = findSilence(silences, p.event, now);
      return s ? [{ subject: p.subject, silence_id: s.id, until: silenceEndsAt(s, now) }] : [];
    });
    return { problems, silenced };
  };
  /** The open problems silence `s` holds now, as the live views are told. */
  const silencing = async (s: Silence): Promise<AlertStateChange> => {
    const now = Date.now();
    const { problems } = await problemsNow();
    const until = silenceEndsAt(s, now);
    const subjects = problems.filter((p) => findSilence([s], p.event, now)).map((p) => p.subject);
    return { kind: 'silence', silence_id: s.id, subjects, until: until === null ? null : new Date(until).toISOString() };
  };
  /** A silence changed: let the engine take it (here at once when this receiver leads), then say so. */
  const silenceChanged = async (id: string, now: Silence | null) => {
    service.configChanged();
    await service.kick();
    announce({ kind: 'silence_ended', silence_id: id });
    if (now) announce(await silencing(now));
  };
  const badConfig = (reply: FastifyReply, errors: string[], field: string) => sendError(reply, 'bad_request', errors.join('; '), field);

  // ---- channels
  app.get('/api/alert-channels', async () => ({ channels: (await a.listChannels()).map(publicChannel) }));

  const saveChannel = async (body: ChannelBody, existing: StoredChannel | null, reply: FastifyReply) => {
    const config = mergeSecrets(body.config, existing?.config ?? null);
    // Validated against the schema of its kind, so errors name the field (not "union value").
    const schema = AlertChannelConfigSchema.anyOf.find((s) => s.properties.kind.const === config.kind);
    if (!schema) return sendError(reply, 'bad_request', `kind must be one of ${CHANNEL_KINDS.join(', ')}`, 'config.kind');
    if (!Value.Check(schema, config)) {
      const errs = [...Value.Errors(schema, config)].slice(0, 3).map((e) => `config${e.path.replace(/\//g, '.')}: ${e.message}`);
      return badConfig(reply, errs, 'config');
    }
    const kind = String(config.kind);
    const id = existing?.id ?? body.id ?? channelIdFor(kind, body.name);
    if (!id.startsWith(`${kind}:`)) return sendError(reply, 'bad_request', `id must start with ${kind}: (the kind picks the chat rate limit)`, 'id');
    if (!existing && (await a.getChannel(id))) return sendError(reply, 'conflict', `a channel ${id} exists already`, 'id');
    const now = Date.now();
    const c: StoredChannel = {
      id,
      kind,
      name: body.name,
      config,
      enabled: body.enabled ?? existing?.enabled ?? true,
      created_at: existing?.created_at ?? now,
      updated_at: now,
    };
    await a.putChannel(c);
    service.configChanged();
    return reply.code(existing ? 200 : 201).send(publicChannel(c));
  };

  app.post<{ Body: ChannelBody }>('/api/alert-channels', { schema: { body: ChannelBody } }, async (req, reply) => saveChannel(req.body, null, reply));
  app.put<{ Params: { id: string }; Body: ChannelBody }>('/api/alert-channels/:id', { schema: { body: ChannelBody } }, async (req, reply) => {
    const existing = await a.getChannel(req.params.id);
    if (!existing) return sendError(reply, 'not_found', `no channel ${req.params.id}`, 'id');
    return saveChannel(req.body, existing, reply);
  });
  app.delete<{ Params: { id: string } }>('/api/alert-channels/:id', async (req, reply) => {
    const used = (await a.listRules()).filter((r) => r.channels.includes(req.params.id) || r.escalate_channels?.includes(req.params.id));
    if (used.length) return sendError(reply, 'conflict', `rules ${used.map((r) => r.id).join(', ')} send to this channel; change them first`, 'id');
    if (!(await a.deleteChannel(req.params.id))) return sendError(reply, 'not_found', `no channel ${req.params.id}`, 'id');
    service.configChanged();
    return reply.code(204).send();
  });
  app.post<{ Params: { id: string } }>('/api/alert-channels/:id/test', async (req, reply) => {
    const c = await a.getChannel(req.params.id);
    if (!c) return sendError(reply, 'not_found', `no channel ${req.params.id}`, 'id');
    const result = await service.sendTest(c);
    return { channel: c.id, ...result };
  });

  // ---- rules (with none stored, every enabled channel gets everything: rule "default")
  app.get('/api/alert-rules', async () => {
    const rules = await a.listRules();
    return { rules, default_rule: rules.length === 0 ? DEFAULT_RULE_ID : null };
  });
  const saveRule = async (body: RuleBody, id: string, reply: FastifyReply, created: boolean) => {
    const { position, ...fields } = body;
    const rule: Rule = { ...fields, id } as Rule;
    const rules = (await a.listRules()).filter((r) => r.id !== id);
    const pos = position ?? rules.length;
    const errors = validateRules([...rules, rule]);
    const channels = new Set((await a.listChannels()).map((c) => c.id));
    for (const c of [...rule.channels, ...(rule.escalate_channels ?? [])]) if (!channels.has(c)) errors.push(`rule ${id}: no channel ${c}`);
    if (errors.length) return badConfig(reply, errors, 'channels');
    await a.putRule(rule, pos, Date.now());
    service.configChanged();
    return reply.code(created ? 201 : 200).send(rule);
  };
  app.post<{ Body: RuleBody }>('/api/alert-rules', { schema: { body: RuleBody } }, async (req, reply) => {
    const id = req.body.id ?? randomUUID().slice(0, 8);
    if ((await a.listRules()).some((r) => r.id === id)) return sendError(reply, 'conflict', `a rule ${id} exists already`, 'id');
    return saveRule(req.body, id, reply, true);
  });
  app.put<{ Params: { id: string }; Body: RuleBody }>('/api/alert-rules/:id', { schema: { body: RuleBody } }, async (req, reply) => {
    if (!(await a.listRules()).some((r) => r.id === req.params.id)) return sendError(reply, 'not_found', `no rule ${req.params.id}`, 'id');
    return saveRule(req.body, req.params.id, reply, false);
  });
  app.delete<{ Params: { id: string } }>('/api/alert-rules/:id', async (req, reply) => {
    if (!(await a.deleteRule(req.params.id))) return sendError(reply, 'not_found', `no rule ${req.params.id}`, 'id');
    service.configChanged();
    return reply.code(204).send();
  });

  // ---- silences
  app.get('/api/silences', async () => {
    const now = Date.now();
    const [silences, { silenced }] = await Promise.all([a.listSilences(), problemsNow()]);
    return {
      silences: silences.map((s) => ({ ...s, active: silenced.some((x) => x.silence_id === s.id) || silenceActiveAt(s, now), silencing: silenced.filter((x) => x.silence_id === s.id) })),
    };
  });
  const saveSilence = async (body: SilenceBody, existing: Silence | null, reply: FastifyReply, actor: string) => {
    const now = Date.now();
    const s: Silence = {
      id: existing?.id ?? randomUUID().slice(0, 8),
      matchers: body.matchers,
      starts_at: body.starts_at === undefined ? (existing?.starts_at ?? (body.recurring ? null : now)) : body.starts_at,
      ends_at: body.ends_at ?? null,
      recurring: body.recurring ?? null,
      created_by: body.created_by ?? existing?.created_by ?? actor,
      comment: body.comment ?? existing?.comment ?? '',
      created_at: existing?.created_at ?? now,
    };
    const errors = validateSilence(s);
    if (errors.length) return badConfig(reply, errors, 'matchers');
    await a.putSilence(s, now);
    await silenceChanged(s.id, s);
    return reply.code(existing ? 200 : 201).send(s);
  };
  app.post<{ Body: SilenceBody }>('/api/silences', { schema: { body: SilenceBody } }, async (req, reply) => saveSilence(req.body, null, reply, actorOf(req)));
  app.put<{ Params: { id: string }; Body: SilenceBody }>('/api/silences/:id', { schema: { body: SilenceBody } }, async (req, reply) => {
    const existing = (await a.listSilences()).find((s) => s.id === req.params.id);
    if (!existing) return sendError(reply, 'not_found', `no silence ${req.params.id}`, 'id');
    return saveSilence(req.body, existing, reply, actorOf(req));
  });
  /** Ends a silence now (kept in the list, so what it silenced stays visible). */
  app.post<{ Params: { id: string } }>('/api/silences/:id/expire', async (req, reply) => {
    const existing = (await a.listSilences()).find((s) => s.id === req.params.id);
    if (!existing) return sendError(reply, 'not_found', `no silence ${req.params.id}`, 'id');
    const s = { ...existing, ends_at: Date.now() };
    await a.putSilence(s, Date.now());
    await silenceChanged(s.id, null);
    return s;
  });
  app.delete<{ Params: { id: string } }>('/api/silences/:id', async (req, reply) => {
    if (!(await a.deleteSilence(req.params.id))) return sendError(reply, 'not_found', `no silence ${req.params.id}`, 'id');
    await silenceChanged(req.params.id, null);
    return reply.code(204).send();
  });
  app.get<{ Querystring: { silence_id?: string; reason?: string; before?: string; limit?: string } }>('/api/alert-suppressed', async (req) => {
    const q = req.query;
    const rows = await a.listSuppressed({
      silence_id: q.silence_id,
      reason: q.reason,
      before: q.before === undefined ? undefined : Number(q.before),
      limit: q.limit === undefined ? undefined : Number(q.limit),
    });
    const history = new Map((await a.historyByIds([...new Set(rows.map((r) => r.history_id))])).map((h) => [h.id, h]));
    return { suppressed: rows.map((r) => ({ ...r, at: new Date(r.at).toISOString(), transition: history.has(r.history_id) ? historyEntry(history.get(r.history_id)!) : null })) };
  });

  // ---- problems and acknowledgement
  app.get('/api/alert-problems', async () => {
    const { problems, silenced } = await problemsNow();
    const bySubject = new Map(silenced.map((s) => [s.subject, s]));
    return {
      problems: problems.map((p) => ({
        subject: p.subject,
        kind: p.kind,
        status: p.status,
        since: new Date(p.since).toISOString(),
        dev_sno: p.event.dev_sno,
        box_name: p.event.box_name,
        ep_id: p.event.ep_id,
        ep_name: p.event.ep_name,
        location: p.event.location_name,
        acknowledged: p.acknowledged ? { ...p.acknowledged, at: new Date(p.acknowledged.at).toISOString() } : null,
        silenced: bySubject.get(p.subject) ?? null,
      })),
    };
  });
  for (const action of ['ack', 'unack'] as const) {
    app.post<{ Body: AckBody }>(`/api/problems/${action}`, { schema: { body: AckBody } }, async (req, reply) => {
      const subjects = [...(req.body.subjects ?? []), ...(req.body.subject ? [req.body.subject] : [])];
      if (subjects.length === 0) return sendError(reply, 'bad_request', 'give subject or subjects (box:<dev_sno> or sub:<ep_id>)', 'subject');
      const bad = subjects.find((s) => !/^(box|sub):\S/.test(s));
      if (bad) return sendError(reply, 'bad_request', `${bad} is not box:<dev_sno> or sub:<ep_id>`, 'subject');
      const open = new Set((await problemsNow()).problems.map((p) => p.subject));
      const closed = subjects.filter((s) => !open.has(s));
      if (closed.length === subjects.length) return sendError(reply, 'not_found', `no open problem ${closed.join(', ')}`, 'subject');
      const now = Date.now();
      for (const subject of subjects.filter((s) => open.has(s))) {
        await a.requestAck({ subject, action, by: req.body.by ?? actorOf(req), note: req.body.note ?? null, at: now });
      }
      // Applied by the leader's next step: here at once when this receiver leads.
      await service.kick();
      const applied = subjects.filter((s) => open.has(s));
      const by = req.body.by ?? actorOf(req);
      const note = req.body.note ?? null;
      announce({ kind: 'ack', subjects: applied, acknowledged: action === 'ack' ? { by, at: new Date(now).toISOString(), note } : null });
      return { action, subjects: applied, not_open: closed, by, note };
    });
  }

  // ---- notifications (nothing dropped: each lists the transitions it covered)
  app.get<{ Querystring: { status?: string; channel?: string; before?: string; before_id?: string; limit?: string } }>('/api/alert-notifications', async (req, reply) => {
    const q = req.query;
    const wrong = notOneOf(q.status, ['pending', 'delivered', 'failed']);
    if (wrong) return sendError(reply, 'bad_request', wrong, 'status');
    if (q.before !== undefined && !/^\d+$/.test(q.before)) return sendError(reply, 'bad_request', 'must be a time in ms (created_at of the last row)', 'before');
    if (q.before_id !== undefined && q.before === undefined) return sendError(reply, 'bad_request', 'goes with before (the id of the last row shown)', 'before_id');
    if (q.limit !== undefined && !/^\d{1,4}$/.test(q.limit)) return sendError(reply, 'bad_request', 'must be a number of rows', 'limit');
    const [rows, counts] = await Promise.all([
      a.listNotifications({
        status: q.status as NotificationStatus | undefined,
        channel: q.channel,
        before: q.before === undefined ? undefined : Number(q.before),
        beforeId: q.before_id,
        limit: q.limit === undefined ? undefined : Number(q.limit),
      }),
      a.notificationCounts(),
    ]);
    const ids = [...new Set(rows.flatMap((r) => r.notification.covered_event_ids.map(Number)))];
    const history = new Map((await a.historyByIds(ids)).map((h) => [h.id, h]));
    return { counts, notifications: rows.map((r) => notificationView(r, history)) };
  });
}

function notificationView(r: StoredNotification, history: Map<number, HistoryEventRow>) {
  const n = r.notification;
  return {
    id: r.id,
    channel: r.channel,
    rule_id: r.rule_id,
    kind: r.kind,
    severity: r.severity,
    group_key: r.group_key,
    group_label: n.group_label,
    counts: n.counts,
    status: r.status,
    attempts: r.attempts,
    next_at: r.next_at === null ? null : new Date(r.next_at).toISOString(),
    last_error: r.last_error,
    created_at: new Date(r.created_at).toISOString(),
    delivered_at: r.delivered_at === null ? null : new Date(r.delivered_at).toISOString(),
    covered: n.covered_event_ids.map((id) => {
      const h = history.get(Number(id));
      return h ? historyEntry(h) : { id: Number(id) };
    }),
  };
}
