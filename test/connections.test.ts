import { AccessToken, WebhookEvent } from 'livekit-server-sdk';
import { beforeAll, describe, expect, it } from 'vitest';
import { bruteForce, MIN, minutesOf, prng, SEC, type Step } from './concurrency-brute';
import { call, createWorkspace, hub, type TestWorkspace } from './helpers';

const API_KEY = 'APIconnTest1';
const API_SECRET = 'conn-secret-0123456789abcdefghijklmnopqrs';

/** Signs a body as the LiveKit server does: an AccessToken carrying the body's base64 SHA-256. */
async function sign(body: string): Promise<string> {
  const token = new AccessToken(API_KEY, API_SECRET, { ttl: '5m' });
  const hash = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(body));
  token.sha256 = btoa(String.fromCharCode(...new Uint8Array(hash)));
  return token.toJwt();
}

let seq = 0;
function webhook(event: string, fields: Record<string, unknown>, createdAtMs: number): string {
  const msg = new WebhookEvent({ id: `EV_conn_${seq++}`, createdAt: BigInt(createdAtMs / 1000), ...fields } as never);
  msg.event = event as WebhookEvent['event'];
  return msg.toJsonString();
}

const TYPES = ['udp', 'tcp', 'turn', undefined] as const;
const PLATFORMS = ['iOS', 'Android', 'Web', undefined] as const;
const ROOMS = ['alpha', 'beta'];

interface Participant { identity: string; connectionType?: string; platform?: string }
interface LkStep { at: number; event: 'participant_joined' | 'participant_left' | 'participant_connection_aborted'; room: string; p: Participant }

/** Participants with a fixed connection type and platform (some without) joining, leaving and failing to connect. */
function generate(seed: number, start: number, end: number): LkStep[] {
  const rnd = prng(seed);
  const people: Participant[] = Array.from({ length: 12 }, (_, i) => ({ identity: `p${i}`, connectionType: TYPES[i % 4], platform: PLATFORMS[Math.floor(i / 3) % 4] }));
  const inRoom = new Map(ROOMS.map((r) => [r, new Set<string>()]));
  const steps: LkStep[] = [];
  for (let at = start + 5 * SEC; at < end; at += (rnd() < 0.2 ? 300 : 1 + Math.floor(rnd() * 90)) * SEC) {
    const room = ROOMS[Math.floor(rnd() * ROOMS.length)];
    const p = people[Math.floor(rnd() * people.length)];
    const present = inRoom.get(room)!;
    if (present.has(p.identity)) {
      steps.push({ at, event: 'participant_left', room, p });
      present.delete(p.identity);
    } else if (rnd() < 0.2) {
      steps.push({ at, event: 'participant_connection_aborted', room, p });
    } else {
      steps.push({ at, event: 'participant_joined', room, p });
      present.add(p.identity);
    }
  }
  return steps;
}

interface Tally { succeeded: number; aborted: number; ms: number; endedMs: number; ended: number }

/** The connections report by brute force: sessions from joins to leaves, clipped to [from, to). */
function expected(steps: LkStep[], from: number, to: number) {
  const total: Tally = { succeeded: 0, aborted: 0, ms: 0, endedMs: 0, ended: 0 };
  const byType = new Map<string, Tally>();
  const byPlatform = new Map<string, Tally>();
  const tallies = (p: Participant) => [total, ...[[byType, p.connectionType], [byPlatform, p.platform]].map(([map, key]) => {
    const m = map as Map<string, Tally>;
    const k = (key as string | undefined) ?? 'unknown';
    if (!m.has(k)) m.set(k, { succeeded: 0, aborted: 0, ms: 0, endedMs: 0, ended: 0 });
    return m.get(k)!;
  })];
  const open = new Map<string, number>();
  const session = (p: Participant, joined: number, left: number | null) => {
    for (const t of tallies(p)) {
      if (joined >= from && joined < to) t.succeeded++;
      t.ms += Math.max(0, Math.min(left ?? to, to) - Math.max(joined, from));
      if (joined >= from && joined < to && left !== null) {
        t.ended++;
        t.endedMs += left - joined;
      }
    }
  };
  for (const s of steps) {
    const key = `${s.room}/${s.p.identity}`;
    if (s.event === 'participant_joined') open.set(key, s.at);
    else if (s.event === 'participant_left') {
      session(s.p, open.get(key)!, s.at);
      open.delete(key);
    } else if (s.at >= from && s.at < to) for (const t of tallies(s.p)) t.aborted++;
  }
  for (const [key, joined] of open) session(steps.find((s) => `${s.room}/${s.p.identity}` === key)!.p, joined, null);
  const figures = (t: Tally) => ({
    attempts: t.succeeded + t.aborted, succeeded: t.succeeded, aborted: t.aborted,
    successRate: t.succeeded + t.aborted ? Math.round((t.succeeded / (t.succeeded + t.aborted)) * 1e6) / 1e6 : null,
    participantMinutes: minutesOf(t.ms), avgSessionSeconds: t.ended ? Math.round(t.endedMs / t.ended / 10) / 100 : null,
  });
  const obj = (m: Map<string, Tally>) => Object.fromEntries([...m].filter(([, t]) => t.succeeded + t.aborted + t.ms > 0).map(([k, t]) => [k, figures(t)]));
  return { ...figures(total), byConnectionType: obj(byType), byPlatform: obj(byPlatform) };
}

/** The answer without keys whose figures are all zero (udp, tcp and turn are always there). */
const nonEmpty = (m: Record<string, any>) => Object.fromEntries(Object.entries(m).filter(([, f]) => f.attempts + f.participantMinutes > 0));

