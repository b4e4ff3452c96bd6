import fc from 'fast-check';
import { RawJson } from './json';

/** Numbers at and beyond every bound a schema might have, and JSON number tokens JSON.stringify cannot write. */
export const extremeNumber: fc.Arbitrary<number | RawJson> = fc.oneof(
  fc.constantFrom(
    0, -1, 1, 0.5, -0.5, 1e308, -1e308, 1.7976931348623157e308, 5e-324, -5e-324, 2 ** 53, 2 ** 53 + 2, -(2 ** 53),
    Number.MAX_SAFE_INTEGER, 2 ** 31, 2 ** 32, 2 ** 63, 1e10, 1e10 + 1, 1e15, 1e15 + 1, -1e15 - 1, 1e21, 9e15, 3650, 3651, 1000, 1001, 500, 501,
  ),
  fc.constantFrom('-0', '1e400', '-1e400', '1e-400', '1E+308', '123456789012345678901234567890', '0.0000000000000000000001', '-0.0', '1.0').map((t) => new RawJson(t)),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
);

/** Strings that break naive code: empty, blank, control characters, NUL, lone surrogates, RTL, very long, paths, markup, formulas. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '', ' ', '  a  ', '\u0000', 'a\u0000b', '\ud800', '\udfff', 'x\ud83d', '😀', '\u202e', 'Ünïcødé', 'ﷺ', '\r\n', '\t', '\u2028',
    '..', '../..', '%00', '%2e%2e', '%zz', '%', '/', '\\', '?', '#', '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty',
    '<script>alert(1)</script>', "' OR 1=1 --", '"; DROP TABLE events; --', '=SUM(A1)', '+1', '-1', '@x', 'null', 'undefined', 'NaN',
    'Infinity', '-0', '1e400', 'true', '{}', '[]', 'pk_', 'rk_', 'sk_', 'whsec_', 'Bearer', '2026-11-23T10:00:00Z', '2999-01-01T00:00:00Z',
    '1970-01-01T00:00:00Z', '0001-01-01', '275760-09-13T00:00:00Z', 'not a date', 'Europe/Berlin', 'Mars/Olympus', 'UTC', 'Etc/GMT+14',
  ),
  fc.constantFrom(64, 65, 128, 129, 200, 201, 1000, 1001, 2048, 2049, 5000, 40_000).map((n) => 'x'.repeat(n)),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.string({ maxLength: 30 }),
);

/** A value of any JSON type, hostile where it can be, including deep nesting and prototype keys. */
export const anyJson: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    hostileString,
    extremeNumber,
    fc.constantFrom(null, true, false),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.array(fc.tuple(fc.oneof(hostileString, fc.constantFrom('__proto__', 'constructor', 'type', 'id')), tie('value')), { maxLength: 4 }).map((es) => Object.fromEntries(es)),
  ),
})).value;

/** Nesting far deeper than any schema allows (arrays or objects). */
export const deepNesting: fc.Arbitrary<RawJson> = fc
  .tuple(fc.constantFrom(100, 1000, 10_000), fc.boolean())
  .map(([depth, objects]) => new RawJson(objects ? '{"a":'.repeat(depth) + '1' + '}'.repeat(depth) : '['.repeat(depth) + ']'.repeat(depth)));

/** Anything of the wrong JSON type for a field. */
export const wrongType: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, false, [], {}, [1, 2], { a: 1 }, 0, '', '1'),
  extremeNumber,
  hostileString,
  deepNesting,
);
