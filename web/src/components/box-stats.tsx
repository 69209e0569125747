// A box's availability over 24 h / 7 d / 30 d (the box's own and each camera's), the chart of
// its cameras down over that window, and the list of its outages with how long each lasted.
import type { SubDevice } from '../api.js';
import { DateTime, Lasting } from './date-time.js';
import { AvailabilityChart } from './availability-chart.js';
import { Segmented } from './filters.js';
import { t } from '../i18n/index.js';
import { WINDOWS, type BoxStore } from '../state/box.js';
import { DataTable } from './data-table.js';
import type { Outage } from '../api-console.js';

export function percent(v: number | null | undefined): string {
  if (v === null || v === undefined) return '—';
  return `${(Math.floor(v * 1000) / 10).toFixed(1)} %`;
}

export function BoxStats({ store, subs, onWindow }: { store: BoxStore; subs: SubDevice[]; onWindow?(): void }) {
  const av = store.availability.value;
  const outages = store.outages.value;
  if (!av && !outages) return null;
  const names = store.names.value;
  const from = av ? Date.parse(av.from) : Date.now() - 86_400_000;
  const to = av ? Date.parse(av.to) : Date.now();
  return (
    <section class="panel box-stats">
      <div class="panel-head">
        <h2>{t('stats.title')}</h2>
        <Segmented
          label={t('stats.window')}
          choices={WINDOWS.map((w) => ({ value: w, label: t(`window.${w}`) }))}
          value={store.window.value}
          onChange={(w) => {
            store.setWindow(w);
            onWindow?.();
          }}
        />
      </div>
      {av ? (
        <p class="availability-box">
          {t('stats.boxAvailability')} <strong class="availability-value">{percent(av.box.availability)}</strong>
        </p>
      ) : null}
      {outages ? <AvailabilityChart outages={outages} cameras={subs.filter((s) => s.ep_status !== 'removed').length} from={from} to={to} /> : null}
      {outages ? (
        <>
          <h3>{t('stats.outages', { n: outages.length })}</h3>
          <DataTable<Outage>
            class="outage-table"
            columns={[
              { id: 'what', label: t('col.what'), class: 'what', cell: (o) => (o.ep_id === null ? t('timeline.theBox') : names.get(o.ep_id) || o.ep_id) },
              { id: 'start', label: t('col.start'), class: 'since', cell: (o) => <DateTime at={o.start} /> },
              { id: 'end', label: t('col.end'), class: 'since', cell: (o) => (o.end ? <DateTime at={o.end} /> : <span class="kind-tag">{t('stats.ongoing')}</span>) },
              { id: 'for', label: t('col.for'), class: 'for num', cell: (o) => (o.end ? <Lasting since={o.start} until={o.end} /> : <Lasting since={o.start} />) },
            ]}
            rows={outages}
            rowKey={(o) => `${o.ep_id ?? ''}@${o.start}`}
            rowProps={(o) => ({ class: `outage-row${o.end ? '' : ' ongoing'}` })}
            empty={t('stats.noOutages')}
          />
        </>
      ) : null}
    </section>
  );
}
