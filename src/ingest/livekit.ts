import type { EventInput } from '../shared/events';
import type { ContextField } from '../shared/events';
import { LIMITS } from '../shared/limits';
import { externalEventId, roomName, scalarProperties, shortId, type Scalar } from './ids';

/** LiveKit webhook JSON (protobuf JSON: camelCase, int64 as strings, enums by name or number). */
type Json = Record<string, unknown>;
type Int64 = string | number | undefined;

const KINDS = ['STANDARD', 'INGRESS', 'EGRESS', 'SIP', 'AGENT'] as const;
const KIND_CONTEXT: Record<string, Partial<Record<ContextField, string>>> = {
  AGENT: { platform: 'Agent', device: 'server' },
  SIP: { platform: 'SIP', device: 'phone' },
  INGRESS: { platform: 'Ingress', device: 'server' },
  EGRESS: { platform: 'Egress', device: 'server' },
};

/** Words in an identity or name that say which platform the participant is on. */
const NAME_HINTS: Array<[RegExp, string]> = [
  [/^(ios|iphone|ipad|swift)$/, 'iOS'],
  [/^(android|kotlin)$/, 'Android'],
  [/^(web|browser|chrome|firefox|safari|edge|js)$/, 'Web'],
  [/^(macos|mac|osx)$/, 'macOS'],
  [/^(windows|win)$/, 'Windows'],
  [/^linux$/, 'Linux'],
  [/^(flutter)$/, 'Flutter'],
  [/^(unity)$/, 'Unity'],
  [/^(agent|bot)$/, 'Agent'],
  [/^(sip|phone|pstn)$/, 'SIP'],
];

/** Keys of metadata JSON / attributes that fill context fields. */
const META_KEYS: Record<string, ContextField> = {
  platform: 'platform', os: 'os', device: 'device', browser: 'browser', sdk: 'sdk',
  connectionType: 'connectionType', connection_type: 'connectionType', country: 'country',
};

const obj = (v: unknown): Json | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined);
/** A protobuf enum as LiveKit's JSON writes it (name or number); String() of a nested array would recurse without bound. */
const enumText = (v: unknown): string | undefined => (typeof v === 'string' || typeof v === 'number' ? String(v) : undefined);
const num = (v: Int64): number | undefined => {
  const n = typeof v === 'string' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : undefined;
};

/** Epoch ms of a LiveKit time given in ms, else in seconds, else in nanoseconds. */
function ms(opts: { ms?: Int64; s?: Int64; ns?: Int64 }): number | undefined {
  const m = num(opts.ms);
  if (m) return m;
  const s = num(opts.s);
  if (s) return s * 1000;
  const ns = num(opts.ns);
  return ns ? Math.floor(ns / 1e6) : undefined;
}

/**
 * Sets the time between two LiveKit times as durationMs when an event may hold it (0 ≤ x ≤ 1e10).
 * These are derived, not stated by a client: a span beyond (clocks in other units) is left out, not refused.
 */
function setSpan(event: EventInput, from: number | undefined, to: number | undefined): void {
  if (from === undefined || to === undefined) return;
  const d = to - from;
  if (d >= 0 && d <= LIMITS.durationMsMax) event.durationMs = d;
}

function participantKind(p: Json): string {
  const k = p.kind;
  if (typeof k === 'number') return KINDS[k] ?? 'STANDARD';
  return typeof k === 'string' && k ? k.toUpperCase() : 'STANDARD';
}

/** Platform, os, device, SDK and connection type: metadata JSON and attributes, then kind, then name hints. */
export function participantContext(p: Json): Partial<Record<ContextField, string>> {
  const ctx: Partial<Record<ContextField, string>> = {};
  const fill = (source: Json | undefined) => {
    for (const [key, field] of Object.entries(META_KEYS)) {
      const v = source?.[key];
      if (!ctx[field] && typeof v === 'string' && v) ctx[field] = v.slice(0, 200);
    }
  };
  let meta: Json | undefined;
  try {
    meta = typeof p.metadata === 'string' && p.metadata.trim().startsWith('{') ? obj(JSON.parse(p.metadata)) : undefined;
  } catch {
    meta = undefined; // metadata is free text for many apps
  }
  fill(meta);
  fill(obj(p.attributes));
  for (const [field, value] of Object.entries(KIND_CONTEXT[participantKind(p)] ?? {})) ctx[field as ContextField] ??= value;
  if (!ctx.platform) {
    const words = `${str(p.identity) ?? ''} ${str(p.name) ?? ''}`.toLowerCase().split(/[^a-z0-9]+/);
    const hit = NAME_HINTS.find(([re]) => words.some((w) => re.test(w)));
    if (hit) ctx.platform = hit[1];
  }
  return ctx;
}

