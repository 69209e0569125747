// "Nothing acknowledged is lost", checked exactly: the generator knows how many reports each box
// had acknowledged and the statuses of the last one (a box never has two reports on the wire),
// so every box must show that count and those statuses, through the read API and in the database.
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

/** Every box through GET /api/devices: its report count and how many of its sub-devices are offline. */
export async function checkViaApi(fleet: BenchFleet, url: string, adminToken: string): Promise<string> {
  const index = indexOfBoxes(fleet);
  const seen = new Uint8Array(fleet.size);
  const bad = new Mismatches();
  let stored = 0;
  for (let offset = 0; ; offset += 1000) {
    const res = await fetch(`${url}/api/devices?limit=1000&offset=${offset}`, { headers: { authorization: `Bearer ${adminToken}` } });
    if (!res.ok) throw new Error(`GET /api/devices answered ${res.status}: ${await res.text()}`);
    const page = (await res.json()) as {
      total: number;
      boxes: Array<{ dev_sno: string; status: string; report_count: number; sub_devices_online: number; sub_devices_offline: number }>;
    };
    for (const b of page.boxes) {
      const i = index.get(b.dev_sno);
      if (i === undefined) {
        bad.add(`unexpected box ${b.dev_sno}`);
        continue;
      }
      seen[i] = 1;
      stored += b.report_count;
      const offline = popcount(fleet.ackedMask[i]!);
      if (b.report_count !== fleet.ackedCount[i]) bad.add(`${b.dev_sno}: ${fleet.ackedCount[i]} acknowledged, ${b.report_count} stored`);
      else if (b.status !== 'online' || b.sub_devices_offline !== offline || b.sub_devices_online !== SUB_DEVICES - offline) {
        bad.add(`${b.dev_sno}: last acknowledged report had ${offline} offline, API shows box ${b.status}, ${b.sub_devices_offline} offline, ${b.sub_devices_online} online`);
      }
    }
    if (offset + 1000 >= page.total) break;
  }
  for (let i = 0; i < fleet.size; i++) if (!seen[i] && fleet.ackedCount[i]) bad.add(`${fleet.boxes[i]!.dev_sno} missing`);
  bad.throwIfAny('via the API');
  return `via the API: ${fleet.totalAcked()} acknowledged, ${stored} stored`;
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
