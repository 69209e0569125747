// Every phrase of an alert message in zh-CN and en. Both tables have the same keys (the type
// says so, and test/alert-channels.test.ts checks it at run time); a zh-CN phrase contains
// no English words, so a Chinese message reads as Chinese whatever it is about.
import type { Lang } from './model.js';

export interface Phrases {
  appName: string;
  /** Tags go in the title's bracket: alert or recovery, reminder, escalation. */
  alertTitle: (tags: string, label: string, headline: string) => string;
  tagSeparator: string;
  tagAlert: string;
  tagRecovery: string;
  tagReminder: (n: number) => string;
  tagEscalated: string;
  testTitle: string;
  testBody: (target: string) => string;
  camerasOfflineAtBoxes: (cameras: number, boxes: number) => string;
  boxesOffline: (n: number) => string;
  camerasUnknown: (n: number) => string;
  camerasRecovered: (n: number) => string;
  boxesRecovered: (n: number) => string;
  nothingChanged: string;
  listSeparator: string;
  colon: string;
  parenthesized: (s: string) => string;
  sectionDown: (n: number) => string;
  sectionUp: (n: number) => string;
  reminder: (n: number) => string;
  escalation: (level: number) => string;
  flapping: (name: string, transitions: number) => string;
  flappingNotice: (n: number) => string;
  /** Next to one entry: how often it changed in the window. */
  flapMark: (n: number) => string;
  offlineFor: (duration: string) => string;
  unknownFor: (duration: string) => string;
  backOnline: string;
  backOnlineAfter: (duration: string) => string;
  sinceTime: (time: string) => string;
  recoveredAtTime: (time: string) => string;
  moreItems: (n: number) => string;
  truncated: string;
  viewAll: string;
  openDashboard: string;
  box: string;
  camera: string;
  group: string;
  status: string;
  address: string;
  location: string;
  reasonLabel: string;
  changedAt: string;
  unnamedCamera: string;
  unnamedBox: string;
  statusName: Record<'online' | 'offline' | 'unknown', string>;
  reasonName: Record<'first_seen' | 'report' | 'missing_from_report' | 'report_timeout', string>;
  epTypeName: Record<'photo' | 'rtsp' | 'file' | 'gb28181', string>;
  lessThanMinute: string;
  minutes: (n: number) => string;
  hoursMinutes: (h: number, m: number) => string;
  daysHours: (d: number, h: number) => string;
}

const zh: Phrases = {
  appName: '设备状态监控',
  alertTitle: (tags, label, headline) => `【${tags}】${label}：${headline}`,
  tagSeparator: '·',
  tagAlert: '设备告警',
  tagRecovery: '设备恢复',
  tagReminder: (n) => `第 ${n} 次提醒`,
  tagEscalated: '已升级',
  testTitle: '【设备告警】测试消息',
  testBody: (target) => `这是一条测试消息。收到它说明告警通道“${target}”配置正确，可以正常送达。`,
  camerasOfflineAtBoxes: (cameras, boxes) => `${boxes} 台设备下 ${cameras} 个摄像头离线`,
  boxesOffline: (n) => `${n} 台设备离线`,
  camerasUnknown: (n) => `${n} 个摄像头状态未知`,
  camerasRecovered: (n) => `${n} 个摄像头恢复在线`,
  boxesRecovered: (n) => `${n} 台设备恢复在线`,
  nothingChanged: '无状态变化',
  listSeparator: '，',
  colon: '：',
  parenthesized: (s) => `（${s}）`,
  sectionDown: (n) => `离线（${n}）`,
  sectionUp: (n) => `已恢复（${n}）`,
  reminder: (n) => `第 ${n} 次提醒：以下问题仍未恢复`,
  escalation: (level) => `已升级（第 ${level} 级）：长时间未恢复`,
  flapping: (name, n) => `${name} 状态反复变化（共 ${n} 次），已合并为一条通知`,
  flappingNotice: (n) => `${n} 个对象状态反复变化，已合并通知`,
  flapMark: (n) => `反复变化 ${n} 次`,
  offlineFor: (d) => `离线 ${d}`,
  unknownFor: (d) => `状态未知 ${d}`,
  backOnline: '已恢复在线',
  backOnlineAfter: (d) => `离线 ${d}后恢复在线`,
  sinceTime: (t) => `${t} 起`,
  recoveredAtTime: (t) => `${t} 恢复`,
  moreItems: (n) => `……另有 ${n} 项未列出`,
  truncated: '…(已截断)',
  viewAll: '查看全部',
  openDashboard: '打开监控页面',
  box: '设备',
  camera: '摄像头',
  group: '分组',
  status: '状态',
  address: '地址',
  location: '位置',
  reasonLabel: '原因',
  changedAt: '变化时间',
  unnamedCamera: '未命名摄像头',
  unnamedBox: '未命名设备',
  statusName: { online: '在线', offline: '离线', unknown: '未知' },
  reasonName: {
    first_seen: '首次上报',
    report: '设备上报',
    missing_from_report: '未出现在设备上报中',
    report_timeout: '设备超时未上报',
  },
  epTypeName: { photo: '图片抓拍', rtsp: '视频流', file: '文件', gb28181: '国标 28181' },
  lessThanMinute: '不到 1 分钟',
  minutes: (n) => `${n} 分钟`,
  hoursMinutes: (h, m) => (m ? `${h} 小时 ${m} 分钟` : `${h} 小时`),
  daysHours: (d, h) => (h ? `${d} 天 ${h} 小时` : `${d} 天`),
};

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

