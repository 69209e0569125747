// The accounts part of the API, as the dashboard uses it: password logins, users and roles, the
// audit log. Same origin, JSON bodies (the receiver refuses anything else on state changes).
import { Unauthorized } from './api.js';

// The shapes are the store's own (src/store/accounts.ts has no Node imports).
import type { AuditEntry, Role, User } from '../../src/store/accounts.js';

export type { AuditEntry, Role, User };
export { ROLES } from '../../src/store/accounts.js';

export interface Me {
  username: string | null;
  actor: string;
  role: Role;
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: { accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 401) throw new Unauthorized();
  const data = (await res.json().catch(() => ({}))) as { message?: string };
  if (!res.ok) throw new Error(data.message ?? `${res.status} ${res.statusText}`);
  return data as T;
}

export const adminApi = {
  /** true: logged in; false: wrong name or password; a string: why not (rate limited…). */
  async loginWithPassword(username: string, password: string): Promise<true | false | string> {
    const res = await fetch('/api/login', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password }),
    });
    if (res.ok) return true;
    if (res.status === 401) return false;
    return ((await res.json().catch(() => ({}))) as { message?: string }).message ?? `${res.status}`;
  },
  me: () => call<Me>('GET', '/api/me'),
  users: () => call<{ users: User[] }>('GET', '/api/users'),
  addUser: (u: { username: string; password: string; role: Role }) => call<User>('POST', '/api/users', u),
  setRole: (username: string, role: Role) => call<User>('PATCH', `/api/users/${encodeURIComponent(username)}`, { role }),
  removeUser: (username: string) => call<{ ok: true }>('DELETE', `/api/users/${encodeURIComponent(username)}`),
  audit: (before?: number) => call<{ entries: AuditEntry[] }>('GET', `/api/audit?limit=100${before ? `&before=${before}` : ''}`),
};
