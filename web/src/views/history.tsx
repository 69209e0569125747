// The fleet's status changes: filter by box, camera and time range, page back without limit,
// export as CSV; new changes arrive live while the range is open-ended.
import { useEffect, useState } from 'preact/hooks';
import { SearchBox } from '../components/filters.js';
import { HistoryPanel } from '../components/history-panel.js';
import { t } from '../i18n/index.js';
import { replaceParams } from '../router.js';
import { HistoryStore, historyFilters } from '../state/history.js';
import { handleError } from '../state/session.js';
import { useRefetchOnReconnect } from '../state/use-reconnect.js';

export function HistoryView({ params }: { params: URLSearchParams }) {
  const [store] = useState(() => new HistoryStore(historyFilters(params)));
  useEffect(() => {
    void store.load().catch(handleError);
    document.title = t('app.titleHistory');
    return () => store.dispose();
  }, [store]);
  useRefetchOnReconnect(() => store.load());
  const keep = () => {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(store.filters.value)) if (v) p.set(k, v);
    replaceParams('history', p);
  };
  const f = store.filters.value;
  const filters = (
    <>
      <SearchBox
        value={f.dev_sno}
        placeholder={t('history.box')}
        label={t('history.box')}
        onSearch={(dev_sno) => {
          store.setFilters({ dev_sno, ep_id: '' });
          keep();
        }}
      />
      <SearchBox
        value={f.ep_id}
        placeholder={t('history.epId')}
        label={t('history.epId')}
        onSearch={(ep_id) => {
          store.setFilters({ ep_id });
          keep();
        }}
      />
    </>
  );
  return (
    <main class="history-page">
      <HistoryPanel title={t('timeline.fleet')} store={store} showBox={true} onChange={keep} filters={filters} />
    </main>
  );
}
