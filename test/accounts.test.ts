// Operator accounts: users with roles, sessions, API keys, login rate limiting, and the
// `devstatus user` command, against a real receiver on both stores.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CLI, startServeCli } from './support/cli.js';
import { apiClient, login } from './support/accounts.js';
import { backends, withFreshServer, type RunningServer } from './support/server.js';

const TOKEN = 'accounts-admin-token-0123456789';
const client = (server: { url: string }, auth: { bearer?: string; cookie?: string } = { bearer: TOKEN }) => apiClient(server, auth);

for (const backend of backends()) {
  describe(`accounts over the API (${backend.name})`, () => {
    it('admins manage users; each role gets what it may, no more', async () => {
      await withFreshServer(backend, { adminToken: TOKEN }, async (server: RunningServer) => {
        const admin = client(server);
        assert.equal((await admin('POST', '/api/users', { username: 'ann', password: 'short', role: 'viewer' })).status, 400);
        assert.equal((await admin('POST', '/api/users', { username: 'ann', password: 'ann-password-1', role: 'boss' })).status, 400);
        for (const [username, role] of [['ann', 'admin'], ['oscar', 'operator'], ['vera', 'viewer']] as const) {
          const res = await admin('POST', '/api/users', { username, password: `${username}-password-1`, role });
          assert.equal(res.status, 201);
          assert.equal(res.body.role, role);
          assert.equal(res.body.password_hash, undefined, 'no hash in answers');
        }
        assert.equal((await admin('POST', '/api/users', { username: 'ann', password: 'another-password', role: 'viewer' })).status, 409);
        const list = await admin('GET', '/api/users');
        assert.deepEqual(list.body.users.map((u: { username: string }) => u.username), ['ann', 'oscar', 'vera']);

        const vera = client(server, { cookie: (await login(server, 'vera', 'vera-password-1')).cookie });
        assert.equal((await vera('GET', '/api/summary')).status, 200);
        assert.equal((await vera('GET', '/api/devices')).status, 200);
        assert.deepEqual((await vera('GET', '/api/me')).body, { username: 'vera', actor: 'vera', role: 'viewer', via: 'session' });
        const refused = await vera('POST', '/api/admin/codes', {});
        assert.equal(refused.status, 403);
        assert.match(refused.body.message, /admin role/);
        assert.equal((await vera('GET', '/api/users')).status, 403);
        assert.equal((await vera('GET', '/api/audit')).status, 403);

        const oscar = client(server, { cookie: (await login(server, 'oscar', 'oscar-password-1')).cookie });
        assert.equal((await oscar('GET', '/api/alerts/deliveries')).status, 200);
        assert.equal((await oscar('POST', '/api/admin/codes', {})).status, 403);
        // Report periods decide when a box is judged offline: configuration, admins only.
        assert.equal((await oscar('GET', '/api/groups')).status, 200);
        assert.equal((await oscar('PUT', '/api/groups/yard', { report_period_s: 30 })).status, 403);
        assert.equal((await oscar('PUT', '/api/codes/ANY-BOX', { report_period_s: 30 })).status, 403);
        assert.equal((await oscar('DELETE', '/api/users/vera')).status, 403);

        const ann = client(server, { cookie: (await login(server, 'ann', 'ann-password-1')).cookie });
        assert.equal((await ann('POST', '/api/admin/codes', {})).status, 201);
        assert.equal((await ann('PATCH', '/api/users/vera', { role: 'operator' })).body.role, 'operator');
        // A role change ends the user's sessions: the new role applies from the next login.
        assert.equal((await vera('GET', '/api/summary')).status, 401);
        assert.equal((await ann('DELETE', '/api/users/ann')).status, 409, 'not oneself');
        assert.equal((await ann('DELETE', '/api/users/vera')).status, 200);
        assert.equal((await login(server, 'vera', 'vera-password-1')).status, 401);
        assert.equal((await ann('DELETE', '/api/users/vera')).status, 404);
      });
    });

    it('a password change ends every session of the user; logins do not tell which accounts exist', async () => {
      await withFreshServer(backend, { adminToken: TOKEN }, async (server) => {
        const admin = client(server);
        await admin('POST', '/api/users', { username: 'pat', password: 'pat-password-1', role: 'viewer' });
        const first = await login(server, 'pat', 'pat-password-1');
        const second = await login(server, 'pat', 'pat-password-1');
        assert.equal(first.status, 200);
        assert.match(first.headers.get('set-cookie') ?? '', /HttpOnly/i);
        const pat = client(server, { cookie: first.cookie });
        assert.equal((await pat('POST', '/api/me/password', { current: 'wrong-password', password: 'pat-password-2' })).status, 403);
        assert.equal((await pat('POST', '/api/me/password', { current: 'pat-password-1', password: 'pat-password-2' })).status, 200);
        for (const cookie of [first.cookie, second.cookie]) {
          assert.equal((await fetch(`${server.url}/api/summary`, { headers: { cookie } })).status, 401);
        }
        assert.equal((await login(server, 'pat', 'pat-password-1')).status, 401);
        assert.equal((await login(server, 'pat', 'pat-password-2')).status, 200);

        const wrongPassword = await login(server, 'pat', 'not-the-password');
        const noSuchUser = await login(server, 'nobody', 'not-the-password');
        assert.equal(wrongPassword.status, 401);
        assert.equal(noSuchUser.status, 401);
        assert.deepEqual(wrongPassword.body, noSuchUser.body, 'the same answer whether the account exists or not');
      });
    });

    it('API keys act for their user, are shown once and can be revoked', async () => {
      await withFreshServer(backend, { adminToken: TOKEN }, async (server) => {
        await client(server)('POST', '/api/users', { username: 'sam', password: 'sam-password-1', role: 'operator' });
        const sam = client(server, { cookie: (await login(server, 'sam', 'sam-password-1')).cookie });
        const created = await sam('POST', '/api/keys', { name: 'nightly export' });
        assert.equal(created.status, 201);
        assert.match(created.body.key, /^dsk_/);
        assert.equal(created.body.username, 'sam');
        const keys = await sam('GET', '/api/keys');
        assert.equal(keys.body.keys.length, 1);
        assert.equal(keys.body.keys[0].key, undefined, 'the key is shown once only');
        assert.ok(created.body.key.startsWith(keys.body.keys[0].prefix));

        const script = client(server, { bearer: created.body.key });
        assert.deepEqual((await script('GET', '/api/me')).body, { username: 'sam', actor: 'sam', role: 'operator', via: 'api_key' });
        assert.equal((await script('GET', '/api/devices')).status, 200);
        assert.equal((await script('POST', '/api/admin/codes', {})).status, 403, 'no more than its user may');
        assert.equal((await client(server, { bearer: `${created.body.key}x` })('GET', '/api/devices')).status, 401);

        // Someone else's key is not found; an admin may revoke it.
        await client(server)('POST', '/api/users', { username: 'tia', password: 'tia-password-1', role: 'viewer' });
        const tia = client(server, { cookie: (await login(server, 'tia', 'tia-password-1')).cookie });
        assert.equal((await tia('DELETE', `/api/keys/${created.body.id}`)).status, 404);
        assert.equal((await sam('DELETE', `/api/keys/${created.body.id}`)).body.revoked_at !== null, true);
        assert.equal((await script('GET', '/api/devices')).status, 401);
        assert.equal((await sam('DELETE', '/api/keys/abc')).status, 400);
        // The admin token still works for scripts, as it always did.
        assert.equal((await client(server)('GET', '/api/devices')).status, 200);
      });
    });
  });
}

