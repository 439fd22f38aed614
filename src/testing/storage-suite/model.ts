/**
 * The model-based group of the storage conformance suite: random operation sequences (fast-check)
 * applied to the adapter and to a plain in-memory model, comparing every read and every count.
 * The sync writes (replace, merge, insert) carry a random `syncState` record half of the time.
 *
 * @internal
 */

import type * as FastCheck from 'fast-check';
import type {
  EventRecord,
  JsonObject,
  JsonValue,
  Point,
  StorageAdapter,
  SyncStateWrite,
  SyncWriteOptions,
  TimeWindow,
} from '../../storage/types.js';
import {
  byCodePoint,
  eventsRead,
  expectEqual,
  pointsRead,
  readAllEvents,
  readAllPoints,
  showCall,
  sortEvents,
} from './helpers.js';

type Op =
  | { readonly kind: 'register'; readonly items: string[] }
  | { readonly kind: 'append'; readonly item: string; readonly points: Point[] }
  | {
      readonly kind: 'replace' | 'merge';
      readonly item: string;
      readonly window: TimeWindow;
      readonly points: Point[];
      readonly sync?: SyncStateWrite;
    }
  | { readonly kind: 'insert'; readonly events: EventRecord[]; readonly sync?: SyncStateWrite }
  | { readonly kind: 'writeSync'; readonly key: string; readonly value: JsonObject }
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
const SYNC_KEYS = ['deputy-1', 'deputy-2', 'deputy-1:item:a'];
const MAX_T = 16;

/** The plain model: maps and sorts, obviously right. */
class Model {
  readonly items = new Set<string>();
  readonly series = new Map<string, Map<number, Point>>();
  readonly events = new Map<string, EventRecord>();
  readonly sync = new Map<string, JsonObject>();

