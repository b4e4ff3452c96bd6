import { AccessToken, WebhookEvent, WebhookReceiver } from 'livekit-server-sdk';
import { beforeAll, describe, expect, it } from 'vitest';
import { archivedCount } from './archived';
import { call, createWorkspace, flush, type TestWorkspace } from './helpers';

const API_KEY = 'APIlkTest123';
const API_SECRET = 'lk-secret-0123456789abcdefghijklmnopqrstuv';

/** Signs a body exactly as the LiveKit server does: an AccessToken carrying the body's base64 SHA-256. */
async function sign(body: string, opts: { key?: string; secret?: string; ttl?: string | number } = {}): Promise<string> {
  const token = new AccessToken(opts.key ?? API_KEY, opts.secret ?? API_SECRET, { ttl: opts.ttl ?? '5m' });
  const hash = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(body));
  token.sha256 = btoa(String.fromCharCode(...new Uint8Array(hash)));
  return token.toJwt();
}

const nowS = () => Math.floor(Date.now() / 1000);
let seq = 0;

/** A webhook body in LiveKit's own JSON encoding (camelCase, int64 as strings), via its protobuf classes. */
function webhook(event: string, fields: Record<string, unknown>, createdAt = nowS()): string {
  const msg = new WebhookEvent({ id: `EV_${Date.now().toString(36)}${seq++}`, createdAt: BigInt(createdAt), ...fields } as never);
  msg.event = event as WebhookEvent['event']; // the subclass's field initializer resets what the constructor set
  return msg.toJsonString();
}

async function post(ws: TestWorkspace, body: string, authorization?: string) {
  return call('POST', `/api/v1/workspaces/${ws.slug}/webhooks/livekit`, {
    rawBody: body,
    headers: { 'content-type': 'application/webhook+json', ...(authorization ? { authorization } : {}) },
  });
}

async function stored(ws: TestWorkspace) {
  await flush(ws);
  const res = await call('GET', `/api/v1/workspaces/${ws.slug}/events?limit=1000`, { token: ws.keys.read });
  expect(res.status).toBe(200);
  return res.json.events as Array<Record<string, any>>;
}

const countStored = (ws: TestWorkspace) => archivedCount(ws.id);

