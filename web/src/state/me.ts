// Who is logged in and with which role, fetched once per login: pages hide what the role may not
// do (the receiver refuses it anyway).
import { signal } from '@preact/signals';
import { adminApi, type Me, type Role } from '../admin-api.js';

export const me = signal<Me | null>(null);
let loading: Promise<void> | null = null;

export function loadMe(): Promise<void> {
  loading ??= adminApi
    .me()
    .then((m) => {
      me.value = m;
    })
    // No /api/me: the receiver runs without logins, everyone may do everything.
    .catch((e: unknown) => {
      me.value = e instanceof Error && /^404\b|not found/i.test(e.message) ? { username: null, actor: 'admin', role: 'admin' } : null;
    })
    .finally(() => {
      loading = null;
    });
  return loading;
}

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

/** Whether the logged-in caller has at least `role` (false while unknown). */
export function can(role: Role): boolean {
  const m = me.value;
  return m !== null && RANK[m.role] >= RANK[role];
}