describe('login rate limiting', () => {
  it('blocks an account after repeated failures, and an address guessing many accounts', async () => {
    await withFreshServer(backends()[0]!, { adminToken: TOKEN }, async (server) => {
      await client(server)('POST', '/api/users', { username: 'lee', password: 'lee-password-1', role: 'viewer' });
      for (let i = 0; i < 5; i++) assert.equal((await login(server, 'lee', `guess-${i}-password`)).status, 401);
      const blocked = await login(server, 'lee', 'lee-password-1');
      assert.equal(blocked.status, 429, 'even the right password, until the window passes');
      assert.match(blocked.headers.get('retry-after') ?? '', /^\d+$/);
      // The address is blocked too (every attempt above came from 127.0.0.1).
      assert.equal((await login(server, 'someone-else', 'whatever-password')).status, 429);
      // Scripts with the token or a key are not logins and are not held up.
      assert.equal((await client(server)('GET', '/api/devices')).status, 200);
    });
  });
});

function runUser(args: string[], env: NodeJS.ProcessEnv, input?: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, 'user', ...args], { env: { ...process.env, DATABASE_URL: '', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.stdin.end(input ?? '');
    child.on('exit', (code) => resolve({ code, out }));
  });
}

describe('devstatus user (real process, beside a running receiver)', () => {
  it('adds, lists, changes and removes users; the first start needs no setup', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'devstatus-users-'));
    const db = join(cwd, 'data', 'devstatus.db');
    try {
      const serve = await startServeCli(['--db', db], { cwd, env: { DEVSTATUS_ADMIN_TOKEN: TOKEN } });
      const env = { DEVSTATUS_PASSWORD: '' };
      assert.match((await runUser(['list', '--db', db], env)).out, /no users/);
      const added = await runUser(['add', 'kim', '--role', 'operator', '--db', db], env, 'kim-password-1\n');
      assert.equal(added.code, 0, added.out);
      assert.match(added.out, /user kim added \(operator\)/);
      const tooShort = await runUser(['add', 'lou', '--db', db], { DEVSTATUS_PASSWORD: 'short' });
      assert.equal(tooShort.code, 1);
      assert.match(tooShort.out, /at least 10 characters/);
      assert.equal((await runUser(['add', 'kim', '--db', db], { DEVSTATUS_PASSWORD: 'kim-password-9' })).code, 1);
      assert.match((await runUser(['list', '--db', db], env)).out, /kim\s+operator/);

      const session = await login(serve, 'kim', 'kim-password-1');
      assert.equal(session.status, 200);
      assert.equal((await runUser(['passwd', 'kim', '--db', db], { DEVSTATUS_PASSWORD: 'kim-password-2' })).code, 0);
      assert.equal((await fetch(`${serve.url}/api/summary`, { headers: { cookie: session.cookie } })).status, 401);
      assert.equal((await login(serve, 'kim', 'kim-password-2')).status, 200);
      assert.equal((await runUser(['remove', 'kim', '--db', db], env)).code, 0);
      assert.equal((await login(serve, 'kim', 'kim-password-2')).status, 401);
      assert.equal((await runUser(['remove', 'kim', '--db', db], env)).code, 1);
      // The command line's changes are in the audit log too.
      const audit = await apiClient(serve, { bearer: TOKEN })('GET', '/api/audit');
      const cli = (audit.body.entries as Array<{ actor: string; path: string }>).filter((e) => e.actor.startsWith('command line'));
      assert.deepEqual(cli.map((e) => e.path).reverse(), [
        'devstatus user add kim --role operator',
        'devstatus user add kim --role viewer',
        'devstatus user passwd kim',
        'devstatus user remove kim',
        'devstatus user remove kim',
      ]);
      assert.equal(await serve.proc.stop('SIGTERM'), 0);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});
