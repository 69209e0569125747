// The console's pages. The current one is marked with aria-current (and a visible underline).
// Users and the audit log are linked from the header, for admins only; pages a role may not
// see are left out (the receiver refuses them anyway). On a phone the links wrap (style.css).
import type { Role } from '../admin-api.js';
import { t, type MessageKey } from '../i18n/index.js';
import { pageHref, route, type PageName } from '../router.js';
import { can } from '../state/me.js';

const NAV: { page: Exclude<PageName, 'box'>; label: MessageKey; also?: PageName[]; role?: Role }[] = [
  { page: 'problems', label: 'nav.problems' },
  { page: 'boxes', label: 'nav.boxes', also: ['box'] },
  { page: 'history', label: 'nav.history' },
  { page: 'codes', label: 'nav.codes' },
  { page: 'locations', label: 'nav.locations' },
  { page: 'silences', label: 'nav.silences' },
  { page: 'channels', label: 'nav.channels' },
  { page: 'notifications', label: 'nav.notifications', role: 'operator' },
];

export function Nav() {
  const current = route.value.name;
  return (
    <nav class="main-nav" aria-label={t('nav.label')}>
      {NAV.filter((n) => !n.role || can(n.role)).map((n) => {
        const here = n.page === current || (n.also ?? []).includes(current);
        return (
          <a key={n.page} href={pageHref(n.page)} class={here ? 'nav-link current' : 'nav-link'} aria-current={here ? 'page' : undefined} data-page={n.page}>
            {t(n.label)}
          </a>
        );
      })}
    </nav>
  );
}
