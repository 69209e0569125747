// The location directory: names for the location ids boxes send with each camera (often UUIDs),
// shown in every list instead of the id. Admins add, rename and delete entries here.
import { useEffect, useState } from 'preact/hooks';
import { consoleApi, type Location } from '../api-console.js';
import { AdminForm, Field } from '../components/admin-form.js';
import { DataTable } from '../components/data-table.js';
import { t } from '../i18n/index.js';
import { loadLocations, locations } from '../state/locations.js';
import { handleError } from '../state/session.js';

function EditName({ loc, onDone }: { loc: Location; onDone(): void }) {
  const [name, setName] = useState(loc.name);
  return (
    <AdminForm
      class="inline-form"
      submitClass="small-button"
      submitLabel={t('admin.save')}
      onSubmit={async () => {
        await consoleApi.putLocation(loc.id, { name: name.trim(), parent_id: loc.parent_id, lat: loc.lat, lon: loc.lon });
        onDone();
      }}
    >
      <input value={name} aria-label={t('locations.name')} required maxLength={200} onInput={(ev) => setName(ev.currentTarget.value)} />
    </AdminForm>
  );
}

export function LocationsView() {
  const [id, setId] = useState('');
  const [name, setName] = useState('');
  const [editing, setEditing] = useState<string | null>(null);
  useEffect(() => {
    void loadLocations(true);
    document.title = t('app.titleLocations');
  }, []);
  const reload = () => {
    setEditing(null);
    void loadLocations(true);
  };
  const list = locations.value;
  return (
    <main class="admin-page">
      <section class="panel">
        <h1 class="page-title">{t('locations.title')}</h1>
        <p class="muted">{t('locations.intro')}</p>
        <AdminForm
          class="admin-form"
          submitLabel={t('locations.add')}
          onSubmit={async () => {
            await consoleApi.putLocation(id.trim(), { name: name.trim() });
            setId('');
            setName('');
            reload();
          }}
        >
          <Field label={t('locations.id')}>
            <input value={id} required maxLength={200} placeholder="95274d2c-…" onInput={(ev) => setId(ev.currentTarget.value)} />
          </Field>
          <Field label={t('locations.name')}>
            <input value={name} required maxLength={200} onInput={(ev) => setName(ev.currentTarget.value)} />
          </Field>
        </AdminForm>
        <DataTable<Location>
          class="location-table"
          columns={[
            { id: 'name', label: t('locations.name'), class: 'loc-name', cell: (l) => (editing === l.id ? <EditName loc={l} onDone={reload} /> : l.name) },
            { id: 'id', label: t('locations.id'), class: 'loc-id mono', cell: (l) => l.id },
            {
              id: 'actions',
              label: t('admin.actions'),
              class: 'actions',
              cell: (l) => (
                <span class="action-buttons">
                  <button type="button" class="small-button" aria-pressed={editing === l.id} onClick={() => setEditing(editing === l.id ? null : l.id)}>
                    {t('admin.rename')}
                  </button>
                  <button
                    type="button"
                    class="small-button danger"
                    onClick={() => {
                      if (window.confirm(t('locations.confirmDelete', { name: l.name }))) void consoleApi.deleteLocation(l.id).then(reload).catch(handleError);
                    }}
                  >
                    {t('admin.delete')}
                  </button>
                </span>
              ),
            },
          ]}
          rows={list ?? []}
          rowKey={(l) => l.id}
          rowProps={(l) => ({ class: 'location-row', 'data-id': l.id })}
          empty={list === null ? null : t('locations.none')}
        />
      </section>
    </main>
  );
}
