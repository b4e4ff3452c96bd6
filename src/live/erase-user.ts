import type { NormalizedEvent } from '../ingest/types';

/** What a hub removed of one user. */
export interface HubErasure {
  /** Events taken out of the outbox and the dead letters (acknowledged, not yet archived). */
  events: number;
  /** Rooms whose RoomHub may list the user's events (told to forget them too). */
  rooms: string[];
}

/**
 * Takes one user's events out of a hub's outbox and dead letters, in one transaction. Rows left
 * empty go (an empty batch has nothing to drain or replay); the drain in progress keeps its id and
 * seq range, so its retry overwrites the archive objects it may already have put, without the user.
 */
export function eraseFromHubStorage(sql: SqlStorage, transaction: <T>(fn: () => T) => T, userId: string): HubErasure {
  const rooms = new Set<string>();
  let events = 0;
  const filter = (json: string): NormalizedEvent[] => {
    const all = JSON.parse(json) as NormalizedEvent[];
    const keep = all.filter((e) => e.userId !== userId);
    for (const e of all) if (e.userId === userId && e.room) rooms.add(e.room);
    events += all.length - keep.length;
    return keep;
  };
  transaction(() => {
    // Only the rows that hold the user are parsed and rewritten.
    const outbox = sql.exec<{ seq: number }>(
      `SELECT DISTINCT o.seq FROM outbox o, json_each(o.events) e WHERE e.value ->> '$.userId' = ?`, userId,
    ).toArray();
    for (const { seq } of outbox) {
      const keep = filter(sql.exec<{ events: string }>(`SELECT events FROM outbox WHERE seq = ?`, seq).one().events);
      if (keep.length) sql.exec(`UPDATE outbox SET events = ? WHERE seq = ?`, JSON.stringify(keep), seq);
      else sql.exec(`DELETE FROM outbox WHERE seq = ?`, seq);
    }
    const letters = sql.exec<{ id: string }>(
      `SELECT DISTINCT d.id FROM dead_letters d, json_each(d.events) e WHERE e.value ->> '$.userId' = ?`, userId,
    ).toArray();
    for (const { id } of letters) {
      const keep = filter(sql.exec<{ events: string }>(`SELECT events FROM dead_letters WHERE id = ?`, id).one().events);
      if (keep.length) sql.exec(`UPDATE dead_letters SET events = ?, event_count = ? WHERE id = ?`, JSON.stringify(keep), keep.length, id);
      else sql.exec(`DELETE FROM dead_letters WHERE id = ?`, id);
    }
  });
  return { events, rooms: [...rooms] };
}
