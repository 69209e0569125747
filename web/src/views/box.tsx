// One box: its state, its sub-devices (offline first) and its own status history.
import { useEffect, useState } from 'preact/hooks';
import type { SubDevice } from '../api.js';
import { BoxHealthPanel } from '../components/box-health.js';
import { SubCounts } from '../components/counts.js';
import { DataTable, type Column } from '../components/data-table.js';
import { StatusPill } from '../components/status-pill.js';
import { TimeAgo } from '../components/time-ago.js';
import { Timeline } from '../components/timeline.js';
import { t } from '../i18n/index.js';
import { BoxStore } from '../state/box.js';
import { useRefetchOnReconnect } from '../state/use-reconnect.js';
import { handleError } from '../state/session.js';
import type { ComponentChildren } from 'preact';

function Fact({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    <span class="fact">
      <span class="fact-label">{label}</span>
      {children}
    </span>
  );
}

function columns(): Column<SubDevice>[] {
  return [
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
    { id: 'ip', label: t('col.ipStream'), class: 'ep-ip mono', cell: (s) => s.ep_ip || '—' },
    { id: 'location', label: t('col.location'), class: 'ep-location mono', cell: (s) => s.ep_location || '—' },
    { id: 'changed', label: t('col.lastChange'), class: 'since', cell: (s) => <TimeAgo at={s.status_changed_at} /> },
    { id: 'seen', label: t('col.lastSeen'), class: 'seen', cell: (s) => <TimeAgo at={s.last_seen_at} /> },
  ];
}

export function BoxView({ devSno }: { devSno: string }) {
  const [store] = useState(() => new BoxStore(devSno));
  useEffect(() => {
    void store.refresh().catch(handleError);
    return () => store.dispose();
  }, [store]);
  useRefetchOnReconnect(() => store.refresh());
  const data = store.data.value;
  useEffect(() => {
    if (data.kind === 'found') document.title = t('app.titleBox', { devSno: data.box.dev_sno });
  });

  const names = store.names.value;
  return (
    <main class="box-page">
      <a class="back" href="#/">
        {t('box.back')}
      </a>
      <header class="box-header">
        <h1 class="box-title">{devSno}</h1>
        <div class="facts">
          {data.kind === 'missing' ? <span class="muted">{t('box.notFound')}</span> : null}
          {data.kind === 'found' ? (
            <>
              <StatusPill status={data.box.status} />
              <Fact label={t('fact.subDevices')}>
                <SubCounts online={data.box.sub_devices_online} offline={data.box.sub_devices_offline} />
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
      </header>
      {data.kind === 'found' ? <BoxHealthPanel devSno={devSno} health={data.box.health} /> : null}
      <div class="columns">
        <section class="panel subs">
          <h2>{data.kind === 'found' ? t('box.subDevices', { n: data.subs.length }) : t('fleet.subDevices')}</h2>
          <DataTable
            class="sub-table"
            columns={columns()}
            rows={data.kind === 'found' ? data.subs : []}
            rowKey={(s) => s.ep_id}
            rowProps={(s) => ({ class: `sub-row status-${s.ep_status}`, 'data-ep-id': s.ep_id, title: s.ep_id })}
            empty={data.kind === 'found' ? t('box.noSubs') : null}
          />
        </section>
        <Timeline
          title={t('timeline.box')}
          store={store.timeline}
          showBox={false}
          subjectName={(e) => (e.ep_id ? names.get(e.ep_id) || undefined : undefined)}
        />
      </div>
    </main>
  );
}
