import { describe, expect, it } from 'vitest';
import {
  approxEventsJsonBytes,
  approxPointsJsonBytes,
  FULL_PAGE_BYTES,
  PageGuard,
  pool,
} from '../../src/deputy/pages.js';
import { isEdgeHaError } from '../../src/errors.js';
import type { EventRecord, Point } from '../../src/storage/types.js';

function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('PageGuard (the progress rule of one read)', () => {
  it('allows maxShortPages short pages, then refuses with PEER_BAD_REPLY', () => {
    const guard = new PageGuard(5_000, 2, 'readPoints of item a');
    guard.check(1, 10, 'c1', undefined);
    guard.check(99, 10, 'c2', 'c1');
    const error = thrown(() => guard.check(0, 10, 'c3', 'c2'));
    expect(isEdgeHaError(error, 'PEER_BAD_REPLY')).toBe(true);
    expect((error as Error).message).toContain('readPoints of item a');
    expect((error as Error).message).toContain('3 short pages');
  });

  it('a page is short below min(pageSize, 100) records and under 1 MiB; a final page never counts', () => {
    const guard = new PageGuard(5_000, 0, 'x');
    guard.check(100, 10, 'c1', undefined);
    guard.check(1, FULL_PAGE_BYTES, 'c2', 'c1');
    guard.check(0, 0, null, 'c2');
    expect(
      isEdgeHaError(
        thrown(() => guard.check(99, 10, 'c3', 'c2')),
        'PEER_BAD_REPLY',
      ),
    ).toBe(true);
    const small = new PageGuard(3, 0, 'x');
    small.check(3, 10, 'c1', undefined);
    expect(
      isEdgeHaError(
        thrown(() => small.check(2, 10, 'c2', 'c1')),
        'PEER_BAD_REPLY',
      ),
    ).toBe(true);
  });

  it('an empty page repeating its cursor is a paging loop at once', () => {
    const guard = new PageGuard(10, 100, 'readEvents of gap 1');
    guard.check(0, 2, 'c1', undefined);
    const error = thrown(() => guard.check(0, 2, 'c1', 'c1'));
    expect(isEdgeHaError(error, 'PEER_BAD_REPLY')).toBe(true);
    expect((error as Error).message).toContain('paging loop');
  });
});

describe('size estimates', () => {
  it('are exact for integers, plain strings, booleans, null and qualities', () => {
    const points: Point[] = [
      { t: 0, v: 0 },
      { t: -17, v: 123_456 },
      { t: 1_700_000_000_000, v: 'abc', q: 192 },
      { t: 5, v: true },
      { t: 6, v: false },
      { t: 7, v: null },
    ];
    expect(approxPointsJsonBytes(points)).toBe(JSON.stringify(points).length);
    expect(approxPointsJsonBytes([])).toBe(2);
    const events: EventRecord[] = [
      {
        id: 'e1',
        t: 3,
        body: { kind: 'alarm', level: 2, tags: ['a', 'b'], ack: false, note: null },
      },
      { id: 'e-2', t: 40, body: [] },
      { id: 'x', t: 1, body: {} },
    ];
    expect(approxEventsJsonBytes(events)).toBe(JSON.stringify(events).length);
    expect(approxEventsJsonBytes([])).toBe(2);
  });

  it('counts 18 characters for a fractional number', () => {
    expect(approxPointsJsonBytes([{ t: 1, v: 0.5 }])).toBe(
      JSON.stringify([{ t: 1, v: 0 }]).length - 1 + 18,
    );
  });
});

describe('pool', () => {
  it('runs every item with at most `limit` in flight', async () => {
    let inFlight = 0;
    let max = 0;
    const done: number[] = [];
    await pool([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
      inFlight++;
      max = Math.max(max, inFlight);
      await Promise.resolve();
      await Promise.resolve();
      done.push(n);
      inFlight--;
    });
    expect(done.sort()).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(max).toBe(3);
    await pool([], 3, async () => {
      throw new Error('never');
    });
  });
});
