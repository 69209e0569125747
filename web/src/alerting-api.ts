// The alerting admin API (src/server/routes/alerting-api.ts) as the dashboard uses it.
import { Unauthorized } from './api.js';

export interface Channel {
  id: string;
  kind: string;
  name: string;
  enabled: boolean;
  /** Secrets come back masked (write-only). */
  config: Record<string, unknown>;
}

export interface SendOutcome {
  outcome: 'delivered' | 'retry' | 'failed';
  code?: string | number | null;
  message?: string;
}

export interface Silence {
  id: string;
  matchers: { boxes?: string[]; ep_ids?: string[]; locations?: string[]; groups?: string[] };
  starts_at?: number | null;
  ends_at?: number | null;
  recurring?: { cron: string; duration_min: number; tz: string } | null;
  created_by: string;
  comment: string;
  created_at: number;
  active: boolean;
  silencing: { subject: string; until: number | null }[];
}

export interface Problem {
  subject: string;
  kind: 'box' | 'sub_device';
  status: string;
  since: string;
  dev_sno: string;
  box_name: string | null;
  ep_id: string | null;
  ep_name: string | null;
  location: string | null;
  acknowledged: { by: string; at: string; note: string | null } | null;
  silenced: { silence_id: string; until: number | null } | null;
}

export type NotificationStatus = 'pending' | 'delivered' | 'failed';

/** One message to one channel and its delivery (GET /api/alert-notifications). */
export interface NotificationView {
  id: string;
  channel: string;
  rule_id: string;
  kind: string;
  severity: string;
  group_key: string;
  group_label: string;
  status: NotificationStatus;
  attempts: number;
  next_at: string | null;
  last_error: string | null;
  created_at: string;
  delivered_at: string | null;
  covered: { id: number }[];
}

export interface NotificationQuery {
  status?: NotificationStatus;
  channel?: string;
  /** The last row shown (paging back). */
  after?: NotificationView;
  limit: number;
}

/** An error the API named (its `message`), shown as is. */
export class ApiError extends Error {}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 401) throw new Unauthorized();
  const text = await res.text();
  const json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  if (!res.ok) throw new ApiError(String(json.message ?? json.reason ?? `${res.status} ${res.statusText}`));
  return json as T;
}

export const alertingApi = {
  channels: () => call<{ channels: Channel[] }>('GET', '/api/alert-channels'),
  createChannel: (body: { name: string; config: Record<string, unknown> }) => call<Channel>('POST', '/api/alert-channels', body),
  deleteChannel: (id: string) => call<unknown>('DELETE', `/api/alert-channels/${encodeURIComponent(id)}`),
  testChannel: (id: string) => call<SendOutcome>('POST', `/api/alert-channels/${encodeURIComponent(id)}/test`),
  silences: () => call<{ silences: Silence[] }>('GET', '/api/silences'),
  createSilence: (body: { matchers: Silence['matchers']; ends_at: number; comment: string }) => call<Silence>('POST', '/api/silences', body),
  expireSilence: (id: string) => call<Silence>('POST', `/api/silences/${encodeURIComponent(id)}/expire`),
  problems: () => call<{ problems: Problem[] }>('GET', '/api/alert-problems'),
  notifications: (q: NotificationQuery) => {
    const p = new URLSearchParams({ limit: String(q.limit) });
    if (q.status) p.set('status', q.status);
    if (q.channel) p.set('channel', q.channel);
    if (q.after) {
      p.set('before', String(Date.parse(q.after.created_at)));
      p.set('before_id', q.after.id);
    }
    return call<{ counts: Record<NotificationStatus, number>; notifications: NotificationView[] }>('GET', `/api/alert-notifications?${p}`);
  },
  ack: (subject: string, note: string) => call<unknown>('POST', '/api/problems/ack', { subject, note: note || null }),
  unack: (subject: string) => call<unknown>('POST', '/api/problems/unack', { subject }),
};
