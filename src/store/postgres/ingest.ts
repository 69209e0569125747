// Ingest on PostgreSQL: reports that arrive together are committed in one transaction (group
// commit) that first locks the rows of their boxes (ingest-write.ts), so receivers ingesting the
// same box never lose or duplicate a transition; if one report fails, the batch is redone with
// a savepoint per report so it fails alone. Reports go to lanes (a box always to the same one),
// each writing one batch at a time.
import type pg from 'pg';
import type { Report } from '../../protocol/index.js';
import { asError, pendingReport, storeClosed, type PendingReport } from '../batch.js';
import { timeoutTransitions } from '../diff.js';
import type { IngestOptions, IngestResult, Transition } from '../types.js';
import { isTransient } from './connection.js';
import { hash32 } from './coordination.js';
import { prepareIngestConnection } from './ingest-session.js';
import { advance, lockBoxes, plan, writeInWaves, writePlans, type Planned } from './ingest-write.js';

/** Most box + sub-device rows in one batch (a report has at most 4096 sub-devices). */
const MAX_BATCH_ROWS = 20_000;

interface Lane {
  pending: PendingReport[];
  running: Promise<void> | null;
  /** Settles once every report this lane has accepted so far is written (or has failed). */
  last: Promise<unknown>;
}

const byDevSno = (a: PendingReport, b: PendingReport) =>
  a.report.dev_sno < b.report.dev_sno ? -1 : a.report.dev_sno > b.report.dev_sno ? 1 : 0;

export class PgIngest {
  private readonly lanes: Lane[];
  private closed = false;

  /**
   * pool: for the silent-box sweep; ingestPool: connections used for nothing but ingest
   * (ingest-session.ts sets them up), one per lane.
   */
  constructor(
    private readonly pool: pg.Pool,
    private readonly ingestPool: pg.Pool,
    private readonly maxBatch: number,
    lanes: number,
  ) {
    this.lanes = Array.from({ length: Math.max(1, lanes) }, () => ({
      pending: [],
      running: null,
      last: Promise.resolve(),
    }));
  }

  ingest(report: Report, receivedAt: number, opts: IngestOptions): Promise<IngestResult> {
    if (this.closed) return Promise.reject(storeClosed());
    // A box always goes to the same lane, so its reports are applied in the order they came.
    const lane = this.lanes[(hash32(report.dev_sno) >>> 0) % this.lanes.length]!;
    const result = new Promise<IngestResult>((resolve, reject) => {
      lane.pending.push(pendingReport(report, receivedAt, opts, resolve, reject));
      if (!lane.running) {
        // setImmediate lets every request already parsed in this tick join the batch.
        lane.running = new Promise((done) => setImmediate(() => void this.drain(lane).finally(done)));
      }
    });
    // A lane writes its reports in order, so this one settling means all before it have.
    lane.last = result.catch(() => {});
    return result;
  }

  /** Accepts nothing more; resolves once what was accepted is written. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.lanes.map((l) => l.running));
  }

  /**
   * Marks offline every online box silent since cutoffMs, once. One statement: the rows are
   * locked in dev_sno order (as ingest locks them) and re-checked once locked, so a box that
   * another receiver has just marked offline, or that has just reported, is left alone: each
   * timeout is recorded once, by one receiver.
   */
  async markSilentBoxesOffline(cutoffMs: number, now: number): Promise<Transition[]> {
    // Reports this process has received but not yet written would otherwise look silent.
    await Promise.all(this.lanes.map((l) => l.last));
    const { rows } = await this.pool.query<{ dev_sno: string }>({
      name: 'devstatus_mark_silent',
      text: `WITH due AS (
               SELECT dev_sno FROM boxes WHERE status = 'online' AND last_report_at < $1 ORDER BY dev_sno FOR UPDATE),
             gone AS (
               UPDATE boxes b SET status = 'offline', status_changed_at = $2 FROM due
               WHERE b.dev_sno = due.dev_sno RETURNING b.dev_sno),
             hist AS (
               INSERT INTO history (at, dev_sno, ep_id, from_status, to_status, reason)
               SELECT $2::bigint, dev_sno, NULL, 'online', 'offline', 'report_timeout' FROM gone ORDER BY dev_sno)
             SELECT dev_sno FROM gone ORDER BY dev_sno`,
      values: [cutoffMs, now],
    });
    return timeoutTransitions(rows.map((r) => r.dev_sno), now);
  }

