// Users and roles (admins only): the list with each user's role, a form to add one, removal.
// Changing a role or removing a user ends their sessions (the receiver does that).
import { useEffect, useState } from 'preact/hooks';
import { adminApi, ROLES, type Role, type User } from '../admin-api.js';
import { DataTable, type Column } from '../components/data-table.js';
import { TimeAgo } from '../components/time-ago.js';
import { t } from '../i18n/index.js';
import { handleError } from '../state/session.js';

const roleName = (r: Role) => t(`role.${r}`);

export function AdminUsersView() {
  const [users, setUsers] = useState<User[] | null>(null);
  const [message, setMessage] = useState('');
  const [form, setForm] = useState({ username: '', password: '', role: 'viewer' as Role });

  const load = () =>
    adminApi
      .users()
      .then((r) => setUsers(r.users))
      .catch((e: unknown) => setMessage(e instanceof Error ? e.message : String(e)));
  useEffect(() => {
    document.title = `${t('admin.users')} — devstatus`;
    void load();
  }, []);

  const act = (p: Promise<unknown>, done: string) =>
    p
      .then(() => {
        setMessage(done);
        return load();
      })
      .catch((e: unknown) => {
        handleError(e);
        setMessage(e instanceof Error ? e.message : String(e));
      });

  const columns: Column<User>[] = [
    { id: 'username', label: t('admin.username'), class: 'username', cell: (u) => u.username },
    {
      id: 'role',
      label: t('admin.role'),
      class: 'role',
      cell: (u) => (
        <select
          aria-label={t('admin.roleOf', { user: u.username })}
          value={u.role}
          onChange={(e) => void act(adminApi.setRole(u.username, (e.target as HTMLSelectElement).value as Role), t('admin.saved'))}
        >
          {ROLES.map((r) => (
            <option key={r} value={r}>
              {roleName(r)}
            </option>
          ))}
        </select>
      ),
    },
    { id: 'created', label: t('admin.created'), class: 'since', cell: (u) => <TimeAgo at={u.created_at} /> },
    {
      id: 'actions',
      label: '',
      class: 'actions',
      cell: (u) => (
        <button
          type="button"
          class="danger"
          onClick={() => {
            if (confirm(t('admin.confirmRemove', { user: u.username }))) void act(adminApi.removeUser(u.username), t('admin.removed'));
          }}
        >
          {t('admin.remove')}
        </button>
      ),
    },
  ];

  const submit = (ev: Event) => {
    ev.preventDefault();
    void act(adminApi.addUser(form), t('admin.added', { user: form.username })).then(() => setForm({ username: '', password: '', role: 'viewer' }));
  };

  return (
    <main class="admin-page">
      <nav class="admin-tabs">
        <a href="#/admin/users" aria-current="page">
          {t('admin.users')}
        </a>
        <a href="#/admin/audit">{t('admin.audit')}</a>
      </nav>
      <section class="panel">
        <h2>{t('admin.users')}</h2>
        <DataTable class="users-table" columns={columns} rows={users ?? []} rowKey={(u) => u.id} rowProps={(u) => ({ class: 'user-row', 'data-user': u.username })} empty={users ? t('admin.noUsers') : null} />
      </section>
      <form class="panel admin-form" onSubmit={submit}>
        <h2>{t('admin.addUser')}</h2>
        <input aria-label={t('admin.username')} placeholder={t('admin.username')} value={form.username} onInput={(e) => setForm({ ...form, username: (e.target as HTMLInputElement).value })} autocomplete="off" required />
        <input type="password" aria-label={t('admin.password')} placeholder={t('admin.password')} value={form.password} onInput={(e) => setForm({ ...form, password: (e.target as HTMLInputElement).value })} autocomplete="new-password" required />
        <select aria-label={t('admin.role')} value={form.role} onChange={(e) => setForm({ ...form, role: (e.target as HTMLSelectElement).value as Role })}>
          {ROLES.map((r) => (
            <option key={r} value={r}>
              {roleName(r)}
            </option>
          ))}
        </select>
        <button type="submit" class="primary">
          {t('admin.add')}
        </button>
        <p class="admin-message" role="status">
          {message}
        </p>
        <p class="hint muted">{t('admin.rolesHint')}</p>
      </form>
    </main>
  );
}
