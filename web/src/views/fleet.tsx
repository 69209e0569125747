// The box list: summary cards, the boxes with their names and places (search, filters by status,
// location, version and disk use, sortable columns, pages) and the fleet's recent status changes, all kept
// current by the live stream.
import { useEffect, useState } from 'preact/hooks';
import type { Box } from '../api.js';
import { SubCounts } from '../components/counts.js';
import { DataTable, type Column } from '../components/data-table.js';
import { SearchBox, Segmented } from '../components/filters.js';
import { Pager } from '../components/pager.js';
import { StatusPill } from '../components/status-pill.js';
import { SummaryCards } from '../components/summary-cards.js';
import { TimeAgo } from '../components/time-ago.js';
import { Timeline } from '../components/timeline.js';
import { t } from '../i18n/index.js';
import { boxHref } from '../router.js';
import { DISK_THRESHOLDS, FleetStore, PAGE_SIZE, type BoxRow, type BoxSort, type DiskFilter, type StatusFilter } from '../state/fleet.js';
import { loadLocations, locations } from '../state/locations.js';
import { useRefetchOnReconnect } from '../state/use-reconnect.js';
import { handleError } from '../state/session.js';

/**
 * The software version a box reports, if it does: its latest health's sw_version (or, in rows
 * stored before the report dialects were read, the gateway_ext_data it sent as an extra field).
 */
function versionOf(box: Box): string {
  if (box.health?.sw_version) return box.health.sw_version;
  const ext = box.extra.gateway_ext_data;
  const v = ext && typeof ext === 'object' ? (ext as Record<string, unknown>).sw_version : undefined;
  return typeof v === 'string' || typeof v === 'number' ? String(v) : '';
}

/** Disk use of the box's latest health, "87 %"; an empty string when it sends none. */
function diskOf(box: Box): string {
  const d = box.health?.disk_pct;
  return d === undefined ? '' : `${Math.round(d)} %`;
}

/** At least this full is worth a colour: the lowest threshold the filter offers. */
const DISK_WARN_PCT = Number(DISK_THRESHOLDS[0]);

function columns(): Column<BoxRow>[] {
  return [
    { id: 'status', label: t('col.status'), class: 'status', cell: ({ box }) => <StatusPill status={box.status} /> },
    {
      id: 'dev_sno',
      label: t('col.devSno'),
      class: 'dev-sno',
      cell: ({ box }) => (
        <a class="box-link" href={boxHref(box.dev_sno)}>
          {box.dev_sno}
        </a>
      ),
    },
    { id: 'name', label: t('col.name'), class: 'box-name-cell', sortKey: 'name', cell: ({ box }) => box.name || <span class="muted">—</span> },
    { id: 'location', label: t('col.location'), class: 'box-location', sortKey: 'location', cell: ({ box }) => box.location || <span class="muted">—</span> },
    {
      id: 'subs',
      label: t('col.subDevices'),
      class: 'subs',
      cell: ({ box }) => <SubCounts online={box.sub_devices_online} offline={box.sub_devices_offline} boxOffline={box.status === 'offline'} />,
    },
    { id: 'last', label: t('col.lastReport'), class: 'last-report', sortKey: 'last_report', cell: ({ box }) => <TimeAgo at={box.last_report_at} /> },
    { id: 'since', label: t('col.statusSince'), class: 'since', sortKey: 'status_since', cell: ({ box }) => <TimeAgo at={box.status_changed_at} /> },
    { id: 'version', label: t('col.version'), class: 'version mono', cell: ({ box }) => versionOf(box) || <span class="muted">—</span> },
    {
      id: 'disk',
      label: t('col.disk'),
      class: 'disk num',
      cell: ({ box }) => {
        const text = diskOf(box);
        if (!text) return <span class="muted">—</span>;
        return (box.health?.disk_pct ?? 0) >= DISK_WARN_PCT ? <span class="disk-high">{text}</span> : text;
      },
    },
    { id: 'reports', label: t('col.reports'), class: 'num', cell: ({ box }) => String(box.report_count) },
  ];
}

function rowProps(box: Box) {
  return { class: `box-row status-${box.status}`, 'data-dev-sno': box.dev_sno };
}

export function FleetView({ params }: { params: URLSearchParams }) {
  const [store] = useState(() => new FleetStore(params));
  useEffect(() => {
    void store.refresh().catch(handleError);
    void loadLocations();
    return () => store.dispose();
  }, [store]);
  useRefetchOnReconnect(() => store.refresh());

  const summary = store.summary.value;
  useEffect(() => {
    if (!summary) return;
    document.title = summary.boxes.offline > 0 ? t('app.titleOffline', { n: summary.boxes.offline }) : t('app.title');
  });

  const rows = store.rows.value;
  const filtered = store.q.value !== '' || store.status.value !== '' || store.location.value !== '' || store.version.value !== '' || store.disk.value !== '';
  const filters: { value: StatusFilter; label: string }[] = [
    { value: '', label: t('filter.all') },
    { value: 'online', label: t('filter.online') },
    { value: 'offline', label: t('filter.offline') },
  ];
  return (
    <main class="fleet">
      <SummaryCards summary={summary} />
      <div class="columns">
        <section class="panel boxes">
          <div class="toolbar">
            <SearchBox value={store.q.value} placeholder={t('fleet.search')} label={t('fleet.searchLabel')} onSearch={(q) => store.setQuery(q)} />
            <Segmented label={t('fleet.filterLabel')} choices={filters} value={store.status.value} onChange={(s) => store.setStatus(s)} />
            <SearchBox
              value={store.location.value}
              placeholder={t('fleet.locationFilter')}
              label={t('fleet.locationFilter')}
              onSearch={(v) => store.setFilter('location', v)}
              list="location-ids"
            />
            <datalist id="location-ids">
              {(locations.value ?? []).map((l) => (
                <option key={l.id} value={l.id}>
                  {l.name}
                </option>
              ))}
            </datalist>
            <SearchBox value={store.version.value} placeholder={t('fleet.versionFilter')} label={t('fleet.versionFilter')} onSearch={(v) => store.setFilter('version', v)} />
            <label class="select-label disk-filter">
              <span>{t('fleet.diskFilter')}</span>
              <select aria-label={t('fleet.diskFilter')} value={store.disk.value} onChange={(ev) => store.setDisk(ev.currentTarget.value as DiskFilter)}>
                <option value="">{t('fleet.diskAny')}</option>
                {DISK_THRESHOLDS.map((n) => (
                  <option key={n} value={n}>
                    {t('fleet.diskAtLeast', { n })}
                  </option>
                ))}
              </select>
            </label>
          </div>
          <DataTable
            class="box-table"
            columns={columns()}
            rows={rows ?? []}
            rowKey={(r) => r.box.dev_sno}
            rowProps={(r) => rowProps(r.box)}
            rowFlash={(r) => r.flashSeq}
            empty={rows === null ? null : filtered ? t('fleet.noMatch') : t('fleet.noBoxes')}
            sort={store.sort.value ?? undefined}
            onSort={(key) => store.toggleSort(key as BoxSort)}
          />
          <Pager page={store.page.value} pageSize={PAGE_SIZE} shown={rows?.length ?? 0} total={store.total.value} onPage={(p) => store.goPage(p)} />
        </section>
        <Timeline title={t('timeline.fleet')} store={store.timeline} showBox={true} />
      </div>
    </main>
  );
}
