// Pieces every rendering shares: the headline with counts, durations, local times, addresses
// without credentials, and one entry as labelled fields (each renderer lays them out).
import { phrases, type Phrases } from './i18n.js';
import { countChanges, hasProblems, type ChangeEntry, type GroupedNotification, type Lang } from './model.js';

export interface RenderOptions {
  lang: Lang;
  /** Times are shown in this zone; the fleet's operators are in China. */
  timeZone?: string;
}

export const DEFAULT_TIME_ZONE = 'Asia/Shanghai';

export function formatDuration(ms: number, p: Phrases): string {
  const minutes = Math.floor(Math.max(0, ms) / 60_000);
  if (minutes < 1) return p.lessThanMinute;
  if (minutes < 60) return p.minutes(minutes);
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return p.hoursMinutes(hours, minutes % 60);
  return p.daysHours(Math.floor(hours / 24), hours % 24);
}

/** "11-25 21:40" in the given zone (the year only when it is not the current one). */
export function formatTime(iso: string, nowIso: string, timeZone = DEFAULT_TIME_ZONE): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const parts = (date: Date) =>
    Object.fromEntries(
      new Intl.DateTimeFormat('en-GB', {
        timeZone,
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
        hourCycle: 'h23',
      })
        .formatToParts(date)
        .map((x) => [x.type, x.value]),
    ) as Record<string, string>;
  const t = parts(d);
  const thisYear = parts(new Date(nowIso)).year;
  const day = `${t.month}-${t.day} ${t.hour}:${t.minute}`;
  return t.year === thisYear ? day : `${t.year}-${day}`;
}

/** Free text (a box's reason) with user:password removed from every URL in it. */
export function stripCredentialsInText(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^@/?#\s]*@/gi, '$1');
}

/** An address as people may see it: user:password removed from rtsp://user:pass@host/… */
export function stripCredentials(address: string): string {
  try {
    const u = new URL(address);
    if (u.username || u.password) {
      u.username = '';
      u.password = '';
      return u.toString();
    }
    return address;
  } catch {
    return address.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/?#\s]*@/i, '$1');
  }
}

export function headline(n: GroupedNotification, p: Phrases): string {
  const c = countChanges(n.changes);
  const parts: string[] = [];
  if (c.camerasOffline) parts.push(p.camerasOfflineAtBoxes(c.camerasOffline, c.boxesWithOfflineCameras));
  if (c.boxesOffline) parts.push(p.boxesOffline(c.boxesOffline));
  if (c.camerasUnknown) parts.push(p.camerasUnknown(c.camerasUnknown));
  if (c.boxesRecovered) parts.push(p.boxesRecovered(c.boxesRecovered));
  if (c.camerasRecovered) parts.push(p.camerasRecovered(c.camerasRecovered));
  return parts.length ? parts.join(p.listSeparator) : p.nothingChanged;
}

export function title(n: GroupedNotification, p: Phrases): string {
  if (n.kind === 'test') return p.testTitle;
  const c = countChanges(n.changes);
  const tags = [hasProblems(c) ? p.tagAlert : p.tagRecovery];
  if (n.escalation) tags.push(p.tagEscalated);
  if (n.reminder) tags.push(p.tagReminder(n.reminder.count));
  return p.alertTitle(tags.join(p.tagSeparator), n.group.label, headline(n, p));
}

/** The status banner lines above the list: reminder, escalation, flapping. */
export function banners(n: GroupedNotification, p: Phrases): string[] {
  const out: string[] = [];
  if (n.escalation) out.push(p.escalation(n.escalation.level));
  if (n.reminder) out.push(p.reminder(n.reminder.count));
  const flapping = n.changes.filter((e) => (e.transitions ?? 1) > 1);
  if (flapping.length === 1) out.push(p.flapping(entryName(flapping[0]!, p), flapping[0]!.transitions!));
  else if (flapping.length > 1) out.push(p.flappingNotice(flapping.length));
  return out;
}

export function boxName(e: ChangeEntry, p: Phrases): string {
  return e.box_name ? `${e.box_name} (${e.dev_sno})` : `${p.unnamedBox} (${e.dev_sno})`;
}

/** What the entry is about, as people call it: the camera's name, or the box's. */
export function entryName(e: ChangeEntry, p: Phrases): string {
  if (e.subject === 'box') return e.box_name ?? e.dev_sno;
  return e.camera_name || e.address ? (e.camera_name || stripCredentials(e.address!)) : p.unnamedCamera;
}

export interface EntryFields {
  name: string;
  /** "Box 3 (SN001)" for a camera; null for a box (its name is `name`). */
  box: string | null;
  type: string | null;
  address: string | null;
  location: string | null;
  /** "offline for 12 min" / "back online after 5 min offline". */
  state: string;
  /** "since 11-25 13:48" for a problem, "recovered 11-25 13:59" for a recovery. */
  when: string;
  reason: string;
  /** The box's own reason for a camera that is offline (ep_detail); null otherwise. */
  detail: string | null;
  /** "changed 5 times" when the entry folds several transitions. */
  flapping: string | null;
  link: string | null;
}

export function entryFields(e: ChangeEntry, n: GroupedNotification, p: Phrases, timeZone?: string): EntryFields {
  const now = Date.parse(n.at);
  let state: string;
  if (e.to === 'online') {
    state = e.from === 'offline' && e.from_since ? p.backOnlineAfter(formatDuration(Date.parse(e.since) - Date.parse(e.from_since), p)) : p.backOnline;
  } else {
    const d = formatDuration(now - Date.parse(e.since), p);
    state = e.to === 'offline' ? p.offlineFor(d) : p.unknownFor(d);
  }
  return {
    name: e.subject === 'box' ? boxName(e, p) : entryName(e, p),
    box: e.subject === 'box' ? null : boxName(e, p),
    type: e.ep_type ? p.epTypeName[e.ep_type] : null,
    // A camera without a name is called by its address; it is not repeated then.
    address: e.address && (e.subject === 'box' || e.camera_name) ? stripCredentials(e.address) : null,
    location: e.location || null,
    state,
    when: (e.to === 'online' ? p.recoveredAtTime : p.sinceTime)(formatTime(e.since, n.at, timeZone)),
    reason: p.reasonName[e.reason],
    detail: e.to === 'offline' && e.detail ? stripCredentialsInText(e.detail) : null,
    flapping: (e.transitions ?? 1) > 1 ? p.flapMark(e.transitions!) : null,
    link: e.link ?? null,
  };
}

export function phrasesFor(opts: RenderOptions): Phrases {
  return phrases(opts.lang);
}
