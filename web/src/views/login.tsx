// The login form: the admin token, checked by the receiver, which then sets the session cookie.
import { useEffect, useRef, useState } from 'preact/hooks';
import { adminApi } from '../admin-api.js';
import { api } from '../api.js';
import { LangSwitch } from '../components/lang-switch.js';
import { t, tParts } from '../i18n/index.js';
import { start, type Notice } from '../state/session.js';

function noticeText(notice: Notice | undefined): string {
  if (!notice) return '';
  return 'key' in notice ? t(notice.key) : notice.text;
}

export function LoginView({ notice }: { notice?: Notice }) {
  const input = useRef<HTMLInputElement>(null);
  const user = useRef<HTMLInputElement>(null);
  const [named, setNamed] = useState(false);
  const [message, setMessage] = useState<Notice | undefined>(notice);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    document.title = t('app.titleLogin');
    user.current?.focus();
  }, []);

  const submit = (ev: Event) => {
    ev.preventDefault();
    setBusy(true);
    setMessage(undefined);
    const username = user.current?.value.trim() ?? '';
    // A user name: an operator account; none: the admin token.
    const attempt = username
      ? adminApi.loginWithPassword(username, input.current?.value ?? '')
      : api.login(input.current?.value.trim() ?? '');
    attempt
      .then((ok) => {
        if (ok === true) return start();
        setMessage(typeof ok === 'string' ? { text: ok } : { key: username ? 'login.wrongPassword' : 'login.wrong' });
        input.current?.select();
      })
      .catch((e: unknown) => setMessage({ text: t('login.failed', { status: e instanceof Error ? e.message : String(e) }) }))
      .finally(() => setBusy(false));
  };

  return (
    <div class="login-wrap">
      <form class="login panel" onSubmit={submit}>
        <div class="login-head">
          <h1>devstatus</h1>
          <LangSwitch />
        </div>
        <p>{t('login.intro')}</p>
        <input
          ref={user}
          name="username"
          placeholder={t('login.usernamePlaceholder')}
          autocomplete="username"
          aria-label={t('login.username')}
          onInput={(e) => setNamed((e.target as HTMLInputElement).value.trim() !== '')}
        />
        <input
          ref={input}
          type="password"
          name={named ? 'password' : 'token'}
          placeholder={named ? t('login.password') : t('login.token')}
          autocomplete="current-password"
          aria-label={named ? t('login.password') : t('login.token')}
        />
        <button type="submit" class="primary" disabled={busy}>
          {t('login.submit')}
        </button>
        <p class="error" role="alert">
          {noticeText(message)}
        </p>
        <p class="hint muted">
          {tParts('login.hint', {
            file: <code>admin-token</code>,
            cat: <code>cat data/admin-token</code>,
            flag: <code>--admin-token</code>,
            env: <code>DEVSTATUS_ADMIN_TOKEN</code>,
          })}
        </p>
      </form>
    </div>
  );
}
