// "1–50 of 312 boxes" with previous / next.
import { t } from '../i18n/index.js';

export function Pager(props: { page: number; pageSize: number; shown: number; total: number; onPage(page: number): void }) {
  const { page, pageSize, shown, total } = props;
  const from = total === 0 ? 0 : page * pageSize + 1;
  const to = page * pageSize + shown;
  return (
    <nav class="pager" aria-label={t('pager.label')}>
      <button type="button" disabled={page === 0} onClick={() => props.onPage(page - 1)}>
        {t('pager.prev')}
      </button>
      <span class="muted">{t(total === 1 ? 'pager.rangeOne' : 'pager.range', { from, to, total })}</span>
      <button type="button" disabled={to >= total} onClick={() => props.onPage(page + 1)}>
        {t('pager.next')}
      </button>
    </nav>
  );
}
