/**
 * The stages of an event's way, each run on its own by the bench entry (bench/worker.ts) and timed
 * where it runs, through the seams production uses: `WorkspaceHub.ingest`, `writeArchiveBatch`,
 * `writeDrain`. `POST /api/v1/bench/stage` with `{ stage, workspace, events, copies, repeat, inFlight }`:
 * the body's events (normalized once) `copies` times over are one unit; the stage runs `repeat` units under fresh ids,
 * `inFlight` at a time; the answer is the milliseconds it took and the events it handled.
 *
 * - `bare`: an RPC to a Durable Object that does nothing (the floor of any call to a hub).
 * - `hub-call`: `ingest` RPC to a hub (de-dup, outbox commit, live state; the 202's wait).
 * - `hub-commit`: the same `ingest`, called inside the hub: the commit without the RPC.
 * - `archive`: one drain's Parquet encode and R2 put (`writeArchiveBatch`), one drain at a time.
 * - `drain-d1`: one drain's D1 batch (`writeDrain`: rollups, sessions, drain log — and raw rows while the
 *   drain still writes them), one drain at a time, as a hub drains.
 *
 * Hubs here are `BenchHub`s: production's WorkspaceHub whose alarm does not drain, so a commit is
 * measured without the drain behind it.
 */
import { writeArchiveBatch } from '../src/archive';
import { ApiError } from '../src/errors';
import { writeDrain } from '../src/history/drain-writer';
import { normalizeEvents } from '../src/ingest/normalize';
import { parseEventPayload } from '../src/ingest/parse';
import type { NormalizedEvent, WorkspaceRef } from '../src/ingest/types';
import { WorkspaceHub } from '../src/live/workspace-hub';

export interface StageEnv {
  BENCH_HUB: DurableObjectNamespace<BenchHub>;
}

const STAGES = ['bare', 'hub-call', 'hub-commit', 'archive', 'drain-d1'] as const;
type Stage = (typeof STAGES)[number];

export interface StageResult {
  stage: Stage;
  ms: number;
  events: number;
  calls: number;
}

/** `count` calls of `fn`, at most `inFlight` at once. */
async function inFlightPool(count: number, inFlight: number, fn: (k: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(inFlight, count)) }, worker));
}

/** Unit `k` of `unit`: the same events under ids no other unit uses (the hub de-duplicates by id). */
const fresh = (unit: NormalizedEvent[], k: number, tag: string) => unit.map((e) => ({ ...e, id: `${e.id}.${tag}${k}` }));

/** Production's hub without its drain: `ingest` measured alone. */
export class BenchHub extends WorkspaceHub {
  async alarm(): Promise<void> {}

  /** `repeat` ingests of `unit` called inside the object, `inFlight` at once; the milliseconds they took. */
  async commitLoop(ref: WorkspaceRef, unit: NormalizedEvent[], repeat: number, inFlight: number): Promise<number> {
    const units = Array.from({ length: repeat }, (_, k) => fresh(unit, k, 'c'));
    const start = Date.now();
    await inFlightPool(repeat, inFlight, (k) => this.ingest(ref, units[k]));
    return Date.now() - start;
  }
}

interface StageBody {
  stage: Stage;
  workspace: WorkspaceRef;
  events: unknown[];
  /** The unit is the events this many times over (a drain holds up to 5,000; a request at most 500). */
  copies?: number;
  repeat: number;
  inFlight: number;
}

const whole = (n: unknown, min: number, max: number) => Math.min(max, Math.max(min, Math.floor(Number(n) || min)));

/** Runs one stage as the body says (see the file's comment). */
export async function runStage(request: Request, env: Env & StageEnv, bare: { broadcast(message: string): Promise<number> }): Promise<StageResult> {
  const body = (await request.json()) as StageBody;
  if (!STAGES.includes(body.stage)) throw new ApiError('invalid_request', `stage is one of ${STAGES.join(', ')}`);
  const repeat = whole(body.repeat, 1, 10_000);
  const inFlight = whole(body.inFlight, 1, 256);
  const parsed = parseEventPayload({ events: body.events });
  if (!parsed.ok) throw new ApiError('invalid_request', parsed.message, parsed.issues);
  const normalized = normalizeEvents(parsed.value.events, { now: Date.now(), userAgent: request.headers.get('user-agent') ?? undefined }, true);
  if (!normalized.ok) throw new ApiError('invalid_request', normalized.message, normalized.issues);
  const copies = whole(body.copies, 1, 100);
  const unit = Array.from({ length: copies }, (_, j) => fresh(normalized.value, j, 'u')).flat();
  // Its rate limit out of the way: the stage is measured, not the workspace's budget.
  const ref: WorkspaceRef = { ...body.workspace, eventsPerSecond: 1e9 };
  const hub = () => env.BENCH_HUB.get(env.BENCH_HUB.idFromName(`${ref.id}:${body.stage}`));
  const result = (ms: number): StageResult => ({ stage: body.stage, ms, events: unit.length * repeat, calls: repeat });

  if (body.stage === 'hub-commit') return result(await hub().commitLoop(ref, unit, repeat, inFlight));
  const units = Array.from({ length: repeat }, (_, k) => fresh(unit, k, body.stage[0]));
  const start = Date.now();
  switch (body.stage) {
    case 'bare':
      await inFlightPool(repeat, inFlight, () => bare.broadcast('x'));
      break;
    case 'hub-call': {
      const stub = hub();
      await inFlightPool(repeat, inFlight, (k) => stub.ingest(ref, units[k]));
      break;
    }
    case 'archive':
      await inFlightPool(repeat, inFlight, (k) => writeArchiveBatch(env.ARCHIVE, ref.id, crypto.randomUUID(), units[k]));
      break;
    case 'drain-d1':
      await inFlightPool(repeat, inFlight, (k) => {
        const id = crypto.randomUUID();
        return writeDrain(env.DB, ref, [{ batchId: id, events: units[k] }], Date.now(), id);
      });
      break;
  }
  return result(Date.now() - start);
}
