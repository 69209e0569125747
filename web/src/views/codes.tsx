// The device registry: authorization codes (dev_sno) issued by the platform or registered from
// boxes, with their names and places. Admins issue or register a code, name it, place it, set its
// report period (when the receiver keeps one), revoke and reinstate it.
import { useEffect, useState } from 'preact/hooks';
import { consoleApi, type RegistryEntry } from '../api-console.js';
import { DataTable } from '../components/data-table.js';
import { Segmented } from '../components/filters.js';
import { ReportHelp } from '../components/report-help.js';
import { TimeAgo } from '../components/time-ago.js';
import { t } from '../i18n/index.js';
import { boxHref } from '../router.js';
import { handleError } from '../state/session.js';

type Filter = '' | 'active' | 'revoked';

function EditCode({ code, onDone }: { code: RegistryEntry; onDone(): void }) {
  const [name, setName] = useState(code.name ?? '');
  const [place, setPlace] = useState(code.location ?? '');
  const hasPeriod = 'report_period_s' in code;
  const [period, setPeriod] = useState(code.report_period_s == null ? '' : String(code.report_period_s));
  return (
    <form
      class="inline-form edit-code"
      onSubmit={(ev) => {
        ev.preventDefault();
        const body: Record<string, string | number | null> = { name: name.trim() || null, location: place.trim() || null };
        if (hasPeriod) body.report_period_s = period.trim() === '' ? null : Number(period);
        void consoleApi.updateCode(code.dev_sno, body).then(onDone).catch(handleError);
      }}
    >
      <input value={name} aria-label={t('col.name')} placeholder={t('col.name')} maxLength={200} onInput={(ev) => setName(ev.currentTarget.value)} />
      <input value={place} aria-label={t('col.location')} placeholder={t('col.location')} maxLength={200} onInput={(ev) => setPlace(ev.currentTarget.value)} />
      {hasPeriod ? (
        <input type="number" min={1} value={period} aria-label={t('codes.period')} placeholder={t('codes.period')} onInput={(ev) => setPeriod(ev.currentTarget.value)} />
      ) : null}
      <button type="submit" class="small-button">
        {t('admin.save')}
      </button>
    </form>
  );
}

