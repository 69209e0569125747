// The receiver's read API, as the dashboard uses it. Same origin; the login cookie rides along.
import type { BoxState, FleetSummary, SubDeviceState, Transition } from '../../src/store/api-types.js';

// The receiver's own definitions (src/store/api-types.ts), under the dashboard's names.
export type Box = BoxState;
export type SubDevice = SubDeviceState;
export type Summary = FleetSummary;
/** History from the API has an id (and detail null when there is none); transitions pushed live do not. */
export type HistoryEntry = Omit<Transition, 'detail'> & { id?: number; detail?: string | null };

/** The API said 401: the page shows the login form. */
export class Unauthorized extends Error {
  constructor() {
    super('admin token required');
  }
}

/** A failed request: the server's message, and its status code. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export async function getJson<T>(path: string): Promise<T> {
  return answer<T>(await fetch(path, { credentials: 'same-origin', headers: { accept: 'application/json' } }));
}

/** POST/PUT/PATCH/DELETE with a JSON body (the admin API). */
export async function sendJson<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: { accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return answer<T>(res);
}

async function answer<T>(res: Response): Promise<T> {
  if (res.status === 401) throw new Unauthorized();
  if (!res.ok) {
    let message = `${res.status} ${res.statusText}`;
    try {
      message = ((await res.json()) as { message?: string }).message ?? message;
    } catch {
      /* not JSON */
    }
    throw new ApiError(message, res.status);
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

/** One point of a box's health series (GET /api/devices/:dev_sno/health). */
export interface HealthPoint {
  at: string;
  cpu_pct: number | null;
  mem_pct: number | null;
  disk_pct: number | null;
}

export const api = {
  summary: () => getJson<Summary>('/api/summary'),
  boxes: (q: { q?: string; status?: string; location?: string; version?: string; disk_min?: string; sort?: string; order?: string; limit: number; offset: number }) => {
    const p = new URLSearchParams({ limit: String(q.limit), offset: String(q.offset) });
    for (const k of ['q', 'status', 'location', 'version', 'disk_min', 'sort', 'order'] as const) if (q[k]) p.set(k, q[k]);
    return getJson<{ total: number; boxes: Box[] }>(`/api/devices?${p}`);
  },
  box: (devSno: string) => getJson<{ box: Box; sub_devices: SubDevice[] }>(`/api/devices/${encodeURIComponent(devSno)}`),
  boxHistory: (devSno: string, limit = 100) =>
    getJson<{ entries: HistoryEntry[] }>(`/api/devices/${encodeURIComponent(devSno)}/history?limit=${limit}`),
  boxHealth: (devSno: string) =>
    getJson<{ points: HealthPoint[] }>(`/api/devices/${encodeURIComponent(devSno)}/health?window=24h`),
  fleetHistory: (limit = 100) => getJson<{ entries: HistoryEntry[] }>(`/api/history?limit=${limit}`),

  async login(token: string): Promise<boolean> {
    const res = await fetch('/api/login', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token }),
    });
    if (res.status === 401) return false;
    if (!res.ok) throw new Error(`${res.status} ${res.statusText}`);
    return true;
  },
  async logout(): Promise<void> {
    await fetch('/api/logout', { method: 'POST', credentials: 'same-origin' });
  },
};