describe('connections report from LiveKit webhooks', () => {
  let ws: TestWorkspace;
  let steps: LkStep[];
  const start = Math.floor((Date.now() - 5 * 60 * MIN) / MIN) * MIN;
  const end = start + 3 * 60 * MIN;

  beforeAll(async () => {
    ws = await createWorkspace('conn');
    const patch = await call('PATCH', `/api/v1/workspaces/${ws.slug}`, { token: ws.keys.admin, body: { livekit: { apiKey: API_KEY, apiSecret: API_SECRET } } });
    expect(patch.status).toBe(200);
    steps = generate(7, start, end);
    const stub = hub(ws.id);
    for (const s of steps) {
      const metadata = JSON.stringify({ ...(s.p.platform ? { platform: s.p.platform } : {}), ...(s.p.connectionType ? { connectionType: s.p.connectionType } : {}) });
      const body = webhook(s.event, { room: { name: s.room, sid: `RM_${s.room}` }, participant: { sid: `PA_${s.p.identity}`, identity: s.p.identity, metadata } }, s.at);
      // The hub's clock follows the stream, doing what its alarm would have done by then.
      await stub.setClockForTest(s.at);
      await stub.tickForTest();
      const res = await call('POST', `/api/v1/workspaces/${ws.slug}/webhooks/livekit`, { rawBody: body, headers: { 'content-type': 'application/webhook+json', authorization: await sign(body) } });
      expect(res.status, res.text).toBe(202);
    }
    await stub.setClockForTest(end);
    await stub.tickForTest();
    expect(await stub.flush()).toBe(0);
  }, 120_000);

  it('answers success rate, participant minutes, session length by connection type and platform as brute force does, over the whole stream and a part cut mid-hour', async () => {
    expect(steps.filter((s) => s.event === 'participant_connection_aborted').length).toBeGreaterThan(5);
    for (const [from, to] of [[start, end], [start + 47 * MIN + 13 * SEC, start + 2 * 60 * MIN + 31 * MIN]]) {
      const res = await call('GET', `/api/v1/workspaces/${ws.slug}/stats/connections?from=${from}&to=${to}`, { token: ws.keys.read });
      expect(res.status, res.text).toBe(200);
      const want = expected(steps, from, to);
      expect(Object.keys(res.json.byConnectionType)).toEqual(expect.arrayContaining(['udp', 'tcp', 'turn']));
      expect({ ...res.json, byConnectionType: nonEmpty(res.json.byConnectionType), byPlatform: nonEmpty(res.json.byPlatform) }).toEqual(want);
      expect(want.successRate).toBeGreaterThan(0.5);
      expect(want.successRate).toBeLessThan(1);
    }
    // One room, and one platform.
    const room = await call('GET', `/api/v1/workspaces/${ws.slug}/stats/connections?from=${start}&to=${end}&room=alpha`, { token: ws.keys.read });
    expect(room.status).toBe(200);
    const alpha = expected(steps.filter((s) => s.room === 'alpha'), start, end);
    expect({ ...room.json, byConnectionType: nonEmpty(room.json.byConnectionType), byPlatform: nonEmpty(room.json.byPlatform) }).toEqual(alpha);
  });

  it('serves the viewer curve of the same stream (participant minutes agree with the report)', async () => {
    const presence: Step[] = steps.map((s) => ({ at: s.at, kind: s.event === 'participant_joined' ? 'join' : 'leave', room: s.room, userId: s.p.identity }));
    const exact = bruteForce(presence, start, end);
    const qs = new URLSearchParams({ from: String(start), to: String(end), granularity: 'minute', metrics: 'concurrentUsers,participantMinutes' });
    const res = await call('GET', `/api/v1/workspaces/${ws.slug}/stats/timeseries?${qs}`, { token: ws.keys.read });
    expect(res.status).toBe(200);
    let totalMs = 0;
    for (const p of res.json.points) {
      const w = exact.get('')?.get(Date.parse(p.t));
      expect([p.t, p.concurrentUsers, p.participantMinutes]).toEqual([p.t, w?.maxUsers ?? 0, minutesOf(w?.participantMs ?? 0)]);
      totalMs += w?.participantMs ?? 0;
    }
    const report = await call('GET', `/api/v1/workspaces/${ws.slug}/stats/connections?from=${start}&to=${end}`, { token: ws.keys.read });
    expect(report.json.participantMinutes).toBe(minutesOf(totalMs));
  });

  it('breaks events down by connection type', async () => {
    const res = await call('GET', `/api/v1/workspaces/${ws.slug}/stats/breakdown?by=connectionType&from=${start + 7 * MIN}&to=${end}`, { token: ws.keys.read });
    expect(res.status, res.text).toBe(200);
    const want = new Map<string, number>();
    for (const s of steps) if (s.p.connectionType && s.at >= start + 7 * MIN) want.set(s.p.connectionType, (want.get(s.p.connectionType) ?? 0) + 1);
    expect(Object.fromEntries(res.json.rows.map((r: any) => [r.key, r.events]))).toEqual(Object.fromEntries(want));
    expect(res.json.by).toBe('connectionType');
  });

  it('refuses filters a session does not carry, and unknown parameters, naming them', async () => {
    for (const bad of ['type=page', 'country=DE', 'nonsense=1']) {
      const res = await call('GET', `/api/v1/workspaces/${ws.slug}/stats/connections?range=24h&${bad}`, { token: ws.keys.read });
      expect(res.status, bad).toBe(400);
      expect(res.json.error.code).toBe('invalid_request');
      expect(res.json.error.message).toContain(bad.split('=')[0]);
    }
  });
});
