// The operator console's API (issue 13): sub-device lists, locations, outages, availability,
// history pages, exports, and the registry's admin API. Shapes follow src/store/api-types.ts.
import type { Availability, BoxGroup, BoxSettings, CodeListEntry, FleetSubDevice, Location, Outage, RegistryEntry } from '../../src/store/api-types.js';
import { getJson, sendJson, type Box, type HistoryEntry } from './api.js';

export type { BoxGroup, CodeListEntry, RegistryEntry };

/** A box's report period and group (GET/PUT /api/codes/:dev_sno). */
export type CodeSettings = BoxSettings;

/** One sub-device in the fleet-wide list, with its alert state (acknowledged, silenced). */
export type SubDeviceRow = FleetSubDevice;
export type { Availability, Location, Outage };

export interface Page<T> {
  rows: T[];
  next_cursor: string | null;
  total?: number;
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
    // Sub-device lists page with an opaque cursor, history with the id to continue before.
    next_cursor: (body.next_cursor as string | null | undefined) ?? (typeof body.next_before === 'number' ? `before:${body.next_before}` : null),
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
  /** hide: the server leaves out rows whose problem is acknowledged or silenced, before paging. */
  handled?: 'hide';
  cursor?: string | null;
  limit?: number;
}

export const consoleApi = {
  subDevices: async (q: SubDeviceQuery) =>
    pageOf<SubDeviceRow>(await getJson(`/api/sub-devices${query({ ...q })}`), ['rows', 'sub_devices', 'items']),
  offlineBoxes: async (q: { sort?: string; location?: string; q?: string; handled?: 'hide'; limit: number; offset: number }) =>
    getJson<{ total: number; boxes: Box[] }>(`/api/devices${query({ status: 'offline', ...q })}`),
  boxList: (q: Record<string, string | number | undefined>) => getJson<{ total: number; boxes: Box[] }>(`/api/devices${query(q)}`),
  history: async (q: { dev_sno?: string; ep_id?: string; from?: string; to?: string; cursor?: string | null; limit?: number }) => {
    const { dev_sno, ...rest } = q;
    const path = dev_sno ? `/api/devices/${encodeURIComponent(dev_sno)}/history` : '/api/history';
    const before = q.cursor?.startsWith('before:') ? q.cursor.slice(7) : undefined;
    const cursor = before ? undefined : q.cursor;
    const body = await getJson<Record<string, unknown>>(`${path}${query({ ...rest, cursor, before })}`);
    const page = pageOf<HistoryEntry>(body, ['entries', 'rows']);
    // A receiver that does not say where the next page starts: a full page may have more.
    const last = page.rows[page.rows.length - 1];
    if (!('next_before' in body) && !page.next_cursor && last?.id !== undefined && page.rows.length >= (q.limit ?? 100)) page.next_cursor = `before:${last.id}`;
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

  codes: async () => (await getJson<{ codes: CodeListEntry[] }>('/api/admin/codes')).codes,
  addCode: (body: { dev_sno?: string; name?: string | null; location?: string | null }) => sendJson<RegistryEntry>('POST', '/api/admin/codes', body),
  setCodeStatus: (devSno: string, action: 'revoke' | 'reinstate') =>
    sendJson<RegistryEntry>('POST', `/api/admin/codes/${encodeURIComponent(devSno)}/${action}`),
  updateCode: (devSno: string, body: Record<string, string | number | null>) =>
    sendJson<RegistryEntry>('PATCH', `/api/admin/devices/${encodeURIComponent(devSno)}`, body),
  codeSettings: async (devSno: string) => (await getJson<{ settings: CodeSettings }>(`/api/codes/${encodeURIComponent(devSno)}`)).settings,
  putCodeSettings: async (devSno: string, body: { report_period_s: number | null; group: string | null }) =>
    (await sendJson<{ settings: CodeSettings }>('PUT', `/api/codes/${encodeURIComponent(devSno)}`, body)).settings,
  groups: async () => (await getJson<{ groups: BoxGroup[] }>('/api/groups')).groups,
  putGroup: (name: string, reportPeriodS: number | null) => sendJson<BoxGroup>('PUT', `/api/groups/${encodeURIComponent(name)}`, { report_period_s: reportPeriodS }),
};

/** Where a CSV export of the same filters downloads from. */
export function exportHref(kind: 'sub-devices' | 'problems' | 'history', params: Record<string, string | undefined | null>): string {
  return `/api/export/${kind}.csv${query(params)}`;
}
