// Grouped notifications shared by the alert message and channel tests.
import type { ChangeEntry, GroupedNotification, Lang } from '../../src/alerts/message/index.js';

export const AT = '2026-11-25T06:00:00.000Z';
export const minutesBefore = (m: number) => new Date(Date.parse(AT) - m * 60_000).toISOString();
export const DASHBOARD = 'https://devstatus.example.cn/groups/wh3';

export function camera(box: number, cam: number, over: Partial<ChangeEntry> = {}): ChangeEntry {
  return {
    subject: 'sub_device',
    dev_sno: `SN2024000${box}`,
    box_name: `${box}号分析盒`,
    camera_name: `${box}号盒-通道${cam}`,
    ep_type: 'rtsp',
    address: `rtsp://admin:s3cret@192.168.${box}.${cam}:554/live`,
    location: `3号仓库 东门`,
    from: 'online',
    to: 'offline',
    since: minutesBefore(12),
    reason: 'missing_from_report',
    link: `${DASHBOARD}/SN2024000${box}`,
    ...over,
  };
}

/** 12 cameras offline at 3 boxes, 1 box offline, 2 cameras back online. */
export function sample(over: Partial<GroupedNotification> = {}): GroupedNotification {
  const changes: ChangeEntry[] = [];
  for (let box = 1; box <= 3; box++) for (let cam = 1; cam <= 4; cam++) changes.push(camera(box, cam));
  changes.push({
    subject: 'box',
    dev_sno: 'SN20240009',
    box_name: '9号分析盒',
    location: '3号仓库',
    from: 'online',
    to: 'offline',
    since: minutesBefore(30),
    reason: 'report_timeout',
  });
  changes.push(camera(4, 1, { from: 'offline', to: 'online', since: minutesBefore(1), from_since: minutesBefore(6), reason: 'report' }));
  changes.push(camera(4, 2, { from: 'offline', to: 'online', since: minutesBefore(1), from_since: minutesBefore(6), reason: 'report' }));
  return { kind: 'alert', group: { key: 'loc:wh3', label: '3号仓库' }, changes, at: AT, link: DASHBOARD, ...over };
}

export function many(n: number): GroupedNotification {
  const changes = Array.from({ length: n }, (_, i) => camera(1 + (i % 9), i));
  return { kind: 'alert', group: { key: 'all', label: '全部设备' }, changes, at: AT, link: DASHBOARD };
}

/** English words left in a zh-CN text once URLs are taken out (acronyms of 2 letters are fine). */
export function englishWords(text: string): string[] {
  const withoutUrls = text.replace(/[a-z][a-z0-9+.-]*:\/\/[^\s)<>"']+/gi, ' ');
  return withoutUrls.match(/[A-Za-z]{3,}/g) ?? [];
}

/** Entries listed in a rendering, from the "more" line: total - omitted. */
export function omittedIn(text: string, lang: Lang): number {
  const m = lang === 'en' ? /…and (\d+) more/.exec(text) : /……另有 (\d+) 项未列出/.exec(text);
  return m ? Number(m[1]) : 0;
}
