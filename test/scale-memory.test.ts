// The scale test's memory half (issue 14): a real receiver (`devstatus serve`, its own process)
// on each store takes the first report of every box of a 100k x 8 fleet over HTTP, then rounds
// in which every box repeats its report until each has done so (the two memories that recognize
// repeats then hold the whole fleet), then a storm. Its peak RSS (VmHWM) is printed and must stay
// under 1 GiB; nothing acknowledged may be lost. The load and the receiver come from the ingest
// bench (bench/servers.ts, bench/load.ts), so both measure the same thing; this asserts it.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { BenchFleet } from '../bench/fleet-bodies.js';
import { runLoad, type LoadResult } from '../bench/load.js';
import { repeatStats } from '../bench/receiver-metrics.js';
import { pgOne, sqlite, type Running } from '../bench/servers.js';
import { ADMIN_URL } from './support/pg.js';

const BOXES = Number(process.env.SCALE_BOXES ?? 100_000);
const RSS_LIMIT = 1024 ** 3;
const mib = (bytes: number) => Math.round(bytes / 1048576);

async function round(running: Running, fleet: BenchFleet, scenario: 'rest' | 'storm', seconds: number, fillOnly = false): Promise<LoadResult> {
  const r = await runLoad({ fleet, urls: running.urls, path: '/DeviceStatus', connections: 64, scenario, flip: 0, seconds, fillOnly });
  assert.equal(r.failed, 0, `${scenario}: ${r.failed} failed, first: ${r.firstFailure}`);
  return r;
}

for (const target of [sqlite, pgOne]) {
  describe(`scale: receiver memory, ${BOXES} boxes x 8 sub-devices (${target.store})`, { timeout: 900_000 }, () => {
    it('holds the whole fleet, repeats and a storm in under 1 GiB of RSS (printed), losing nothing', async () => {
      const running = await target.start({ adminToken: randomBytes(18).toString('hex'), reportInterval: 3600, pgAdminUrl: ADMIN_URL });
      try {
        const fleet = new BenchFleet(BOXES);
        const fill = await round(running, fleet, 'rest', 0, true);
        assert.equal(fill.ok, BOXES);
        // Every box repeats at least once, so each one's digest is in both memories.
        const before = await repeatStats(running.urls);
        let repeats = 0;
        while (fleet.ackedCount.some((n) => n < 2)) repeats += (await round(running, fleet, 'rest', 3)).ok;
        const after = await repeatStats(running.urls);
        assert.ok(before && after, 'the receiver exposes its repeat metrics');
        // Repeats were recognized as such: the memory being measured is really in use.
        assert.ok(after.repeated - before.repeated >= repeats * 0.9, `${after.repeated - before.repeated} of ${repeats} repeats recognized`);
        const storm = await round(running, fleet, 'storm', 3);
        assert.ok(storm.ok > 0);
        const peak = running.cpu.peakRss();
        assert.ok(peak !== null, 'peak RSS readable from /proc');
        console.log(
          `scale (${target.store}): receiver peak RSS ${mib(peak)} MiB for ${BOXES} boxes x 8 sub-devices ` +
            `(repeat memory ${mib(after.cacheBytes)} MiB; ${fill.ok} first reports, ${repeats} repeats, ${storm.ok} storm reports)`,
        );
        assert.ok(peak < RSS_LIMIT, `peak RSS ${mib(peak)} MiB, limit ${mib(RSS_LIMIT)} MiB`);
        const check = await running.check!(fleet, false);
        console.log(`scale (${target.store}): ${check}`);
      } finally {
        await running.stop();
      }
    });
  });
}
