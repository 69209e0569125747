// Hash routes, so the receiver needs to know no page paths: #/ (fleet, with ?q=&status=&page=)
// and #/boxes/<dev_sno>. Old path links (/boxes/<dev_sno>, /?q=...) are turned into hash routes.
import { signal } from '@preact/signals';

export type Route =
  | { name: 'fleet'; params: URLSearchParams }
  | { name: 'box'; devSno: string }
  | { name: 'admin-users' }
  | { name: 'admin-audit' }
  // alerting (issue 12)
  | { name: 'channels' }
  | { name: 'silences' };

export function parseHash(hash: string): Route {
  const path = hash.replace(/^#/, '');
  const [pathname = '', query = ''] = path.split(/\?(.*)/s, 2);
  if (/^\/admin\/users\/?$/.test(pathname)) return { name: 'admin-users' };
  if (/^\/admin\/audit\/?$/.test(pathname)) return { name: 'admin-audit' };
  if (/^\/alerts\/channels\/?$/.test(pathname)) return { name: 'channels' };
  if (/^\/alerts\/silences\/?$/.test(pathname)) return { name: 'silences' };
  const m = /^\/boxes\/([^/]+)\/?$/.exec(pathname);
  if (m) {
    try {
      return { name: 'box', devSno: decodeURIComponent(m[1]!) };
    } catch {
      /* malformed escape: show the fleet */
    }
  }
  return { name: 'fleet', params: new URLSearchParams(query) };
}

export function boxHref(devSno: string): string {
  return `#/boxes/${encodeURIComponent(devSno)}`;
}

export function fleetHref(params?: URLSearchParams): string {
  const qs = params?.toString() ?? '';
  return qs ? `#/?${qs}` : '#/';
}

export const route = signal<Route>(parseHash(location.hash));
/** Counts navigations (changing the fleet filters replaces the hash and is not one). */
export const navigations = signal(0);

window.addEventListener('hashchange', () => {
  route.value = parseHash(location.hash);
  navigations.value++;
  window.scrollTo(0, 0);
});

/** Records the fleet filters in the address without a navigation. */
export function replaceFleetParams(params: URLSearchParams): void {
  history.replaceState(null, '', `${location.pathname}${location.search}${fleetHref(params)}`);
}

/** /boxes/<dev_sno> and /?q=... from before the hash routes (bookmarks, alert links). */
export function adoptPathRoute(): void {
  const legacy = /^\/boxes\/[^/]+\/?$/.test(location.pathname);
  if (!legacy && !(location.pathname === '/' && location.search && !location.hash)) return;
  const hash = legacy ? `#${location.pathname}` : `#/${location.search}`;
  history.replaceState(null, '', `/${hash}`);
  route.value = parseHash(location.hash);
}