function trackProperties(t: Json | undefined): Record<string, Scalar> {
  if (!t) return {};
  const props: Record<string, Scalar> = {};
  for (const [key, name] of [['sid', 'trackSid'], ['type', 'trackType'], ['source', 'source'], ['name', 'trackName'], ['mimeType', 'mimeType']] as const) {
    const v = t[key];
    if (typeof v === 'string' || typeof v === 'number') props[name] = v;
  }
  if (typeof t.muted === 'boolean') props.muted = t.muted;
  if (typeof t.simulcast === 'boolean') props.simulcast = t.simulcast;
  if (num(t.width as Int64)) props.width = num(t.width as Int64)!;
  if (num(t.height as Int64)) props.height = num(t.height as Int64)!;
  return props;
}

type Props = Record<string, Scalar>;

function mapRoom(name: string, room: Json | undefined, at: number, event: EventInput, properties: Props): void {
  event.type = name === 'room_started' ? 'room.started' : 'room.finished';
  const created = ms({ ms: room?.creationTimeMs as Int64, s: room?.creationTime as Int64 });
  if (name === 'room_finished') setSpan(event, created, at);
  if (num(room?.numParticipants as Int64)) properties.participants = num(room?.numParticipants as Int64)!;
  if (num(room?.maxParticipants as Int64)) properties.maxParticipants = num(room?.maxParticipants as Int64)!;
}

function mapEgress(info: Json, event: EventInput, properties: Props): void {
  event.room ??= roomName(info.roomName);
  properties.egressId = str(info.egressId) ?? null;
  if (enumText(info.status) !== undefined) properties.status = enumText(info.status)!;
  if (str(info.error)) event.error = str(info.error)!.slice(0, 128);
  const started = ms({ ns: info.startedAt as Int64 });
  const ended = ms({ ns: info.endedAt as Int64 });
  setSpan(event, started, ended);
}

function mapIngress(info: Json, event: EventInput, properties: Props): void {
  const state = obj(info.state) ?? {};
  event.room ??= roomName(info.roomName);
  properties.ingressId = str(info.ingressId) ?? null;
  if (str(info.name)) properties.ingressName = str(info.name)!;
  if (enumText(info.inputType) !== undefined) properties.inputType = enumText(info.inputType)!;
  if (enumText(state.status) !== undefined) properties.status = enumText(state.status)!;
  if (str(state.error)) event.error = str(state.error)!.slice(0, 128);
  if (str(info.participantIdentity)) event.userId = shortId(info.participantIdentity);
}

/** Participant events become presence: join, or leave with the time since joining. */
function mapParticipant(name: string, p: Json, at: number, event: EventInput, properties: Props): void {
  event.userId = shortId(p.identity);
  event.context = participantContext(p);
  properties.kind = participantKind(p).toLowerCase();
  if (str(p.name)) properties.name = str(p.name)!.slice(0, 1000);
  if (str(p.sid)) properties.participantSid = str(p.sid)!;
  if (str(p.region)) properties.region = str(p.region)!;
  if (name === 'participant_joined') event.type = 'presence.join';
  if (name === 'participant_left' || name === 'participant_connection_aborted') {
    event.type = 'presence.leave';
    properties.reason = name === 'participant_left' ? 'left' : 'connection_aborted';
    if (enumText(p.disconnectReason) !== undefined) properties.disconnectReason = enumText(p.disconnectReason)!;
    const joined = ms({ ms: p.joinedAtMs as Int64, s: p.joinedAt as Int64 });
    setSpan(event, joined, at);
    if (name === 'participant_connection_aborted') event.error = 'connection_aborted';
  }
}

/**
 * One verified LiveKit webhook → one event input: rooms → `room.started`/`room.finished`,
 * participants → `presence.join`/`presence.leave`, tracks, egress and ingress → events named as
 * LiveKit names them. The webhook `id` becomes the event id, so LiveKit's retries are duplicates.
 * Null when the body names no `event`.
 */
export async function livekitEvent(payload: unknown, now: number): Promise<EventInput | null> {
  const body = obj(payload);
  const name = str(body?.event);
  if (!body || !name) return null;
  const room = obj(body.room);
  const participant = obj(body.participant);
  const at = ms({ s: body.createdAt as Int64 }) ?? now;
  const event: EventInput = { type: name, id: await externalEventId(body.id), timestamp: Math.min(at, now) };
  const properties: Props = {};
  const roomLabel = str(room?.name);
  event.room = roomName(roomLabel);
  if (roomLabel && event.room !== roomLabel) properties.roomName = roomLabel.slice(0, 1000);
  if (str(room?.sid)) properties.roomSid = str(room?.sid)!;

  if (name === 'room_started' || name === 'room_finished') mapRoom(name, room, at, event, properties);
  else if (name.startsWith('egress_')) mapEgress(obj(body.egressInfo) ?? {}, event, properties);
  else if (name.startsWith('ingress_')) mapIngress(obj(body.ingressInfo) ?? {}, event, properties);
  if (participant) mapParticipant(name, participant, at, event, properties);
  if (name.startsWith('track_')) Object.assign(properties, trackProperties(obj(body.track)));
  event.properties = scalarProperties(properties);
  return event;
}
