// The page: the login form, or the header, the error bar and the page the hash route names.
import { useEffect } from 'preact/hooks';
import { Header } from './components/header.js';
import { t } from './i18n/index.js';
import { navigations, route } from './router.js';
import { loadError, session } from './state/session.js';
import { AdminAuditView } from './views/admin-audit.js';
import { AdminUsersView } from './views/admin-users.js';
import { BoxView } from './views/box.js';
import { ChannelsView } from './views/admin-channels.js';
import { FleetView } from './views/fleet.js';
import { SilencesView } from './views/silences.js';
import { LoginView } from './views/login.js';

function Page() {
  const r = route.value;
  // Each navigation starts a new page (changing the fleet filters only replaces the hash).
  const key = navigations.value;
  useEffect(() => {
    loadError.value = null;
  }, [key]);
  if (r.name === 'admin-users') return <AdminUsersView key={key} />;
  if (r.name === 'admin-audit') return <AdminAuditView key={key} />;
  if (r.name === 'channels') return <ChannelsView key={key} />;
  if (r.name === 'silences') return <SilencesView key={key} />;
  return r.name === 'box' ? <BoxView key={key} devSno={r.devSno} /> : <FleetView key={key} params={r.params} />;
}

export function App() {
  const s = session.value;
  if (s.kind === 'checking') return <p class="loading">{t('app.loading')}</p>;
  if (s.kind === 'login') return <LoginView notice={s.notice} key={JSON.stringify(s.notice ?? null)} />;
  const error = loadError.value;
  return (
    <div class="shell">
      <Header />
      {error ? (
        <div class="error-bar" role="alert">
          {error}
        </div>
      ) : null}
      <Page />
    </div>
  );
}
