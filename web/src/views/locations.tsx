// The location directory: names for the location ids boxes send with each camera (often UUIDs),
// shown in every list instead of the id. Admins add, rename and delete entries here.
import { useEffect, useState } from 'preact/hooks';
import { consoleApi, type Location } from '../api-console.js';
import { DataTable } from '../components/data-table.js';
import { t } from '../i18n/index.js';
import { loadLocations, locations } from '../state/locations.js';
import { handleError } from '../state/session.js';

function EditName({ loc, onDone }: { loc: Location; onDone(): void }) {
  const [name, setName] = useState(loc.name);
  return (
    <form
      class="inline-form"
      onSubmit={(ev) => {
        ev.preventDefault();
        void consoleApi
          .putLocation(loc.id, { name: name.trim(), parent_id: loc.parent_id, lat: loc.lat, lon: loc.lon })
          .then(onDone)
          .catch(handleError);
      }}
    >
      <input value={name} aria-label={t('locations.name')} required maxLength={200} onInput={(ev) => setName(ev.currentTarget.value)} />
      <button type="submit" class="small-button">
        {t('admin.save')}
      </button>
    </form>
  );
}

export function LocationsView() {
  const [id, setId] = useState('');
  const [name, setName] = useState('');
  const [editing, setEditing] = useState<string | null>(null);
  const [error, setError] = useState('');
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
        <form
          class="admin-form"
          onSubmit={(ev) => {
            ev.preventDefault();
            setError('');
            consoleApi
              .putLocation(id.trim(), { name: name.trim() })
              .then(() => {
                setId('');
                setName('');
                reload();
              })
              .catch((e: unknown) => setError(e instanceof Error ? e.message : String(e)));
          }}
        >
          <label>
            <span>{t('locations.id')}</span>
            <input value={id} required maxLength={200} placeholder="95274d2c-…" onInput={(ev) => setId(ev.currentTarget.value)} />
          </label>
          <label>
            <span>{t('locations.name')}</span>
            <input value={name} required maxLength={200} onInput={(ev) => setName(ev.currentTarget.value)} />
          </label>
          <button type="submit" class="primary">
            {t('locations.add')}
          </button>
          <p class="error" role="alert">
            {error}
          </p>
        </form>
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
