// The top bar: home link, language switch, live-stream state, log out.
import { useEffect, useState } from 'preact/hooks';
import { adminApi } from '../admin-api.js';
import { t } from '../i18n/index.js';
import { everConnected, liveState } from '../state/live.js';
import { logout, handleError } from '../state/session.js';
import { LangSwitch } from './lang-switch.js';

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
      <nav class="topnav">
        <a href="#/alerts/silences">{t('nav.silences')}</a>
        <a href="#/alerts/channels">{t('nav.channels')}</a>
      </nav>
      <span class="spacer" />
      <LiveBadge />
      <AdminLink />
      <LangSwitch />
      <button type="button" class="link-button" onClick={() => void logout().catch(handleError)}>
        {t('header.logout')}
      </button>
    </header>
  );
}
