// What the ingest bench prints: one table per fleet size and scenario, every figure next to bare
// node:http measured in the same run, then the targets of issue 14 with what was reached.
import type { Scenario } from './fleet-bodies.js';
import type { TableActivity } from './pg-tables.js';

export interface Row {
  boxes: number;
  scenario: Scenario;
  server: string;
  store: 'bare' | 'sqlite' | 'postgres';
  receivers: number;
  reports_per_s?: number;
  p50_ms?: number;
  p99_ms?: number;
  /** reports/s over bare node:http's in the same fleet and scenario (its round just before this one, when measured). */
  ratio?: number;
  /** bare node:http's reports/s and CPU in a round of the same scenario right before this one. */
  bare_then_reports_per_s?: number;
  bare_then_cpu_us?: number;
  /** With --pairs: each pair's ratio to its bare round, in the order measured (the median pair is the row). */
  pair_ratios?: number[];
  /** CPU per report of the whole system under test: receiver(s) and PostgreSQL's processes, µs. */
  cpu_us?: number;
  /** The part of cpu_us spent in PostgreSQL's processes. */
  pg_cpu_us?: number;
  /** The part of pg_cpu_us spent in the server's shared writers (WAL writer, checkpointer, background writer). */
  pg_shared_cpu_us?: number;
  /** bare's CPU per report over this one's: the share of the bare server's efficiency. */
  cpu_ratio?: number;
  /** Per report: bytes the SQLite receiver wrote to storage (WAL and checkpoints); for PostgreSQL, bytes of WAL the server generated. */
  disk_bytes?: number;
  /** Peak resident memory of the (largest) receiver process since it started, MiB. */
  peak_rss_mib?: number;
  /** The generator's CPU as a share of one core: near 1 it may be what limits the rate. */
  generator_busy?: number;
  /** Share of the round's reports the receiver(s) recognized as byte-for-byte repeats (from /metrics). */
  repeats_recognized?: number;
  repeat_cache_mib?: number;
  pg_tables?: TableActivity[];
  note?: string;
}

/** Every box's first report (creates its rows): measured, but not one of the compared scenarios. */
export interface FillRow {
  boxes: number;
  server: string;
  reports_per_s: number;
  p99_ms: number;
  cpu_us?: number;
  pg_cpu_us?: number;
  /** Whether every box sent its first report within --fill-limit. */
  complete: boolean;
}

export interface TargetCheck {
  what: string;
  value: string;
  target: string;
  ok: boolean;
}

const fixed = (v: number | undefined, digits = 0) => (v === undefined ? '-' : v.toFixed(digits));
const latency = (v: number | undefined) => (v === undefined ? '-' : v < 1 ? v.toFixed(2) : v.toFixed(1));

/** With --pairs: the lowest and highest pair's ratio beside the median's. */
const pairSpread = (r: Row) =>
  r.pair_ratios ? ` (${Math.min(...r.pair_ratios).toFixed(2)}-${Math.max(...r.pair_ratios).toFixed(2)})` : '';

export function fillRatios(rows: Row[]): void {
  for (const r of rows) {
    // The bare round right before this one when there is one: the machine's speed drifts over
    // the minutes a bench takes (by a third on a shared 2-core VM), a neighbouring round less.
    const first = rows.find((b) => b.store === 'bare' && b.boxes === r.boxes && b.scenario === r.scenario);
    const baseRate = r.bare_then_reports_per_s ?? first?.reports_per_s;
    const baseCpu = r.bare_then_cpu_us ?? first?.cpu_us;
    if (baseRate && r.reports_per_s) r.ratio = Math.round((r.reports_per_s / baseRate) * 100) / 100;
    if (baseCpu && r.cpu_us) r.cpu_ratio = Math.round((baseCpu / r.cpu_us) * 100) / 100;
  }
}

/**
 * Left-aligns the first `left` columns, right-aligns the figures after them. A row shorter than
 * the header (a server with a note instead of figures) prints its note as is, after the name.
 */
