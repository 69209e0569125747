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
import { SilencesView } from './views/silences.js';
import { CodesView } from './views/codes.js';
import { FleetView } from './views/fleet.js';
import { HistoryView } from './views/history.js';
import { LocationsView } from './views/locations.js';
import { LoginView } from './views/login.js';
import { NotificationsView } from './views/notifications.js';
import { ProblemsView } from './views/problems.js';

function Page() {
  const r = route.value;
  // Each navigation starts a new page (changing the fleet filters only replaces the hash).
  const key = navigations.value;
  useEffect(() => {
    loadError.value = null;
  }, [key]);
  switch (r.name) {
    case 'box':
      return <BoxView key={key} devSno={r.devSno} params={r.params} />;
    case 'boxes':
      return <FleetView key={key} params={r.params} />;
    case 'history':
      return <HistoryView key={key} params={r.params} />;
    case 'codes':
      return <CodesView key={key} />;
    case 'locations':
      return <LocationsView key={key} />;
    case 'admin-users':
      return <AdminUsersView key={key} />;
    case 'admin-audit':
      return <AdminAuditView key={key} />;
    case 'channels':
      return <ChannelsView key={key} />;
    case 'silences':
      return <SilencesView key={key} />;
    case 'notifications':
      return <NotificationsView key={key} />;
    default:
      return <ProblemsView key={key} params={r.params} />;
  }
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
