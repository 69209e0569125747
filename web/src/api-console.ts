// The operator console's API (issue 13): sub-device lists, locations, outages, availability,
// history pages, exports, and the registry's admin API. Shapes follow src/store/api-types.ts.
import { getJson, sendJson, type Box, type HistoryEntry } from './api.js';

/** A code of the device registry (src/store/types.ts RegistryEntry, which imports Node types). */
export interface RegistryEntry {
  dev_sno: string;
  status: 'active' | 'revoked';
  source: 'issued' | 'registered' | 'auto';
  name: string | null;
  location: string | null;
  created_at: string;
  updated_at: string;
  revoked_at: string | null;
  last_report_at: string | null;
  report_period_s?: number | null;
}

// Until the console API is merged into this branch these mirror src/store/api-types.ts of the
// `console` branch (FleetSubDevice, Location, Availability, Outage) field for field.

/** One sub-device in the fleet-wide list (GET /api/sub-devices): names, not only ids. */
export interface SubDeviceRow {
  dev_sno: string;
  box_name: string | null;
  box_location: string | null;
  box_status: string;
  ep_id: string;
  ep_name: string;
  ep_type: string;
  ep_ip: string;
  /** Without user name or password; null if none. */
  stream_url: string | null;
  location_id: string;
  location_name: string | null;
  status: string;
  since: string;
  reason: string | null;
  detail: string | null;
  last_seen_at: string;
  /** Alert acknowledgement and silences, when the receiver has them. */
  acknowledged?: boolean;
  silenced?: boolean;
}

export interface Page<T> {
  rows: T[];
  next_cursor: string | null;
  total?: number;
}

export interface Location {
  id: string;
  name: string;
  parent_id: string | null;
  lat: number | null;
  lon: number | null;
  created_at: string;
  updated_at: string;
}

/** A time a box (ep_id null) or camera was down. */
export interface Outage {
  dev_sno: string;
  ep_id: string | null;
  start: string;
  /** null while it lasts. */
  end: string | null;
  duration_ms: number;
  /** Began before the range asked for; start is the range's start. */
  clipped: boolean;
}

export interface AvailabilityFigures {
  /** 0..1; null when nothing was observed in the window. */
  availability: number | null;
  up_ms: number;
  down_ms: number;
  observed_ms: number;
}

export interface Availability {
  dev_sno: string;
  window: string;
  from: string;
  to: string;
  box: AvailabilityFigures;
  sub_devices: Array<AvailabilityFigures & { ep_id: string; ep_name: string }>;
}

export type AvailabilityWindow = '24h' | '7d' | '30d';

function query(params: Record<string, string | number | undefined | null>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
}

/** Reads either shape a list may come in ({rows|sub_devices|entries|...}, next_cursor). */
function pageOf<T>(body: Record<string, unknown>, keys: string[]): Page<T> {
  const key = keys.find((k) => Array.isArray(body[k]));
  return {
    rows: (key ? body[key] : []) as T[],
    next_cursor: (body.next_cursor as string | null | undefined) ?? null,
    ...(typeof body.total === 'number' ? { total: body.total } : {}),
  };
}

export interface SubDeviceQuery {
  status?: string;
  type?: string;
  location?: string;
  box?: string;
  q?: string;
  sort?: string;
  cursor?: string | null;
  limit?: number;
}

export const consoleApi = {
  subDevices: async (q: SubDeviceQuery) =>
    pageOf<SubDeviceRow>(await getJson(`/api/sub-devices${query({ ...q })}`), ['rows', 'sub_devices', 'items']),
  offlineBoxes: async (q: { sort?: string; location?: string; q?: string; limit: number; offset: number }) =>
    getJson<{ total: number; boxes: Box[] }>(`/api/devices${query({ status: 'offline', ...q })}`),
  boxList: (q: Record<string, string | number | undefined>) => getJson<{ total: number; boxes: Box[] }>(`/api/devices${query(q)}`),
  history: async (q: { dev_sno?: string; ep_id?: string; from?: string; to?: string; cursor?: string | null; limit?: number }) => {
    const { dev_sno, ...rest } = q;
    const path = dev_sno ? `/api/devices/${encodeURIComponent(dev_sno)}/history` : '/api/history';
    const before = q.cursor?.startsWith('before:') ? q.cursor.slice(7) : undefined;
    const cursor = before ? undefined : q.cursor;
    const page = pageOf<HistoryEntry>(await getJson(`${path}${query({ ...rest, cursor, before })}`), ['entries', 'rows']);
    // Without a cursor from the server, page back by id (before=).
    if (page.next_cursor === null && page.rows.length >= (q.limit ?? 100)) {
      const last = page.rows[page.rows.length - 1];
      if (last?.id !== undefined) page.next_cursor = `before:${last.id}`;
    }
    return page;
  },
  outages: async (devSno: string, q: { from?: string; to?: string; cursor?: string | null } = {}) =>
    pageOf<Outage>(await getJson(`/api/devices/${encodeURIComponent(devSno)}/outages${query(q)}`), ['outages', 'rows']),
  availability: (devSno: string, window: AvailabilityWindow) =>
    getJson<Availability>(`/api/devices/${encodeURIComponent(devSno)}/availability${query({ window })}`),

  locations: async () => (await getJson<{ locations: Location[] }>('/api/locations')).locations,
  putLocation: (id: string, body: { name: string; parent_id?: string | null; lat?: number | null; lon?: number | null }) =>
    sendJson<Location>('PUT', `/api/locations/${encodeURIComponent(id)}`, body),
  deleteLocation: (id: string) => sendJson<unknown>('DELETE', `/api/locations/${encodeURIComponent(id)}`),

  codes: async () => (await getJson<{ codes: RegistryEntry[] }>('/api/admin/codes')).codes,
  addCode: (body: { dev_sno?: string; name?: string | null; location?: string | null }) => sendJson<RegistryEntry>('POST', '/api/admin/codes', body),
  setCodeStatus: (devSno: string, action: 'revoke' | 'reinstate') =>
    sendJson<RegistryEntry>('POST', `/api/admin/codes/${encodeURIComponent(devSno)}/${action}`),
  updateCode: (devSno: string, body: Record<string, string | number | null>) =>
    sendJson<RegistryEntry>('PATCH', `/api/admin/devices/${encodeURIComponent(devSno)}`, body),
};

/** Where a CSV export of the same filters downloads from. */
export function exportHref(kind: 'sub-devices' | 'problems' | 'history', params: Record<string, string | undefined | null>): string {
  return `/api/export/${kind}.csv${query(params)}`;
}