function printTable(table: string[][], left = 1): void {
  const full = table.filter((row) => row.length === table[0]!.length);
  const widths = table[0]!.map((_, c) => Math.max(...(c === 0 ? table : full).map((row) => (row[c] ?? '').length)));
  for (const row of table) {
    if (row.length < table[0]!.length) console.log(`${row[0]!.padEnd(widths[0]!)}  ${row.slice(1).join('  ')}`);
    else console.log(row.map((cell, c) => (c < left ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ').trimEnd());
  }
}

export function printRows(rows: Row[], fills: FillRow[]): void {
  const groups = [...new Set(rows.map((r) => `${r.boxes}|${r.scenario}`))];
  for (const g of groups) {
    const [boxes, scenario] = g.split('|');
    const these = rows.filter((r) => `${r.boxes}|${r.scenario}` === g);
    console.log(
      `\n${Number(boxes).toLocaleString('en')} boxes, ${scenario === 'rest' ? 'rest (reports repeat byte for byte)' : 'storm (every report changes a sub-device)'}`,
    );
    printTable([
      ['server', 'reports/s', 'p50 ms', 'p99 ms', 'bare just before', 'vs bare', 'CPU us/report', 'of which PG', 'CPU vs bare', 'disk / WAL bytes/report', 'peak RSS MiB'],
      ...these.map((r) =>
        r.reports_per_s === undefined
          ? [r.server, r.note ?? '-']
          : [
              r.server,
              fixed(r.reports_per_s),
              latency(r.p50_ms),
              latency(r.p99_ms),
              r.bare_then_reports_per_s === undefined ? '' : fixed(r.bare_then_reports_per_s),
              r.ratio === undefined ? '-' : `${r.ratio.toFixed(2)}x${pairSpread(r)}`,
              fixed(r.cpu_us),
              r.store === 'postgres' ? fixed(r.pg_cpu_us) : '',
              r.cpu_ratio === undefined ? '-' : `${r.cpu_ratio.toFixed(2)}x`,
              r.store === 'bare' ? '' : fixed(r.disk_bytes),
              fixed(r.peak_rss_mib),
            ],
      ),
    ]);
  }
  if (fills.length) {
    console.log('\nfirst reports (every box once: creates its rows; not compared)');
    printTable([
      ['server', 'boxes', 'reports/s', 'p99 ms', 'CPU us/report', 'of which PG', ''],
      ...fills.map((f) => [
        f.server,
        String(f.boxes),
        fixed(f.reports_per_s),
        latency(f.p99_ms),
        fixed(f.cpu_us),
        fixed(f.pg_cpu_us),
        f.complete ? '' : 'did not finish',
      ]),
    ]);
  }
}

/** The targets of issue 14 ("Throughput where it matters"), against what this run measured. */
export function checkTargets(rows: Row[], fills: FillRow[], connections: number): TargetCheck[] {
  const out: TargetCheck[] = [];
  for (const f of fills.filter((x) => !x.complete)) {
    out.push({ what: `${f.server}: every box's first report, ${f.boxes} boxes`, value: `${f.reports_per_s.toFixed(0)}/s`, target: 'within --fill-limit', ok: false });
  }
  const measured = rows.filter((r) => r.reports_per_s !== undefined);
  const ratioTarget = (store: Row['store'], scenario: Scenario, min: number) => {
    for (const r of measured.filter((x) => x.store === store && x.receivers === 1 && x.scenario === scenario && x.ratio !== undefined)) {
      out.push({ what: `${r.server} ${scenario}, ${r.boxes} boxes`, value: `${r.ratio!.toFixed(2)}x bare`, target: `>= ${min.toFixed(1)}x`, ok: r.ratio! >= min });
    }
  };
  ratioTarget('postgres', 'rest', 0.6);
  ratioTarget('postgres', 'storm', 0.4);
  ratioTarget('sqlite', 'storm', 0.6);
  ratioTarget('sqlite', 'rest', 0.9);
  for (const r of measured.filter((x) => x.store !== 'bare' && x.p99_ms !== undefined)) {
    out.push({ what: `p99 ${r.server} ${r.scenario}, ${r.boxes} boxes, ${connections} connections`, value: `${latency(r.p99_ms)} ms`, target: '< 20 ms', ok: r.p99_ms! < 20 });
  }
  for (const two of measured.filter((x) => x.store === 'postgres' && x.receivers > 1)) {
    const one = measured.find((x) => x.store === 'postgres' && x.receivers === 1 && x.boxes === two.boxes && x.scenario === two.scenario);
    if (!one) continue;
    const ratio = two.reports_per_s! / one.reports_per_s!;
    out.push({ what: `${two.server} vs one receiver, ${two.scenario}, ${two.boxes} boxes`, value: `${ratio.toFixed(2)}x`, target: '>= 1.0x', ok: ratio >= 1 });
  }
  for (const r of measured.filter((x) => x.store !== 'bare' && x.boxes >= 100_000 && x.peak_rss_mib !== undefined)) {
    out.push({ what: `receiver peak RSS ${r.server} ${r.scenario}, ${r.boxes} boxes`, value: `${r.peak_rss_mib} MiB`, target: '< 1024 MiB', ok: r.peak_rss_mib! < 1024 });
  }
  return out;
}

export function printTargets(targets: TargetCheck[]): void {
  if (!targets.length) return;
  console.log('\ntargets (issue 14), as measured in this run:');
  printTable([['', 'what', 'measured', 'target'], ...targets.map((t) => [t.ok ? 'met' : 'MISSED', t.what, t.value, t.target])], 2);
  console.log('reports/s depend on what else runs on the machine; CPU per report much less so.');
}
