// The login form: the admin token, checked by the receiver, which then sets the session cookie.
import { useEffect, useRef, useState } from 'preact/hooks';
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
  const [message, setMessage] = useState<Notice | undefined>(notice);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    document.title = t('app.titleLogin');
    input.current?.focus();
  }, []);

  const submit = (ev: Event) => {
    ev.preventDefault();
    setBusy(true);
    setMessage(undefined);
    api
      .login(input.current?.value.trim() ?? '')
      .then((ok) => {
        if (ok) return start();
        setMessage({ key: 'login.wrong' });
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
        <input ref={input} type="password" name="token" placeholder={t('login.token')} autocomplete="current-password" aria-label={t('login.token')} />
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
