// Hash routes, so the receiver needs to know no page paths. #/ is the problems view (with
// ?status=&sort=&... filters), #/boxes the box list, #/boxes/<dev_sno> one box, #/history the
// fleet's status changes, #/admin/codes and #/admin/locations the registry. Old path links
// (/boxes/<dev_sno>, /?q=...) are turned into hash routes.
import { signal } from '@preact/signals';

export type PageName = 'problems' | 'boxes' | 'box' | 'history' | 'codes' | 'locations' | 'admin-users' | 'admin-audit' | 'channels' | 'silences' | 'notifications';
export type Route =
  | { name: Exclude<PageName, 'box'>; params: URLSearchParams }
  | { name: 'box'; devSno: string; params: URLSearchParams };

const PATHS: Record<string, Exclude<PageName, 'box'>> = {
  '/': 'problems',
  '': 'problems',
  '/boxes': 'boxes',
  '/history': 'history',
  '/admin/codes': 'codes',
  '/admin/locations': 'locations',
  '/admin/users': 'admin-users',
  '/admin/audit': 'admin-audit',
  '/alerts/channels': 'channels',
  '/alerts/silences': 'silences',
  '/alerts/notifications': 'notifications',
};

export function parseHash(hash: string): Route {
  const path = hash.replace(/^#/, '');
  const [rawPath = '', query = ''] = path.split(/\?(.*)/s, 2);
  const pathname = rawPath.length > 1 ? rawPath.replace(/\/+$/, '') : rawPath;
  const params = new URLSearchParams(query);
  const m = /^\/boxes\/([^/]+)$/.exec(pathname);
  if (m) {
    try {
      return { name: 'box', devSno: decodeURIComponent(m[1]!), params };
    } catch {
      /* malformed escape: show the problems */
    }
  }
  return { name: PATHS[pathname] ?? 'problems', params };
}

const BASES: Record<Exclude<PageName, 'box'>, string> = {
  problems: '#/',
  boxes: '#/boxes',
  history: '#/history',
  codes: '#/admin/codes',
  locations: '#/admin/locations',
  'admin-users': '#/admin/users',
  'admin-audit': '#/admin/audit',
  channels: '#/alerts/channels',
  silences: '#/alerts/silences',
  notifications: '#/alerts/notifications',
};

export function pageHref(name: Exclude<PageName, 'box'>, params?: URLSearchParams | Record<string, string>): string {
  const qs = new URLSearchParams(params).toString();
  return qs ? `${BASES[name]}?${qs}` : BASES[name];
}

export function boxHref(devSno: string): string {
  return `#/boxes/${encodeURIComponent(devSno)}`;
}

export const route = signal<Route>(parseHash(location.hash));
/** Counts navigations (changing a list's filters replaces the hash and is not one). */
export const navigations = signal(0);

window.addEventListener('hashchange', () => {
  route.value = parseHash(location.hash);
  navigations.value++;
  window.scrollTo(0, 0);
});

/** Records a page's filters in the address without a navigation. */
export function replaceParams(name: Exclude<PageName, 'box'>, params: URLSearchParams): void {
  history.replaceState(null, '', `${location.pathname}${location.search}${pageHref(name, params)}`);
}

/** Like replaceParams, for a box page's own filters. */
export function replaceBoxParams(devSno: string, params: URLSearchParams): void {
  const qs = params.toString();
  history.replaceState(null, '', `${location.pathname}${location.search}${boxHref(devSno)}${qs ? `?${qs}` : ''}`);
}

/** /boxes/<dev_sno> and /?q=... (the box list) from before the hash routes (bookmarks, alert links). */
export function adoptPathRoute(): void {
  const legacy = /^\/boxes\/[^/]+\/?$/.test(location.pathname);
  if (!legacy && !(location.pathname === '/' && location.search && !location.hash)) return;
  const hash = legacy ? `#${location.pathname}` : `#/boxes${location.search}`;
  history.replaceState(null, '', `/${hash}`);
  route.value = parseHash(location.hash);
}