const en: Phrases = {
  appName: 'devstatus',
  alertTitle: (tags, label, headline) => `[${tags}] ${label}: ${headline}`,
  tagSeparator: ' · ',
  tagAlert: 'devstatus',
  tagRecovery: 'devstatus recovered',
  tagReminder: (n) => `reminder #${n}`,
  tagEscalated: 'escalated',
  testTitle: '[devstatus] Test message',
  testBody: (target) => `This is a test message. If you can read it, the alert channel "${target}" is set up and delivers.`,
  camerasOfflineAtBoxes: (cameras, boxes) => `${plural(cameras, 'camera', 'cameras')} offline at ${plural(boxes, 'box', 'boxes')}`,
  boxesOffline: (n) => `${plural(n, 'box', 'boxes')} offline`,
  camerasUnknown: (n) => `${plural(n, 'camera', 'cameras')} in unknown state`,
  camerasRecovered: (n) => `${plural(n, 'camera', 'cameras')} back online`,
  boxesRecovered: (n) => `${plural(n, 'box', 'boxes')} back online`,
  nothingChanged: 'no status changes',
  listSeparator: ', ',
  colon: ': ',
  parenthesized: (s) => ` (${s})`,
  sectionDown: (n) => `Offline (${n})`,
  sectionUp: (n) => `Recovered (${n})`,
  reminder: (n) => `Reminder #${n}: these problems are still open`,
  escalation: (level) => `Escalated (level ${level}): unresolved for a long time`,
  flapping: (name, n) => `${name} keeps changing state (${n} changes), folded into one notice`,
  flappingNotice: (n) => `${plural(n, 'device keeps', 'devices keep')} changing state; changes were folded`,
  flapMark: (n) => `changed ${n} times`,
  offlineFor: (d) => `offline for ${d}`,
  unknownFor: (d) => `status unknown for ${d}`,
  backOnline: 'back online',
  backOnlineAfter: (d) => `back online after ${d} offline`,
  sinceTime: (t) => `since ${t}`,
  recoveredAtTime: (t) => `recovered ${t}`,
  moreItems: (n) => `…and ${n} more`,
  truncated: '…(truncated)',
  viewAll: 'view all',
  openDashboard: 'Open the dashboard',
  box: 'Box',
  camera: 'Camera',
  group: 'Group',
  status: 'Status',
  address: 'Address',
  location: 'Location',
  reasonLabel: 'Reason',
  changedAt: 'Changed at',
  unnamedCamera: 'unnamed camera',
  unnamedBox: 'unnamed box',
  statusName: { online: 'online', offline: 'offline', unknown: 'unknown' },
  reasonName: {
    first_seen: 'first report',
    report: 'reported by the box',
    missing_from_report: "missing from the box's report",
    report_timeout: 'no report in time',
  },
  epTypeName: { photo: 'photo', rtsp: 'RTSP stream', file: 'file', gb28181: 'GB28181' },
  lessThanMinute: 'less than a minute',
  minutes: (n) => `${n} min`,
  hoursMinutes: (h, m) => (m ? `${h} h ${m} min` : `${h} h`),
  daysHours: (d, h) => (h ? `${d} d ${h} h` : `${d} d`),
};

export const PHRASES: Record<Lang, Phrases> = { 'zh-CN': zh, en };

export function phrases(lang: Lang): Phrases {
  return PHRASES[lang];
}
