// Arrays written into SQL text as literals, so a batch's statements and its BEGIN or COMMIT go to
// the server as one simple query: one round trip, where bound parameters would need one each.
// The ingest connections run with standard_conforming_strings on (ingest-session.ts), so a
// backslash inside '...' is an ordinary character and only ' needs doubling at the SQL level.

const SPECIAL = /[\\"']/;

function element(v: string): string {
  if (!SPECIAL.test(v)) return `"${v}"`;
  return `"${v.replace(/[\\"]/g, '\\$&').replace(/'/g, "''")}"`;
}

/** '{"a","b",NULL}' */
export function textArray(values: ReadonlyArray<string | null>): string {
  let out = "'{";
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (i > 0) out += ',';
    out += v === null ? 'NULL' : element(v);
  }
  return `${out}}'`;
}

/** '{1,2,3}': integers only (times in ms, counts). */
export function integerArray(values: readonly number[]): string {
  for (const v of values) if (!Number.isSafeInteger(v)) throw new Error(`not an integer: ${String(v)}`);
  return `'{${values.join(',')}}'`;
}

/** '{t,f}' */
export function booleanArray(values: readonly boolean[]): string {
  let out = "'{";
  for (let i = 0; i < values.length; i++) out += (i > 0 ? ',' : '') + (values[i] ? 't' : 'f');
  return `${out}}'`;
}
