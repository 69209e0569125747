// A status history to work with: filter by camera and time range (in the operator's zone), page
// back without limit, export what is filtered as CSV; new changes appear live at the top.
import type { ComponentChildren } from 'preact';
import { exportHref } from '../api-console.js';
import { isoToZonedInput, zonedInputToIso } from '../format.js';
import { t } from '../i18n/index.js';
import type { HistoryStore } from '../state/history.js';
import { handleError } from '../state/session.js';
import { Timeline, type TimelineProps } from './timeline.js';

export interface CameraChoice {
  ep_id: string;
  label: string;
}

export function HistoryPanel(props: { title: string; store: HistoryStore; cameras?: CameraChoice[]; showBox: boolean; subjectName?: TimelineProps['subjectName']; onChange?(): void; filters?: ComponentChildren }) {
  const { store } = props;
  const f = store.filters.value;
  const set = (change: Parameters<HistoryStore['setFilters']>[0]) => {
    store.setFilters(change);
    props.onChange?.();
  };
  const filters = (
    <div class="toolbar history-filters">
      {props.filters}
      {props.cameras ? (
        <label class="select-label">
          <span>{t('history.camera')}</span>
          <select aria-label={t('history.camera')} value={f.ep_id} onChange={(ev) => set({ ep_id: ev.currentTarget.value })}>
            <option value="">{t('history.allCameras')}</option>
            {props.cameras.map((c) => (
              <option key={c.ep_id} value={c.ep_id}>
                {c.label}
              </option>
            ))}
          </select>
        </label>
      ) : null}
      <label class="select-label">
        <span>{t('history.from')}</span>
        <input aria-label={t('history.from')} type="datetime-local" value={isoToZonedInput(f.from)} onChange={(ev) => set({ from: zonedInputToIso(ev.currentTarget.value) })} />
      </label>
      <label class="select-label">
        <span>{t('history.to')}</span>
        <input aria-label={t('history.to')} type="datetime-local" value={isoToZonedInput(f.to)} onChange={(ev) => set({ to: zonedInputToIso(ev.currentTarget.value) })} />
      </label>
      <a class="small-button" href={exportHref('history', { dev_sno: f.dev_sno, ep_id: f.ep_id, from: f.from, to: f.to })} download>
        {t('export.csv')}
      </a>
    </div>
  );
  return (
    <Timeline title={props.title} store={store.timeline} showBox={props.showBox} subjectName={props.subjectName} toolbar={filters}>
      {store.cursor.value ? (
        <div class="more">
          <button type="button" class="small-button" disabled={store.busy.value} onClick={() => void store.older().catch(handleError)}>
            {t('history.older')}
          </button>
        </div>
      ) : null}
    </Timeline>
  );
}
