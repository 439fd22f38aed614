import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { isEdgeHaError } from '../../src/errors.js';
import {
  decodeEventCursor,
  decodePointCursor,
  encodeEventCursor,
  encodePointCursor,
} from '../../src/storage/cursor.js';
import {
  assertEvent,
  assertPageRequest,
  assertPoint,
  assertPointsInWindow,
  assertWindow,
  compareCodePoints,
  decodeSyncState,
  encodeSyncState,
  encodeSyncWriteOptions,
  MAX_SYNC_KEY_LENGTH,
  MAX_SYNC_STATE_LENGTH,
} from '../../src/storage/validate.js';

const RUNS = Number(process.env.EDGE_HA_PROPERTY_RUNS ?? 200);

function codeOf(fn: () => void): string | undefined {
  try {
    fn();
    return undefined;
  } catch (error) {
    expect(isEdgeHaError(error)).toBe(true);
    return (error as { code: string }).code;
  }
}

describe('compareCodePoints', () => {
  test('orders like UTF-8 bytes (SQLite BINARY), unlike UTF-16 <', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' }), (a, b) => {
        const bytes = Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
        expect(Math.sign(compareCodePoints(a, b))).toBe(bytes);
      }),
      { numRuns: RUNS },
    );
    expect(compareCodePoints('\u{1F600}', '\u{E000}')).toBeGreaterThan(0);
    expect('\u{1F600}' < '\u{E000}').toBe(true);
  });
});

describe('validation codes', () => {
  test('windows, pages, points, events and sync state map to their codes', () => {
    expect(codeOf(() => assertWindow({ from: 1, to: 0 }))).toBe('STORAGE_INVALID_WINDOW');
    expect(codeOf(() => assertWindow({ from: 0, to: 0 }))).toBeUndefined();
    expect(codeOf(() => assertPageRequest({ limit: 100_001 }))).toBe('STORAGE_INVALID_PAGE');
    expect(codeOf(() => assertPageRequest({ limit: 1, cursor: 3 }))).toBe('STORAGE_INVALID_CURSOR');
    expect(codeOf(() => assertPoint({ t: 1, v: 'a\uD800' }))).toBe('STORAGE_VALUE_OUT_OF_RANGE');
    expect(codeOf(() => assertPoint({ t: 1, v: 1, q: undefined }))).toBeUndefined();
    expect(codeOf(() => assertEvent({ id: 'a', t: 1, body: new Date(0) }))).toBe(
      'STORAGE_INVALID_RECORD',
    );
    expect(codeOf(() => assertEvent({ id: 'a', t: 1, body: { a: [1, { b: 2n }] } }))).toBe(
      'STORAGE_INVALID_RECORD',
    );
    let deep: unknown = null;
    for (let i = 0; i < 100; i++) deep = [deep];
    expect(codeOf(() => assertEvent({ id: 'a', t: 1, body: deep }))).toBe('STORAGE_INVALID_RECORD');
    expect(
      codeOf(() => assertPointsInWindow([{ t: 5, v: 1 }], { from: 0, to: 5 }, 'mergePoints')),
    ).toBe('STORAGE_POINT_OUTSIDE_WINDOW');
    expect(
      codeOf(() =>
        assertPointsInWindow(
          [
            { t: 2, v: 1 },
            { t: 1, v: 1 },
            { t: 2, v: 2 },
          ],
          { from: 0, to: 5 },
          'mergePoints',
        ),
      ),
    ).toBe('STORAGE_INVALID_RECORD');
  });
});

