/**
 * The model-based group of the storage conformance suite: random operation sequences (fast-check)
 * applied to the adapter and to a plain in-memory model, comparing every read.
 *
 * @internal
 */

import assert from 'node:assert/strict';
import type * as FastCheck from 'fast-check';
import type {
  EventRecord,
  JsonValue,
  Point,
  StorageAdapter,
  SyncStateRecord,
  TimeWindow,
} from '../../storage/types.js';
import { byCodePoint, readAllEvents, readAllPoints, sortEvents } from './helpers.js';

type Op =
  | { readonly kind: 'register'; readonly items: string[] }
  | { readonly kind: 'append'; readonly item: string; readonly points: Point[] }
  | {
      readonly kind: 'replace';
      readonly item: string;
      readonly window: TimeWindow;
      readonly points: Point[];
    }
  | { readonly kind: 'insert'; readonly events: EventRecord[] }
  | { readonly kind: 'writeSync'; readonly key: string; readonly state: SyncStateRecord }
  | {
      readonly kind: 'readPoints';
      readonly item: string;
      readonly window: TimeWindow;
      readonly limit: number;
    }
  | { readonly kind: 'readEvents'; readonly window: TimeWindow; readonly limit: number }
  | { readonly kind: 'listItems' }
  | { readonly kind: 'readSync'; readonly key: string };

const ITEMS = ['a', 'b', '\u00e9'];
const EVENT_IDS = ['e1', 'e2', 'e3', 'E1', 'e10', '\u{1F600}', 'z'];
const SYNC_KEYS = ['deputy-1', 'deputy-2'];
const MAX_T = 16;

/** The plain model: maps and sorts, obviously right. */
class Model {
  readonly items = new Set<string>();
  readonly series = new Map<string, Map<number, Point>>();
  readonly events = new Map<string, EventRecord>();
  readonly sync = new Map<string, SyncStateRecord>();

  #seriesOf(item: string): Map<number, Point> {
    this.items.add(item);
    let series = this.series.get(item);
    if (series === undefined) {
      series = new Map();
      this.series.set(item, series);
    }
    return series;
  }

  apply(op: Op): void {
    switch (op.kind) {
      case 'register':
        for (const item of op.items) this.items.add(item);
        break;
      case 'append': {
        const series = this.#seriesOf(op.item);
        for (const p of op.points) series.set(p.t, p);
        break;
      }
      case 'replace': {
        const series = this.#seriesOf(op.item);
        for (const t of [...series.keys()]) {
          if (t >= op.window.from && t < op.window.to) series.delete(t);
        }
        for (const p of op.points) series.set(p.t, p);
        break;
      }
      case 'insert':
        for (const e of op.events) if (!this.events.has(e.id)) this.events.set(e.id, e);
        break;
      case 'writeSync':
        this.sync.set(op.key, op.state);
        break;
      default:
        break;
    }
  }

  points(item: string, window: TimeWindow): Point[] {
    return [...(this.series.get(item)?.values() ?? [])]
      .filter((p) => p.t >= window.from && p.t < window.to)
      .sort((x, y) => x.t - y.t);
  }

  eventsIn(window: TimeWindow): EventRecord[] {
    return sortEvents(
      [...this.events.values()].filter((e) => e.t >= window.from && e.t < window.to),
    );
  }
}

