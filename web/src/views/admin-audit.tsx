// The audit log (admins only): every state-changing call, newest first, paged back 100 at a time.
import { useEffect, useState } from 'preact/hooks';
import { adminApi, type AuditEntry } from '../admin-api.js';
import { DataTable, type Column } from '../components/data-table.js';
import { TimeAgo } from '../components/time-ago.js';
import { t } from '../i18n/index.js';
import { handleError } from '../state/session.js';

export function AdminAuditView() {
  const [entries, setEntries] = useState<AuditEntry[] | null>(null);
  const [more, setMore] = useState(false);
  const [message, setMessage] = useState('');

  const load = (before?: number) =>
    adminApi
      .audit(before)
      .then((r) => {
        setEntries((old) => (before && old ? [...old, ...r.entries] : r.entries));
        setMore(r.entries.length === 100);
      })
      .catch((e: unknown) => {
        handleError(e);
        setMessage(e instanceof Error ? e.message : String(e));
      });
  useEffect(() => {
    document.title = `${t('admin.audit')} — devstatus`;
    void load();
  }, []);

  const columns: Column<AuditEntry>[] = [
    { id: 'at', label: t('audit.when'), class: 'since', cell: (e) => <TimeAgo at={e.at} /> },
    { id: 'actor', label: t('audit.who'), class: 'actor', cell: (e) => (e.role ? `${e.actor} (${t(`role.${e.role}`)})` : e.actor) },
    { id: 'what', label: t('audit.what'), class: 'what', cell: (e) => <code>{`${e.method} ${e.path}`}</code> },
    { id: 'detail', label: t('audit.detail'), class: 'detail', cell: (e) => e.detail ?? '' },
    { id: 'ip', label: t('audit.from'), class: 'ip', cell: (e) => e.ip ?? '' },
    { id: 'status', label: t('audit.result'), class: 'num', cell: (e) => <span class={e.status < 400 ? 'count-on' : 'count-off'}>{e.status}</span> },
  ];

  return (
    <main class="admin-page">
      <nav class="admin-tabs">
        <a href="#/admin/users">{t('admin.users')}</a>
        <a href="#/admin/audit" aria-current="page">
          {t('admin.audit')}
        </a>
      </nav>
      <section class="panel">
        <h2>{t('admin.audit')}</h2>
        <p class="error">{message}</p>
        <DataTable class="audit-table" columns={columns} rows={entries ?? []} rowKey={(e) => e.id} rowProps={() => ({ class: 'audit-row' })} empty={entries ? t('audit.empty') : null} />
        {more ? (
          <button type="button" onClick={() => void load(entries?.at(-1)?.id)}>
            {t('audit.older')}
          </button>
        ) : null}
      </section>
    </main>
  );
}
