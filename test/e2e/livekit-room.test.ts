import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { AccessToken, WebhookEvent } from 'livekit-server-sdk';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bruteForce, MIN, minutesOf, SEC, type Step } from '../concurrency-brute';
import { launchChromium } from './chromium';
import { createWorkspace, startDevServer, type DevServer } from './server';

// A LiveKit session scripted with livekit-server-sdk webhooks against `wrangler dev`: its viewer curve
// and connection figures in the API and in Chromium's room view.
const SHOTS = new URL('./screenshots/', import.meta.url).pathname;
const SLUG = 'lk-room-e2e';
const ROOM = 'town-hall';
const API_KEY = 'APIe2eRoom01';
const API_SECRET = 'e2e-room-secret-0123456789abcdefghijklmno';

let server: DevServer;
let browser: Browser;
let keys: { ingest: string; read: string; admin: string };

interface Who { identity: string; connectionType: string; platform: string }
const p1: Who = { identity: 'ana', connectionType: 'udp', platform: 'iOS' };
const p2: Who = { identity: 'ben', connectionType: 'tcp', platform: 'Web' };
const p3: Who = { identity: 'cy', connectionType: 'turn', platform: 'Android' };
const p4: Who = { identity: 'dee', connectionType: 'turn', platform: 'Web' };
const p5: Who = { identity: 'eli', connectionType: 'udp', platform: 'Web' };

/** The session, minutes after its start: three on stage at the peak, one failed connection, two still there at the end. */
const SCRIPT: Array<[number, 'participant_joined' | 'participant_left' | 'participant_connection_aborted', Who]> = [
  [10 * SEC, 'participant_joined', p1],
  [65 * SEC, 'participant_joined', p2],
  [150 * SEC, 'participant_joined', p3],
  [180 * SEC, 'participant_connection_aborted', p4],
  [6 * MIN, 'participant_left', p2],
  [7 * MIN, 'participant_joined', p5],
  [9 * MIN + 30 * SEC, 'participant_left', p1],
];

async function signed(body: string): Promise<string> {
  const token = new AccessToken(API_KEY, API_SECRET, { ttl: '5m' });
  token.sha256 = createHash('sha256').update(body).digest('base64');
  return token.toJwt();
}

