// The landing page: every box and camera that is down now, longest down first (or by location,
// type, box, name), with names, places, addresses (no credentials), why, since when and for how
// long; kept current by the live stream. On a phone the rows are cards and the filters sit at
// the bottom of the screen, in reach of a thumb.
import { useEffect, useState } from 'preact/hooks';
import { exportHref } from '../api-console.js';
import { AlertStateCell } from '../components/alert-state.js';
import { DataTable, type Column } from '../components/data-table.js';
import { DateTime, Lasting } from '../components/date-time.js';
import { SearchBox, Segmented } from '../components/filters.js';
import { ReportHelp } from '../components/report-help.js';
import { StatusPill } from '../components/status-pill.js';
import { SummaryCards } from '../components/summary-cards.js';
import { reasonText, statusText, withoutCredentials } from '../format.js';
import { t } from '../i18n/index.js';
import { boxHref } from '../router.js';
import { loadLocations, locationName, locations } from '../state/locations.js';
import { EP_TYPES, ProblemsStore, SORTS, STATUSES, type ProblemRow, type SortChoice, type StatusChoice } from '../state/problems.js';
import { handleError } from '../state/session.js';
import { useRefetchOnReconnect } from '../state/use-reconnect.js';

function BoxCell({ devSno, name }: { devSno: string; name: string | null }) {
  return (
    <a class="box-link" href={boxHref(devSno)}>
      {name ? <span class="box-name">{name}</span> : null}
      <span class="dev-sno-small mono">{devSno}</span>
    </a>
  );
}

function columns(onAlertChange: () => void): Column<ProblemRow>[] {
  return [
    {
      id: 'status',
      label: t('col.status'),
      class: 'status',
      cell: (r) => <StatusPill status={r.kind === 'box' ? r.box.status : r.sub.status} />,
    },
    {
      id: 'what',
      label: t('col.what'),
      class: 'what',
      sortKey: 'name',
      cell: (r) =>
        r.kind === 'box' ? (
          <span class="whole-box">
            <span class="kind-tag">{t('problems.box')}</span>{' '}
            <span class="muted">{t('problems.camerasUnknown', { n: r.box.sub_devices_online + r.box.sub_devices_offline })}</span>
          </span>
        ) : (
          r.sub.ep_name || <span class="muted">{t('box.noName')}</span>
        ),
    },
    {
      id: 'box',
      label: t('col.box'),
      class: 'box',
      sortKey: 'box',
      cell: (r) => (r.kind === 'box' ? <BoxCell devSno={r.box.dev_sno} name={r.box.name} /> : <BoxCell devSno={r.sub.dev_sno} name={r.sub.box_name} />),
    },
    {
      id: 'location',
      label: t('col.location'),
      class: 'location',
      sortKey: 'location',
      cell: (r) => {
        if (r.kind === 'box') return r.box.location || '—';
        const name = r.sub.location_name || locationName(r.sub.location_id);
        // An id nobody has named yet (often a UUID): shown as the id it is.
        return name && name !== r.sub.location_id ? name : <span class="location-id mono">{r.sub.location_id || '—'}</span>;
      },
    },
    { id: 'type', label: t('col.type'), class: 'ep-type', sortKey: 'type', cell: (r) => (r.kind === 'box' ? '—' : <span class="type">{r.sub.ep_type}</span>) },
    {
      id: 'address',
      label: t('col.address'),
      class: 'address mono',
      cell: (r) => (r.kind === 'box' ? '—' : withoutCredentials(r.sub.stream_url || r.sub.ep_ip) || '—'),
    },
    {
      id: 'reason',
      label: t('col.reason'),
      class: 'reason-cell',
      cell: (r) =>
        r.kind === 'box' ? (
          reasonText('report_timeout')
        ) : (
          <span>
            {r.sub.reason ? reasonText(r.sub.reason) : '—'}
            {r.sub.detail ? <span class="muted detail"> {r.sub.detail}</span> : null}
          </span>
        ),
    },
    { id: 'since', label: t('col.since'), class: 'since', sortKey: 'down_since', cell: (r) => <DateTime at={r.since} /> },
    { id: 'for', label: t('col.for'), class: 'for num', cell: (r) => <Lasting since={r.since} /> },
    { id: 'alert', label: t('col.alert'), class: 'alert-cell', cell: (r) => <AlertStateCell state={r.kind === 'box' ? r.box.alert : r.sub.alert} onChange={onAlertChange} /> },
  ];
}

