/** The windows a peer lists in hello as missing: union, bound, and the hook's failures. */

import { describe, expect, it } from 'vitest';
import { helloGaps, isHelloGaps, MAX_HELLO_GAPS, unionWindows } from '../../src/peer/gaps.js';
import type { TimeWindow } from '../../src/storage/types.js';

const w = (from: number, to: number): TimeWindow => ({ from, to });

describe('unionWindows', () => {
  it('sorts, joins overlapping and touching windows, drops empty ones, copies', () => {
    const input = [w(50, 60), w(0, 10), w(5, 20), w(20, 30), w(40, 40), w(31, 35)];
    const union = unionWindows(input);
    expect(union).toEqual([w(0, 30), w(31, 35), w(50, 60)]);
    expect(input[0]).toEqual(w(50, 60));
    expect(union[2]).not.toBe(input[0]);
  });
});

describe('isHelloGaps', () => {
  it(`accepts at most ${MAX_HELLO_GAPS} safe-integer windows with from <= to`, () => {
    expect(isHelloGaps([])).toBe(true);
    expect(isHelloGaps([w(1, 1), w(0, 5)])).toBe(true);
    expect(isHelloGaps(Array.from({ length: MAX_HELLO_GAPS }, (_, i) => w(i, i + 1)))).toBe(true);
    expect(isHelloGaps(Array.from({ length: MAX_HELLO_GAPS + 1 }, (_, i) => w(i, i + 1)))).toBe(
      false,
    );
    for (const bad of [
      null,
      'x',
      {},
      [w(5, 4)],
      [{ from: 0.5, to: 1 }],
      [{ from: 0 }],
      [{ from: 0, to: 2 ** 53 }],
      [null],
    ]) {
      expect(isHelloGaps(bad)).toBe(false);
    }
  });
});

describe('helloGaps', () => {
  it('is the union of what the hook returns, invalid windows left out', () => {
    const hook = () => [w(30, 40), w(0, 10), w(5, 12), { from: 9, to: 1 }, null as never];
    expect(helloGaps(hook)).toEqual([w(0, 12), w(30, 40)]);
  });

  it('a throwing hook, or one returning no array, lists no gaps', () => {
    expect(
      helloGaps(() => {
        throw new Error('ledger not loaded');
      }),
    ).toEqual([]);
    expect(helloGaps(() => 'nope' as never)).toEqual([]);
  });

  it(`beyond ${MAX_HELLO_GAPS} windows joins the last ones, claiming more missing, never less`, () => {
    const many = Array.from({ length: MAX_HELLO_GAPS + 5 }, (_, i) => w(i * 10, i * 10 + 1));
    const listed = helloGaps(() => many);
    expect(listed).toHaveLength(MAX_HELLO_GAPS);
    expect(isHelloGaps(listed)).toBe(true);
    expect(listed.slice(0, MAX_HELLO_GAPS - 1)).toEqual(many.slice(0, MAX_HELLO_GAPS - 1));
    expect(listed[MAX_HELLO_GAPS - 1]).toEqual(
      w((MAX_HELLO_GAPS - 1) * 10, (MAX_HELLO_GAPS + 4) * 10 + 1),
    );
    // Every window the hook named is still inside a listed one.
    for (const window of many) {
      expect(listed.some((l) => l.from <= window.from && window.to <= l.to)).toBe(true);
    }
  });
});
