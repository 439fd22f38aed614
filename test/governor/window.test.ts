import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isEdgeHaError } from '../../src/errors.js';
import { computeRecoveryWindow, type RecoveryWindowInput } from '../../src/governor/window.js';

const base: RecoveryWindowInput = {
  lastUpToDate: null,
  heartbeat: null,
  pending: null,
  startup: 100_000,
  overlapMs: 1_000,
  maxRecoveryMs: 50_000,
  firstStartLookbackMs: 0,
};

describe('computeRecoveryWindow', () => {
  it('starts at min(LastUpToDate, heartbeat) minus the overlap and ends at start-up', () => {
    expect(computeRecoveryWindow({ ...base, lastUpToDate: 80_000, heartbeat: 90_000 })).toEqual({
      window: { from: 79_000, to: 100_000 },
      unrecoverable: null,
      basis: 'lastUpToDate',
    });
    expect(computeRecoveryWindow({ ...base, lastUpToDate: 95_000, heartbeat: 90_000 })).toEqual({
      window: { from: 89_000, to: 100_000 },
      unrecoverable: null,
      basis: 'heartbeat',
    });
    expect(computeRecoveryWindow({ ...base, heartbeat: 90_000 }).window.from).toBe(89_000);
  });

  it('caps the window at maxRecoveryMs and reports the older part as unrecoverable', () => {
    expect(computeRecoveryWindow({ ...base, lastUpToDate: 10_000 })).toEqual({
      window: { from: 50_000, to: 100_000 },
      unrecoverable: { from: 9_000, to: 50_000 },
      basis: 'lastUpToDate',
    });
  });

  it('extends back to a pending interrupted run so it resumes instead of being lost', () => {
    const result = computeRecoveryWindow({
      ...base,
      lastUpToDate: 90_000,
      heartbeat: 95_000,
      pending: { from: 70_000, to: 92_000 },
    });
    expect(result).toEqual({
      window: { from: 70_000, to: 100_000 },
      unrecoverable: null,
      basis: 'pending',
    });
  });

  it('on a first-ever start uses the look-back (empty by default)', () => {
    expect(computeRecoveryWindow(base)).toEqual({
      window: { from: 100_000, to: 100_000 },
      unrecoverable: null,
      basis: 'firstStart',
    });
    expect(computeRecoveryWindow({ ...base, firstStartLookbackMs: 5_000 }).window).toEqual({
      from: 95_000,
      to: 100_000,
    });
  });

  it('yields an empty window when the records lie in the future (clock jumped back)', () => {
    expect(computeRecoveryWindow({ ...base, overlapMs: 0, lastUpToDate: 200_000 }).window).toEqual({
      from: 100_000,
      to: 100_000,
    });
  });

  it('rejects invalid settings with SYNC_INVALID_OPTION', () => {
    for (const bad of [{ overlapMs: -1 }, { maxRecoveryMs: 1.5 }, { startup: Number.NaN }]) {
      let caught: unknown;
      try {
        computeRecoveryWindow({ ...base, ...bad });
      } catch (error) {
        caught = error;
      }
      expect(isEdgeHaError(caught, 'SYNC_INVALID_OPTION')).toBe(true);
    }
  });

  it('always returns a valid window ending at start-up, never longer than maxRecoveryMs, with nothing dropped silently', () => {
    const time = fc.option(fc.integer({ min: 0, max: 200_000 }), { nil: null });
    fc.assert(
      fc.property(
        time,
        time,
        fc.option(fc.integer({ min: 0, max: 150_000 }), { nil: null }),
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 0, max: 120_000 }),
        (lastUpToDate, heartbeat, pendingFrom, overlapMs, maxRecoveryMs) => {
          const pending = pendingFrom === null ? null : { from: pendingFrom, to: pendingFrom + 10 };
          const input = { ...base, lastUpToDate, heartbeat, pending, overlapMs, maxRecoveryMs };
          const { window, unrecoverable } = computeRecoveryWindow(input);
          expect(window.to).toBe(input.startup);
          expect(window.from).toBeLessThanOrEqual(window.to);
          expect(window.to - window.from).toBeLessThanOrEqual(maxRecoveryMs);
          const known = [lastUpToDate, heartbeat].filter((t): t is number => t !== null);
          const wanted = Math.min(
            known.length > 0 ? Math.min(...known) - overlapMs : input.startup,
            pending?.from ?? Number.POSITIVE_INFINITY,
            input.startup,
          );
          // the wanted start is either covered, or reported as unrecoverable up to the window
          expect(unrecoverable === null ? window.from : unrecoverable.from).toBe(wanted);
          if (unrecoverable !== null) expect(unrecoverable.to).toBe(window.from);
        },
      ),
      { numRuns: Number(process.env.EDGE_HA_PROPERTY_RUNS ?? 200) },
    );
  });
});