async function api(path: string, token = keys.read) {
  const res = await fetch(`${server.url}/api/v1/workspaces/${SLUG}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, json: (await res.json()) as any };
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  [server, browser] = await Promise.all([startDevServer(), launchChromium()]);
  keys = (await createWorkspace(server, SLUG)).keys;
  const patch = await fetch(`${server.url}/api/v1/workspaces/${SLUG}`, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${keys.admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({ livekit: { apiKey: API_KEY, apiSecret: API_SECRET } }),
  });
  expect(patch.status).toBe(200);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe('a LiveKit session in the room view', () => {
  it('shows its viewer curve, peak, success rate, participant minutes and connection types, in the API and in Chromium', async () => {
    const start = Math.floor(Date.now() / MIN) * MIN - 12 * MIN;
    // Posted in order, quickly: the hub accounts presence by the webhooks' own times.
    for (const [i, [offset, event, who]] of SCRIPT.entries()) {
      const msg = new WebhookEvent({
        id: `EV_e2e_${i}`, createdAt: BigInt((start + offset) / 1000),
        room: { name: ROOM, sid: 'RM_townhall' },
        participant: { sid: `PA_${who.identity}`, identity: who.identity, metadata: JSON.stringify({ platform: who.platform, connectionType: who.connectionType }) },
      } as never);
      msg.event = event;
      const body = msg.toJsonString();
      const res = await fetch(`${server.url}/api/v1/workspaces/${SLUG}/webhooks/livekit`, { method: 'POST', headers: { 'content-type': 'application/webhook+json', authorization: await signed(body) }, body });
      expect(res.status, await res.text()).toBe(202);
    }
    const steps: Step[] = SCRIPT.map(([offset, event, who]) => ({ at: start + offset, kind: event === 'participant_joined' ? 'join' : 'leave', room: ROOM, userId: who.identity }));
    // The minutes up to the one before now are closed by the hub's alarm (two people stay present) and drained.
    const lastClosed = Math.floor(Date.now() / MIN) * MIN - MIN;
    const exact = bruteForce(steps, start, lastClosed + MIN).get(ROOM)!;
    const qs = `?from=${start}&to=${lastClosed + MIN}&granularity=minute&metrics=concurrentUsers,participantMinutes&room=${ROOM}`;
    const points = await until('the closed minutes in the timeseries', async () => {
      const res = await api(`/stats/timeseries${qs}`);
      expect(res.status).toBe(200);
      return res.json.points.at(-1).concurrentUsers === 2 ? (res.json.points as any[]) : undefined;
    });
    expect(points.map((p) => [p.t, p.concurrentUsers, p.participantMinutes])).toEqual(
      points.map((p) => [p.t, exact.get(Date.parse(p.t))?.maxUsers ?? 0, minutesOf(exact.get(Date.parse(p.t))?.participantMs ?? 0)]),
    );
    expect(Math.max(...points.map((p) => p.concurrentUsers))).toBe(3);

    // Connections: 4 joined, 1 aborted; participant time up to now for the two still present.
    const c = await until('the aborted connection in the rollups', async () => {
      const res = await api(`/stats/connections?from=${start}&room=${ROOM}`);
      expect(res.status).toBe(200);
      return res.json.aborted === 1 ? res.json : undefined;
    });
    const at = Date.now();
    expect({ attempts: c.attempts, succeeded: c.succeeded, aborted: c.aborted, successRate: c.successRate }).toEqual({ attempts: 5, succeeded: 4, aborted: 1, successRate: 0.8 });
    const closedMs = (9 * MIN + 30 * SEC - 10 * SEC) + (6 * MIN - 65 * SEC);
    const openMs = (at - (start + 150 * SEC)) + (at - (start + 7 * MIN));
    expect(Math.abs(c.participantMinutes - (closedMs + openMs) / MIN)).toBeLessThan(0.5);
    expect(c.avgSessionSeconds).toBe(Math.round(closedMs / 2 / 10) / 100);
    expect(c.byConnectionType.turn).toMatchObject({ attempts: 2, succeeded: 1, aborted: 1, successRate: 0.5 });
    expect(c.byConnectionType.udp).toMatchObject({ attempts: 2, succeeded: 2, aborted: 0 });
    expect(c.byConnectionType.tcp).toMatchObject({ attempts: 1, succeeded: 1, successRate: 1 });
    expect(c.byPlatform.Web).toMatchObject({ attempts: 3, succeeded: 2, aborted: 1 });

    // The room view in Chromium, signed in with the read key.
    const page = await (await browser.newContext({ viewport: { width: 1360, height: 1000 } })).newPage();
    await page.goto(`${server.url}/`);
    await page.getByLabel('Key').fill(keys.read);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${server.url}/w/${SLUG}`);
    await page.goto(`${server.url}/w/${SLUG}/rooms/${ROOM}`);
    await page.getByRole('button', { name: '1 hour' }).click();
    const peak = page.getByTestId('viewer-peak');
    await expect.poll(() => peak.getAttribute('data-peak'), { timeout: 15_000 }).toBe('3');
    // The 1-hour range: 60 minute points (not the 24 hours shown first), drawn.
    await expect.poll(() => page.getByTestId('viewer-timeline').getAttribute('data-points'), { timeout: 15_000 }).toBe('60');
    await expect.poll(() => page.getByTestId('viewer-timeline').locator('canvas').count(), { timeout: 15_000 }).toBeGreaterThan(0);
    await expect.poll(() => page.getByTestId('room-success-rate').locator('.value').textContent(), { timeout: 15_000 }).toBe('80%');
    const minutes = Number((await page.getByTestId('room-participant-minutes').locator('.value').textContent())?.replace(/,/g, ''));
    // Two participants are still present: their minutes grow by 2 a minute between the API's answer and the page's,
    // and the page's range ends at a whole minute (viewer-range.ts), up to 2 participant minutes before the API's.
    const grownSince = (2 * (Date.now() - at)) / MIN;
    expect(minutes).toBeGreaterThan(c.participantMinutes - 2 - 0.5);
    expect(minutes).toBeLessThan(c.participantMinutes + grownSince + 1);
    expect(await page.getByTestId('connection-types').locator('tr[data-type="turn"] td').nth(2).textContent()).toBe('50%');
    await page.screenshot({ path: `${SHOTS}livekit-room.png`, fullPage: true });
  }, 60_000);
});
