// Operator accounts, dashboard sessions, API keys, the audit log and the retention of history:
// the same SQL on both stores, run through a small SqlRunner each store provides (`?`
// placeholders; the PostgreSQL runner numbers them). Secrets are never stored: sessions and API
// keys by their SHA-256, passwords by their scrypt hash (server/passwords.ts).

export type Role = 'admin' | 'operator' | 'viewer';
export const ROLES: readonly Role[] = ['admin', 'operator', 'viewer'];

export interface SqlRunner {
  all<T>(sql: string, params: unknown[]): Promise<T[]>;
  /** Runs a write; resolves with the rows changed once it is durable. */
  run(sql: string, params: unknown[]): Promise<number>;
}

export interface User {
  id: number;
  username: string;
  role: Role;
  created_at: string;
  updated_at: string;
}

export interface UserWithSecret extends User {
  password_hash: string;
}

/** Who a session or API key acts for; user_id null: the admin token (no account). */
export interface Principal {
  user_id: number | null;
  username: string | null;
  role: Role;
}

export interface ApiKeyInfo {
  id: number;
  user_id: number;
  username: string;
  name: string;
  /** The first characters of the key, to tell keys apart; the key itself is shown once only. */
  prefix: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

export interface AuditEntry {
  id: number;
  at: string;
  /** User name, "admin-token", or "anonymous". */
  actor: string;
  role: Role | null;
  method: string;
  path: string;
  ip: string | null;
  status: number;
  detail: string | null;
}

export type NewAuditEntry = Omit<AuditEntry, 'id' | 'at'> & { at: number };

const iso = (ms: number | string | null): string | null => (ms === null ? null : new Date(Number(ms)).toISOString());

interface UserRow {
  id: number | string;
  username: string;
  role: Role;
  password_hash: string;
  created_at: number | string;
  updated_at: number | string;
}

const userFromRow = (r: UserRow): UserWithSecret => ({
  id: Number(r.id),
  username: r.username,
  role: r.role,
  password_hash: r.password_hash,
  created_at: iso(r.created_at)!,
  updated_at: iso(r.updated_at)!,
});

const withoutSecret = ({ password_hash: _secret, ...user }: UserWithSecret): User => user;

interface KeyRow {
  id: number | string;
  user_id: number | string;
  username: string;
  name: string;
  prefix: string;
  created_at: number | string;
  last_used_at: number | string | null;
  revoked_at: number | string | null;
}

const keyFromRow = (r: KeyRow): ApiKeyInfo => ({
  id: Number(r.id),
  user_id: Number(r.user_id),
  username: r.username,
  name: r.name,
  prefix: r.prefix,
  created_at: iso(r.created_at)!,
  last_used_at: iso(r.last_used_at),
  revoked_at: iso(r.revoked_at),
});

interface AuditRow {
  id: number | string;
  at: number | string;
  actor: string;
  role: Role | null;
  method: string;
  path: string;
  ip: string | null;
  status: number | string;
  detail: string | null;
}

const KEY_COLUMNS = 'k.id, k.user_id, u.username, k.name, k.prefix, k.created_at, k.last_used_at, k.revoked_at';

export class Accounts {
  constructor(private readonly sql: SqlRunner) {}

  // ---- users

  /** Adds a user; null when the name is taken. */
  async addUser(u: { username: string; role: Role; password_hash: string }, now: number): Promise<User | null> {
    const changed = await this.sql.run(
      `INSERT INTO users (username, password_hash, role, created_at, updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (username) DO NOTHING`,
      [u.username, u.password_hash, u.role, now, now],
    );
    if (changed === 0) return null;
    const user = await this.getUser(u.username);
    return user && withoutSecret(user);
  }

  async getUser(username: string): Promise<UserWithSecret | null> {
    const [row] = await this.sql.all<UserRow>('SELECT * FROM users WHERE username = ?', [username]);
    return row ? userFromRow(row) : null;
  }

  async listUsers(): Promise<User[]> {
    const rows = await this.sql.all<UserRow>('SELECT * FROM users ORDER BY username', []);
    return rows.map((r) => withoutSecret(userFromRow(r)));
  }

  async countUsers(): Promise<number> {
    const [row] = await this.sql.all<{ n: number | string }>('SELECT COUNT(*) AS n FROM users', []);
    return Number(row?.n ?? 0);
  }

  /** Changes what is given; a new password ends every session of the user. False when unknown. */
  async updateUser(username: string, fields: { role?: Role; password_hash?: string }, now: number): Promise<boolean> {
    const user = await this.getUser(username);
    if (!user) return false;
    await this.sql.run('UPDATE users SET role = ?, password_hash = ?, updated_at = ? WHERE id = ?', [
      fields.role ?? user.role,
      fields.password_hash ?? user.password_hash,
      now,
      user.id,
    ]);
    if (fields.password_hash !== undefined || (fields.role !== undefined && fields.role !== user.role)) {
      await this.endSessionsOf(user.id);
    }
    return true;
  }

  /** Removes the user with their sessions and API keys; false when unknown. */
  async removeUser(username: string): Promise<boolean> {
    const user = await this.getUser(username);
    if (!user) return false;
    await this.endSessionsOf(user.id);
    await this.sql.run('DELETE FROM api_keys WHERE user_id = ?', [user.id]);
    return (await this.sql.run('DELETE FROM users WHERE id = ?', [user.id])) > 0;
  }

  // ---- sessions (by the SHA-256 of their random id)

