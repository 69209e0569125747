// Building a notification from its lines: a box's cameras folded under it, the headline
// counts, the kind and the severity. Pure functions over NotificationItem.
import { severityOf } from './routing.js';
import type { ItemChange, Notification, NotificationCounts, NotificationItem, NotificationKind, Severity } from './types.js';

export const PROBLEMISH: ReadonlySet<ItemChange> = new Set(['problem', 'reminder', 'escalation']);
export const FLAPPISH: ReadonlySet<ItemChange> = new Set(['flapping', 'settled']);
export const NOTICE_ONLY: ReadonlySet<ItemChange> = new Set(['reminder', 'escalation']);

/** The notification that covers these lines (folding cameras under their boxes). */
export function buildNotification(
  head: Pick<Notification, 'id' | 'channel' | 'rule_id' | 'group_key' | 'group_label' | 'created_at'> & { folded_groups?: string[] },
  lines: NotificationItem[],
): Notification {
  const items = foldCameras(lines);
  return {
    ...head,
    kind: kindOf(items),
    severity: severityOfItems(items),
    items,
    covered_event_ids: items.flatMap((i) => [...i.covered_event_ids, ...(i.cameras ?? []).flatMap((c) => c.covered_event_ids)]),
    counts: countItems(items),
  };
}

/** A channel test: no lines, so the channel's setup can be checked end to end. */
export function testNotification(id: string, channel: string, now: number): Notification {
  return { ...buildNotification({ id, channel, rule_id: '', group_key: 'test', group_label: 'test', created_at: now }, []), kind: 'test' };
}

/** Camera lines of a box whose own line is in the same notification, going the same way, move under it. */
export function foldCameras(items: NotificationItem[]): NotificationItem[] {
  const boxes = new Map<string, NotificationItem>();
  for (const i of items) {
    if (i.kind === 'box' && (i.change === 'problem' || i.change === 'recovery')) boxes.set(i.event.dev_sno, { ...i, cameras: [] });
  }
  const out: NotificationItem[] = [];
  for (const i of items) {
    if (i.kind === 'box') {
      out.push(boxes.get(i.event.dev_sno) ?? i);
      continue;
    }
    const box = boxes.get(i.event.dev_sno);
    const sameWay = box && (i.change === box.change || (box.change === 'problem' && i.event.to === 'unknown'));
    if (box && sameWay) box.cameras!.push(i);
    else out.push(i);
  }
  for (const b of boxes.values()) if (b.cameras!.length === 0) delete b.cameras;
  return out;
}

export function countItems(items: NotificationItem[]): NotificationCounts {
  const c: NotificationCounts = {
    boxes_problem: 0,
    cameras_problem: 0,
    cameras_problem_boxes: 0,
    cameras_folded: 0,
    boxes_recovered: 0,
    cameras_recovered: 0,
    flapping: 0,
    other: 0,
    transitions: 0,
  };
  const camBoxes = new Set<string>();
  for (const i of items) {
    c.transitions += i.covered_event_ids.length;
    for (const cam of i.cameras ?? []) c.transitions += cam.covered_event_ids.length;
    c.cameras_folded += i.cameras?.length ?? 0;
    if (FLAPPISH.has(i.change)) c.flapping++;
    else if (PROBLEMISH.has(i.change)) {
      if (i.kind === 'box') c.boxes_problem++;
      else {
        c.cameras_problem++;
        camBoxes.add(i.event.dev_sno);
      }
    } else if (i.change === 'recovery') {
      if (i.kind === 'box') c.boxes_recovered++;
      else c.cameras_recovered++;
    } else c.other++;
  }
  c.cameras_problem_boxes = camBoxes.size;
  return c;
}

export function kindOf(items: NotificationItem[]): NotificationKind {
  const changes = new Set(items.map((i) => i.change));
  const only = (...cs: ItemChange[]) => [...changes].every((c) => cs.includes(c));
  if (only('flapping', 'settled')) return 'flapping';
  if (only('reminder')) return 'reminder';
  if (only('escalation')) return 'escalation';
  if (only('problem', 'reminder', 'escalation')) return 'problems';
  if (only('recovery')) return 'recoveries';
  return 'mixed';
}

export const rank = (s: Severity) => (s === 'critical' ? 2 : s === 'warning' ? 1 : 0);

export function severityOfItems(items: NotificationItem[]): Severity {
  let best: Severity = 'info';
  for (const i of items) {
    if (!PROBLEMISH.has(i.change) && i.change !== 'flapping') continue;
    const s = severityOf(i);
    if (rank(s) > rank(best)) best = s;
  }
  return best;
}