describe('LiveKit webhooks', () => {
  let ws: TestWorkspace;
  beforeAll(async () => {
    ws = await createWorkspace('lk');
  });

  it('answers 401 invalid_signature, saying how to set the credentials, while the workspace has none', async () => {
    const body = webhook('room_started', { room: { name: 'r1', sid: 'RM_1' } });
    const res = await post(ws, body, await sign(body));
    expect(res.status).toBe(401);
    expect(res.json.error.code).toBe('invalid_signature');
    expect(res.json.error.message).toMatch(/PATCH \/api\/v1\/workspaces\/.+"livekit"/);
    // An unknown workspace answers the same way: a sender learns nothing of which slugs exist.
    const unknown = await post({ ...ws, slug: 'no-such-ws-lk' }, body, await sign(body));
    expect(unknown.status).toBe(401);
    expect(unknown.json.error.code).toBe('invalid_signature');
  });

  it('maps every event kind, signed by livekit-server-sdk, to events, presence and room sessions', async () => {
    const patch = await call('PATCH', `/api/v1/workspaces/${ws.slug}`, { token: ws.keys.admin, body: { livekit: { apiKey: API_KEY, apiSecret: API_SECRET } } });
    expect(patch.status).toBe(200);
    expect(patch.json.workspace.livekitConfigured).toBe(true);
    expect(JSON.stringify(patch.json)).not.toContain(API_SECRET);

    const t0 = nowS() - 600;
    const room = { name: 'standup room', sid: 'RM_standup', creationTime: BigInt(t0), creationTimeMs: BigInt(t0 * 1000) };
    const ios = { sid: 'PA_ios', identity: 'alice', name: 'Alice', metadata: JSON.stringify({ platform: 'iOS', sdk: 'livekit-swift', os: 'iOS 18', connectionType: 'turn' }), joinedAt: BigInt(t0 + 10), joinedAtMs: BigInt((t0 + 10) * 1000) };
    const web = { sid: 'PA_web', identity: 'web-participant', name: 'Bob', joinedAt: BigInt(t0 + 20) };
    const agent = { sid: 'PA_agent', identity: 'assistant', kind: 4, attributes: { sdk: 'livekit-agents' }, joinedAtMs: BigInt((t0 + 30) * 1000) };
    const sipUser = { sid: 'PA_sip', identity: 'caller-1', kind: 3, joinedAt: BigInt(t0 + 40) };
    const hinted = { sid: 'PA_hint', identity: 'ios-user-123', joinedAt: BigInt(t0 + 50) };
    const track = { sid: 'TR_cam', type: 1, source: 1, name: 'camera', width: 1280, height: 720 };
    const bodies: Array<[string, string]> = [
      ['room.started', webhook('room_started', { room }, t0)],
      ['presence.join', webhook('participant_joined', { room, participant: ios }, t0 + 10)],
      ['presence.join', webhook('participant_joined', { room, participant: web }, t0 + 20)],
      ['presence.join', webhook('participant_joined', { room, participant: agent }, t0 + 30)],
      ['presence.join', webhook('participant_joined', { room, participant: sipUser }, t0 + 40)],
      ['presence.join', webhook('participant_joined', { room, participant: hinted }, t0 + 50)],
      ['track_published', webhook('track_published', { room, participant: ios, track }, t0 + 60)],
      ['track_unpublished', webhook('track_unpublished', { room, participant: ios, track }, t0 + 70)],
      ['egress_started', webhook('egress_started', { egressInfo: { egressId: 'EG_1', roomName: 'standup room', status: 1, startedAt: BigInt((t0 + 80) * 1e9) } }, t0 + 80)],
      ['egress_updated', webhook('egress_updated', { egressInfo: { egressId: 'EG_1', roomName: 'standup room', status: 1 } }, t0 + 85)],
      ['egress_ended', webhook('egress_ended', { egressInfo: { egressId: 'EG_1', roomName: 'standup room', status: 3, startedAt: BigInt((t0 + 80) * 1e9), endedAt: BigInt((t0 + 200) * 1e9) } }, t0 + 200)],
      ['ingress_started', webhook('ingress_started', { ingressInfo: { ingressId: 'IN_1', name: 'obs', roomName: 'standup room', state: { status: 2 } } }, t0 + 90)],
      ['ingress_ended', webhook('ingress_ended', { ingressInfo: { ingressId: 'IN_1', name: 'obs', roomName: 'standup room', state: { status: 3, error: 'stream ended' } } }, t0 + 95)],
      ['presence.leave', webhook('participant_left', { room, participant: ios }, t0 + 310)],
      ['presence.leave', webhook('participant_connection_aborted', { room, participant: web }, t0 + 140)],
      ['room.finished', webhook('room_finished', { room }, t0 + 400)],
    ];
    const receiver = new WebhookReceiver(API_KEY, API_SECRET);
    for (const [i, [, body]] of bodies.entries()) {
      if (i === bodies.length - 1) {
        // Before room_finished, the room's live view holds who is still present (agent, SIP caller, hinted iOS user).
        const live = await call('GET', `/api/v1/workspaces/${ws.slug}/rooms/standup_room/live`, { token: ws.keys.read });
        expect(live.status, live.text).toBe(200);
        const present = Object.fromEntries(live.json.data.participants.map((p: any) => [p.userId, p.platform]));
        expect(present).toEqual({ assistant: 'Agent', 'caller-1': 'SIP', 'ios-user-123': 'iOS' });
      }
      const token = await sign(body);
      // The same request passes LiveKit's own receiver: it is signed the way LiveKit signs.
      await expect(receiver.receive(body, token)).resolves.toBeTruthy();
      const res = await post(ws, body, token);
      expect(res.status, res.text).toBe(202);
      expect(res.json).toEqual({ accepted: 1, duplicates: 0 });
    }

    const events = await stored(ws);
    expect(events).toHaveLength(bodies.length);
    expect(events.map((e) => e.type).sort()).toEqual(bodies.map(([t]) => t).sort());
    const byId = new Map(events.map((e) => [e.id, e]));
    for (const [, body] of bodies) expect(byId.has(JSON.parse(body).id)).toBe(true);
    for (const e of events) expect(e.room).toBe('standup_room');

    const joins = events.filter((e) => e.type === 'presence.join');
    const joinOf = (u: string) => joins.find((e) => e.userId === u)!;
    expect(joinOf('alice').context).toMatchObject({ platform: 'iOS', sdk: 'livekit-swift', os: 'iOS 18', connectionType: 'turn' });
    expect(joinOf('alice').properties).toMatchObject({ name: 'Alice', kind: 'standard', roomName: 'standup room' });
    expect(joinOf('web-participant').context.platform).toBe('Web');
    expect(joinOf('assistant').context).toMatchObject({ platform: 'Agent', sdk: 'livekit-agents' });
    expect(joinOf('assistant').properties.kind).toBe('agent');
    expect(joinOf('caller-1').context.platform).toBe('SIP');
    expect(joinOf('ios-user-123').context.platform).toBe('iOS');
    // The webhook's own sender says nothing of the participant: no user agent is inferred from it.
    expect(joinOf('alice').context.userAgent).toBeUndefined();
    expect(joinOf('alice').timestamp).toBe(new Date((t0 + 10) * 1000).toISOString());

    const leaves = events.filter((e) => e.type === 'presence.leave');
    const aliceLeave = leaves.find((e) => e.userId === 'alice')!;
    expect(aliceLeave.durationMs).toBe(300_000);
    expect(aliceLeave.context.platform).toBe('iOS');
    expect(aliceLeave.properties.reason).toBe('left');
    const aborted = leaves.find((e) => e.userId === 'web-participant')!;
    expect(aborted.durationMs).toBe(120_000);
    expect(aborted.properties.reason).toBe('connection_aborted');
    expect(aborted.error).toBe('connection_aborted');

    const published = events.find((e) => e.type === 'track_published')!;
    expect(published.userId).toBe('alice');
    expect(published.properties).toMatchObject({ trackSid: 'TR_cam', trackType: 'VIDEO', source: 'CAMERA', width: 1280, height: 720 });
    expect(events.find((e) => e.type === 'egress_ended')!.durationMs).toBe(120_000);
    expect(events.find((e) => e.type === 'egress_ended')!.properties.egressId).toBe('EG_1');
    expect(events.find((e) => e.type === 'ingress_ended')!.error).toBe('stream ended');
    expect(events.find((e) => e.type === 'room.finished')!.durationMs).toBe(400_000);

    // The sessions and rooms reports read the same presence and room events.
    const sessions = await call('GET', `/api/v1/workspaces/${ws.slug}/sessions?userId=alice&range=24h`, { token: ws.keys.read });
    expect(sessions.status, sessions.text).toBe(200);
    expect(sessions.json.sessions).toHaveLength(1);
    expect(sessions.json.sessions[0]).toMatchObject({
      userId: 'alice', room: 'standup_room', durationSeconds: 300, platform: 'iOS', connectionType: 'turn',
      joinedAt: new Date((t0 + 10) * 1000).toISOString(), leftAt: new Date((t0 + 310) * 1000).toISOString(),
    });
    const agentSession = await call('GET', `/api/v1/workspaces/${ws.slug}/sessions?userId=assistant&range=24h`, { token: ws.keys.read });
    // The agent never left on its own: room_finished ends its session with the room.
    expect(agentSession.json.sessions[0]).toMatchObject({ platform: 'Agent', leftAt: new Date((t0 + 400) * 1000).toISOString() });
    const rooms = await call('GET', `/api/v1/workspaces/${ws.slug}/rooms?room=standup_room&range=24h`, { token: ws.keys.read });
    expect(rooms.status, rooms.text).toBe(200);
    expect(rooms.json.rooms[0]).toMatchObject({
      room: 'standup_room', startedAt: new Date(t0 * 1000).toISOString(), endedAt: new Date((t0 + 400) * 1000).toISOString(), participants: 5,
    });
  });

  it('counts LiveKit’s redelivery of a webhook id once, and takes the token with "Bearer "', async () => {
    const body = webhook('participant_joined', { room: { name: 'retry' }, participant: { identity: 'carol', joinedAt: BigInt(nowS()) } });
    const first = await post(ws, body, await sign(body));
    const again = await post(ws, body, `Bearer ${await sign(body)}`);
    expect(first.json).toEqual({ accepted: 1, duplicates: 0 });
    expect(again.status).toBe(202);
    expect(again.json).toEqual({ accepted: 0, duplicates: 1 });
    const events = await stored(ws);
    expect(events.filter((e) => e.id === JSON.parse(body).id)).toHaveLength(1);
  });

  it('refuses a wrong secret, a changed body, an expired token and a missing header with 401 invalid_signature, storing nothing', async () => {
    const before = await countStored(ws);
    const body = webhook('participant_joined', { room: { name: 'evil' }, participant: { identity: 'mallory' } });
    const changed = body.replace('mallory', 'mallorz');
    const cases: Array<[string, string | undefined, string]> = [
      ['wrong secret', await sign(body, { secret: 'not-the-secret-0123456789abcdefghij' }), body],
      ['wrong api key', await sign(body, { key: 'APIother' }), body],
      ['changed body', await sign(body), changed],
      ['expired token', await sign(body, { ttl: '-5m' }), body],
      ['missing header', undefined, body],
      ['garbage', 'not.a.jwt', body],
    ];
    for (const [name, token, sent] of cases) {
      const res = await post(ws, sent, token);
      expect(res.status, name).toBe(401);
      expect(res.json.error.code, name).toBe('invalid_signature');
    }
    await flush(ws);
    expect(await countStored(ws)).toBe(before);
    expect(await archivedCount(null, (r) => r.user_id === 'mallory' || r.user_id === 'mallorz')).toBe(0);
  });

  it('answers 401 for an unknown workspace and 400 for a signed body that is no webhook', async () => {
    const body = '{"hello":"world"}';
    expect((await post({ ...ws, slug: 'no-such-ws-lk' }, body, await sign(body))).status).toBe(401);
    const res = await post(ws, body, await sign(body));
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe('invalid_request');
  });
});