  async createSession(s: { idHash: string; userId: number | null; role: Role; expiresAt: number; ip: string | null }, now: number): Promise<void> {
    await this.sql.run('INSERT INTO sessions (id_hash, user_id, role, created_at, expires_at, ip) VALUES (?, ?, ?, ?, ?, ?)', [
      s.idHash,
      s.userId,
      s.role,
      now,
      s.expiresAt,
      s.ip,
    ]);
  }

  /** The session's principal while it has not expired; null otherwise. */
  async getSession(idHash: string, now: number): Promise<Principal | null> {
    const [row] = await this.sql.all<{ user_id: number | string | null; username: string | null; role: Role; user_role: Role | null }>(
      `SELECT s.user_id, u.username, s.role, u.role AS user_role FROM sessions s LEFT JOIN users u ON u.id = s.user_id
        WHERE s.id_hash = ? AND s.expires_at > ?`,
      [idHash, now],
    );
    if (!row) return null;
    // A session of a removed user is dead even before it is cleaned up.
    if (row.user_id !== null && row.username === null) return null;
    return { user_id: row.user_id === null ? null : Number(row.user_id), username: row.username, role: row.user_role ?? row.role };
  }

  async endSession(idHash: string): Promise<void> {
    await this.sql.run('DELETE FROM sessions WHERE id_hash = ?', [idHash]);
  }

  async endSessionsOf(userId: number): Promise<number> {
    return this.sql.run('DELETE FROM sessions WHERE user_id = ?', [userId]);
  }

  async pruneSessions(now: number): Promise<number> {
    return this.sql.run('DELETE FROM sessions WHERE expires_at <= ?', [now]);
  }

  // ---- API keys (by the SHA-256 of the key)

  async addApiKey(k: { userId: number; name: string; keyHash: string; prefix: string }, now: number): Promise<ApiKeyInfo> {
    await this.sql.run('INSERT INTO api_keys (user_id, name, key_hash, prefix, created_at) VALUES (?, ?, ?, ?, ?)', [
      k.userId,
      k.name,
      k.keyHash,
      k.prefix,
      now,
    ]);
    const [row] = await this.sql.all<KeyRow>(`SELECT ${KEY_COLUMNS} FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.key_hash = ?`, [
      k.keyHash,
    ]);
    return keyFromRow(row!);
  }

  /** The principal of a key that is not revoked; null otherwise. Notes its use. */
  async useApiKey(keyHash: string, now: number): Promise<Principal | null> {
    const [row] = await this.sql.all<{ id: number | string; user_id: number | string; username: string; role: Role; last_used_at: number | string | null }>(
      `SELECT k.id, k.user_id, u.username, u.role, k.last_used_at FROM api_keys k JOIN users u ON u.id = k.user_id
        WHERE k.key_hash = ? AND k.revoked_at IS NULL`,
      [keyHash],
    );
    if (!row) return null;
    // Once a minute is enough to say when a key was last used; not a write per request.
    if (row.last_used_at === null || now - Number(row.last_used_at) > 60_000) {
      await this.sql.run('UPDATE api_keys SET last_used_at = ? WHERE id = ?', [now, row.id]);
    }
    return { user_id: Number(row.user_id), username: row.username, role: row.role };
  }

  /** Keys of one user, or of everyone. */
  async listApiKeys(userId?: number): Promise<ApiKeyInfo[]> {
    const rows = await this.sql.all<KeyRow>(
      `SELECT ${KEY_COLUMNS} FROM api_keys k JOIN users u ON u.id = k.user_id ${userId === undefined ? '' : 'WHERE k.user_id = ?'} ORDER BY k.id`,
      userId === undefined ? [] : [userId],
    );
    return rows.map(keyFromRow);
  }

  async getApiKey(id: number): Promise<ApiKeyInfo | null> {
    const [row] = await this.sql.all<KeyRow>(`SELECT ${KEY_COLUMNS} FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.id = ?`, [id]);
    return row ? keyFromRow(row) : null;
  }

  async revokeApiKey(id: number, now: number): Promise<void> {
    await this.sql.run('UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?', [now, id]);
  }

  // ---- audit log

  async appendAudit(e: NewAuditEntry): Promise<void> {
    await this.sql.run('INSERT INTO audit_log (at, actor, role, method, path, ip, status, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)', [
      e.at,
      e.actor,
      e.role,
      e.method,
      e.path,
      e.ip,
      e.status,
      e.detail,
    ]);
  }

  /** Newest first; `before` is an entry id (paging back). */
  async listAudit(q: { before?: number; limit: number }): Promise<AuditEntry[]> {
    const rows = await this.sql.all<AuditRow>(
      `SELECT * FROM audit_log ${q.before === undefined ? '' : 'WHERE id < ?'} ORDER BY id DESC LIMIT ?`,
      q.before === undefined ? [q.limit] : [q.before, q.limit],
    );
    return rows.map((r) => ({
      id: Number(r.id),
      at: iso(r.at)!,
      actor: r.actor,
      role: r.role,
      method: r.method,
      path: r.path,
      ip: r.ip,
      status: Number(r.status),
      detail: r.detail,
    }));
  }

  // ---- retention

  /**
   * Deletes at most `batch` history entries older than `before` (ms), oldest first; returns how
   * many. Small batches keep each transaction short, so ingest never waits long behind one.
   */
  async pruneHistory(before: number, batch: number): Promise<number> {
    return this.sql.run('DELETE FROM history WHERE id IN (SELECT id FROM history WHERE at < ? ORDER BY id LIMIT ?)', [before, batch]);
  }
}
