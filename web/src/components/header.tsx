// The top bar: home link, the pages, live-stream state, language and time zone, log out.
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
      <LangSwitch />
      <ZoneSelect />
      <button type="button" class="link-button" onClick={() => void logout().catch(handleError)}>
        {t('header.logout')}
      </button>
    </header>
  );
}
