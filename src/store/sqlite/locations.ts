// The location directory on SQLite (rows and rules in ../locations.ts).
import type Database from 'better-sqlite3';
import { locationFromRow, locationValues, type LocationRow } from '../locations.js';
import type { Location, LocationFields } from '../types.js';
import type { WalSync } from './durability.js';

function namedValues(id: string, fields: LocationFields, now: number) {
  const [, name, parent_id, lat, lon] = locationValues(id, fields, now);
  return { id, name, parent_id, lat, lon, now };
}

export class SqliteLocations {
  constructor(
    private readonly db: Database.Database,
    private readonly sync: WalSync,
  ) {}

  async list(): Promise<Location[]> {
    await this.sync.settled();
    return (this.db.prepare('SELECT * FROM locations ORDER BY name, id').all() as LocationRow[]).map(locationFromRow);
  }

  async get(id: string): Promise<Location | null> {
    await this.sync.settled();
    const row = this.db.prepare('SELECT * FROM locations WHERE id = ?').get(id) as LocationRow | undefined;
    return row ? locationFromRow(row) : null;
  }

  async put(id: string, fields: LocationFields, now: number): Promise<{ location: Location; created: boolean }> {
    const write = this.db.transaction(() => {
      const existed = this.db.prepare('SELECT 1 FROM locations WHERE id = ?').get(id) !== undefined;
      this.db
        .prepare(
          `INSERT INTO locations (id, name, parent_id, lat, lon, created_at, updated_at) VALUES (@id, @name, @parent_id, @lat, @lon, @now, @now)
           ON CONFLICT (id) DO UPDATE SET name = excluded.name, parent_id = excluded.parent_id,
             lat = excluded.lat, lon = excluded.lon, updated_at = excluded.updated_at`,
        )
        .run(namedValues(id, fields, now));
      return !existed;
    });
    const created = write();
    await this.sync.durable();
    return { location: (await this.get(id))!, created };
  }

  async delete(id: string): Promise<boolean> {
    const res = this.db.prepare('DELETE FROM locations WHERE id = ?').run(id);
    if (res.changes > 0) await this.sync.durable();
    return res.changes > 0;
  }
}
