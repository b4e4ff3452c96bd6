import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';

describe('operations', () => {
  it('answers /health', async () => {
    const res = await exports.default.fetch('http://x/health');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok', version: '0.1.0' });
  });
});
