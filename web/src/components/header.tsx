// The top bar: home link, the pages, live-stream state, language and time zone, log out.
import { useEffect, useState } from 'preact/hooks';
import { adminApi } from '../admin-api.js';
import { t } from '../i18n/index.js';
import { everConnected, liveState } from '../state/live.js';
import { logout, handleError } from '../state/session.js';
import { LangSwitch } from './lang-switch.js';
import { Nav } from './nav.js';
import { ZoneSelect } from './zone-select.js';

function LiveBadge() {
  const state = liveState.value;
  const text =
    state === 'live' ? t('live.live') : state === 'down' ? t('live.down') : everConnected.value ? t('live.reconnecting') : t('live.connecting');
  return (
    <span class={`live-badge ${state}`} role="status">
      {text}
    </span>
  );
}

/** Users & audit, for admins only (the API refuses the others anyway). */
function AdminLink() {
  const [admin, setAdmin] = useState(false);
  useEffect(() => {
    adminApi
      .me()
      .then((me) => setAdmin(me.role === 'admin'))
      .catch(() => setAdmin(false));
  }, []);
  return admin ? (
    <a class="nav-link" href="#/admin/users">
      {t('header.admin')}
    </a>
  ) : null;
}

export function Header() {
  return (
    <header class="topbar">
      <a class="brand" href="#/">
        <span class="brand-mark" aria-hidden="true">
          ◉
        </span>{' '}
        devstatus
      </a>
      <Nav />
      <span class="spacer" />
      <LiveBadge />
      <AdminLink />
      <LangSwitch />
      <ZoneSelect />
      <button type="button" class="link-button" onClick={() => void logout().catch(handleError)}>
        {t('header.logout')}
      </button>
    </header>
  );
}
