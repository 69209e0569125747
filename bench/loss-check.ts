// "Nothing acknowledged is lost", checked exactly: the generator knows how many reports each box
// had acknowledged and the statuses of the last one (a box never has two reports on the wire),
// so every box must show that count and those statuses, through the read API and in the database.
import Database from 'better-sqlite3';
import pg from 'pg';
import type { BenchFleet } from './fleet-bodies.js';
import { SUB_DEVICES } from './fleet-bodies.js';

const popcount = (m: number) => {
  let n = 0;
  for (; m; m &= m - 1) n++;
  return n;
};

class Mismatches {
  private list: string[] = [];
  count = 0;
  add(what: string): void {
    this.count++;
    if (this.list.length < 3) this.list.push(what);
  }
  throwIfAny(where: string): void {
    if (this.count) throw new Error(`LOST OR WRONG (${where}): ${this.count} mismatches, e.g. ${this.list.join('; ')}`);
  }
}

const boxIndexes = new WeakMap<BenchFleet, Map<string, number>>();

function indexOfBoxes(fleet: BenchFleet): Map<string, number> {
  let index = boxIndexes.get(fleet);
  if (!index) boxIndexes.set(fleet, (index = new Map(fleet.boxes.map((b, i) => [b.dev_sno, i]))));
  return index;
}

const PAGE = 1000;
/** Pages read through the API at most; past that, pages spread over the fleet (the rows check covers every box). */
const API_PAGES = 20;

interface ApiBox {
  dev_sno: string;
  status: string;
  report_count: number;
  sub_devices_online: number;
  sub_devices_offline: number;
}

/**
 * Boxes through GET /api/devices: each one's report count and how many of its sub-devices are
 * offline. Up to 20,000 boxes every box; for larger fleets 20 pages of 1,000 spread over the
 * fleet, since paging all of 100,000 boxes by offset takes longer than the round it checks.
 */
export async function checkViaApi(fleet: BenchFleet, url: string, adminToken: string): Promise<string> {
  const index = indexOfBoxes(fleet);
  const bad = new Mismatches();
  const getPage = async (offset: number) => {
    const res = await fetch(`${url}/api/devices?limit=${PAGE}&offset=${offset}`, { headers: { authorization: `Bearer ${adminToken}` } });
    if (!res.ok) throw new Error(`GET /api/devices answered ${res.status}: ${await res.text()}`);
    return (await res.json()) as { total: number; boxes: ApiBox[] };
  };
  const first = await getPage(0);
  const pages = Math.ceil(first.total / PAGE);
  const offsets =
    pages <= API_PAGES
      ? Array.from({ length: pages }, (_, p) => p * PAGE)
      : Array.from({ length: API_PAGES }, (_, k) => Math.floor((k * (pages - 1)) / (API_PAGES - 1)) * PAGE);
  const expectedBoxes = fleet.ackedCount.reduce((n, c) => n + (c > 0 ? 1 : 0), 0);
  if (first.total !== expectedBoxes) bad.add(`${expectedBoxes} boxes reported, the API lists ${first.total}`);
  let boxes = 0;
  let acked = 0;
  let stored = 0;
  for (const offset of offsets) {
    const page = offset === 0 ? first : await getPage(offset);
    for (const b of page.boxes) {
      const i = index.get(b.dev_sno);
      if (i === undefined) {
        bad.add(`unexpected box ${b.dev_sno}`);
        continue;
      }
      boxes++;
      acked += fleet.ackedCount[i]!;
      stored += b.report_count;
      const offline = popcount(fleet.ackedMask[i]!);
      if (b.report_count !== fleet.ackedCount[i]) bad.add(`${b.dev_sno}: ${fleet.ackedCount[i]} acknowledged, ${b.report_count} stored`);
      else if (b.status !== 'online' || b.sub_devices_offline !== offline || b.sub_devices_online !== SUB_DEVICES - offline) {
        bad.add(`${b.dev_sno}: last acknowledged report had ${offline} offline, API shows box ${b.status}, ${b.sub_devices_offline} offline, ${b.sub_devices_online} online`);
      }
    }
  }
  bad.throwIfAny('via the API');
  const which = boxes === first.total ? '' : ` (${boxes} of ${first.total} boxes)`;
  return `via the API${which}: ${acked} acknowledged, ${stored} stored`;
}

/** Every sub-device's stored status and every box's report count, straight from the database rows. */
export function checkRows(
  fleet: BenchFleet,
  boxes: Array<{ dev_sno: string; report_count: number | string }>,
  subs: Array<{ dev_sno: string; ep_id: string; ep_status: string }>,
  where: string,
): string {
  const index = indexOfBoxes(fleet);
  const bad = new Mismatches();
  let stored = 0;
  for (const b of boxes) {
    const i = index.get(b.dev_sno);
    const n = Number(b.report_count);
    stored += n;
    if (i === undefined) bad.add(`unexpected box ${b.dev_sno}`);
    else if (n !== fleet.ackedCount[i]) bad.add(`${b.dev_sno}: ${fleet.ackedCount[i]} acknowledged, ${n} stored`);
  }
  let checked = 0;
  for (const s of subs) {
    const i = index.get(s.dev_sno);
    const j = i === undefined ? -1 : fleet.boxes[i]!.ep_ids.indexOf(s.ep_id);
    if (i === undefined || j < 0) {
      bad.add(`unexpected sub-device ${s.dev_sno}/${s.ep_id}`);
      continue;
    }
    const want = fleet.ackedMask[i]! & (1 << j) ? 'offline' : 'online';
    if (s.ep_status !== want) bad.add(`${s.dev_sno}/${s.ep_id}: last acknowledged ${want}, stored ${s.ep_status}`);
    checked++;
  }
  const expectedSubs = fleet.ackedCount.reduce((n, c) => n + (c > 0 ? SUB_DEVICES : 0), 0);
  if (checked !== expectedSubs) bad.add(`${expectedSubs} sub-devices reported, ${checked} stored`);
  bad.throwIfAny(where);
  return `${where}: ${stored} reports, ${checked} sub-device statuses as last acknowledged`;
}

type BoxRow = { dev_sno: string; report_count: number | string };
type SubRow = { dev_sno: string; ep_id: string; ep_status: string };
const BOX_ROWS = 'SELECT dev_sno, report_count FROM boxes';
const SUB_ROWS = 'SELECT dev_sno, ep_id, ep_status FROM sub_devices';

/** checkRows on the rows of a SQLite file, read through a connection of its own. */
export function checkSqliteFile(fleet: BenchFleet, file: string, where: string): string {
  const db = new Database(file, { readonly: true });
  try {
    return checkRows(fleet, db.prepare(BOX_ROWS).all() as BoxRow[], db.prepare(SUB_ROWS).all() as SubRow[], where);
  } finally {
    db.close();
  }
}

/** checkRows on the rows of a PostgreSQL database, read through a connection of its own. */
export async function checkPostgresDatabase(fleet: BenchFleet, url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const boxes = await client.query<BoxRow>(BOX_ROWS);
    const subs = await client.query<SubRow>(SUB_ROWS);
    return checkRows(fleet, boxes.rows, subs.rows, 'in the database');
  } finally {
    await client.end();
  }
}
