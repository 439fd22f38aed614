import { describe, expect, it } from 'vitest';
import { isEdgeHaError } from '../../src/errors.js';
import {
  computeDowntime,
  readHeartbeat,
  writeHeartbeatRecord,
} from '../../src/governor/downtime.js';
import type { JsonObject } from '../../src/storage/types.js';

const KEY = 'edge-ha:heartbeat';

function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('computeDowntime', () => {
  it('after a clean stop the node was down from the millisecond after its heartbeat', () => {
    expect(
      computeDowntime({
        heartbeat: { at: 1_000, clean: true, intervalMs: 100 },
        startup: 5_000,
        intervalMs: 100,
      }),
    ).toEqual({ heartbeat: 1_000, overwriteFrom: 1_001, to: 5_000, clean: true });
  });

  it('after a crash it may have run two heartbeat intervals longer (the interval of that run)', () => {
    expect(
      computeDowntime({
        heartbeat: { at: 1_000, clean: false, intervalMs: 300 },
        startup: 5_000,
        intervalMs: 100,
      }),
    ).toEqual({ heartbeat: 1_000, overwriteFrom: 1_600, to: 5_000, clean: false });
    // a 0.1.0 record does not say: twice the configured interval is assumed
    expect(
      computeDowntime({
        heartbeat: { at: 1_000, clean: false, intervalMs: null },
        startup: 5_000,
        intervalMs: 100,
      })?.overwriteFrom,
    ).toBe(1_200);
  });

  it('the crash slack is capped at the start-up', () => {
    expect(
      computeDowntime({
        heartbeat: { at: 1_000, clean: false, intervalMs: 10_000 },
        startup: 5_000,
        intervalMs: 100,
      }),
    ).toEqual({ heartbeat: 1_000, overwriteFrom: 5_000, to: 5_000, clean: false });
    // one interval would still be before the start-up, two are not: the cap applies
    expect(
      computeDowntime({
        heartbeat: { at: 1_000, clean: false, intervalMs: 3_000 },
        startup: 5_000,
        intervalMs: 100,
      })?.overwriteFrom,
    ).toBe(5_000);
    // a 0.1.0 record: two configured intervals, capped as well
    expect(
      computeDowntime({
        heartbeat: { at: 1_000, clean: false, intervalMs: null },
        startup: 5_000,
        intervalMs: 3_000,
      })?.overwriteFrom,
    ).toBe(5_000);
  });

  it('the clean-stop slack of one millisecond is capped at the start-up too', () => {
    expect(
      computeDowntime({
        heartbeat: { at: 4_999, clean: true, intervalMs: 100 },
        startup: 5_000,
        intervalMs: 100,
      }),
    ).toEqual({ heartbeat: 4_999, overwriteFrom: 5_000, to: 5_000, clean: true });
  });

  it('no heartbeat, or a heartbeat at or after the start-up, is no downtime', () => {
    expect(computeDowntime({ heartbeat: null, startup: 5_000, intervalMs: 100 })).toBeNull();
    for (const at of [5_000, 6_000]) {
      expect(
        computeDowntime({
          heartbeat: { at, clean: true, intervalMs: 100 },
          startup: 5_000,
          intervalMs: 100,
        }),
      ).toBeNull();
    }
  });

  it('refuses a non-integer start-up or interval', () => {
    for (const bad of [
      { heartbeat: null, startup: 1.5, intervalMs: 100 },
      { heartbeat: null, startup: 1, intervalMs: Number.NaN },
    ]) {
      expect(
        isEdgeHaError(
          thrown(() => computeDowntime(bad)),
          'SYNC_INVALID_OPTION',
        ),
      ).toBe(true);
    }
  });
});

describe('heartbeat records', () => {
  it('reads a version-2 record, and writeHeartbeatRecord round-trips', () => {
    const info = { at: 42, clean: true, intervalMs: 10_000 };
    const record = writeHeartbeatRecord(info);
    expect(record).toEqual({ format: 'edge-ha.heartbeat', version: 2, ...info });
    expect(readHeartbeat(record, KEY)).toEqual(info);
    expect(
      readHeartbeat(writeHeartbeatRecord({ at: 7, clean: false, intervalMs: null }), KEY),
    ).toEqual({ at: 7, clean: false, intervalMs: null });
  });

  it('reads a 0.1.0 record as a periodic heartbeat of unknown interval', () => {
    expect(readHeartbeat({ lastUpToDate: null, heartbeat: 5_000, run: null }, KEY)).toEqual({
      at: 5_000,
      clean: false,
      intervalMs: null,
    });
    expect(readHeartbeat({ lastUpToDate: null, heartbeat: null, run: null }, KEY)).toBeNull();
  });

  it('an absent record is no heartbeat', () => {
    expect(readHeartbeat(undefined, KEY)).toBeNull();
  });

  const bad: [string, JsonObject][] = [
    ['an unknown format', { format: 'edge-ha.deputy', version: 2, at: 1 }],
    [
      'a newer version',
      { format: 'edge-ha.heartbeat', version: 3, at: 1, clean: true, intervalMs: 1 },
    ],
    ['a missing clean flag', { format: 'edge-ha.heartbeat', version: 2, at: 1, intervalMs: 1 }],
    [
      'a fractional time',
      { format: 'edge-ha.heartbeat', version: 2, at: 1.5, clean: true, intervalMs: 1 },
    ],
    [
      'a zero interval',
      { format: 'edge-ha.heartbeat', version: 2, at: 1, clean: true, intervalMs: 0 },
    ],
    ['a 0.1.0 record with a bad heartbeat', { lastUpToDate: null, heartbeat: 'x', run: null }],
    ['something else', { hello: 'world' }],
  ];
  for (const [name, record] of bad) {
    it(`refuses ${name} with SYNC_STATE_FORMAT naming the key`, () => {
      const error = thrown(() => readHeartbeat(record, KEY));
      expect(isEdgeHaError(error, 'SYNC_STATE_FORMAT')).toBe(true);
      expect((error as Error).message).toContain(`"${KEY}"`);
    });
  }
});
