// How far a reader of the history table may move its cursor. History ids come from a sequence:
// on PostgreSQL a transaction that took a lower id may commit after one with a higher id, so a
// gap may be a transaction still committing (wait for it) or a rolled-back insert (never
// coming). A gap already there `graceMs` ago counts as the latter.
export class HistoryGate {
  /** (highest id seen, when): ids below one seen graceMs ago are settled. */
  private seen: { id: number; at: number }[] = [];

  constructor(private readonly graceMs: number) {}

  /** The leading rows (ordered by id, all > cursor) that can be consumed now. */
  usable<R extends { id: number }>(rows: readonly R[], cursor: number, now: number): R[] {
    const maxId = rows.length ? rows[rows.length - 1]!.id : cursor;
    if (!this.seen.length || this.seen[this.seen.length - 1]!.id < maxId) this.seen.push({ id: maxId, at: now });
    let settled = cursor;
    for (const s of this.seen) if (now - s.at >= this.graceMs) settled = Math.max(settled, s.id);
    this.seen = this.seen.filter((s) => s.id > settled);
    let expected = cursor + 1;
    let n = 0;
    for (const r of rows) {
      if (r.id !== expected && r.id - 1 > settled) break;
      expected = r.id + 1;
      n++;
    }
    return rows.slice(0, n);
  }
}
