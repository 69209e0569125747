// The UI language: zh-CN or English, first from the browser's language, then as the operator
// chose it in the header (remembered in localStorage). Components read `lang` through t(), so
// switching re-renders them; `<html lang>` follows for screen readers and font selection.
import { signal } from '@preact/signals';
import { en, type MessageKey, type Messages } from './en.js';
import { zhCN } from './zh-CN.js';

export type { MessageKey } from './en.js';

export const LANGS = ['zh-CN', 'en'] as const;
export type Lang = (typeof LANGS)[number];

export const MESSAGES: Record<Lang, Messages> = { 'zh-CN': zhCN, en };
/** Each language's name, written in that language (for the switch). */
export const LANG_NAMES: Record<Lang, string> = { 'zh-CN': '中文', en: 'English' };

const STORAGE_KEY = 'devstatus.lang';

function isLang(v: unknown): v is Lang {
  return typeof v === 'string' && (LANGS as readonly string[]).includes(v);
}

function storedLang(): Lang | null {
  try {
    const v = localStorage.getItem(STORAGE_KEY);
    return isLang(v) ? v : null;
  } catch {
    return null; // storage disabled
  }
}

/** zh-CN when the browser's first language is Chinese, English otherwise. */
export function langFromNavigator(languages: readonly string[]): Lang {
  return /^zh\b/i.test(languages[0] ?? '') ? 'zh-CN' : 'en';
}

export const lang = signal<Lang>(storedLang() ?? langFromNavigator(navigator.languages.length ? navigator.languages : [navigator.language]));
document.documentElement.lang = lang.value;

export function setLang(next: Lang): void {
  lang.value = next;
  document.documentElement.lang = next;
  try {
    localStorage.setItem(STORAGE_KEY, next);
  } catch {
    /* storage disabled: the choice lasts for this page only */
  }
}

export function isMessageKey(key: string): key is MessageKey {
  return Object.hasOwn(en, key);
}

/** The message for `key` in the current language, `{name}` placeholders filled from `params`. */
export function t(key: MessageKey, params?: Record<string, string | number>): string {
  const text = MESSAGES[lang.value][key];
  return params ? text.replace(/\{(\w+)\}/g, (m, name: string) => (name in params ? String(params[name]) : m)) : text;
}

/** Like t(), but placeholders may be filled with anything (e.g. elements): returns the pieces. */
export function tParts<T>(key: MessageKey, parts: Record<string, T>): (string | T)[] {
  return MESSAGES[lang.value][key]
    .split(/(\{\w+\})/)
    .filter((s) => s !== '')
    .map((s) => {
      const m = /^\{(\w+)\}$/.exec(s);
      return m && m[1]! in parts ? parts[m[1]!]! : s;
    });
}
