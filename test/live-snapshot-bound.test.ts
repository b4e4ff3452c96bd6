import { abortAllDurableObjects, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { NormalizedEvent, WorkspaceRef } from '../src/ingest/types';
import type { WorkspaceHub } from '../src/live/workspace-hub';
import { LIMITS } from '../src/shared/limits';
import { createWorkspace, hub } from './helpers';

const CHUNK_CHARS = 500_000;

describe('the hub live-state snapshot', () => {
  it('stays under its byte cap (oldest users and sessions cut first) and is saved at most once per interval whatever the traffic', async () => {
    const ws = await createWorkspace('snap');
    const ref: WorkspaceRef = { id: ws.id, slug: ws.slug, timezone: 'UTC', eventsPerSecond: LIMITS.eventsPerSecondMax };
    const stub = hub(ws.id) as DurableObjectStub<WorkspaceHub>;
    const now = Date.now();
    const event = (i: number): NormalizedEvent => ({
      id: `snap-${i}`, type: 'page.view', ts: now - 1000, receivedAt: now, userId: `user-with-a-longish-id-${i}`, sessionId: `session-${i}-of-a-visitor`,
      room: null, durationMs: null, bytesIn: null, bytesOut: null, error: null, value: null, properties: {},
      context: { country: 'DE', platform: 'web', device: 'desktop', browser: 'Firefox', os: 'Linux' },
    });
    await runInDurableObject(stub, async (instance) => {
      const live = (instance as unknown as { live: { snapshots: { saves: number; last: { chars: number; rows: number } }; saveIfDue(force?: boolean): void; state: { toJSON(): unknown } } }).live;
      const savesBefore = live.snapshots.saves;
      const started = Date.now();
      // 30,000 users in 60 commits as fast as the hub takes them.
      for (let b = 0; b < 60; b++) await instance.ingest(ref, Array.from({ length: 500 }, (_, i) => event(b * 500 + i)));
      const elapsed = Date.now() - started;
      const saves = live.snapshots.saves - savesBefore;
      console.log(`60 commits in ${elapsed} ms: ${saves} snapshot saves (before: one a second)`);
      expect(saves).toBeLessThanOrEqual(Math.ceil(elapsed / LIMITS.liveSnapshotEveryMs) + 1);

      const untrimmed = JSON.stringify(live.state.toJSON()).length;
      live.saveIfDue(true);
      const { last } = live.snapshots;
      console.log(`snapshot: ${untrimmed} chars in ${Math.ceil(untrimmed / CHUNK_CHARS)} rows untrimmed; saved ${last.chars} chars, ${last.rows} rows written`);
      expect(untrimmed).toBeGreaterThan(LIMITS.liveSnapshotMaxBytes);
      expect(last.chars).toBeLessThanOrEqual(LIMITS.liveSnapshotMaxBytes);
      expect(last.rows).toBeLessThanOrEqual(Math.ceil(LIMITS.liveSnapshotMaxBytes / CHUNK_CHARS) + Math.ceil(untrimmed / CHUNK_CHARS));
    });
    // A restarted hub loads the trimmed snapshot: counters whole, the newest users kept.
    await abortAllDurableObjects();
    const stats = await (hub(ws.id) as DurableObjectStub<WorkspaceHub>).liveStats();
    expect(stats.eventsToday).toBe(30_000);
    expect(stats.activeUsers).toBeGreaterThan(2000);
    expect(stats.activeUsers).toBeLessThan(30_000);
  });
});
