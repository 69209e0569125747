// Logged in or not, the error bar, and the live connection that lives as long as the login.
import { signal } from '@preact/signals';
import { api, Unauthorized } from '../api.js';
import { t, type MessageKey } from '../i18n/index.js';
import { LiveConnection, everConnected } from './live.js';
import { loadMe } from './me.js';

/** A notice on the login form: one of ours (translated when shown) or the server's words. */
export type Notice = { key: MessageKey } | { text: string };

export type Session = { kind: 'checking' } | { kind: 'login'; notice?: Notice } | { kind: 'in' };

export const session = signal<Session>({ kind: 'checking' });
/** The last failure to load data (null: none), shown under the header until the next success. */
export const loadError = signal<string | null>(null);

let live: LiveConnection | null = null;

export function showLogin(notice?: Notice): void {
  live?.close();
  live = null;
  session.value = notice ? { kind: 'login', notice } : { kind: 'login' };
}

/** What every failed fetch goes through: a lost login shows the login form, the rest the bar. */
export function handleError(e: unknown): void {
  if (e instanceof Unauthorized) {
    showLogin({ key: 'login.expired' });
    return;
  }
  loadError.value = t('app.loadError', { message: e instanceof Error ? e.message : String(e) });
}

/** Checks the login, then shows the pages and opens the live stream. */
export async function start(): Promise<void> {
  try {
    await api.summary();
  } catch (e) {
    if (e instanceof Unauthorized) return showLogin();
    // Anything else: show the page anyway, with the error.
  }
  loadError.value = null;
  void loadMe();
  session.value = { kind: 'in' };
  live?.close();
  everConnected.value = false;
  live = new LiveConnection(() => showLogin({ key: 'login.expired' }));
  // Opened before the views' first fetch completes, so nothing falls in between.
  live.open();
}

export async function logout(): Promise<void> {
  await api.logout();
  showLogin();
}