function arbitraries(fc: typeof FastCheck): FastCheck.Arbitrary<Op[]> {
  const item = fc.constantFrom(...ITEMS);
  const t = fc.integer({ min: 0, max: MAX_T });
  const value: FastCheck.Arbitrary<Point['v']> = fc.oneof(
    fc.integer({ min: -1000, max: 1000 }),
    fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => x + 0),
    fc.string({ unit: 'grapheme', maxLength: 8 }),
    fc.boolean(),
    fc.constant(null),
  );
  const pointArb: FastCheck.Arbitrary<Point> = fc
    .record({
      t,
      v: value,
      q: fc.option(fc.integer({ min: 0, max: 4_294_967_295 }), { nil: undefined }),
    })
    .map(({ t: pt, v, q }) => (q === undefined ? { t: pt, v } : { t: pt, v, q }));
  const window: FastCheck.Arbitrary<TimeWindow> = fc
    .tuple(fc.integer({ min: -2, max: MAX_T + 2 }), fc.integer({ min: 0, max: 10 }))
    .map(([from, length]) => ({ from, to: from + length }));
  const body: FastCheck.Arbitrary<JsonValue> = fc
    .jsonValue({ maxDepth: 2 })
    .map((v) => JSON.parse(JSON.stringify(v)) as JsonValue);
  const event: FastCheck.Arbitrary<EventRecord> = fc.record({
    id: fc.constantFrom(...EVENT_IDS),
    t,
    body,
  });
  const time = fc.option(fc.integer({ min: 0, max: 1_000_000 }), { nil: null });
  const syncState: FastCheck.Arbitrary<SyncStateRecord> = fc.record({
    lastUpToDate: time,
    heartbeat: time,
    run: fc.option(
      fc.record({
        window,
        checkpoints: fc.dictionary(
          fc.constantFrom(...ITEMS, '@events'),
          fc.integer({ min: 0, max: MAX_T }),
        ),
      }),
      { nil: null },
    ),
  });
  const limit = fc.integer({ min: 1, max: 6 });
  const op: FastCheck.Arbitrary<Op> = fc.oneof(
    fc.record({ kind: fc.constant('register' as const), items: fc.subarray(ITEMS) }),
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant('append' as const),
        item,
        points: fc.array(pointArb, { maxLength: 12 }),
      }),
    },
    {
      weight: 3,
      arbitrary: fc
        .record({ item, window, points: fc.array(pointArb, { maxLength: 12 }) })
        .map(({ item: i, window: w, points }) => {
          const unique = new Map<number, Point>();
          for (const p of points) {
            if (p.t >= w.from && p.t < w.to && !unique.has(p.t)) unique.set(p.t, p);
          }
          return { kind: 'replace' as const, item: i, window: w, points: [...unique.values()] };
        }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant('insert' as const),
        events: fc.array(event, { maxLength: 6 }),
      }),
    },
    fc.record({
      kind: fc.constant('writeSync' as const),
      key: fc.constantFrom(...SYNC_KEYS),
      state: syncState,
    }),
    {
      weight: 3,
      arbitrary: fc.record({ kind: fc.constant('readPoints' as const), item, window, limit }),
    },
    {
      weight: 2,
      arbitrary: fc.record({ kind: fc.constant('readEvents' as const), window, limit }),
    },
    fc.record({ kind: fc.constant('listItems' as const) }),
    fc.record({ kind: fc.constant('readSync' as const), key: fc.constantFrom(...SYNC_KEYS) }),
  );
  // Plain objects (fast-check builds null-prototype records), as a caller would pass.
  const plain = op.map((o) => JSON.parse(JSON.stringify(o)) as Op);
  return fc.array(plain, { minLength: 1, maxLength: 60, size: 'medium' });
}

async function runOps(adapter: StorageAdapter, ops: readonly Op[]): Promise<void> {
  const model = new Model();
  for (const [index, op] of ops.entries()) {
    const at = `operation ${index} (${op.kind})`;
    switch (op.kind) {
      case 'register':
        await adapter.registerItems(op.items);
        break;
      case 'append':
        await adapter.appendPoints(op.item, op.points);
        break;
      case 'replace':
        await adapter.replacePoints(op.item, op.window, op.points);
        break;
      case 'insert': {
        const before = model.events.size;
        const inserted = await adapter.insertEventsIfAbsent(op.events);
        model.apply(op);
        assert.equal(inserted, model.events.size - before, `${at}: inserted count`);
        continue;
      }
      case 'writeSync':
        await adapter.writeSyncState(op.key, op.state);
        break;
      case 'readPoints':
        assert.deepEqual(
          await readAllPoints(adapter, op.item, op.window, op.limit),
          model.points(op.item, op.window),
          `${at}: points of ${op.item} in [${op.window.from}, ${op.window.to})`,
        );
        break;
      case 'readEvents':
        assert.deepEqual(
          await readAllEvents(adapter, op.window, op.limit),
          model.eventsIn(op.window),
          `${at}: events in [${op.window.from}, ${op.window.to})`,
        );
        break;
      case 'listItems':
        assert.deepEqual(
          await adapter.listItems(),
          [...model.items].sort(byCodePoint),
          `${at}: items`,
        );
        break;
      case 'readSync':
        assert.deepEqual(
          await adapter.readSyncState(op.key),
          model.sync.get(op.key),
          `${at}: sync state ${op.key}`,
        );
        break;
    }
    model.apply(op);
  }
  // Final full comparison.
  const all = { from: -10, to: MAX_T + 10 };
  assert.deepEqual(await adapter.listItems(), [...model.items].sort(byCodePoint), 'final items');
  for (const item of model.items) {
    assert.deepEqual(
      await readAllPoints(adapter, item, all, 5),
      model.points(item, all),
      `final points of ${item}`,
    );
  }
  assert.deepEqual(await readAllEvents(adapter, all, 4), model.eventsIn(all), 'final events');
}

/** Settings of one model-based check. */
export interface ModelCheckSettings {
  /** The loaded fast-check module. */
  readonly fc: typeof FastCheck;
  /** Opens a fresh adapter for one run; `dispose` closes it and cleans up. */
  readonly open: () => Promise<{ adapter: StorageAdapter; dispose: () => Promise<void> }>;
  /** fast-check seed. */
  readonly seed: number;
  /** Number of runs. */
  readonly runs: number;
}

/** Runs the model-based property; rejects with fast-check's report (including the seed). */
export async function runModelCheck(settings: ModelCheckSettings): Promise<void> {
  const { fc } = settings;
  await fc.assert(
    fc.asyncProperty(arbitraries(fc), async (ops) => {
      const { adapter, dispose } = await settings.open();
      try {
        await runOps(adapter, ops);
      } finally {
        await dispose();
      }
    }),
    { seed: settings.seed, numRuns: settings.runs },
  );
}
