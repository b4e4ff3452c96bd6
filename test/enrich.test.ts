import { describe, expect, it } from 'vitest';
import { parseUserAgent } from '../src/ingest/enrich';
import { normalizeEvents } from '../src/ingest/normalize';
import { call, createWorkspace, flush, type TestWorkspace } from './helpers';

const UA = {
  iphoneSafari: 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1',
  androidChrome: 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Mobile Safari/537.36',
  desktopFirefox: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0',
  macChrome: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36',
  ipadSafari: 'Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
  iosApp: 'Standup/2.1 CFNetwork/1496.0.7 Darwin/23.5.0',
  okhttp: 'okhttp/4.12.0',
};

describe('User-Agent parsing (a real parser, bowser)', () => {
  it.each([
    ['iPhone Safari', UA.iphoneSafari, { platform: 'Web', browser: 'Safari', device: 'mobile', os: 'iOS 18.0' }],
    ['Android Chrome', UA.androidChrome, { platform: 'Web', browser: 'Chrome', device: 'mobile', os: 'Android 14' }],
    ['desktop Firefox', UA.desktopFirefox, { platform: 'Web', browser: 'Firefox', device: 'desktop', os: 'Windows 10' }],
    ['Mac Chrome', UA.macChrome, { platform: 'Web', browser: 'Chrome', device: 'desktop', os: 'macOS 10.15.7' }],
    ['iPad Safari', UA.ipadSafari, { platform: 'Web', browser: 'Safari', device: 'tablet', os: 'iOS 17.5' }],
  ])('%s', (_name, ua, want) => {
    expect(parseUserAgent(ua)).toEqual(want);
  });

  it('does not call a native app’s HTTP client a web browser', () => {
    for (const ua of [UA.iosApp, UA.okhttp]) {
      const got = parseUserAgent(ua);
      expect(got.platform, ua).not.toBe('Web');
      expect(got.browser, ua).toBeUndefined();
    }
    expect(parseUserAgent(undefined)).toEqual({});
    expect(parseUserAgent('')).toEqual({});
  });

  it('normalizeEvents fills country and UA fields, and the event’s context wins', () => {
    const out = normalizeEvents(
      [
        { type: 'a' },
        { type: 'b', context: { country: 'FR', platform: 'iOS', sdk: 'livekit-swift' } },
        { type: 'c', context: { userAgent: UA.androidChrome } },
      ] as never,
      { now: Date.now(), country: 'DE', userAgent: UA.desktopFirefox },
      true,
    );
    if (!out.ok) throw new Error(out.message);
    const [a, b, c] = out.value.map((e) => e.context);
    expect(a).toEqual({ country: 'DE', platform: 'Web', browser: 'Firefox', device: 'desktop', os: 'Windows 10', userAgent: UA.desktopFirefox });
    expect(b).toMatchObject({ country: 'FR', platform: 'iOS', sdk: 'livekit-swift', browser: 'Firefox' });
    // A User-Agent in the event describes its client better than the request's.
    expect(c).toMatchObject({ country: 'DE', browser: 'Chrome', os: 'Android 14', device: 'mobile', userAgent: UA.androidChrome });
  });

  it('ignores the edge’s unknown-country markers', () => {
    for (const country of ['XX', 'T1']) {
      const out = normalizeEvents([{ type: 'a' }] as never, { now: Date.now(), country }, false);
      if (!out.ok) throw new Error(out.message);
      expect(out.value[0].context.country, country).toBeUndefined();
    }
  });
});

describe('enrichment through the Worker', () => {
  async function sendAndRead(ws: TestWorkspace, body: unknown, headers: Record<string, string>, cf?: Record<string, unknown>) {
    const res = await call('POST', `/api/v1/workspaces/${ws.slug}/events`, { token: ws.keys.ingest, body, headers, cf });
    expect(res.status, res.text).toBe(202);
    await flush(ws);
    const read = await call('GET', `/api/v1/workspaces/${ws.slug}/events?limit=1000`, { token: ws.keys.read });
    return Object.fromEntries(read.json.events.map((e: { id: string; context: Record<string, string> }) => [e.id, e.context]));
  }

  it('takes country from request.cf and platform, os, browser, device from the User-Agent', async () => {
    const ws = await createWorkspace('enrich');
    const got = await sendAndRead(
      ws,
      { events: [{ id: 'plain', type: 'page' }, { id: 'ctx', type: 'page', context: { country: 'JP', browser: 'MyWebView', device: 'tv' } }] },
      { 'user-agent': UA.iphoneSafari },
      { country: 'DE' },
    );
    expect(got.plain).toMatchObject({ country: 'DE', platform: 'Web', browser: 'Safari', device: 'mobile', os: 'iOS 18.0', userAgent: UA.iphoneSafari });
    expect(got.ctx).toMatchObject({ country: 'JP', browser: 'MyWebView', device: 'tv', platform: 'Web', os: 'iOS 18.0' });
  });

  it('enriches collector events the same way', async () => {
    const ws = await createWorkspace('enrich-collect');
    const res = await call('POST', `/api/v1/collect?key=${ws.keys.ingest}`, {
      rawBody: JSON.stringify({ id: 'beacon', type: 'pageview', context: { url: 'https://acme.test/' } }),
      headers: { 'content-type': 'text/plain', 'user-agent': UA.androidChrome },
      cf: { country: 'BR' },
    });
    expect(res.status).toBe(202);
    await flush(ws);
    const read = await call('GET', `/api/v1/workspaces/${ws.slug}/events`, { token: ws.keys.read });
    expect(read.json.events[0].context).toMatchObject({ country: 'BR', browser: 'Chrome', os: 'Android 14', device: 'mobile', url: 'https://acme.test/' });
  });

  it('leaves out what it cannot tell', async () => {
    const ws = await createWorkspace('enrich-none');
    const got = await sendAndRead(ws, { id: 'bare', type: 'server.job' }, { 'user-agent': '' });
    expect(got.bare).toEqual({});
  });
});