export function ProblemsView({ params }: { params: URLSearchParams }) {
  const [store] = useState(() => new ProblemsStore(params));
  useEffect(() => {
    void store.reload().catch(handleError);
    void loadLocations();
    return () => store.dispose();
  }, [store]);
  useRefetchOnReconnect(() => store.reload());
  const summary = store.summary.value;
  useEffect(() => {
    const down = (summary?.boxes.offline ?? 0) + (summary?.sub_devices.offline ?? 0);
    document.title = down > 0 ? t('app.titleProblems', { n: down }) : t('app.title');
  });

  const f = store.filters.value;
  const rows = store.rows.value;
  const noBoxes = summary !== null && summary.boxes.total === 0;
  const filtered = f.q !== '' || f.type !== '' || f.location !== '' || f.hideHandled;
  const empty = rows === null ? null : noBoxes ? <NoBoxes /> : filtered || f.status !== 'problems' ? t('problems.noMatch') : t('problems.none');
  return (
    <main class="problems">
      <SummaryCards summary={summary} />
      <section class="panel">
        <div class="panel-head">
          <h1 class="page-title">{f.status === 'problems' ? t('problems.title') : t('problems.titleStatus', { status: statusText(f.status) })}</h1>
          <a class="small-button" href={exportHref(f.status === 'problems' ? 'problems' : 'sub-devices', { status: f.status === 'all' ? undefined : f.status, type: f.type, location: f.location, q: f.q, sort: f.sort, handled: f.hideHandled ? 'hide' : undefined })} download>
            {t('export.csv')}
          </a>
        </div>
        <div class="toolbar problem-search">
          <label class="select-label">
            <span>{t('col.type')}</span>
            <select aria-label={t('col.type')} value={f.type} onChange={(ev) => store.setFilters({ type: ev.currentTarget.value })}>
              <option value="">{t('filter.all')}</option>
              {EP_TYPES.map((ty) => (
                <option key={ty} value={ty}>
                  {ty}
                </option>
              ))}
            </select>
          </label>
          <label class="select-label">
            <span>{t('col.location')}</span>
            <select aria-label={t('col.location')} value={f.location} onChange={(ev) => store.setFilters({ location: ev.currentTarget.value })}>
              <option value="">{t('filter.all')}</option>
              {(locations.value ?? []).map((l) => (
                <option key={l.id} value={l.id}>
                  {l.name}
                </option>
              ))}
            </select>
          </label>
          <SearchBox value={f.q} placeholder={t('problems.search')} label={t('problems.search')} onSearch={(q) => store.setFilters({ q })} />
          <label class="check-label hide-handled">
            <input type="checkbox" checked={f.hideHandled} onChange={(ev) => store.setFilters({ hideHandled: ev.currentTarget.checked })} />
            <span>{t('problems.hideHandled')}</span>
          </label>
        </div>
        <div class="toolbar problem-filters">
          <Segmented
            label={t('problems.statusLabel')}
            choices={STATUSES.map((s: StatusChoice) => ({ value: s, label: t(`filter.${s}`) }))}
            value={f.status}
            onChange={(status) => store.setFilters({ status })}
          />
          <label class="select-label">
            <span>{t('problems.sortLabel')}</span>
            <select aria-label={t('problems.sortLabel')} value={f.sort} onChange={(ev) => store.setFilters({ sort: ev.currentTarget.value as SortChoice })}>
              {SORTS.map((s) => (
                <option key={s} value={s}>
                  {t(`sort.${s}`)}
                </option>
              ))}
            </select>
          </label>
        </div>
        <DataTable
          class="problem-table"
          columns={columns(() => void store.reload().catch(handleError))}
          rows={rows ?? []}
          rowKey={(r) => r.key}
          rowProps={(r) => ({ class: `problem-row kind-${r.kind}`, 'data-key': r.key })}
          empty={empty}
          sort={{ key: f.sort, desc: false }}
          onSort={(key) => store.setFilters({ sort: key as SortChoice })}
        />
        {store.hasMore.value ? (
          <div class="more">
            <button type="button" class="small-button" disabled={store.busy.value} onClick={() => void store.more().catch(handleError)}>
              {t('list.more')}
            </button>
          </div>
        ) : null}
      </section>
    </main>
  );
}

function NoBoxes() {
  return (
    <div class="no-boxes">
      <p>{t('fleet.noBoxes')}</p>
      <ReportHelp />
    </div>
  );
}
