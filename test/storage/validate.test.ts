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
  assertSyncState,
  assertWindow,
  compareCodePoints,
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
      codeOf(() => assertSyncState({ lastUpToDate: null, heartbeat: null, run: null, x: 1 })),
    ).toBe('STORAGE_INVALID_SYNC_STATE');
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
