// One box: its name and place, its state, its sub-devices (offline first, with availability),
// availability and outages, and its own status history.
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { SubDevice } from '../api.js';
import { BoxHealthPanel } from '../components/box-health.js';
import { BoxLoginFacts } from '../components/box-login.js';
import type { Availability } from '../api-console.js';
import { BoxStats, percent } from '../components/box-stats.js';
import { DataTable, type Column } from '../components/data-table.js';
import { HistoryPanel } from '../components/history-panel.js';
import { StatusPill } from '../components/status-pill.js';
import { TimeAgo } from '../components/time-ago.js';
import { statusText, withoutCredentials } from '../format.js';
import { t } from '../i18n/index.js';
import { pageHref, replaceBoxParams } from '../router.js';
import { BoxStore, statusCounts } from '../state/box.js';
import { loadLocations, locationName } from '../state/locations.js';
import { handleError } from '../state/session.js';
import { useRefetchOnReconnect } from '../state/use-reconnect.js';

function Fact({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    <span class="fact">
      <span class="fact-label">{label}</span>
      {children}
    </span>
  );
}

/** "2 online · 1 offline": counted from the rows below, so the header and the rows agree. */
function StatusCounts({ subs }: { subs: SubDevice[] }) {
  const c = statusCounts(subs);
  const parts = (['online', 'offline', 'unknown', 'removed'] as const).filter((s) => c[s] > 0 || s === 'online' || s === 'offline');
  return (
    <span class="counts">
      {parts.map((s, i) => (
        <span key={s}>
          {i > 0 ? <span class="sep"> · </span> : null}
          <span class={c[s] === 0 ? 'count-zero' : `count-${s === 'online' ? 'on' : s === 'offline' ? 'off' : s}`}>
            {c[s]} {statusText(s)}
          </span>
        </span>
      ))}
    </span>
  );
}

function columns(av: Availability | null): Column<SubDevice>[] {
  const perCam = new Map((av?.sub_devices ?? []).map((s) => [s.ep_id, s.availability]));
  const cols: Column<SubDevice>[] = [
    {
      id: 'status',
      label: t('col.status'),
      class: 'status',
      cell: (s) => (
        <>
          <StatusPill status={s.ep_status} />
          {/* The box's own words for why the sub-device is offline (ep_detail). */}
          {s.ep_detail && s.last_reported_status === 'offline' ? (
            <span class="ep-detail muted" title={t('sub.offlineReason')}>
              {s.ep_detail}
            </span>
          ) : null}
        </>
      ),
    },
    { id: 'name', label: t('col.name'), class: 'ep-name', cell: (s) => s.ep_name || <span class="muted">{t('box.noName')}</span> },
    { id: 'type', label: t('col.type'), class: 'ep-type', cell: (s) => <span class="type">{s.ep_type}</span> },
    { id: 'ip', label: t('col.ipStream'), class: 'ep-ip mono', cell: (s) => withoutCredentials(s.ep_ip) || '—' },
    {
      id: 'location',
      label: t('col.location'),
      class: 'ep-location',
      cell: (s) => {
        const name = locationName(s.ep_location);
        return name && name !== s.ep_location ? <span title={s.ep_location}>{name}</span> : <span class="mono">{s.ep_location || '—'}</span>;
      },
    },
    { id: 'changed', label: t('col.lastChange'), class: 'since', cell: (s) => <TimeAgo at={s.status_changed_at} /> },
    { id: 'seen', label: t('col.lastSeen'), class: 'seen', cell: (s) => <TimeAgo at={s.last_seen_at} /> },
  ];
  if (av) cols.push({ id: 'availability', label: t('col.availability'), class: 'num availability', cell: (s) => percent(perCam.get(s.ep_id)) });
  return cols;
}

export function BoxView({ devSno, params }: { devSno: string; params: URLSearchParams }) {
  const [store] = useState(() => new BoxStore(devSno, params));
  useEffect(() => {
    void store.refresh().catch(handleError);
    void loadLocations();
    return () => store.dispose();
  }, [store]);
  useRefetchOnReconnect(() => store.refresh());
  const data = store.data.value;
  useEffect(() => {
    if (data.kind === 'found') document.title = t('app.titleBox', { devSno: data.box.name || data.box.dev_sno });
  });

  const names = store.names.value;
  const subs = data.kind === 'found' ? data.subs : [];
  const keepFilters = () => {
    const f = store.history.filters.value;
    const p = new URLSearchParams();
    for (const k of ['ep_id', 'from', 'to'] as const) if (f[k]) p.set(k, f[k]);
    if (store.window.value !== '24h') p.set('window', store.window.value);
    replaceBoxParams(devSno, p);
  };
  return (
    <main class="box-page">
      <a class="back" href={pageHref('boxes')}>
        {t('box.back')}
      </a>
      <header class="box-header">
        {data.kind === 'found' && (data.box.name || data.box.location) ? (
          <p class="box-identity">
            {data.box.name ? <strong class="box-display-name">{data.box.name}</strong> : null}
            {data.box.location ? <span class="box-place muted">{data.box.location}</span> : null}
          </p>
        ) : null}
        <h1 class="box-title">{devSno}</h1>
        <div class="facts">
          {data.kind === 'missing' ? <span class="muted">{t('box.notFound')}</span> : null}
          {data.kind === 'found' ? (
            <>
              <StatusPill status={data.box.status} />
              <Fact label={t('fact.subDevices')}>
                <StatusCounts subs={subs} />
              </Fact>
              <Fact label={t('fact.lastReport')}>
                <TimeAgo at={data.box.last_report_at} />
              </Fact>
              <Fact label={t('fact.statusSince')}>
                <TimeAgo at={data.box.status_changed_at} />
              </Fact>
              <Fact label={t('fact.firstSeen')}>
                <TimeAgo at={data.box.first_seen_at} />
              </Fact>
              <Fact label={t('fact.reports')}>{String(data.box.report_count)}</Fact>
            </>
          ) : null}
        </div>
        {data.kind === 'found' ? <BoxLoginFacts devSno={devSno} /> : null}
      </header>
      {data.kind === 'found' ? <BoxHealthPanel devSno={devSno} health={data.box.health} /> : null}
      <div class="columns">
        <div class="stack">
          <section class="panel subs">
            <h2>{data.kind === 'found' ? t('box.subDevices', { n: subs.length }) : t('fleet.subDevices')}</h2>
            <DataTable
              class="sub-table"
              columns={columns(store.availability.value)}
              rows={subs}
              rowKey={(s) => s.ep_id}
              rowProps={(s) => ({ class: `sub-row status-${s.ep_status}`, 'data-ep-id': s.ep_id, title: withoutCredentials(s.ep_id) })}
              empty={data.kind === 'found' ? t('box.noSubs') : null}
            />
          </section>
          {data.kind === 'found' ? <BoxStats store={store} subs={subs} onWindow={keepFilters} /> : null}
        </div>
        <HistoryPanel
          title={t('timeline.box')}
          store={store.history}
          showBox={false}
          cameras={subs.map((s) => ({ ep_id: s.ep_id, label: s.ep_name ? `${s.ep_name} · ${withoutCredentials(s.ep_ip)}` : withoutCredentials(s.ep_ip) }))}
          subjectName={(e) => (e.ep_id ? names.get(e.ep_id) || undefined : undefined)}
          onChange={keepFilters}
        />
      </div>
    </main>
  );
}
