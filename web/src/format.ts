// Times as an operator reads them: "12 s ago" / "12 秒前", with the exact date, time and time
// zone on hover (operators compare them with logs from boxes in other places).
import { isMessageKey, lang, t } from './i18n/index.js';

export function relativeTime(iso: string, now = Date.now()): string {
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return '—';
  const s = Math.round((now - at) / 1000);
  if (s < 5) return t('time.justNow');
  if (s < 60) return t('time.seconds', { n: s });
  const m = Math.floor(s / 60);
  if (m < 60) return t('time.minutes', { n: m });
  const h = Math.floor(m / 60);
  if (h < 48) return t('time.hours', { n: h });
  return t('time.days', { n: Math.floor(h / 24) });
}

const formats = new Map<string, Intl.DateTimeFormat>();
const OPTIONS: Record<'full' | 'dayClock' | 'clock', Intl.DateTimeFormatOptions> = {
  full: {
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
    timeZoneName: 'short',
  },
  dayClock: { month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' },
  clock: { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' },
};
function format(kind: keyof typeof OPTIONS): Intl.DateTimeFormat {
  const key = `${lang.value}/${kind}`;
  let f = formats.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(lang.value, OPTIONS[kind]);
    formats.set(key, f);
  }
  return f;
}

/** Date, time and time zone, e.g. "2026/11/25 14:03:07 UTC". */
export function absoluteTime(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : format('full').format(d);
}

/** Time of day, with the date when it is not today (the timeline; the full time is on hover). */
export function clockTime(iso: string, now = Date.now()): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return format(d.toDateString() === new Date(now).toDateString() ? 'clock' : 'dayClock').format(d);
}

/** Why a status changed, in words. */
export function reasonText(reason: string): string {
  const key = `reason.${reason}`;
  return isMessageKey(key) ? t(key) : reason;
}

/** A status word (online, offline, unknown, removed) in the current language. */
export function statusText(status: string): string {
  const key = `status.${status}`;
  return isMessageKey(key) ? t(key) : status;
}
