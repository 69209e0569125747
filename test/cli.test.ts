import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCli, startServeCli } from './support/cli.js';
import { report } from './support/server.js';

const api = (url: string, path: string, token: string) => fetch(`${url}${path}`, { headers: { authorization: `Bearer ${token}` } });
const post = (url: string, body: unknown) =>
  fetch(`${url}/DeviceStatus`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('devstatus serve (real process)', () => {
  it('runs with no config, stores under ./data/ and keeps data across a restart', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'devstatus-cli-'));
    try {
      const first = await startServeCli([], { cwd, env: { DEVSTATUS_ADMIN_TOKEN: '' } });
      assert.equal((await post(first.url, report('RESTART1', { '10.0.0.1': 'online' }))).status, 200);
      assert.equal((await post(first.url, report('RESTART1', { '10.0.0.1': 'offline' }))).status, 200);
      // The API is protected by a token generated on first start, kept next to the database.
      const tokenFile = join(cwd, 'data', 'admin-token');
      await first.proc.waitFor(/new admin token generated/);
      const token = readFileSync(tokenFile, 'utf8').trim();
      assert.ok(token.length >= 32, 'a long random token');
      assert.equal(statSync(tokenFile).mode & 0o777, 0o600);
      assert.match(first.proc.output(), new RegExp(`dashboard at ${first.url}/ \\(admin token in data/admin-token: cat data/admin-token\\)`));
      // Only where the token is goes to the log, never the token (logs are collected and shared).
      assert.match(first.proc.output(), /new admin token generated and kept in data\/admin-token/);
      assert.ok(!first.proc.output().includes(token), 'the token is not in the log');
      assert.equal((await fetch(`${first.url}/api/devices`)).status, 401);
      assert.equal((await api(first.url, '/api/devices', token)).status, 200);
      assert.equal(await first.proc.stop('SIGTERM'), 0);
      assert.ok(existsSync(join(cwd, 'data', 'devstatus.db')), 'default database file under ./data/');

      const second = await startServeCli([], { cwd, env: { DEVSTATUS_ADMIN_TOKEN: '' } });
      // Same token after a restart, not announced as new again, and still not in the log.
      assert.equal(readFileSync(tokenFile, 'utf8').trim(), token);
      await second.proc.waitFor(/dashboard at/);
      assert.doesNotMatch(second.proc.output(), /new admin token/);
      assert.ok(!second.proc.output().includes(token), 'the token is not in the log');
      const box = await (await api(second.url, '/api/devices/RESTART1', token)).json();
      assert.equal(box.box.report_count, 2);
      assert.equal(box.sub_devices[0].ep_status, 'offline');
      const hist = await (await api(second.url, '/api/devices/RESTART1/history', token)).json();
      assert.equal(hist.entries.length, 3);
      await second.proc.stop();
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  it('takes port, path and db from flags and environment', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'devstatus-cli-'));
    try {
      const proc = runCli(['serve', '--host', '127.0.0.1', '--port', '0', '--db', join(cwd, 'x', 'fleet.db')], {
        cwd,
        env: { DEVSTATUS_PATH: '/status/report', DEVSTATUS_ADMIN_TOKEN: 'token-from-env' },
      });
      const m = await proc.waitFor(/listening on (http:\/\/[^"\s]+?)\/status\/report/);
      const res = await fetch(`${m[1]}/status/report`, { method: 'POST', body: JSON.stringify(report('ENV1', {})) });
      assert.equal(res.status, 200);
      assert.ok(existsSync(join(cwd, 'x', 'fleet.db')));
      assert.equal((await api(m[1]!, '/api/devices/ENV1', 'token-from-env')).status, 200);
      assert.equal((await api(m[1]!, '/api/devices/ENV1', 'other')).status, 401);
      await proc.waitFor(/dashboard at .*--admin-token \/ DEVSTATUS_ADMIN_TOKEN/);
      assert.ok(!existsSync(join(cwd, 'x', 'admin-token')), 'no token file when the token is given');
      await proc.stop();
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  it('rejects a bad flag with a clear message and a non-zero exit', async () => {
    const proc = runCli(['serve', '--port', 'ninety']);
    const code = await exited(proc);
    assert.notEqual(code, 0);
    assert.match(proc.output(), /port must be a whole number/);
  });

  it('answers a usage error with its one line and a hint, not the whole help', async () => {
    const proc = runCli(['serve', '--port', 'ninety']);
    assert.notEqual(await exited(proc), 0);
    const lines = proc.output().trimEnd().split('\n');
    assert.equal(lines.length, 2, proc.output());
    assert.match(lines[0]!, /^error: .*port must be a whole number from 0 to 65535/);
    assert.equal(lines[1], "Run 'devstatus serve --help' for the options.");
    assert.doesNotMatch(proc.output(), /Usage:/);

    const unknown = runCli(['serv']);
    assert.notEqual(await exited(unknown), 0);
    assert.match(unknown.output(), /unknown command 'serv'/);
    assert.match(unknown.output(), /Did you mean serve\?/);
    assert.match(unknown.output(), /Run 'devstatus --help' for the options\.\n$/);
    assert.doesNotMatch(unknown.output(), /Usage:/);
  });

  it('prints its version from package.json', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    const proc = runCli(['--version']);
    assert.equal(await exited(proc), 0);
    assert.equal(proc.output(), `${version}\n`);
  });

  it('names the database path when it cannot be opened', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'devstatus-cli-'));
    try {
      // A file where a directory should be: not something the receiver can create its way around.
      writeFileSync(join(cwd, 'plain-file'), '');
      const db = join(cwd, 'plain-file', 'sub', 'fleet.db');
      const proc = runCli(['serve', '--host', '127.0.0.1', '--port', '0', '--db', db], { cwd, env: { DEVSTATUS_ADMIN_TOKEN: 't' } });
      assert.equal(await exited(proc), 1);
      assert.equal(
        proc.output().trim(),
        `devstatus: cannot open SQLite database ${db}: ${join(cwd, 'plain-file')} is a file, not a directory`,
      );
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  it('logs JSON lines by default off a terminal, readable lines with --log-format pretty', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'devstatus-cli-'));
    try {
      const env = { DEVSTATUS_ADMIN_TOKEN: 't' };
      const json = await startServeCli(['--db', join(cwd, 'a.db')], { cwd, env });
      await json.proc.waitFor(/dashboard at/);
      await json.proc.stop();
      const jsonLines = json.proc.output().trim().split('\n');
      for (const line of jsonLines) assert.equal(typeof JSON.parse(line).msg, 'string', line);

      const pretty = await startServeCli(['--db', join(cwd, 'b.db'), '--log-format', 'pretty'], { cwd, env });
      await pretty.proc.waitFor(/dashboard at/);
      await pretty.proc.stop();
      const prettyLines = pretty.proc.output().trim().split('\n');
      assert.ok(prettyLines.length >= 2);
      for (const line of prettyLines.filter((l) => l.startsWith('['))) {
        assert.throws(() => JSON.parse(line), SyntaxError, `not JSON: ${line}`);
        // Local time, to the millisecond, at the start of each line.
        assert.match(line, /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] (INFO|WARN|ERROR)/);
      }
      assert.match(pretty.proc.output(), /\] INFO.*: devstatus receiver listening on http:\/\/127\.0\.0\.1:\d+\/DeviceStatus/);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});

const exited = (proc: ReturnType<typeof runCli>) =>
  new Promise<number | null>((r) => (proc.child.exitCode !== null ? r(proc.child.exitCode) : proc.child.once('exit', r)));
