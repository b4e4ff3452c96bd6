/** Brute force for the concurrency tests: presence replayed second by second, and a seeded generator. */

export const SEC = 1000;
export const MIN = 60_000;

export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One presence change at a whole second; `viewer` events are heartbeats (present until 90 s after the last). */
export interface Step {
  at: number;
  kind: 'join' | 'leave' | 'heartbeat' | 'finish';
  room: string;
  userId?: string;
}

export interface MinuteFigures {
  maxUsers: number;
  participantMs: number;
}

/**
 * Replays steps second by second over [from, to): during each second the state is the one after
 * that second's step (viewers unheard of for 90 s are gone first). Per minute and per room ('' =
 * the workspace: distinct users in any room): the most users present in any second, and users × ms.
 */
export function bruteForce(steps: Step[], from: number, to: number, timeoutMs = 90_000): Map<string, Map<number, MinuteFigures>> {
  const members = new Map<string, Map<string, number | null>>(); // room → user → last heartbeat (null: joined)
  const byAt = new Map(steps.map((s) => [s.at, s]));
  const out = new Map<string, Map<number, MinuteFigures>>();
  const note = (room: string, minute: number, n: number) => {
    if (!n) return;
    let m = out.get(room);
    if (!m) out.set(room, (m = new Map()));
    const f = m.get(minute) ?? { maxUsers: 0, participantMs: 0 };
    f.maxUsers = Math.max(f.maxUsers, n);
    f.participantMs += n * SEC;
    m.set(minute, f);
  };
  for (let t = from; t < to; t += SEC) {
    for (const users of members.values()) for (const [u, heard] of users) if (heard !== null && heard + timeoutMs <= t) users.delete(u);
    const s = byAt.get(t);
    if (s) {
      const users = members.get(s.room) ?? new Map<string, number | null>();
      members.set(s.room, users);
      if (s.kind === 'join' && !users.has(s.userId!)) users.set(s.userId!, null);
      if (s.kind === 'heartbeat') users.set(s.userId!, t);
      if (s.kind === 'leave') users.delete(s.userId!);
      if (s.kind === 'finish') users.clear();
    }
    const minute = Math.floor(t / MIN) * MIN;
    const everyone = new Set<string>();
    let pairs = 0;
    for (const [room, users] of members) {
      note(room, minute, users.size);
      for (const u of users.keys()) everyone.add(u);
      pairs += users.size;
    }
    if (everyone.size) {
      let m = out.get('');
      if (!m) out.set('', (m = new Map()));
      const f = m.get(minute) ?? { maxUsers: 0, participantMs: 0 };
      f.maxUsers = Math.max(f.maxUsers, everyone.size);
      f.participantMs += pairs * SEC;
      m.set(minute, f);
    }
  }
  return out;
}

/** Minute figures merged into buckets (`bucketOf`): max of max, sum of participant ms. */
export function mergeBuckets(minutes: Map<number, MinuteFigures> | undefined, bucketOf: (t: number) => number): Map<number, MinuteFigures> {
  const out = new Map<number, MinuteFigures>();
  for (const [t, f] of minutes ?? []) {
    const b = bucketOf(t);
    const cur = out.get(b) ?? { maxUsers: 0, participantMs: 0 };
    cur.maxUsers = Math.max(cur.maxUsers, f.maxUsers);
    cur.participantMs += f.participantMs;
    out.set(b, cur);
  }
  return out;
}

export const minutesOf = (ms: number) => Math.round(ms / 600) / 100;