  private async drain(lane: Lane): Promise<void> {
    while (lane.pending.length > 0) {
      // Bounded in reports and in rows, so one statement never carries a huge fleet at once.
      let n = 0;
      let rows = 0;
      while (n < lane.pending.length && n < this.maxBatch && rows < MAX_BATCH_ROWS) {
        rows += 1 + lane.pending[n]!.report.sub_devices.length;
        n++;
      }
      await this.writeBatch(lane.pending.splice(0, n));
    }
    lane.running = null;
  }

  /**
   * One transaction for the batch; nothing resolves before COMMIT. First without savepoints
   * (a few multi-row statements for the whole batch); if a report fails, the batch is rolled
   * back and written again with a savepoint per report, so only the failing one is lost.
   */
  private async writeBatch(batch: PendingReport[]): Promise<void> {
    // Grouped by box; the sort is stable, so a box's reports keep the order they came in.
    batch.sort(byDevSno);
    let client: pg.PoolClient | undefined;
    let results: Array<IngestResult | Error>;
    try {
      client = await this.ingestPool.connect();
      await prepareIngestConnection(client);
      results = (await this.tryBatch(client, batch, false)) ?? (await this.tryBatch(client, batch, true))!;
    } catch (e) {
      // The connection or the commit failed: no report of this batch is acknowledged.
      client?.release(e instanceof Error ? e : true);
      for (const p of batch) p.reject(e);
      return;
    }
    client.release();
    batch.forEach((p, i) => {
      const r = results[i]!;
      if (r instanceof Error) p.reject(r);
      else p.resolve(r);
    });
  }

  /** null: without savepoints a report failed and the transaction was rolled back. */
  private async tryBatch(
    c: pg.PoolClient,
    batch: PendingReport[],
    savepoints: boolean,
  ): Promise<Array<IngestResult | Error> | null> {
    for (let attempt = 1; ; attempt++) {
      await c.query('BEGIN');
      try {
        const state = await lockBoxes(c, batch);
        let results: Array<IngestResult | Error>;
        let pending = '';
        if (!savepoints) {
          try {
            results = await writeInWaves(c, batch, state);
          } catch {
            await c.query('ROLLBACK');
            return null;
          }
        } else {
          results = [];
          for (const p of batch) {
            let planned: Planned;
            try {
              planned = plan(p, state);
            } catch (e) {
              // Refused by the registry: nothing was written for it.
              results.push(asError(e));
              continue;
            }
            // The end of the previous report's savepoint travels with the next statement.
            await c.query(`${pending}SAVEPOINT report`);
            try {
              await writePlans(c, [planned]);
              advance(state, planned);
              results.push({ transitions: planned.plan.transitions });
              pending = 'RELEASE SAVEPOINT report; ';
            } catch (e) {
              pending = 'ROLLBACK TO SAVEPOINT report; RELEASE SAVEPOINT report; ';
              results.push(asError(e));
            }
          }
        }
        // A box claimed for reports that all failed must not stay behind.
        const orphans = [...state.boxes].filter(([, b]) => b.status === null).map(([devSno]) => devSno);
        if (orphans.length) {
          if (pending) await c.query(pending.trim());
          pending = '';
          await c.query('DELETE FROM boxes WHERE dev_sno = ANY($1::text[]) AND report_count = 0', [orphans]);
        }
        await c.query(`${pending}COMMIT`);
        return results;
      } catch (e) {
        await c.query('ROLLBACK');
        // Deadlock with another writer (not ingest: ingest locks in one order): try again.
        if (isTransient(e) && attempt < 3) continue;
        throw e;
      }
    }
  }
}
