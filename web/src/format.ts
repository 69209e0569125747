// Times as an operator reads them: "12 s ago" / "12 秒前", date and time in the operator's zone
// (state/zone.ts) with the zone named, and how long something has lasted ("2 h 5 min").
import { textWithoutUserInfo } from '../../src/protocol/redact.js';
import { isMessageKey, lang, t } from './i18n/index.js';
import { zone } from './state/zone.js';

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

/** A length of time in the two largest units: "45 s", "12 min", "2 h 5 min", "3 d 4 h". */
export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return t('dur.s', { n: s });
  const m = Math.floor(s / 60);
  if (m < 60) return t('dur.m', { n: m });
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 ? t('dur.hm', { h, m: m % 60 }) : t('dur.h', { n: h });
  const d = Math.floor(h / 24);
  return h % 24 ? t('dur.dh', { d, h: h % 24 }) : t('dur.d', { n: d });
}

const formats = new Map<string, Intl.DateTimeFormat>();
const OPTIONS: Record<'full' | 'short' | 'dayClock' | 'clock' | 'hourMinute' | 'day', Intl.DateTimeFormatOptions> = {
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
  short: { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZoneName: 'short' },
  dayClock: { month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' },
  clock: { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' },
  hourMinute: { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' },
  day: { month: '2-digit', day: '2-digit' },
};
function format(kind: keyof typeof OPTIONS): Intl.DateTimeFormat {
  const tz = zone.value || undefined;
  const key = `${lang.value}/${kind}/${tz ?? ''}`;
  let f = formats.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(lang.value, { ...OPTIONS[kind], ...(tz ? { timeZone: tz } : {}) });
    formats.set(key, f);
  }
  return f;
}

/** The zone last, whatever order the language puts it in ("2026/11/25 GMT+8 14:03" in zh-CN). */
function zoneLast(f: Intl.DateTimeFormat, d: Date): string {
  const parts = f.formatToParts(d);
  const zoneName = parts.find((p) => p.type === 'timeZoneName')?.value ?? '';
  const rest = parts
    .filter((p) => p.type !== 'timeZoneName')
    .map((p) => p.value)
    .join('')
    .replace(/\s+/g, ' ')
    .trim();
  return zoneName ? `${rest} ${zoneName}` : rest;
}

/** Date, time and time zone, e.g. "2026/11/25 14:03:07 UTC". */
export function absoluteTime(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : zoneLast(format('full'), d);
}

/** Date and time to the minute, with the zone: what a table cell shows. */
export function shortDateTime(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : zoneLast(format('short'), d);
}

/** The calendar day of `d` in the operator's zone (to tell whether two times share a day). */
function dayOf(d: Date): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: zone.value || undefined, year: 'numeric', month: '2-digit', day: '2-digit' }).format(d);
}

/** Time of day, with the date when it is not today (the timeline; the full time is on hover). */
export function clockTime(iso: string, now = Date.now()): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return format(dayOf(d) === dayOf(new Date(now)) ? 'clock' : 'dayClock').format(d);
}

/**
 * Labels of a time axis's ticks (seconds since the epoch), short enough not to run into each
 * other: "14:00", with the date under it ("14:00\n11/25") at the first tick of each day; just
 * the date when ticks are a day or more apart.
 */
export function axisTimeLabels(ticks: number[]): string[] {
  const daily = ticks.length > 1 && ticks[1]! - ticks[0]! >= 86_400;
  let lastDay = '';
  return ticks.map((s) => {
    const d = new Date(s * 1000);
    const day = dayOf(d);
    const newDay = day !== lastDay;
    lastDay = day;
    if (daily) return format('day').format(d);
    const clock = format('hourMinute').format(d);
    return newDay ? `${clock}\n${format('day').format(d)}` : clock;
  });
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

/** An address or stream URL with any user:password removed (never shown, even if sent), found as the receiver finds it. */
export function withoutCredentials(address: string): string {
  return textWithoutUserInfo(address);
}

/** The wall-clock fields of `d` in the operator's zone. */
function wallClock(d: Date): number[] {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone: zone.value || undefined,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
  }).formatToParts(d);
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return [get('year'), get('month'), get('day'), get('hour'), get('minute')];
}

function zoneOffsetMs(d: Date): number {
  const [y = 0, mo = 1, day = 1, h = 0, mi = 0] = wallClock(d);
  return Date.UTC(y, mo - 1, day, h, mi) - Math.floor(d.getTime() / 60_000) * 60_000;
}

/** A date-time input's value ("2026-11-25T14:03"), read in the operator's zone, as ISO ('' stays ''). */
export function zonedInputToIso(value: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(value);
  if (!m) return '';
  const guess = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!);
  const first = guess - zoneOffsetMs(new Date(guess));
  return new Date(guess - zoneOffsetMs(new Date(first))).toISOString();
}

/** ISO as a date-time input's value in the operator's zone. */
export function isoToZonedInput(iso: string): string {
  const d = new Date(iso);
  if (!iso || Number.isNaN(d.getTime())) return '';
  const [y = 0, mo = 1, day = 1, h = 0, mi = 0] = wallClock(d);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${y}-${p(mo)}-${p(day)}T${p(h)}:${p(mi)}`;
}
