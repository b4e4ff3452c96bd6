import { Agg } from '../agg';
import { rawWhere } from '../raw-events';
import { acceptDuration } from '../sketches';
import type { GroupBy, ReportQuery } from './plan';

/** SQL for the group key of a raw event; null when it must be computed in JS (property values). */
export function groupSql(by: GroupBy): string | null {
  switch (by.kind) {
    case 'none': return `''`;
    case 'type': return 'type';
    case 'userId': return 'user_id';
    case 'property': return null;
    case 'dim': return by.dim === 'room' || by.dim === 'error' ? by.dim : `context ->> '$.${by.dim}'`;
  }
}

interface SumRow {
  g: string; events: number; errors: number; bytesIn: number; bytesOut: number; value: number; durationCount: number; durationSum: number;
  users: string; sessions: string; durs: string;
}

/**
 * Raw events of [from, to) summed per group by SQLite, sending back only totals and the distinct
 * user and session ids and durations the sketches need: far less than the rows themselves.
 */
export async function foldRawSummed(
  db: D1Database, q: ReportQuery, from: number, to: number, by: GroupBy, emit: (group: string, agg: Agg) => void,
): Promise<void> {
  const g = groupSql(by)!;
  const { where, binds } = rawWhere(q, from, to);
  const { results } = await db
    // total(), not sum(): sum() of integers fails with "integer overflow" past 2^63 (a few thousand bytesIn at 2^53−1).
    .prepare(`SELECT ${g} AS g, count(*) AS events, count(error) AS errors, total(bytes_in) AS bytesIn,
        total(bytes_out) AS bytesOut, total(value) AS value, count(duration_ms) AS durationCount,
        total(duration_ms) AS durationSum, json_group_array(DISTINCT user_id) AS users,
        json_group_array(DISTINCT session_id) AS sessions, json_group_array(duration_ms) AS durs
      FROM events WHERE ${where} GROUP BY 1 HAVING g IS NOT NULL`)
    .bind(...binds)
    .all<SumRow>();
  for (const r of results) {
    const a = new Agg();
    a.events = r.events;
    a.errors = r.errors;
    a.bytesIn = r.bytesIn;
    a.bytesOut = r.bytesOut;
    a.value = r.value;
    a.durationCount = r.durationCount;
    a.durationSum = r.durationSum;
    for (const u of JSON.parse(r.users) as Array<string | null>) if (u !== null) a.users.add(u);
    for (const s of JSON.parse(r.sessions) as Array<string | null>) if (s !== null) a.sessions.add(s);
    for (const d of JSON.parse(r.durs) as Array<number | null>) if (d !== null) acceptDuration(a.durations, d);
    emit(String(r.g), a);
  }
}
