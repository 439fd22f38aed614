import { describe, expect, it } from 'vitest';
import {
  addGap,
  applyMargins,
  EMPTY_LEDGER,
  type GapLedger,
  hull,
  MAX_GAPS,
  MAX_UNRECOVERABLE,
  readLedger,
  readProgress,
  removeGaps,
  type SyncGap,
  type SyncGapInput,
  skewMargin,
  writeLedger,
  writeProgress,
} from '../../src/deputy/ledger.js';
import { isEdgeHaError } from '../../src/errors.js';
import type { JsonObject } from '../../src/storage/types.js';

const NOW = 1_000_000;
const CUTOFF = -1_000_000; // nothing is too old unless a test says so
const KEY = 'edge-ha:timeSeries';

function gap(id: number, from: number, to: number, extra: Partial<SyncGap> = {}): SyncGap {
  return {
    id,
    from,
    to,
    mode: 'merge',
    reason: 'reported',
    addedAt: 0,
    pendingMargins: null,
    ...extra,
  };
}

function ledgerOf(gaps: SyncGap[], extra: Partial<GapLedger> = {}): GapLedger {
  const nextGapId = gaps.reduce((max, g) => Math.max(max, g.id), 0) + 1;
  return { lastUpToDate: null, nextGapId, gaps, unrecoverable: [], ...extra };
}

const merge = (from: number, to: number): SyncGapInput => ({
  from,
  to,
  mode: 'merge',
  reason: 'reported',
});