describe('sync state', () => {
  test('encodeSyncState returns the key and the JSON text of a valid record', () => {
    const value = { v: 1, nested: { list: [1, 'two', null] }, text: 'h\u00e9 \u{1F600}' };
    expect(encodeSyncState('k', value, 'writeSyncState: ')).toEqual({
      key: 'k',
      text: JSON.stringify(value),
    });
  });

  test('the key and text limits are exact, counted in UTF-16 code units', () => {
    const key = 'k'.repeat(MAX_SYNC_KEY_LENGTH);
    expect(codeOf(() => encodeSyncState(key, {}, ''))).toBeUndefined();
    expect(codeOf(() => encodeSyncState(`${key}k`, {}, ''))).toBe('STORAGE_INVALID_SYNC_STATE');
    // {"s":"…"} is 8 code units plus the string; an emoji is 2 code units (4 UTF-8 bytes).
    const fits = { s: '\u{1F600}'.repeat((MAX_SYNC_STATE_LENGTH - 8) / 2) };
    expect(JSON.stringify(fits)).toHaveLength(MAX_SYNC_STATE_LENGTH);
    expect(codeOf(() => encodeSyncState('k', fits, ''))).toBeUndefined();
    expect(codeOf(() => encodeSyncState('k', { s: `${fits.s}x` }, ''))).toBe(
      'STORAGE_INVALID_SYNC_STATE',
    );
  });

  test('rejections name the call and say what was wrong', () => {
    const message = (fn: () => void): string => {
      try {
        fn();
      } catch (error) {
        expect(isEdgeHaError(error, 'STORAGE_INVALID_SYNC_STATE')).toBe(true);
        return (error as Error).message;
      }
      throw new Error('expected a rejection');
    };
    expect(message(() => encodeSyncState('k', [1], 'writeSyncState: '))).toBe(
      'writeSyncState: value must be a JSON object, got an array.',
    );
    expect(message(() => encodeSyncState('k', { a: [Number.NaN] }, 'writeSyncState: '))).toMatch(
      /^writeSyncState: value\.a\[0\] is NaN/,
    );
    expect(message(() => encodeSyncState('', {}, 'writeSyncState: '))).toMatch(
      /^writeSyncState: key must be a non-empty string of at most 2048 characters/,
    );
    expect(
      message(() => encodeSyncState('k', { s: 'x'.repeat(MAX_SYNC_STATE_LENGTH) }, 'w: ')),
    ).toMatch(/^w: value is 65544 characters as JSON text, more than the 65536 allowed/);
    expect(
      message(() =>
        encodeSyncWriteOptions({ syncState: { key: 'k\uD800', value: {} } }, 'mergePoints'),
      ),
    ).toMatch(/^mergePoints: options\.syncState\.key must not contain a lone UTF-16 surrogate/);
    expect(message(() => encodeSyncWriteOptions(null, 'replacePoints'))).toMatch(
      /^replacePoints: options must be an object/,
    );
  });

  test('sync-write options: absent records are undefined, bad records reject', () => {
    expect(encodeSyncWriteOptions(undefined, 'replacePoints')).toBeUndefined();
    expect(encodeSyncWriteOptions({}, 'replacePoints')).toBeUndefined();
    expect(encodeSyncWriteOptions({ syncState: undefined }, 'mergePoints')).toBeUndefined();
    expect(
      encodeSyncWriteOptions({ syncState: { key: 'k', value: { v: 1 } } }, 'insertEventsIfAbsent'),
    ).toEqual({ key: 'k', text: '{"v":1}' });
    for (const bad of [
      null,
      'k',
      { syncState: null },
      { syncState: { key: 'k' } },
      { syncState: { value: {} } },
      { syncState: { key: 'k', value: 'text' } },
      { syncState: { key: 'k', value: new Date(0) } },
    ]) {
      expect(codeOf(() => encodeSyncWriteOptions(bad, 'mergePoints'))).toBe(
        'STORAGE_INVALID_SYNC_STATE',
      );
    }
  });

  test('decodeSyncState: stored text that is not a JSON object is STORAGE_BACKEND', () => {
    expect(decodeSyncState('{"v":1,"a":[true]}', 'record')).toEqual({ v: 1, a: [true] });
    for (const text of ['[1]', '"text"', 'null', '42', '{"v":', '']) {
      expect(codeOf(() => decodeSyncState(text, 'record'))).toBe('STORAGE_BACKEND');
    }
  });
});

describe('cursors', () => {
  const window = { from: 100, to: 200 };

  test('round-trip the last key of the read they belong to', () => {
    expect(decodePointCursor(encodePointCursor('i', window, 150), 'i', window)).toBe(150);
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

  test('reject tampered cursors', () => {
    const cursor = encodePointCursor('i', window, 150);
    const forged = cursor.replace('.150.', '.250.');
    expect(codeOf(() => decodePointCursor(forged, 'i', window))).toBe('STORAGE_INVALID_CURSOR');
    expect(codeOf(() => decodePointCursor(`${cursor}.x`, 'i', window))).toBe(
      'STORAGE_INVALID_CURSOR',
    );
    const event = encodeEventCursor(window, 150, 'id');
    expect(codeOf(() => decodeEventCursor(`${event}=`, window))).toBe('STORAGE_INVALID_CURSOR');
    expect(codeOf(() => decodeEventCursor(event.replace(/\.[^.]+$/, '.'), window))).toBe(
      'STORAGE_INVALID_CURSOR',
    );
  });
});
