// The devstatus operator console: problems, boxes, one box, history and the registry, kept current
// by the receiver's live stream. Routes: router.ts.
import { render } from 'preact';
import { api } from './api.js';
import { App } from './app.js';
import { adoptPathRoute } from './router.js';
import { showLogin, start } from './state/session.js';
import './style.css';

async function boot(): Promise<void> {
  // A login link (`/?token=...`, printed once by the receiver) logs in and then drops the token
  // from the address bar and history.
  const params = new URLSearchParams(location.search);
  const token = params.get('token');
  if (token) {
    params.delete('token');
    const qs = params.toString();
    history.replaceState(null, '', `${location.pathname}${qs ? `?${qs}` : ''}${location.hash}`);
  }
  adoptPathRoute();
  if (token) {
    try {
      if (!(await api.login(token))) return showLogin({ key: 'login.badLink' });
    } catch (e) {
      return showLogin({ text: e instanceof Error ? e.message : String(e) });
    }
  }
  await start();
}

render(<App />, document.getElementById('app')!);
void boot();
