// 中文 / English: each name written in its own language, the current one pressed.
import { LANG_NAMES, LANGS, lang, setLang, t } from '../i18n/index.js';

export function LangSwitch() {
  return (
    <div class="lang-switch" role="group" aria-label={t('header.language')}>
      {LANGS.map((l) => (
        <button key={l} type="button" lang={l} aria-pressed={lang.value === l} class={lang.value === l ? 'active' : ''} onClick={() => setLang(l)}>
          {LANG_NAMES[l]}
        </button>
      ))}
    </div>
  );
}
