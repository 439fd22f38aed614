/** The pure planner of several peers per gap: which source serves which part of a window. */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { routeWindow } from '../../src/deputy/sources.js';
import type { TimeWindow } from '../../src/storage/types.js';

const w = (from: number, to: number): TimeWindow => ({ from, to });

describe('routeWindow', () => {
  it('one part from source 0 when no source lacks anything of the window', () => {
    expect(routeWindow(w(0, 100), [[w(100, 200)], [w(0, 100)]])).toEqual({
      parts: [{ from: 0, to: 100, source: 0 }],
      uncovered: [],
    });
    expect(routeWindow(w(0, 100), [[]])).toEqual({
      parts: [{ from: 0, to: 100, source: 0 }],
      uncovered: [],
    });
  });

  it('the part source 0 lacks comes from the next source that has it; the rest from source 0', () => {
    expect(routeWindow(w(0, 100), [[w(40, 60)], [w(0, 10)]])).toEqual({
      parts: [
        { from: 0, to: 40, source: 0 },
        { from: 40, to: 60, source: 1 },
        { from: 60, to: 100, source: 0 },
      ],
      uncovered: [],
    });
  });

  it('sources are tried in order: a part source 1 lacks too goes to source 2', () => {
    expect(routeWindow(w(0, 100), [[w(40, 80)], [w(50, 70)], []])).toEqual({
      parts: [
        { from: 0, to: 40, source: 0 },
        { from: 40, to: 50, source: 1 },
        { from: 50, to: 70, source: 2 },
        { from: 70, to: 80, source: 1 },
        { from: 80, to: 100, source: 0 },
      ],
      uncovered: [],
    });
  });

  it('a part every source lacks is served by source 0 and listed as uncovered', () => {
    expect(routeWindow(w(0, 100), [[w(40, 60)], [w(50, 70)]])).toEqual({
      parts: [
        { from: 0, to: 40, source: 0 },
        { from: 40, to: 50, source: 1 },
        { from: 50, to: 100, source: 0 },
      ],
      uncovered: [w(50, 60)],
    });
    expect(routeWindow(w(0, 100), [[w(-5, 200)]])).toEqual({
      parts: [{ from: 0, to: 100, source: 0 }],
      uncovered: [w(0, 100)],
    });
  });

  it('clips missing windows to the window, joins overlapping and touching ones, ignores empty ones', () => {
    const route = routeWindow(w(10, 50), [
      [w(45, 70), w(0, 20), w(20, 30), w(25, 25), w(33, 33)],
      [],
    ]);
    expect(route).toEqual({
      parts: [
        { from: 10, to: 30, source: 1 },
        { from: 30, to: 45, source: 0 },
        { from: 45, to: 50, source: 1 },
      ],
      uncovered: [],
    });
  });

  it('an empty window has no parts', () => {
    expect(routeWindow(w(5, 5), [[w(0, 10)]])).toEqual({ parts: [], uncovered: [] });
  });

  it('property: parts tile the window, each from the first source lacking none of it', () => {
    const window = fc
      .tuple(fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 60 }))
      .map(([a, b]) => w(Math.min(a, b), Math.max(a, b)));
    fc.assert(
      fc.property(
        window,
        fc.array(fc.array(window, { maxLength: 5 }), { minLength: 1, maxLength: 4 }),
        (target, missing) => {
          const { parts, uncovered } = routeWindow(target, missing);
          let at = target.from;
          for (const part of parts) {
            expect(part.from).toBe(at);
            expect(part.to).toBeGreaterThan(part.from);
            at = part.to;
          }
          expect(at).toBe(parts.length === 0 ? target.from : target.to);
          // Millisecond by millisecond: the serving source is the first that lacks none of it.
          for (let t = target.from; t < target.to; t++) {
            const lacks = (i: number) => (missing[i] ?? []).some((m) => m.from <= t && t < m.to);
            const first = missing.findIndex((_, i) => !lacks(i));
            const part = parts.find((p) => p.from <= t && t < p.to);
            expect(part?.source).toBe(first === -1 ? 0 : first);
            expect(uncovered.some((u) => u.from <= t && t < u.to)).toBe(first === -1);
          }
          // Adjacent parts have different sources (the cut is where the source changes).
          for (let i = 1; i < parts.length; i++) {
            expect(parts[i]?.source).not.toBe(parts[i - 1]?.source);
          }
        },
      ),
    );
  });
});
