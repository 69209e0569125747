// How a box logged in to this platform (issue 11): when, from which MAC, the period it was
// told, and a warning when its code logged in from more than one MAC (a cloned box, or a
// replaced board that kept the old code: either way the operator must look).
import { useEffect, useState } from 'preact/hooks';
import type { BoxLogin } from '../../../src/store/api-types.js';
import { getJson } from '../api.js';
import { t } from '../i18n/index.js';
import { TimeAgo } from './time-ago.js';

/** "e0a509123456" → "e0:a5:09:12:34:56", as the label on the box reads. */
export const macText = (mac: string) => mac.match(/.{1,2}/g)?.join(':') ?? mac;

export function BoxLoginFacts({ devSno }: { devSno: string }) {
  const [login, setLogin] = useState<BoxLogin | null>(null);
  useEffect(() => {
    let live = true;
    getJson<{ login: BoxLogin | null }>(`/api/codes/${encodeURIComponent(devSno)}`).then(
      (r) => live && setLogin(r.login),
      () => live && setLogin(null), // a box with no code (open registry, never logged in): nothing to show
    );
    return () => {
      live = false;
    };
    // Fetched when the page opens: logins are rare (every few minutes at most), not live.
  }, [devSno]);
  if (!login) return null;
  return (
    <div class="box-login">
      <div class="facts">
        <span class="fact">
          <span class="fact-label">{t('login.last')}</span>
          <TimeAgo at={login.last_login_at} />
        </span>
        <span class="fact">
          <span class="fact-label">{t('login.mac')}</span>
          <span class="mono">{macText(login.mac)}</span>
        </span>
        <span class="fact">
          <span class="fact-label">{t('login.period')}</span>
          {t('login.every', { n: login.period_s })}
        </span>
      </div>
      {login.mac_conflict ? (
        <p class="warning mac-conflict" role="alert">
          <strong>{t('login.cloned', { n: login.macs.length })}</strong> <span class="mono">{login.macs.map(macText).join(', ')}</span>
        </p>
      ) : null}
    </div>
  );
}
