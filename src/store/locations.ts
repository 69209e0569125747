// The location directory (names for the ep_location ids boxes send): how rows become API objects,
// shared by both stores.
import { iso } from './rows.js';
import type { Location, LocationFields } from './types.js';

export interface LocationRow {
  id: string;
  name: string;
  parent_id: string | null;
  lat: number | string | null;
  lon: number | string | null;
  created_at: number | string;
  updated_at: number | string;
}

const numOrNull = (v: number | string | null) => (v === null ? null : Number(v));

export function locationFromRow(r: LocationRow): Location {
  return {
    id: r.id,
    name: r.name,
    parent_id: r.parent_id,
    lat: numOrNull(r.lat),
    lon: numOrNull(r.lon),
    created_at: iso(Number(r.created_at)),
    updated_at: iso(Number(r.updated_at)),
  };
}

/** The values written for a PUT: absent optional fields are cleared (PUT replaces). */
export function locationValues(id: string, f: LocationFields, now: number): [string, string, string | null, number | null, number | null, number] {
  return [id, f.name, f.parent_id ?? null, f.lat ?? null, f.lon ?? null, now];
}
