import { EventInput, type ContextField, type ParsedEventInput } from '../shared/events';
import { LIMITS } from '../shared/limits';
import { externalEventId, scalarProperties, shortId, type Scalar } from './ids';
import { invalid, stringifyParsed, zodIssues } from './parse';
import type { InputIssue, ParseOutcome } from './types';

export const SEGMENT_CALLS = ['track', 'identify', 'page', 'screen', 'group', 'alias'] as const;
export type SegmentCall = (typeof SEGMENT_CALLS)[number];
type Json = Record<string, unknown>;

const encoder = new TextEncoder();
const obj = (v: unknown): Json | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined);

/** Segment's `context` object → our context fields (the event's own UA is parsed by enrichment). */
export function segmentContext(ctx: Json | undefined): Partial<Record<ContextField, string>> {
  if (!ctx) return {};
  const page = obj(ctx.page);
  const os = obj(ctx.os);
  const device = obj(ctx.device);
  const library = obj(ctx.library);
  const network = obj(ctx.network);
  const location = obj(ctx.location);
  const out: Partial<Record<ContextField, string>> = {
    url: str(page?.url),
    referrer: str(page?.referrer),
    userAgent: str(ctx.userAgent),
    os: str(os?.name) ? [os?.name, str(os?.version)].filter(Boolean).join(' ') : undefined,
    device: str(device?.type),
    sdk: str(library?.name) ? [library?.name, str(library?.version)].filter(Boolean).join('/') : undefined,
    connectionType: network?.wifi === true ? 'wifi' : network?.cellular === true ? 'cellular' : undefined,
    country: str(location?.country),
  };
  const osName = str(os?.name)?.toLowerCase();
  if (osName === 'ios' || osName === 'iphone os') out.platform = 'iOS';
  else if (osName === 'android') out.platform = 'Android';
  for (const k of Object.keys(out) as ContextField[]) {
    if (out[k] === undefined) delete out[k];
    else out[k] = out[k]!.slice(0, LIMITS.contextStringMaxLength);
  }
  return out;
}

function typeOf(call: SegmentCall, m: Json): string | undefined {
  if (call === 'track') return typeof m.event === 'string' ? m.event : undefined;
  return call === 'page' ? 'pageview' : call;
}

const isIdScalar = (v: unknown): v is string | number | boolean => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';

function propertiesOf(call: SegmentCall, m: Json): Record<string, Scalar> {
  const props: Record<string, Scalar> = {};
  if ((call === 'page' || call === 'screen') && str(m.name)) props.name = str(m.name)!;
  if (call === 'page' && str(m.category)) props.category = str(m.category)!;
  // Ids are strings or numbers; String() of a nested array recurses without bound (and means nothing).
  if (call === 'group' && isIdScalar(m.groupId)) props.groupId = String(m.groupId);
  if (call === 'alias' && isIdScalar(m.previousId)) props.previousId = String(m.previousId);
  const source = call === 'identify' || call === 'group' ? (m.traits ?? obj(m.context)?.traits) : m.properties;
  return scalarProperties(source, props);
}

function timestampOf(m: Json, now: number): number {
  const raw = m.timestamp ?? m.originalTimestamp;
  const t = typeof raw === 'number' ? raw : typeof raw === 'string' ? Date.parse(raw) : NaN;
  // A client clock ahead of ours must not turn a message away: Segment takes it at receipt then.
  return Number.isFinite(t) && t > 946684800000 && t <= now + LIMITS.futureSkewMs ? t : now;
}

/** Which of a track call's properties becomes the event's `value`: `revenue`, else `value`. */
const valueSource = (m: Json): 'revenue' | 'value' => (obj(m.properties)?.revenue != null ? 'revenue' : 'value');

/** An issue of the mapped event, named by the message field it came from. */
function messagePath(path: string, m: Json): string {
  if (path === 'type') return 'event';
  return path === 'value' ? `properties.${valueSource(m)}` : path;
}

/** One Segment message → one event input (not yet validated; `value` out of its bounds is a 400 there). */
export async function segmentMessage(call: SegmentCall, m: Json, batchContext: Json | undefined, now: number): Promise<EventInput> {
  const context = { ...(batchContext ?? {}), ...(obj(m.context) ?? {}) };
  const props = propertiesOf(call, m);
  const revenue = obj(m.properties)?.[valueSource(m)];
  return {
    id: await externalEventId(m.messageId),
    type: typeOf(call, m) as string,
    timestamp: timestampOf(m, now),
    userId: shortId(m.userId) ?? shortId(m.anonymousId),
    ...(call === 'track' && typeof revenue === 'number' && Number.isFinite(revenue) ? { value: revenue } : {}),
    properties: props,
    context: segmentContext(context),
  };
}

/**
 * A Segment request body → validated event inputs, all or nothing. `call` is the route's kind;
 * `batch` takes `{ batch: [...], context? }` with each message naming its `type`.
 */
export async function segmentEvents(call: SegmentCall | 'batch', body: unknown, now: number): Promise<ParseOutcome<ParsedEventInput[]>> {
  const root = obj(body);
  if (!root) return invalid([{ path: '(body)', message: 'expected a Segment message object' }]);
  const messages: unknown[] = call === 'batch' ? (Array.isArray(root.batch) ? root.batch : []) : [root];
  if (call === 'batch' && !Array.isArray(root.batch)) return invalid([{ path: 'batch', message: 'expected an array of messages' }]);
  if (messages.length === 0) return invalid([{ path: 'batch', message: 'must hold at least 1 message' }]);
  const batchContext = call === 'batch' ? obj(root.context) : undefined;
  const issues: InputIssue[] = [];
  const out: ParsedEventInput[] = [];
  for (let i = 0; i < messages.length; i++) {
    const prefix = call === 'batch' ? `batch.${i}.` : '';
    const m = obj(messages[i]);
    if (!m) {
      issues.push({ path: prefix ? `batch.${i}` : '(body)', message: 'expected a message object' });
      continue;
    }
    const json = stringifyParsed(m);
    if (json === undefined) {
      issues.push({ path: prefix ? `batch.${i}` : '(body)', message: 'message nests too deeply' });
      continue;
    }
    const size = encoder.encode(json).byteLength;
    if (size > LIMITS.segmentMessageMaxBytes) {
      issues.push({ path: prefix ? `batch.${i}` : '(body)', message: `message is ${size} bytes, the limit is ${LIMITS.segmentMessageMaxBytes}` });
      continue;
    }
    const kind = (call === 'batch' ? m.type : (m.type ?? call)) as SegmentCall;
    if (!SEGMENT_CALLS.includes(kind)) {
      issues.push({ path: `${prefix}type`, message: `must be one of ${SEGMENT_CALLS.join(', ')}` });
      continue;
    }
    if (kind === 'track' && typeof m.event !== 'string') {
      issues.push({ path: `${prefix}event`, message: 'a track call names its event' });
      continue;
    }
    const result = EventInput.safeParse(await segmentMessage(kind, m, batchContext, now));
    if (result.success) out.push(result.data);
    else issues.push(...zodIssues(result.error).map((x) => ({ ...x, path: `${prefix}${messagePath(x.path, m)}` })));
  }
  return issues.length ? invalid(issues) : { ok: true, value: out };
}
