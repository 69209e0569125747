// `devstatus backup <file>`: a consistent copy of a live SQLite store, taken while the receiver
// runs and reports keep coming; the copy restores into a working receiver.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { CLI, startServeCli } from './support/cli.js';
import { report } from './support/server.js';

function runBackup(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const { DATABASE_URL: _ignored, ...env } = process.env;
    const child = spawn(process.execPath, [CLI, 'backup', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => resolve({ code, out }));
  });
}

const post = (url: string, body: unknown) =>
  fetch(`${url}/DeviceStatus`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('devstatus backup (real processes)', () => {
  it('copies a live store consistently, and the copy restores', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'devstatus-backup-'));
    const db = join(cwd, 'live.db');
    const copy = join(cwd, 'copy.db');
    const env = { DEVSTATUS_ADMIN_TOKEN: 'backup-admin-token-0123456789' };
    try {
      const serve = await startServeCli(['--db', db], { cwd, env });
      for (let i = 0; i < 50; i++) assert.equal((await post(serve.url, report(`BK${i}`, { '10.0.0.1': 'online' }))).status, 200);
      // Reports keep coming while the copy is made.
      let writing = true;
      const writer = (async () => {
        for (let i = 0; writing; i++) await post(serve.url, report(`DURING${i % 20}`, { '10.0.0.1': i % 2 ? 'online' : 'offline' }));
      })();
      const done = await runBackup([copy, '--db', db]);
      writing = false;
      await writer;
      assert.equal(done.code, 0, done.out);
      assert.match(done.out, /backup of .* written to/);
      assert.equal(statSync(copy).mode & 0o777, 0o600);
      const again = await runBackup([copy, '--db', db]);
      assert.equal(again.code, 1);
      assert.match(again.out, /exists already/);

      const check = new Database(copy, { readonly: true });
      assert.equal(check.pragma('integrity_check', { simple: true }), 'ok');
      const boxes = check.prepare("SELECT COUNT(*) AS n FROM boxes WHERE dev_sno LIKE 'BK%'").get() as { n: number };
      assert.equal(boxes.n, 50);
      check.close();
      assert.equal(await serve.proc.stop('SIGTERM'), 0);

      // Restore: the copy in place of a database, and a receiver on it.
      const restored = join(cwd, 'restored.db');
      copyFileSync(copy, restored);
      const back = await startServeCli(['--db', restored], { cwd, env });
      const res = await fetch(`${back.url}/api/devices/BK7`, { headers: { authorization: `Bearer ${env.DEVSTATUS_ADMIN_TOKEN}` } });
      assert.equal(res.status, 200);
      assert.equal((await res.json()).box.report_count, 1);
      assert.equal(await back.proc.stop('SIGTERM'), 0);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  it('points PostgreSQL users to pg_dump', async () => {
    const res = await runBackup(['/tmp/never-written.db', '--database-url', 'postgres://postgres@127.0.0.1:5432/postgres']);
    assert.equal(res.code, 1);
    assert.match(res.out, /pg_dump/);
  });
});
