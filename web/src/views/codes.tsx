// The device registry: authorization codes (dev_sno) issued by the platform or registered from
// boxes, with their names and places. Admins issue or register a code, name it, place it, put it
// in a group, set its report period (or its group's), revoke and reinstate it.
import { useEffect, useState } from 'preact/hooks';
import { consoleApi, type CodeListEntry, type CodeSettings, type RegistryEntry } from '../api-console.js';
import { AdminForm, Field } from '../components/admin-form.js';
import { DataTable } from '../components/data-table.js';
import { Segmented } from '../components/filters.js';
import { GroupPeriods, parseGroup, parsePeriod } from '../components/report-period.js';
import { ReportHelp } from '../components/report-help.js';
import { TimeAgo } from '../components/time-ago.js';
import { t } from '../i18n/index.js';
import { boxHref } from '../router.js';
import { handleError } from '../state/session.js';

type Filter = '' | 'active' | 'revoked';

/** A code's name and place, as the add form and the row editor both ask for them. */
function NameAndPlace(p: { name: string; place: string; setName(v: string): void; setPlace(v: string): void }) {
  return (
    <>
      <Field label={t('col.name')}>
        <input value={p.name} maxLength={200} onInput={(ev) => p.setName(ev.currentTarget.value)} />
      </Field>
      <Field label={t('col.location')}>
        <input value={p.place} maxLength={200} onInput={(ev) => p.setPlace(ev.currentTarget.value)} />
      </Field>
    </>
  );
}

function EditCode({ code, groups, onDone }: { code: RegistryEntry; groups: string[]; onDone(notice: string): void }) {
  const [name, setName] = useState(code.name ?? '');
  const [place, setPlace] = useState(code.location ?? '');
  const [settings, setSettings] = useState<CodeSettings | null>(null);
  const [period, setPeriod] = useState('');
  const [group, setGroup] = useState('');
  useEffect(() => {
    consoleApi
      .codeSettings(code.dev_sno)
      .then((s) => {
        setSettings(s);
        setPeriod(s.report_period_s === null ? '' : String(s.report_period_s));
        setGroup(s.group ?? '');
      })
      .catch(handleError);
  }, [code.dev_sno]);
  // The period fields start from what is stored: nothing is saved before that is known.
  if (!settings) return <span class="muted">{t('app.loading')}</span>;
  const listId = `groups-${code.dev_sno}`;
  return (
    <AdminForm
      class="inline-form edit-code"
      submitClass="small-button"
      submitLabel={t('admin.save')}
      onSubmit={async () => {
        const body = { report_period_s: parsePeriod(period), group: parseGroup(group) };
        await consoleApi.updateCode(code.dev_sno, { name: name.trim() || null, location: place.trim() || null });
        const saved = await consoleApi.putCodeSettings(code.dev_sno, body);
        onDone(`${t('codes.saved', { code: code.dev_sno })} ${periodNow(saved)}`);
      }}
      after={
        <span class="muted period-now">
          {periodNow(settings)} · {t('codes.periodHint')}
        </span>
      }
    >
      <NameAndPlace name={name} place={place} setName={setName} setPlace={setPlace} />
      <Field label={t('codes.group')}>
        <input value={group} list={listId} placeholder={t('codes.noGroup')} onInput={(ev) => setGroup(ev.currentTarget.value)} />
      </Field>
      <datalist id={listId}>
        {groups.map((g) => (
          <option key={g} value={g} />
        ))}
      </datalist>
      <Field label={t('codes.period')}>
        <input value={period} inputMode="numeric" placeholder="—" title={t('codes.periodHint')} onInput={(ev) => setPeriod(ev.currentTarget.value)} />
      </Field>
    </AdminForm>
  );
}

/** The period a listed code is told at login, and where it comes from (its own, its group's, the fleet's). */
function PeriodCell({ c }: { c: CodeListEntry }) {
  const source = c.period_source === 'group' && c.group ? t('codes.periodFromNamed', { group: c.group }) : t(`codes.periodFrom.${c.period_source}`);
  return (
    <span class="code-period" data-source={c.period_source}>
      <span class={c.period_source === 'fleet' ? 'muted' : 'period-value'}>{t('codes.every', { n: c.effective_period_s })}</span>
      <span class="muted period-source"> · {source}</span>
    </span>
  );
}

function periodNow(s: CodeSettings): string {
  return t('codes.periodNow', { n: s.effective_period_s, source: t(`codes.periodFrom.${s.period_source}`) });
}

export function CodesView() {
  const [codes, setCodes] = useState<CodeListEntry[] | null>(null);
  const [filter, setFilter] = useState<Filter>('');
  const [editing, setEditing] = useState<string | null>(null);
  const [given, setGiven] = useState('');
  const [name, setName] = useState('');
  const [place, setPlace] = useState('');
  const [issued, setIssued] = useState<string | null>(null);
  const [notice, setNotice] = useState('');
  const [groupsVersion, setGroupsVersion] = useState(0);
  const [groupNames, setGroupNames] = useState<string[]>([]);
  const reload = () => {
    setEditing(null);
    consoleApi.codes().then(setCodes).catch(handleError);
    consoleApi
      .groups()
      .then((gs) => setGroupNames(gs.map((g) => g.name)))
      .catch(handleError);
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
        <AdminForm
          class="admin-form"
          submitLabel={given.trim() ? t('codes.register') : t('codes.issue')}
          onSubmit={async () => {
            const entry = await consoleApi.addCode({ ...(given.trim() ? { dev_sno: given.trim() } : {}), name: name.trim() || null, location: place.trim() || null });
            setIssued(entry.dev_sno);
            setGiven('');
            setName('');
            setPlace('');
            reload();
          }}
        >
          <Field label={t('codes.existing')}>
            <input value={given} maxLength={128} placeholder={t('codes.existingHint')} onInput={(ev) => setGiven(ev.currentTarget.value)} />
          </Field>
          <NameAndPlace name={name} place={place} setName={setName} setPlace={setPlace} />
        </AdminForm>
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
        {notice ? (
          <p class="form-message result ok notice" role="status">
            {notice}
          </p>
        ) : null}
        <DataTable<CodeListEntry>
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
                  <EditCode
                    code={c}
                    groups={groupNames}
                    onDone={(said) => {
                      setNotice(said);
                      setGroupsVersion((v) => v + 1);
                      reload();
                    }}
                  />
                ) : (
                  <span>
                    {c.name || <span class="muted">{t('box.noName')}</span>}
                    {c.location ? <span class="muted"> · {c.location}</span> : null}
                  </span>
                ),
            },
            { id: 'period', label: t('codes.periodCol'), class: 'code-period-cell', cell: (c) => <PeriodCell c={c} /> },
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
      <GroupPeriods version={groupsVersion} />
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
