// `devstatus serve` on PostgreSQL, as real processes: several receivers sharing one database.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli, startServeCli, type CliProcess } from './support/cli.js';
import { createTestDatabase, type TestDatabase } from './support/pg.js';
import { report } from './support/server.js';

const post = (url: string, body: unknown) =>
  fetch(`${url}/DeviceStatus`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
// The read API needs the admin token (every receiver gets the same one from the environment).
const TOKEN = 'pg-cli-admin-token';
const getJson = async (url: string) => (await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } })).json();

interface Entry {
  id: number;
  ep_id: string | null;
  from_status: string | null;
  to_status: string;
  reason: string;
}
const line = (e: Entry) => `${e.ep_id ?? 'box'} ${e.from_status ?? '-'}>${e.to_status} ${e.reason}`;

describe('devstatus serve on PostgreSQL (real processes)', () => {
  let db: TestDatabase;
  const running: CliProcess[] = [];
  before(async () => {
    db = await createTestDatabase();
  });
  after(async () => {
    for (const p of running) await p.stop('SIGKILL');
    await db.drop();
  });

  it('two receivers on one database ingest the same boxes concurrently: exactly the right transitions', async () => {
    // One gets the URL from the environment, the other from the flag.
    const [one, two] = await Promise.all([
      startServeCli([], { env: { DATABASE_URL: db.url, DEVSTATUS_ADMIN_TOKEN: TOKEN } }),
      startServeCli(['--database-url', db.url], { env: { DEVSTATUS_ADMIN_TOKEN: TOKEN } }),
    ]);
    running.push(one.proc, two.proc);
    assert.match(one.proc.output(), /"store":"postgres"/);
    const urls = [one.url, two.url];

    // Same report of the same new boxes to both at once: one first_seen per box and sub-device.
    const boxes = Array.from({ length: 10 }, (_, i) => `PAIR${i}`);
    const first = await Promise.all(
      boxes.flatMap((box) => urls.flatMap((u) => [1, 2, 3].map(() => post(u, report(box, { '10.0.0.1': 'online', '10.0.0.2': 'online' }))))),
    );
    assert.ok(first.every((r) => r.status === 200));
    for (const box of boxes) {
      const { entries } = await getJson(`${two.url}/api/devices/${box}/history`);
      assert.deepEqual(entries.map(line).sort(), [
        `${box}__10.0.0.1 ->online first_seen`,
        `${box}__10.0.0.2 ->online first_seen`,
        'box ->online first_seen',
      ]);
      assert.equal((await getJson(`${one.url}/api/devices/${box}`)).box.report_count, 6);
    }

    // Taking turns, one receiver after the other: the history is exactly this.
    for (const [i, status] of (['offline', 'online', 'offline', 'offline', 'online'] as const).entries()) {
      assert.equal((await post(urls[i % 2]!, report('PAIR0', { '10.0.0.1': status, '10.0.0.2': 'online' }))).status, 200);
    }
    const turns = await getJson(`${one.url}/api/devices/PAIR0/history?ep_id=PAIR0__10.0.0.1`);
    assert.deepEqual(turns.entries.reverse().map(line), [
      'PAIR0__10.0.0.1 ->online first_seen',
      'PAIR0__10.0.0.1 online>offline report',
      'PAIR0__10.0.0.1 offline>online report',
      'PAIR0__10.0.0.1 online>offline report',
      'PAIR0__10.0.0.1 offline>online report',
    ]);

    // Contradicting each other at full speed: every transition follows on from the one before.
    const flips = await Promise.all(
      boxes.flatMap((box) =>
        Array.from({ length: 10 }, (_, i) => post(urls[i % 2]!, report(box, { '10.0.0.1': i % 2 ? 'offline' : 'online' }))),
      ),
    );
    assert.ok(flips.every((r) => r.status === 200));
    for (const box of boxes) {
      const state = await getJson(`${one.url}/api/devices/${box}`);
      const { entries } = await getJson(`${two.url}/api/devices/${box}/history?ep_id=${box}__10.0.0.1&limit=1000`);
      const chain = (entries as Entry[]).reverse();
      for (let i = 1; i < chain.length; i++) assert.equal(chain[i]!.from_status, chain[i - 1]!.to_status, `${box}: ${chain.map(line).join(', ')}`);
      assert.equal(chain.at(-1)!.to_status, state.sub_devices.find((s: { ep_id: string }) => s.ep_id === `${box}__10.0.0.1`).ep_status);
      const other = await getJson(`${two.url}/api/devices/${box}/history?ep_id=${box}__10.0.0.2`);
      assert.deepEqual(other.entries.reverse().map(line), [`${box}__10.0.0.2 ->online first_seen`, `${box}__10.0.0.2 online>removed missing_from_report`]);
    }

    // Exactly one of them leads the fleet-wide jobs; kill it and the other takes over.
    const leaderIndex = [one, two].findIndex((s) => /"leader":true/.test(s.proc.output()));
    assert.ok(leaderIndex >= 0, 'one receiver leads');
    const leader = [one, two][leaderIndex]!;
    const follower = [one, two][1 - leaderIndex]!;
    assert.doesNotMatch(follower.proc.output(), /"leader":true/);
    assert.match(follower.proc.output(), /"leader":false/);
    await leader.proc.stop('SIGKILL');
    await follower.proc.waitFor(/"leader":true/, 15_000);
    assert.equal((await post(follower.url, report('PAIR0', { '10.0.0.1': 'online' }))).status, 200);
    await follower.proc.stop();
  });

  it('keeps everything across a restart with DATABASE_URL, and writes no SQLite file', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'devstatus-pgcli-'));
    try {
      const first = await startServeCli([], { cwd, env: { DATABASE_URL: db.url, DEVSTATUS_ADMIN_TOKEN: TOKEN } });
      running.push(first.proc);
      assert.equal((await post(first.url, report('RESTARTPG', { '10.0.0.1': 'online' }))).status, 200);
      assert.equal((await post(first.url, report('RESTARTPG', { '10.0.0.1': 'offline' }))).status, 200);
      assert.equal(await first.proc.stop('SIGTERM'), 0);

      const second = await startServeCli([], { cwd, env: { DATABASE_URL: db.url, DEVSTATUS_ADMIN_TOKEN: TOKEN } });
      running.push(second.proc);
      const box = await getJson(`${second.url}/api/devices/RESTARTPG`);
      assert.equal(box.box.report_count, 2);
      assert.equal(box.sub_devices[0].ep_status, 'offline');
      assert.equal((await getJson(`${second.url}/api/devices/RESTARTPG/history`)).entries.length, 3);
      assert.deepEqual(await getJson(`${second.url}/healthz`), { ok: true, store: 'postgres' });
      assert.equal(existsSync(join(cwd, 'data')), false, 'nothing written to ./data');
      await second.proc.stop();
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  it('exits with a clear message, and no password, when PostgreSQL cannot be reached', async () => {
    const port = await new Promise<number>((resolve) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const { port } = srv.address() as { port: number };
        srv.close(() => resolve(port));
      });
    });
    const proc = runCli(['serve', '--host', '127.0.0.1', '--port', '0'], {
      env: { DATABASE_URL: `postgres://fleet:hunter2-pw@127.0.0.1:${port}/fleet` },
    });
    const code = await new Promise((r) => proc.child.once('exit', r));
    assert.equal(code, 1);
    assert.match(
      proc.output(),
      new RegExp(`devstatus: cannot open the PostgreSQL database "fleet" at 127\\.0\\.0\\.1:${port} as user "fleet": connection refused; check`),
    );
    assert.doesNotMatch(proc.output(), /hunter2/);
  });
});