  #seriesOf(item: string): Map<number, Point> {
    this.items.add(item);
    let series = this.series.get(item);
    if (series === undefined) {
      series = new Map();
      this.series.set(item, series);
    }
    return series;
  }

  #writeSync(record: SyncStateWrite | undefined): void {
    if (record !== undefined) this.sync.set(record.key, record.value);
  }

  /** How many points of `op` a merge writes (timestamps the item does not have yet). */
  absent(item: string, points: readonly Point[]): number {
    const series = this.series.get(item);
    return points.filter((p) => series?.has(p.t) !== true).length;
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
        this.#writeSync(op.sync);
        break;
      }
      case 'merge': {
        const series = this.#seriesOf(op.item);
        for (const p of op.points) if (!series.has(p.t)) series.set(p.t, p);
        this.#writeSync(op.sync);
        break;
      }
      case 'insert':
        for (const e of op.events) if (!this.events.has(e.id)) this.events.set(e.id, e);
        this.#writeSync(op.sync);
        break;
      case 'writeSync':
        this.sync.set(op.key, op.value);
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
  const syncValue: FastCheck.Arbitrary<JsonObject> = fc
    .dictionary(fc.string({ unit: 'grapheme', maxLength: 6 }), fc.jsonValue({ maxDepth: 2 }), {
      maxKeys: 5,
    })
    .map((v) => JSON.parse(JSON.stringify(v)) as JsonObject);
  const syncRecord: FastCheck.Arbitrary<SyncStateWrite> = fc.record({
    key: fc.constantFrom(...SYNC_KEYS),
    value: syncValue,
  });
  const sync = fc.option(syncRecord, { nil: undefined, freq: 2 });
  /** Points with unique timestamps inside `window` (what replace and merge accept). */
  const windowPoints = (kind: 'replace' | 'merge'): FastCheck.Arbitrary<Op> =>
    fc
      .record({ item, window, points: fc.array(pointArb, { maxLength: 12 }), sync })
      .map(({ item: i, window: w, points, sync: record }) => {
        const unique = new Map<number, Point>();
        for (const p of points) {
          if (p.t >= w.from && p.t < w.to && !unique.has(p.t)) unique.set(p.t, p);
        }
        const op = { kind, item: i, window: w, points: [...unique.values()] };
        return record === undefined ? op : { ...op, sync: record };
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
    { weight: 3, arbitrary: windowPoints('replace') },
    { weight: 3, arbitrary: windowPoints('merge') },
    {
      weight: 3,
      arbitrary: fc
        .record({ events: fc.array(event, { maxLength: 6 }), sync })
        .map(
          ({ events, sync: record }): Op =>
            record === undefined
              ? { kind: 'insert', events }
              : { kind: 'insert', events, sync: record },
        ),
    },
    fc.record({
      kind: fc.constant('writeSync' as const),
      key: fc.constantFrom(...SYNC_KEYS),
      value: syncValue,
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

/** The options of a sync write carrying `record`. */
function withSync(record: SyncStateWrite | undefined): SyncWriteOptions | undefined {
  return record === undefined ? undefined : { syncState: record };
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
        await adapter.replacePoints(op.item, op.window, op.points, withSync(op.sync));
        break;
      case 'merge': {
        const expected = model.absent(op.item, op.points);
        const written = await adapter.mergePoints(op.item, op.window, op.points, withSync(op.sync));
        expectEqual(
          written,
          expected,
          `${at}: what ${showCall('mergePoints', [op.item, op.window, op.points])} resolves with (the number of points at timestamps the item has no point at)`,
        );
        break;
      }
      case 'insert': {
        const before = model.events.size;
        const inserted = await adapter.insertEventsIfAbsent(op.events, withSync(op.sync));
        model.apply(op);
        expectEqual(
          inserted,
          model.events.size - before,
          `${at}: what ${showCall('insertEventsIfAbsent', [op.events])} resolves with (the number of ids not stored yet)`,
        );
        continue;
      }
      case 'writeSync':
        await adapter.writeSyncState(op.key, op.value);
        break;
      case 'readPoints':
        expectEqual(
          await readAllPoints(adapter, op.item, op.window, op.limit),
          model.points(op.item, op.window),
          `${at}: ${pointsRead(op.item, op.window, op.limit)}`,
        );
        break;
      case 'readEvents':
        expectEqual(
          await readAllEvents(adapter, op.window, op.limit),
          model.eventsIn(op.window),
          `${at}: ${eventsRead(op.window, op.limit)}`,
        );
        break;
      case 'listItems':
        expectEqual(
          await adapter.listItems(),
          [...model.items].sort(byCodePoint),
          `${at}: listItems()`,
        );
        break;
      case 'readSync':
        expectEqual(
          await adapter.readSyncState(op.key),
          model.sync.get(op.key),
          `${at}: readSyncState(${JSON.stringify(op.key)}) (the last record written under that key, by writeSyncState or a sync write's syncState)`,
        );
        break;
    }
    model.apply(op);
  }
  // Final full comparison.
  const all = { from: -10, to: MAX_T + 10 };
  const end = 'after the last operation';
  expectEqual(await adapter.listItems(), [...model.items].sort(byCodePoint), `${end}: listItems()`);
  for (const item of model.items) {
    expectEqual(
      await readAllPoints(adapter, item, all, 5),
      model.points(item, all),
      `${end}: ${pointsRead(item, all, 5)}`,
    );
  }
  expectEqual(
    await readAllEvents(adapter, all, 4),
    model.eventsIn(all),
    `${end}: ${eventsRead(all, 4)}`,
  );
  for (const key of SYNC_KEYS) {
    expectEqual(
      await adapter.readSyncState(key),
      model.sync.get(key),
      `${end}: readSyncState(${JSON.stringify(key)})`,
    );
  }
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

/**
 * Runs the model-based property. On failure it rejects with an error whose message starts with
 * the adapter's failure (the call, its input, what was expected and what happened) and goes on
 * with fast-check's report: the seed, the path and the shrunk sequence of operations.
 */
export async function runModelCheck(settings: ModelCheckSettings): Promise<void> {
  const { fc } = settings;
  const details = await fc.check(
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
  if (!details.failed) return;
  const cause = details.errorInstance;
  const first =
    cause instanceof Error ? cause.message : cause === null ? 'the run failed' : String(cause);
  throw new Error(
    `${first}\n\nIn the model-based run (seed ${settings.seed}; pass seed: ${settings.seed} to replay it):\n${fc.defaultReportMessage(details)}`,
    { cause },
  );
}
