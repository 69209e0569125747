// Smoke run of `npm run bench` with tiny settings, so the benchmark keeps working: every server
// it can run answers, and the check that no acknowledged report was lost passes.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('ingest benchmark', () => {
  it('runs every server it can and finds no acknowledged report missing', { timeout: 120_000 }, async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'bench/ingest.ts', '--duration', '1', '--warmup', '0.5', '--connections', '16', '--boxes', '50', '--json'],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(code, 0, err);
    const result = JSON.parse(out) as {
      rows: Array<{ server: string; reports_per_s?: number; p99_ms?: number; ratio?: number; note?: string }>;
    };
    assert.deepEqual(
      result.rows.map((r) => r.server),
      ['bare node:http', 'devstatus sqlite', 'devstatus postgres'],
    );
    const [bare, sqlite, postgres] = result.rows;
    assert.ok(bare!.reports_per_s! > 0 && bare!.ratio === 1);
    assert.ok(sqlite!.reports_per_s! > 0 && sqlite!.ratio! > 0, JSON.stringify(sqlite));
    assert.match(sqlite!.note!, /via the API: (\d+) acknowledged, \d+ stored; after SIGKILL, from the file: \1 acknowledged/);
    if (postgres!.reports_per_s === undefined) assert.equal(postgres!.note, 'PostgreSQL store not available');
    else assert.match(postgres!.note!, /via the API: \d+ acknowledged, \d+ stored/);
  });
});
