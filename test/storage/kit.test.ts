import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  assertEvent,
  assertItemId,
  assertJsonValue,
  assertPageRequest,
  assertPoint,
  assertSyncKey,
  assertWindow,
  decodeEventCursor,
  decodePointCursor,
  encodeEventCursor,
  encodePointCursor,
  encodeSyncWriteOptions,
  isEdgeHaError,
  MAX_BODY_DEPTH,
  MAX_CURSOR_LENGTH,
  MAX_EVENT_ID_LENGTH,
  MAX_ITEM_ID_LENGTH,
  syncStateText,
} from '../../src/index.js';

const RUNS = Number(process.env.EDGE_HA_PROPERTY_RUNS ?? 200);

/** The code `fn` throws (asserting it is an edge-ha error), or `undefined`. */
function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (error) {
    expect(isEdgeHaError(error)).toBe(true);
    return (error as { code: string }).code;
  }
}

/** The message `fn` throws with `code`. */
function messageOf(fn: () => unknown, code: string): string {
  try {
    fn();
  } catch (error) {
    expect(isEdgeHaError(error, code)).toBe(true);
    return (error as Error).message;
  }
  throw new Error('expected a throw');
}

/** `depth + 1` nested arrays, the innermost at depth `depth`. */
function nested(depth: number): unknown {
  let value: unknown = [];
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

const window = { from: 100, to: 200 };
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

describe('the adapter kit is exported from edge-ha', () => {
  test('validators throw the contract codes', () => {
    expect(codeOf(() => assertItemId('x'.repeat(MAX_ITEM_ID_LENGTH)))).toBeUndefined();
    expect(codeOf(() => assertItemId('x'.repeat(MAX_ITEM_ID_LENGTH + 1)))).toBe(
      'STORAGE_INVALID_ITEM',
    );
    expect(codeOf(() => assertWindow({ from: 2, to: 1 }))).toBe('STORAGE_INVALID_WINDOW');
    expect(codeOf(() => assertPageRequest({ limit: 0 }))).toBe('STORAGE_INVALID_PAGE');
    expect(codeOf(() => assertPoint({ t: 1, v: Number.NaN }))).toBe('STORAGE_VALUE_OUT_OF_RANGE');
    expect(codeOf(() => assertEvent({ id: 'x'.repeat(MAX_EVENT_ID_LENGTH + 1), t: 1 }))).toBe(
      'STORAGE_INVALID_RECORD',
    );
    expect(codeOf(() => assertSyncKey(''))).toBe('STORAGE_INVALID_SYNC_STATE');
    expect(codeOf(() => syncStateText([]))).toBe('STORAGE_INVALID_SYNC_STATE');
    expect(
      codeOf(() => encodeSyncWriteOptions({ syncState: { key: 'k', value: 1 } }, 'mergePoints')),
    ).toBe('STORAGE_INVALID_SYNC_STATE');
  });

  test('a lone surrogate gets the code of the field that holds it', () => {
    expect(codeOf(() => assertItemId('a\uD800'))).toBe('STORAGE_INVALID_ITEM');
    expect(codeOf(() => assertEvent({ id: 'a\uDC00', t: 1, body: null }))).toBe(
      'STORAGE_INVALID_RECORD',
    );
    expect(codeOf(() => assertPoint({ t: 1, v: 'a\uD800' }))).toBe('STORAGE_VALUE_OUT_OF_RANGE');
    expect(codeOf(() => assertSyncKey('k\uD800'))).toBe('STORAGE_INVALID_SYNC_STATE');
  });

  test(`body depth: arrays and objects up to depth ${MAX_BODY_DEPTH}, the body itself at 0`, () => {
    expect(MAX_BODY_DEPTH).toBe(64);
    expect(codeOf(() => assertJsonValue(nested(64), 'body'))).toBeUndefined();
    expect(codeOf(() => assertJsonValue(nested(65), 'body'))).toBe('STORAGE_INVALID_RECORD');
    // A scalar may sit one level below the deepest container.
    expect(codeOf(() => assertJsonValue([nested(63)].concat(['x']), 'body'))).toBeUndefined();
    expect(messageOf(() => assertJsonValue(nested(65), 'body'), 'STORAGE_INVALID_RECORD')).toMatch(
      /nests deeper than 64 levels/,
    );
    let object: unknown = { end: 1 };
    for (let i = 0; i < 64; i++) object = { n: object };
    expect(codeOf(() => syncStateText(object))).toBeUndefined();
    expect(codeOf(() => syncStateText({ n: object }))).toBe('STORAGE_INVALID_SYNC_STATE');
  });

  test(`page requests: a cursor longer than ${MAX_CURSOR_LENGTH} characters is rejected`, () => {
    expect(MAX_CURSOR_LENGTH).toBe(4096);
    expect(codeOf(() => assertPageRequest({ limit: 1, cursor: 'c'.repeat(4096) }))).toBeUndefined();
    expect(codeOf(() => assertPageRequest({ limit: 1, cursor: 'c'.repeat(4097) }))).toBe(
      'STORAGE_INVALID_CURSOR',
    );
  });
});

describe('the cursor codec', () => {
  test('round-trips the last key of the read it was minted for', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }),
        fc.integer({ min: -1000, max: 1000 }),
        fc.integer({ min: 1, max: 1000 }),
        (item, from, length) => {
          const w = { from, to: from + length };
          const t = from + Math.floor(length / 2);
          expect(decodePointCursor(encodePointCursor(item, w, t), item, w)).toBe(t);
        },
      ),
      { numRuns: RUNS },
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 100, max: 199 }),
        fc.string({ unit: 'grapheme', minLength: 1, maxLength: 50 }),
        (t, id) => {
          expect(decodeEventCursor(encodeEventCursor(window, t, id), window)).toEqual({ t, id });
        },
      ),
      { numRuns: RUNS },
    );
  });

  test('a cursor minted for one read is rejected by every other read', () => {
    const point = encodePointCursor('i', window, 150);
    const event = encodeEventCursor(window, 150, 'id');
    const code = 'STORAGE_INVALID_CURSOR';
    expect(codeOf(() => decodePointCursor(point, 'j', window))).toBe(code);
    expect(codeOf(() => decodePointCursor(point, 'i', { from: 100, to: 201 }))).toBe(code);
    expect(codeOf(() => decodePointCursor(point, 'i', { from: 99, to: 200 }))).toBe(code);
    expect(codeOf(() => decodePointCursor(event, 'i', window))).toBe(code);
    expect(codeOf(() => decodeEventCursor(point, window))).toBe(code);
    expect(codeOf(() => decodeEventCursor(event, { from: 100, to: 199 }))).toBe(code);
    expect(messageOf(() => decodePointCursor(point, 'j', window), code)).toMatch(
      /belongs to another read/,
    );
    expect(messageOf(() => decodeEventCursor(point, window), code)).toMatch(
      /a point cursor, not an event cursor/,
    );
  });

  test('decoding is strict: only the exact string the encoder produced is accepted', () => {
    const point = encodePointCursor('i', window, 150);
    const event = encodeEventCursor(window, 150, 'id-\u00e9');
    const idPart = event.slice(event.lastIndexOf('.') + 1);
    const code = 'STORAGE_INVALID_CURSOR';
    const badPoints = [
      '',
      'garbage!',
      `${point}!`,
      `${point}.x`,
      `${point}=`,
      point.replace('.150.', '.0150.'),
      point.replace('.150.', '.+150.'),
      point.replace('.150.', '.150.0.'),
      point.replace('.150.', '.250.'),
      point.replace('p.1.', 'p.2.'),
      point.replace('p.1.', 'p.01.'),
      point.replace('p.1.', 'p.x.'),
      point.replace('p.1.', 'P.1.'),
      point.slice(0, -1),
      `${point.slice(0, -1)}!`,
    ];
    for (const bad of badPoints)
      expect(codeOf(() => decodePointCursor(bad, 'i', window))).toBe(code);
    const badEvents = [
      `${event}x!`,
      `${event}=`,
      `${event}==`,
      event.replace(idPart, `${idPart} `),
      // The last character of 5 bytes carries 2 unused bits: setting one is not canonical.
      event.replace(
        idPart,
        idPart.slice(0, -1) + ALPHABET[ALPHABET.indexOf(idPart.at(-1) ?? '') | 1],
      ),
      event.replace(idPart, `${idPart}A`),
      event.replace(idPart, Buffer.from('x'.repeat(257)).toString('base64url')),
      event.replace(idPart, Buffer.from([0xff, 0xfe]).toString('base64url')),
      event.replace(idPart, ''),
      event.replace('e.1.', 'e.9.'),
    ];
    for (const bad of badEvents) expect(codeOf(() => decodeEventCursor(bad, window))).toBe(code);
    expect(
      messageOf(() => decodePointCursor(point.replace('p.1.', 'p.2.'), 'i', window), code),
    ).toMatch(/version 2 is not understood/);
    expect(codeOf(() => decodeEventCursor(`${event}${'A'.repeat(4096)}`, window))).toBe(code);
  });

  test('cursors of edge-ha 0.1 (without a version) are still accepted', () => {
    // The 0.1 format: the fingerprint hashes the read only.
    const read = (kind: string, item: string) =>
      createHash('sha256')
        .update(`${kind}\u0000${window.from}\u0000${window.to}\u0000${item}`)
        .digest('base64url')
        .slice(0, 22);
    const point = `p.150.${read('p', 'i')}`;
    const event = `e.150.${read('e', '')}.${Buffer.from('id').toString('base64url')}`;
    expect(decodePointCursor(point, 'i', window)).toBe(150);
    expect(decodeEventCursor(event, window)).toEqual({ t: 150, id: 'id' });
    expect(codeOf(() => decodePointCursor(point, 'j', window))).toBe('STORAGE_INVALID_CURSOR');
    expect(codeOf(() => decodePointCursor(point.replace('.150.', '.0150.'), 'i', window))).toBe(
      'STORAGE_INVALID_CURSOR',
    );
  });

  test(`cursors stay within ${MAX_CURSOR_LENGTH} characters for the longest ids and widest windows`, () => {
    const wide = { from: Number.MIN_SAFE_INTEGER, to: Number.MAX_SAFE_INTEGER };
    const longest = '\u65e5'.repeat(MAX_EVENT_ID_LENGTH);
    const cursor = encodeEventCursor(wide, Number.MIN_SAFE_INTEGER, longest);
    expect(cursor.length).toBeLessThanOrEqual(1100);
    expect(decodeEventCursor(cursor, wide)).toEqual({ t: Number.MIN_SAFE_INTEGER, id: longest });
    const item = '\u65e5'.repeat(MAX_ITEM_ID_LENGTH);
    expect(encodePointCursor(item, wide, Number.MAX_SAFE_INTEGER - 1).length).toBeLessThan(64);
  });
});