function formatError(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('addGap', () => {
  it('adds a gap with the next id and the time it was added', () => {
    const { ledger, gap: added, unrecoverable } = addGap(EMPTY_LEDGER, merge(10, 20), NOW, CUTOFF);
    expect(added).toEqual(gap(1, 10, 20, { addedAt: NOW }));
    expect(unrecoverable).toBeNull();
    expect(ledger).toEqual({ lastUpToDate: null, nextGapId: 2, gaps: [added], unrecoverable: [] });
    const next = addGap(ledger, { ...merge(30, 40), mode: 'overwrite', reason: 'requested' }, 5, 0);
    expect(next.gap).toMatchObject({ id: 2, mode: 'overwrite', reason: 'requested', addedAt: 5 });
    expect(next.ledger.gaps).toHaveLength(2);
    expect(EMPTY_LEDGER.gaps).toEqual([]);
  });

  it('records the part before the recovery bound as unrecoverable and keeps the rest', () => {
    const { ledger, gap: added, unrecoverable } = addGap(EMPTY_LEDGER, merge(0, 100), NOW, 40);
    expect(added).toMatchObject({ from: 40, to: 100 });
    expect(unrecoverable).toEqual({ from: 0, to: 40 });
    expect(ledger.unrecoverable).toEqual([{ from: 0, to: 40 }]);
  });

  it('a gap entirely before the bound adds no gap, only the unrecoverable window', () => {
    const { ledger, gap: added, unrecoverable } = addGap(EMPTY_LEDGER, merge(0, 30), NOW, 40);
    expect(added).toBeNull();
    expect(unrecoverable).toEqual({ from: 0, to: 30 });
    expect(ledger).toMatchObject({ nextGapId: 1, gaps: [], unrecoverable: [{ from: 0, to: 30 }] });
  });

  it('joins overlapping unrecoverable windows and keeps at most MAX_UNRECOVERABLE, the latest', () => {
    let ledger = EMPTY_LEDGER;
    ledger = addGap(ledger, merge(10, 30), NOW, 40).ledger;
    ledger = addGap(ledger, merge(0, 20), NOW, 40).ledger;
    ledger = addGap(ledger, merge(30, 35), NOW, 40).ledger;
    expect(ledger.unrecoverable).toEqual([{ from: 0, to: 35 }]);
    for (let i = 0; i < MAX_UNRECOVERABLE + 5; i++) {
      ledger = addGap(ledger, merge(100 + 10 * i, 105 + 10 * i), NOW, 1_000).ledger;
    }
    expect(ledger.unrecoverable).toHaveLength(MAX_UNRECOVERABLE);
    expect(ledger.unrecoverable.at(-1)).toEqual({ from: 340, to: 345 });
    expect(ledger.unrecoverable[0]).toEqual({ from: 150, to: 155 });
  });

  it('an empty remainder adds nothing and returns the same ledger', () => {
    const ledger = ledgerOf([gap(1, 0, 10)]);
    const result = addGap(ledger, merge(50, 50), NOW, CUTOFF);
    expect(result.gap).toBeNull();
    expect(result.ledger).toBe(ledger);
  });

  it('a gap covered by one of the same mode is not added twice; another mode is', () => {
    const existing = gap(1, 0, 100);
    const ledger = ledgerOf([existing]);
    const covered = addGap(ledger, { ...merge(10, 20), reason: 'requested' }, NOW, CUTOFF);
    expect(covered.gap).toBe(existing);
    expect(covered.ledger).toBe(ledger);
    const overwrite = addGap(ledger, { ...merge(10, 20), mode: 'overwrite' }, NOW, CUTOFF);
    expect(overwrite.gap).toMatchObject({ id: 2, mode: 'overwrite' });
    const partly = addGap(ledger, merge(90, 110), NOW, CUTOFF);
    expect(partly.gap).toMatchObject({ id: 2, from: 90, to: 110 });
    // a downtime whose margins are pending does not cover a plain gap
    const pending = ledgerOf([
      gap(1, 0, 100, { mode: 'overwrite', pendingMargins: { heartbeat: 0 } }),
    ]);
    expect(
      addGap(pending, { ...merge(10, 20), mode: 'overwrite' }, NOW, CUTOFF).ledger.gaps,
    ).toHaveLength(2);
  });

  it('never reuses, extends or merges into a gap of a run in progress (busy)', () => {
    const running = gap(1, 0, 100);
    const ledger = ledgerOf([
      running,
      gap(2, 200, 300, {
        mode: 'overwrite',
        reason: 'downtime',
        pendingMargins: { heartbeat: 150 },
      }),
    ]);
    const busy = new Set([1, 2]);
    const covered = addGap(ledger, merge(10, 20), NOW, CUTOFF, busy);
    expect(covered.gap).toMatchObject({ id: 3, from: 10, to: 20 });
    const downtime = addGap(
      ledger,
      {
        from: 200,
        to: 400,
        mode: 'overwrite',
        reason: 'downtime',
        pendingMargins: { heartbeat: 150 },
      },
      NOW,
      CUTOFF,
      busy,
    );
    expect(downtime.ledger.gaps.map((g) => [g.id, g.to])).toEqual([
      [1, 100],
      [2, 300],
      [3, 400],
    ]);
    const full = ledgerOf(
      Array.from({ length: MAX_GAPS }, (_, i) => gap(i + 1, i * 100, i * 100 + 10)),
    );
    const merged = addGap(full, merge(15, 20), NOW, CUTOFF, new Set([1]));
    expect(merged.ledger.gaps.find((g) => g.id === 1)).toEqual(gap(1, 0, 10));
    expect(merged.gap).toMatchObject({ from: 15, to: 110 });
  });

  it('extends a pending downtime with the same heartbeat instead of adding a second one', () => {
    const downtime = (to: number, heartbeat = 5_000): SyncGapInput => ({
      from: 6_000,
      to,
      mode: 'overwrite',
      reason: 'downtime',
      pendingMargins: { heartbeat },
    });
    const first = addGap(EMPTY_LEDGER, downtime(9_000), NOW, CUTOFF);
    expect(first.gap).toMatchObject({ id: 1, pendingMargins: { heartbeat: 5_000 } });
    const again = addGap(first.ledger, downtime(12_000), NOW, CUTOFF);
    expect(again.gap).toMatchObject({ id: 1, from: 6_000, to: 12_000 });
    expect(again.ledger.gaps).toHaveLength(1);
    expect(again.ledger.nextGapId).toBe(2);
    const shorter = addGap(again.ledger, downtime(10_000), NOW, CUTOFF);
    expect(shorter.gap?.to).toBe(12_000);
    const other = addGap(again.ledger, downtime(12_000, 5_500), NOW, CUTOFF);
    expect(other.ledger.gaps.map((g) => g.id)).toEqual([1, 2]);
  });

  it('keeps a pending downtime with an empty overwrite part (its margins are still to sync)', () => {
    const { gap: added } = addGap(
      EMPTY_LEDGER,
      {
        from: 9_000,
        to: 9_000,
        mode: 'overwrite',
        reason: 'downtime',
        pendingMargins: { heartbeat: 8_500 },
      },
      NOW,
      CUTOFF,
    );
    expect(added).toMatchObject({ from: 9_000, to: 9_000, pendingMargins: { heartbeat: 8_500 } });
  });

  it('when MAX_GAPS is reached, a merge gap is merged with the nearest merge gap', () => {
    const gaps = Array.from({ length: MAX_GAPS }, (_, i) => gap(i + 1, i * 100, i * 100 + 10));
    const full = ledgerOf(gaps);
    const { ledger, gap: added } = addGap(full, merge(1_015, 1_020), NOW, CUTOFF);
    expect(ledger.gaps).toHaveLength(MAX_GAPS);
    expect(added).toMatchObject({
      id: MAX_GAPS + 1,
      from: 1_000,
      to: 1_020,
      mode: 'merge',
      reason: 'reported',
    });
    expect(ledger.gaps.some((g) => g.from === 1_000 && g.to === 1_010)).toBe(false);
    expect(ledger.gaps.at(-1)).toEqual(added);
    expect(ledger.nextGapId).toBe(MAX_GAPS + 2);
    // different reasons become 'reported'
    const other = addGap(full, { ...merge(1_015, 1_020), reason: 'requested' }, NOW, CUTOFF);
    expect(other.gap?.reason).toBe('reported');
  });

  it('throws SYNC_LEDGER_FULL when the ledger is full and the gap cannot be merged in', () => {
    const overwrites = Array.from({ length: MAX_GAPS }, (_, i) =>
      gap(i + 1, i * 100, i * 100 + 10, { mode: 'overwrite' }),
    );
    const full = ledgerOf(overwrites);
    expect(
      isEdgeHaError(
        formatError(() => addGap(full, merge(5, 6), NOW, CUTOFF)),
        'SYNC_LEDGER_FULL',
      ),
    ).toBe(true);
    const merges = ledgerOf(
      Array.from({ length: MAX_GAPS }, (_, i) => gap(i + 1, i * 100, i * 100 + 10)),
    );
    const overwrite = formatError(() =>
      addGap(merges, { ...merge(5_000_000, 5_000_001), mode: 'overwrite' }, NOW, CUTOFF),
    );
    expect(isEdgeHaError(overwrite, 'SYNC_LEDGER_FULL')).toBe(true);
    expect((overwrite as Error).message).toContain(`${MAX_GAPS} gaps`);
  });
});

describe('applyMargins', () => {
  const downtime = gap(1, 6_000, 9_000, {
    mode: 'overwrite',
    reason: 'downtime',
    pendingMargins: { heartbeat: 5_000 },
  });

  it('leaves a ledger without pending margins as it is', () => {
    const ledger = ledgerOf([gap(1, 0, 10)]);
    const result = applyMargins(ledger, 1_000, NOW, CUTOFF);
    expect(result.ledger).toBe(ledger);
    expect(result.added).toEqual([]);
  });

  it('splits a downtime into merge [heartbeat − m, from), overwrite [from, to), merge [to, to + m)', () => {
    const other = gap(2, 50_000, 60_000);
    const ledger = ledgerOf([downtime, other]);
    const { ledger: next, added, unrecoverable } = applyMargins(ledger, 1_000, NOW, CUTOFF);
    const before = gap(3, 4_000, 6_000, { reason: 'margin', addedAt: NOW });
    const after = gap(4, 9_000, 10_000, { reason: 'margin', addedAt: NOW });
    expect(next.gaps).toEqual([before, { ...downtime, pendingMargins: null }, after, other]);
    expect(added).toEqual([before, after]);
    expect(unrecoverable).toEqual([]);
    expect(next.nextGapId).toBe(5);
    expect(applyMargins(next, 1_000, NOW, CUTOFF).ledger).toBe(next);
  });

  it('drops empty parts', () => {
    const exact = gap(1, 5_000, 5_000, {
      mode: 'overwrite',
      reason: 'downtime',
      pendingMargins: { heartbeat: 5_000 },
    });
    expect(applyMargins(ledgerOf([exact]), 0, NOW, CUTOFF).ledger.gaps).toEqual([]);
    const { ledger } = applyMargins(ledgerOf([exact]), 500, NOW, CUTOFF);
    expect(ledger.gaps.map((g) => [g.from, g.to, g.mode])).toEqual([
      [4_500, 5_000, 'merge'],
      [5_000, 5_500, 'merge'],
    ]);
  });

  it('applies the recovery bound to the margins too', () => {
    const { ledger, added, unrecoverable } = applyMargins(ledgerOf([downtime]), 2_000, NOW, 4_000);
    expect(unrecoverable).toEqual([{ from: 3_000, to: 4_000 }]);
    expect(ledger.unrecoverable).toEqual([{ from: 3_000, to: 4_000 }]);
    expect(added.map((g) => [g.from, g.to])).toEqual([
      [4_000, 6_000],
      [9_000, 11_000],
    ]);
    const gone = applyMargins(ledgerOf([downtime]), 2_000, NOW, 7_000);
    expect(gone.added.map((g) => [g.from, g.to])).toEqual([[9_000, 11_000]]);
    expect(gone.unrecoverable).toEqual([{ from: 3_000, to: 6_000 }]);
  });
});

describe('skewMargin, removeGaps, hull', () => {
  it('skewMargin is max(overlapMs, |skew| + 1 s)', () => {
    expect(skewMargin(60_000, 0)).toBe(60_000);
    expect(skewMargin(0, 0)).toBe(1_000);
    expect(skewMargin(1_000, -5_000)).toBe(6_000);
    expect(skewMargin(1_000, 5_000)).toBe(6_000);
    expect(skewMargin(10_000, 5_000)).toBe(10_000);
  });

  it('removeGaps removes exactly the given ids and keeps the rest of the ledger', () => {
    const ledger = ledgerOf([gap(1, 0, 1), gap(2, 2, 3), gap(3, 4, 5)], { lastUpToDate: 7 });
    const next = removeGaps(ledger, new Set([1, 3, 99]));
    expect(next).toEqual({ ...ledger, gaps: [gap(2, 2, 3)] });
    expect(removeGaps(ledger, new Set()).gaps).toEqual(ledger.gaps);
  });

  it('hull is the smallest window holding every gap, or null', () => {
    expect(hull([])).toBeNull();
    expect(hull([gap(1, 40, 50), gap(2, 10, 20), gap(3, 15, 45)])).toEqual({ from: 10, to: 50 });
  });
});

describe('durable records', () => {
  const ledger: GapLedger = {
    lastUpToDate: 12_345,
    nextGapId: 7,
    gaps: [
      gap(3, 100, 200, {
        mode: 'overwrite',
        reason: 'downtime',
        pendingMargins: { heartbeat: 90 },
      }),
      gap(6, 300, 400, { reason: 'firstStart', addedAt: 55 }),
    ],
    unrecoverable: [{ from: 0, to: 50 }],
  };

  it('writeLedger → readLedger round-trips, also through JSON', () => {
    const record = writeLedger(ledger);
    expect(record).toMatchObject({ format: 'edge-ha.deputy', version: 2 });
    const read = readLedger(JSON.parse(JSON.stringify(record)) as JsonObject, KEY, NOW);
    expect(read).toEqual({ ledger, migrated: null });
    expect(readLedger(writeLedger(EMPTY_LEDGER), KEY, NOW).ledger).toEqual(EMPTY_LEDGER);
  });

  it('an absent record is the empty ledger', () => {
    expect(readLedger(undefined, KEY, NOW)).toEqual({ ledger: EMPTY_LEDGER, migrated: null });
  });

  it('migrates a 0.1.0 record with a pending run: one migrated merge gap and its checkpoints', () => {
    const old: JsonObject = {
      lastUpToDate: 5,
      heartbeat: null,
      run: {
        window: { from: 0, to: 100 },
        checkpoints: { a: 100, b: 40, c: 0, d: 500, '@events': 60 },
      },
    };
    const { ledger: migrated, migrated: info } = readLedger(old, KEY, NOW);
    expect(migrated).toEqual({
      lastUpToDate: 5,
      nextGapId: 2,
      gaps: [gap(1, 0, 100, { reason: 'migrated', addedAt: NOW })],
      unrecoverable: [],
    });
    expect(info?.gapId).toBe(1);
    expect(Object.fromEntries(info?.checkpoints ?? [])).toEqual({
      a: 100,
      b: 40,
      d: 100,
      '@events': 60,
    });
  });

  it('migrates a 0.1.0 record without a pending run (or with an empty one): LastUpToDate only', () => {
    expect(readLedger({ lastUpToDate: 9, heartbeat: 3, run: null }, KEY, NOW)).toEqual({
      ledger: { ...EMPTY_LEDGER, lastUpToDate: 9 },
      migrated: null,
    });
    const empty = {
      lastUpToDate: null,
      heartbeat: null,
      run: { window: { from: 5, to: 5 }, checkpoints: {} },
    };
    expect(readLedger(empty, KEY, NOW)).toEqual({ ledger: EMPTY_LEDGER, migrated: null });
  });

  const good = writeLedger(ledger);
  const refused: [string, JsonObject][] = [
    ['an unknown format', { format: 'something.else', version: 2 }],
    ['no format at all', { lastUpToDate: 1 }],
    ['a newer version', { ...good, version: 3 }],
    ['an older unknown version', { ...good, version: 1 }],
    ['a bad lastUpToDate', { ...good, lastUpToDate: 'yesterday' }],
    ['a bad nextGapId', { ...good, nextGapId: 0 }],
    ['a gap id not below nextGapId', { ...good, nextGapId: 6 }],
    ['gaps that are not a list', { ...good, gaps: {} }],
    [
      'a gap with an unknown mode',
      { ...good, gaps: [{ ...(good.gaps as JsonObject[])[0], mode: 'replace' }] },
    ],
    [
      'a gap with an unknown reason',
      { ...good, gaps: [{ ...(good.gaps as JsonObject[])[0], reason: 'x' }] },
    ],
    ['a gap with from > to', { ...good, gaps: [{ ...(good.gaps as JsonObject[])[0], from: 300 }] }],
    [
      'a gap with bad pending margins',
      {
        ...good,
        gaps: [{ ...(good.gaps as JsonObject[])[0], pendingMargins: { heartbeat: 'x' } }],
      },
    ],
    ['a bad unrecoverable window', { ...good, unrecoverable: [{ from: 5 }] }],
    [
      'a 0.1.0 run without a window',
      { lastUpToDate: null, heartbeat: null, run: { checkpoints: {} } },
    ],
    [
      'a 0.1.0 run with a bad checkpoint',
      {
        lastUpToDate: null,
        heartbeat: null,
        run: { window: { from: 0, to: 9 }, checkpoints: { a: 'x' } },
      },
    ],
    ['a 0.1.0 record with a bad lastUpToDate', { lastUpToDate: 'x', heartbeat: null, run: null }],
  ];
  for (const [name, record] of refused) {
    it(`refuses ${name} with SYNC_STATE_FORMAT naming the key`, () => {
      const error = formatError(() => readLedger(record, KEY, NOW));
      expect(isEdgeHaError(error, 'SYNC_STATE_FORMAT')).toBe(true);
      expect((error as Error).message).toContain(`"${KEY}"`);
    });
  }
});

describe('progress records', () => {
  it('writeProgress keeps only the live gaps; readProgress reads it back', () => {
    const progress = new Map([
      [1, 10],
      [2, 20],
    ]);
    const record = writeProgress(progress, new Set([2, 3]));
    expect(record).toEqual({ format: 'edge-ha.progress', version: 2, done: { 2: 20 } });
    expect(readProgress(record)).toEqual(new Map([[2, 20]]));
    const all = writeProgress(progress, null);
    expect(readProgress(JSON.parse(JSON.stringify(all)) as JsonObject)).toEqual(progress);
  });

  it('an absent, foreign or damaged progress record is no progress (entries that are bad are skipped)', () => {
    expect(readProgress(undefined).size).toBe(0);
    expect(readProgress({ format: 'edge-ha.deputy', done: { 1: 5 } }).size).toBe(0);
    expect(readProgress({ format: 'edge-ha.progress', version: 2, done: [] }).size).toBe(0);
    expect(
      readProgress({
        format: 'edge-ha.progress',
        version: 2,
        done: { x: 5, 2: 'a', 3: 1.5, 4: 7 },
      }),
    ).toEqual(new Map([[4, 7]]));
  });
});