export function CodesView() {
  const [codes, setCodes] = useState<RegistryEntry[] | null>(null);
  const [filter, setFilter] = useState<Filter>('');
  const [editing, setEditing] = useState<string | null>(null);
  const [given, setGiven] = useState('');
  const [name, setName] = useState('');
  const [place, setPlace] = useState('');
  const [issued, setIssued] = useState<string | null>(null);
  const [error, setError] = useState('');
  const reload = () => {
    setEditing(null);
    consoleApi.codes().then(setCodes).catch(handleError);
  };
  useEffect(() => {
    reload();
    document.title = t('app.titleCodes');
  }, []);
  const shown = (codes ?? []).filter((c) => !filter || c.status === filter);
  const act = (c: RegistryEntry, action: 'revoke' | 'reinstate') => void consoleApi.setCodeStatus(c.dev_sno, action).then(reload).catch(handleError);
  return (
    <main class="admin-page">
      <section class="panel">
        <h1 class="page-title">{t('codes.title')}</h1>
        <form
          class="admin-form"
          onSubmit={(ev) => {
            ev.preventDefault();
            setError('');
            consoleApi
              .addCode({ ...(given.trim() ? { dev_sno: given.trim() } : {}), name: name.trim() || null, location: place.trim() || null })
              .then((entry) => {
                setIssued(entry.dev_sno);
                setGiven('');
                setName('');
                setPlace('');
                reload();
              })
              .catch((e: unknown) => setError(e instanceof Error ? e.message : String(e)));
          }}
        >
          <label>
            <span>{t('codes.existing')}</span>
            <input value={given} maxLength={128} placeholder={t('codes.existingHint')} onInput={(ev) => setGiven(ev.currentTarget.value)} />
          </label>
          <label>
            <span>{t('col.name')}</span>
            <input value={name} maxLength={200} onInput={(ev) => setName(ev.currentTarget.value)} />
          </label>
          <label>
            <span>{t('col.location')}</span>
            <input value={place} maxLength={200} onInput={(ev) => setPlace(ev.currentTarget.value)} />
          </label>
          <button type="submit" class="primary">
            {given.trim() ? t('codes.register') : t('codes.issue')}
          </button>
          <p class="error" role="alert">
            {error}
          </p>
        </form>
        {issued ? (
          <div class="issued" role="status">
            <p>
              {t('codes.issued')} <code class="issued-code">{issued}</code>
            </p>
            <ReportHelp devSno={issued} />
          </div>
        ) : null}
        <div class="toolbar">
          <Segmented
            label={t('codes.filterLabel')}
            choices={[
              { value: '' as Filter, label: t('filter.all') },
              { value: 'active' as Filter, label: t('codes.filterActive') },
              { value: 'revoked' as Filter, label: t('codes.filterRevoked') },
            ]}
            value={filter}
            onChange={(v) => setFilter(v)}
          />
        </div>
        <DataTable<RegistryEntry>
          class="code-table"
          columns={[
            {
              id: 'code',
              label: t('codes.code'),
              class: 'dev-sno',
              cell: (c) => (
                <a class="box-link" href={boxHref(c.dev_sno)}>
                  {c.dev_sno}
                </a>
              ),
            },
            { id: 'state', label: t('col.status'), class: 'code-state', cell: (c) => <span class={`kind-tag code-state-${c.status}`}>{t(c.status === 'active' ? 'codes.active' : 'codes.revoked')}</span> },
            {
              id: 'name',
              label: t('codes.nameAndPlace'),
              class: 'code-name',
              cell: (c) =>
                editing === c.dev_sno ? (
                  <EditCode code={c} onDone={reload} />
                ) : (
                  <span>
                    {c.name || <span class="muted">{t('box.noName')}</span>}
                    {c.location ? <span class="muted"> · {c.location}</span> : null}
                    {c.report_period_s ? <span class="muted"> · {t('codes.every', { n: c.report_period_s })}</span> : null}
                  </span>
                ),
            },
            { id: 'source', label: t('codes.source'), class: 'code-source', cell: (c) => t(`source.${c.source}`) },
            { id: 'last', label: t('col.lastReport'), class: 'last-report', cell: (c) => (c.last_report_at ? <TimeAgo at={c.last_report_at} /> : <span class="muted">{t('codes.never')}</span>) },
            {
              id: 'actions',
              label: t('admin.actions'),
              class: 'actions',
              cell: (c) => (
                <span class="action-buttons">
                  <button type="button" class="small-button" aria-pressed={editing === c.dev_sno} onClick={() => setEditing(editing === c.dev_sno ? null : c.dev_sno)}>
                    {t('admin.edit')}
                  </button>
                  {c.status === 'active' ? (
                    <button type="button" class="small-button danger" onClick={() => act(c, 'revoke')}>
                      {t('codes.revoke')}
                    </button>
                  ) : (
                    <button type="button" class="small-button" onClick={() => act(c, 'reinstate')}>
                      {t('codes.reinstate')}
                    </button>
                  )}
                </span>
              ),
            },
          ]}
          rows={shown}
          rowKey={(c) => c.dev_sno}
          rowProps={(c) => ({ class: `code-row code-${c.status}`, 'data-dev-sno': c.dev_sno })}
          empty={codes === null ? null : codes.length === 0 ? <NoCodes /> : t('codes.noMatch')}
        />
      </section>
    </main>
  );
}

function NoCodes() {
  return (
    <div class="no-boxes">
      <p>{t('codes.none')}</p>
      <ReportHelp />
    </div>
  );
}
