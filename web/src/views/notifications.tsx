// What alerting sent (issue 12/13): every notification to every channel, newest first, with its
// delivery (sent, pending with the next try, failed with the service's answer), how many tries
// and which group of changes it was about. Operators and admins only (the receiver refuses
// viewers); paged back 50 at a time, the first page looked at again every 10 s.
import { useEffect, useRef, useState } from 'preact/hooks';
import { alertingApi, type Channel, type NotificationStatus, type NotificationView } from '../alerting-api.js';
import { DataTable, type Column } from '../components/data-table.js';
import { DateTime } from '../components/date-time.js';
import { Segmented } from '../components/filters.js';
import { shortDateTime } from '../format.js';
import { t } from '../i18n/index.js';
import { can, me } from '../state/me.js';
import { handleError } from '../state/session.js';

const PAGE = 50;
const REFRESH_MS = 10_000;
const STATUSES = ['', 'failed', 'pending', 'delivered'] as const;
type StatusChoice = (typeof STATUSES)[number];

function StatusCell({ n }: { n: NotificationView }) {
  const label = t(`notifications.${n.status}`);
  const pill = n.status === 'delivered' ? 'pill-online' : n.status === 'failed' ? 'pill-offline' : 'pill-unknown';
  const when =
    n.status === 'pending' && n.next_at
      ? t('notifications.nextTry', { time: shortDateTime(n.next_at) })
      : n.status === 'delivered' && n.delivered_at
        ? t('notifications.sentAt', { time: shortDateTime(n.delivered_at) })
        : null;
  return (
    <span class="delivery">
      <span class={`pill ${pill} delivery-${n.status}`}>{label}</span>
      {when ? <span class="muted delivery-when">{when}</span> : null}
    </span>
  );
}

function columns(channelName: (id: string) => string): Column<NotificationView>[] {
  return [
    { id: 'time', label: t('notifications.time'), class: 'since', cell: (n) => <DateTime at={n.created_at} /> },
    {
      id: 'channel',
      label: t('notifications.channel'),
      class: 'channel',
      cell: (n) => (
        <span class="channel-cell">
          {channelName(n.channel)} <span class="mono muted channel-id">{n.channel}</span>
        </span>
      ),
    },
    {
      id: 'group',
      label: t('notifications.group'),
      class: 'group',
      cell: (n) => (
        <span>
          {n.group_label} <span class="muted">· {t('notifications.changes', { n: n.covered.length })}</span>
        </span>
      ),
    },
    { id: 'status', label: t('col.status'), class: 'status', cell: (n) => <StatusCell n={n} /> },
    { id: 'attempts', label: t('notifications.attempts'), class: 'num attempts', cell: (n) => n.attempts },
    { id: 'error', label: t('notifications.error'), class: 'last-error', cell: (n) => (n.last_error ? <span class="error-text">{n.last_error}</span> : <span class="muted">—</span>) },
  ];
}

export function NotificationsView() {
  const [rows, setRows] = useState<NotificationView[] | null>(null);
  const [counts, setCounts] = useState<Record<NotificationStatus, number> | null>(null);
  const [more, setMore] = useState(false);
  const [status, setStatus] = useState<StatusChoice>('');
  const [channel, setChannel] = useState('');
  const [channels, setChannels] = useState<Channel[]>([]);
  /** Paged back: the timer leaves the list alone (it would drop the older rows). */
  const paged = useRef(false);
  const allowed = can('operator');

  const load = async (after?: NotificationView) => {
    const r = await alertingApi.notifications({ status: status || undefined, channel: channel || undefined, after, limit: PAGE });
    setCounts(r.counts);
    setRows((old) => (after && old ? [...old, ...r.notifications] : r.notifications));
    setMore(r.notifications.length === PAGE);
    paged.current = after !== undefined;
  };

  useEffect(() => {
    document.title = `${t('notifications.title')} — devstatus`;
  }, []);
  useEffect(() => {
    if (!allowed) return;
    void alertingApi
      .channels()
      .then((r) => setChannels(r.channels))
      .catch(handleError);
  }, [allowed]);
  useEffect(() => {
    if (!allowed) return;
    setRows(null);
    void load().catch(handleError);
    // New notifications arrive without a live event: the first page is looked at again.
    const timer = window.setInterval(() => {
      if (document.visibilityState === 'visible' && !paged.current) void load().catch(handleError);
    }, REFRESH_MS);
    return () => window.clearInterval(timer);
  }, [allowed, status, channel]);

  const names = new Map(channels.map((c) => [c.id, c.name]));
  const filtered = status !== '' || channel !== '';
  return (
    <main class="admin-page notifications-page">
      <section class="panel">
        <h1 class="page-title">{t('notifications.title')}</h1>
        <p class="muted intro">{t('notifications.intro')}</p>
        {me.value && !allowed ? (
          <p class="error forbidden" role="alert">
            {t('notifications.forbidden')}
          </p>
        ) : (
          <>
            {counts ? <p class="counts-line">{t('notifications.counts', { delivered: counts.delivered, pending: counts.pending, failed: counts.failed })}</p> : null}
            <div class="toolbar">
              <Segmented
                label={t('notifications.show')}
                choices={STATUSES.map((s) => ({ value: s, label: s === '' ? t('filter.all') : t(`notifications.${s}`) }))}
                value={status}
                onChange={(v) => setStatus(v)}
              />
              <label class="select-label">
                <span>{t('notifications.channel')}</span>
                <select
                  aria-label={t('notifications.channel')}
                  value={channel}
                  onChange={(ev) => setChannel(ev.currentTarget.value)}
                >
                  <option value="">{t('filter.all')}</option>
                  {channels.map((c) => (
                    <option key={c.id} value={c.id}>
                      {c.name}
                    </option>
                  ))}
                </select>
              </label>
            </div>
            <DataTable
              class="notification-table"
              columns={columns((id) => names.get(id) ?? id)}
              rows={rows ?? []}
              rowKey={(n) => n.id}
              rowProps={(n) => ({ class: `notification-row notification-${n.status}`, 'data-id': n.id })}
              empty={rows === null ? null : filtered ? t('notifications.noMatch') : t('notifications.none')}
            />
            {more ? (
              <div class="more">
                <button type="button" class="small-button older" onClick={() => void load(rows?.at(-1)).catch(handleError)}>
                  {t('notifications.older')}
                </button>
              </div>
            ) : null}
          </>
        )}
      </section>
    </main>
  );
}
