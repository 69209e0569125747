// The location directory on PostgreSQL (rows and rules in ../locations.ts).
import type pg from 'pg';
import { locationFromRow, locationValues, type LocationRow } from '../locations.js';
import type { Location, LocationFields } from '../types.js';

export async function listLocations(pool: pg.Pool): Promise<Location[]> {
  const { rows } = await pool.query<LocationRow>('SELECT * FROM locations ORDER BY name COLLATE "C", id COLLATE "C"');
  return rows.map(locationFromRow);
}

export async function getLocation(pool: pg.Pool, id: string): Promise<Location | null> {
  const { rows } = await pool.query<LocationRow>('SELECT * FROM locations WHERE id = $1', [id]);
  return rows[0] ? locationFromRow(rows[0]) : null;
}

export async function putLocation(pool: pg.Pool, id: string, fields: LocationFields, now: number): Promise<{ location: Location; created: boolean }> {
  // xmax is 0 on a row this statement inserted, and set on one it updated.
  const { rows } = await pool.query<LocationRow & { created: boolean }>(
    `INSERT INTO locations (id, name, parent_id, lat, lon, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6::bigint, $6::bigint)
     ON CONFLICT (id) DO UPDATE SET name = excluded.name, parent_id = excluded.parent_id,
       lat = excluded.lat, lon = excluded.lon, updated_at = excluded.updated_at
     RETURNING *, (xmax = 0) AS created`,
    locationValues(id, fields, now),
  );
  const row = rows[0]!;
  return { location: locationFromRow(row), created: row.created };
}

export async function deleteLocation(pool: pg.Pool, id: string): Promise<boolean> {
  const res = await pool.query('DELETE FROM locations WHERE id = $1', [id]);
  return (res.rowCount ?? 0) > 0;
}
