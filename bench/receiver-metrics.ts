// The receivers' own view of a round, from their /metrics: how many reports they recognized as
// byte-for-byte repeats (those skip parsing and, depending on the store, reading the box) and
// the memory held for that. Absent metrics give undefined: the bench does not depend on them.
export interface RepeatStats {
  repeated: number;
  cacheBytes: number;
}

function metric(text: string, name: string): number | undefined {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

/** Summed over the receivers; undefined when a receiver has no such metrics. */
export async function repeatStats(urls: string[]): Promise<RepeatStats | undefined> {
  let repeated = 0;
  let cacheBytes = 0;
  for (const url of urls) {
    try {
      const res = await fetch(`${url}/metrics`);
      if (!res.ok) return undefined;
      const text = await res.text();
      const r = metric(text, 'devstatus_reports_repeated_total');
      const b = metric(text, 'devstatus_repeat_cache_bytes');
      if (r === undefined || b === undefined) return undefined;
      repeated += r;
      cacheBytes += b;
    } catch {
      return undefined;
    }
  }
  return { repeated, cacheBytes };
}
