import { StorageError } from '../errors.js';
import {
  decodeEventCursor,
  decodePointCursor,
  encodeEventCursor,
  encodePointCursor,
} from './cursor.js';
import type {
  EventRecord,
  JsonObject,
  JsonValue,
  Page,
  PageRequest,
  Point,
  StorageAdapter,
  StorageCapabilities,
  SyncStateValue,
  SyncWriteOptions,
  TimeWindow,
} from './types.js';
import {
  assertEvents,
  assertItemId,
  assertItemIds,
  assertPageRequest,
  assertPoints,
  assertPointsInWindow,
  assertSyncKey,
  assertWindow,
  compareCodePoints,
  type EncodedSyncState,
  encodeSyncState,
  encodeSyncWriteOptions,
  frozenPoint,
  isSealedEvents,
} from './validate.js';

/**
 * Options of {@link MemoryStorageAdapter}.
 *
 * @group Storage
 */
export interface MemoryStorageAdapterOptions {
  /**
   * Initial points per item id, validated like `appendPoints` (a later point at the same
   * timestamp wins). Handy to build a remote peer's data in tests.
   * @default {}
   */
  readonly points?: Readonly<Record<string, readonly Point[]>>;
  /**
   * Initial events, validated and inserted like `insertEventsIfAbsent`.
   * @default []
   */
  readonly events?: readonly EventRecord[];
}

/** Index of the first element of `array` whose key is not below the probe (`compare >= 0`). */
function lowerBound<T>(array: readonly T[], compare: (element: T) => number): number {
  let lo = 0;
  let hi = array.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compare(array[mid] as T) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function compareEvents(a: EventRecord, b: { readonly t: number; readonly id: string }): number {
  return a.t - b.t || compareCodePoints(a.id, b.id);
}

/**
 * A deeply frozen copy of a valid JSON value (checked by `assertEvents` first): plain objects
 * and arrays rebuilt node by node, `-0` read as `0` (as through JSON text). A walk, not a trip
 * through JSON text: that round trip was the largest cost of storing and serving events.
 */
function frozenJson(value: JsonValue): JsonValue {
  if (typeof value !== 'object' || value === null) {
    return typeof value === 'number' && value === 0 ? 0 : value;
  }
  if (Array.isArray(value)) {
    const copy: JsonValue[] = new Array(value.length);
    for (let i = 0; i < value.length; i++) copy[i] = frozenJson(value[i] as JsonValue);
    return Object.freeze(copy) as JsonValue;
  }
  const copy: JsonObject = {};
  for (const key of Object.keys(value)) {
    const child = frozenJson(value[key] as JsonValue);
    // `__proto__` is an own key in JSON; assigning it would set the prototype instead.
    if (key === '__proto__') {
      Object.defineProperty(copy, key, {
        value: child,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    } else copy[key] = child;
  }
  return Object.freeze(copy);
}

/** A frozen copy of a valid event with only `id`, `t` and a deeply frozen `body`. */
function frozenEvent(event: EventRecord): EventRecord {
  return Object.freeze({ id: event.id, t: event.t + 0, body: frozenJson(event.body) });
}

/** Sorts by `t` and keeps the last point of each timestamp (input order decides ties). */
/**
 * The points of a sync write as the store keeps them: frozen, with only `t`, `v` and `q`, sorted
 * by `t`. A batch of points that already are (frozen points read from a store, in order: what a
 * back-fill from another memory store hands over) is returned as it is, without a copy; the store
 * never keeps the array itself, only its elements.
 */
function storablePoints(points: readonly Point[]): readonly Point[] {
  let previous = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < points.length; i++) {
    const point = points[i] as Point;
    if (point.t <= previous || frozenPoint(point) !== point) {
      return points.map(frozenPoint).sort(compareTimes);
    }
    previous = point.t;
  }
  return points;
}

function sortLastWins(points: readonly Point[]): Point[] {
  const byT = new Map<number, Point>();
  for (const point of points) {
    byT.delete(point.t);
    byT.set(point.t, frozenPoint(point));
  }
  return [...byT.values()].sort((a, b) => a.t - b.t);
}

/**
 * Merges the sorted run `incoming` into the sorted array `stored` (in place when every incoming
 * record sorts after the last stored one, the usual case for live and back-filled data).
 * A record that compares equal to a stored one replaces it (`onTie: 'replace'`) or is dropped
 * (`onTie: 'keep'`, the stored record stays).
 * @returns The merged array (`stored` itself on the fast path).
 */
function mergeSorted<T>(
  stored: T[],
  incoming: readonly T[],
  compare: (a: T, b: T) => number,
  onTie: 'replace' | 'keep' = 'replace',
): T[] {
  const last = stored.at(-1);
  if (last === undefined || compare(incoming[0] as T, last) > 0) {
    for (const record of incoming) stored.push(record);
    return stored;
  }
  const merged: T[] = [];
  let i = 0;
  let j = 0;
  while (i < stored.length && j < incoming.length) {
    const a = stored[i] as T;
    const b = incoming[j] as T;
    const order = compare(a, b);
    if (order < 0) {
      merged.push(a);
      i++;
    } else if (order > 0) {
      merged.push(b);
      j++;
    } else {
      merged.push(onTie === 'replace' ? b : a);
      i++;
      j++;
    }
  }
  while (i < stored.length) merged.push(stored[i++] as T);
  while (j < incoming.length) merged.push(incoming[j++] as T);
  return merged;
}

const compareTimes = (a: Point, b: Point): number => a.t - b.t;

/** Longest splice done in place; beyond it (argument-count limits) the series is rebuilt. */
const MAX_SPLICE = 50_000;

/**
 * The in-memory reference implementation of {@link StorageAdapter}: sorted arrays searched by
 * binary search, so a page read costs O(log n + limit), a replace is one splice between
 * binary-searched bounds and a merge one sorted merge of the stored span it overlaps. Points are
 * stored frozen and shared with readers (no copy per read; writing to one throws), and so are
 * events: each is copied once on the way in into a deeply frozen record (the event and every
 * object and array of its body; a page `httpPeer` already checked and froze is kept as it is),
 * and `readEvents` returns those records themselves, so writing to a returned event or its body
 * throws a `TypeError` in strict mode (the `items` array of a page is a fresh, writable array).
 * Sync state is copied on the way in and out. Either way callers can never alter stored data. A
 * sync write validates its data and its `syncState` record first, then applies both without
 * yielding, so either both are stored or neither. Not persistent: the data lives as long as the
 * object.
 *
 * @example
 * ```ts
 * import { MemoryStorageAdapter } from 'edge-ha';
 *
 * await using storage = new MemoryStorageAdapter();
 * await storage.appendPoints('plant/temp', [{ t: 1_000, v: 21.5 }]);
 * const page = await storage.readPoints('plant/temp', { from: 0, to: 2_000 }, { limit: 100 });
 * console.log(page.items); // [{ t: 1000, v: 21.5 }]
 * ```
 *
 * @group Storage
 */
export class MemoryStorageAdapter implements StorageAdapter {
  /** Not persistent; replace and insert are atomic; one process only. */
  readonly capabilities: StorageCapabilities = Object.freeze({
    persistent: false,
    atomicReplace: true,
    atomicInsert: true,
    multiProcess: false,
  });

  readonly #series = new Map<string, Point[]>();
  #sortedItems: string[] | undefined;
  #events: EventRecord[] = [];
  readonly #eventIds = new Set<string>();
  /** Sync state as JSON text: stored by value, parsed into a fresh object on every read. */
  readonly #syncState = new Map<string, string>();
  #closed = false;

  /**
   * Creates an empty adapter, or one holding `options.points` and `options.events`.
   * @throws {StorageError} when the initial data is invalid (same codes as the write methods).
   */
  constructor(options: MemoryStorageAdapterOptions = {}) {
    for (const [item, points] of Object.entries(options.points ?? {})) {
      assertItemId(item);
      assertPoints(points);
      this.#append(item, points);
    }
    if (options.events !== undefined) {
      assertEvents(options.events);
      this.#insert(options.events);
    }
  }

  #checkOpen(): void {
    if (this.#closed) {
      throw new StorageError(
        'STORAGE_CLOSED',
        'The storage adapter is closed; create (or open) a new one to keep working.',
      );
    }
  }

  #seriesOf(item: string): Point[] {
    let series = this.#series.get(item);
    if (series === undefined) {
      series = [];
      this.#series.set(item, series);
      this.#sortedItems = undefined;
    }
    return series;
  }

  /** Replaces `series[start, end)` of `item` with `incoming`. */
  #splice(
    item: string,
    series: Point[],
    start: number,
    end: number,
    incoming: readonly Point[],
  ): void {
    if (end - start + incoming.length < MAX_SPLICE) {
      series.splice(start, end - start, ...incoming);
    } else {
      this.#series.set(item, series.slice(0, start).concat(incoming, series.slice(end)));
    }
  }

  /** Writes the points (sorted, frozen, unique `t`) at timestamps `item` has no point at yet. */
  #mergeAbsent(item: string, incoming: readonly Point[]): number {
    const series = this.#seriesOf(item);
    const first = incoming[0];
    const last = incoming.at(-1);
    if (first === undefined || last === undefined) return 0;
    // Only the stored span between the first and last incoming timestamp can collide.
    const start = lowerBound(series, (p) => p.t - first.t);
    const end = lowerBound(series, (p) => (p.t <= last.t ? -1 : 1));
    const merged =
      start === end
        ? incoming
        : mergeSorted(series.slice(start, end), incoming, compareTimes, 'keep');
    this.#splice(item, series, start, end, merged);
    return merged.length - (end - start);
  }

  #writeSync(record: EncodedSyncState | undefined): void {
    if (record !== undefined) this.#syncState.set(record.key, record.text);
  }

  #append(item: string, points: readonly Point[]): void {
    const series = this.#seriesOf(item);
    if (points.length === 0) return;
    this.#series.set(item, mergeSorted(series, sortLastWins(points), compareTimes));
  }

  #insert(events: readonly EventRecord[]): number {
    // The events are valid (checked by the caller) and copying one cannot fail, so the ids are
    // claimed as the batch is read: a later duplicate in the batch finds its id taken.
    // A sealed batch (see `isSealedEvents`) is already fresh, deeply frozen records: kept as is.
    const sealed = isSealedEvents(events);
    const ids = this.#eventIds;
    const stored = this.#events;
    let last = stored.at(-1);
    let appended = 0;
    // Records that do not sort after everything stored (rare: pages arrive in `(t, id)` order).
    let rest: EventRecord[] | undefined;
    for (const event of events) {
      const size = ids.size;
      ids.add(event.id);
      if (ids.size === size) continue;
      const record = sealed ? event : frozenEvent(event);
      if (rest === undefined && (last === undefined || compareEvents(record, last) > 0)) {
        stored.push(record);
        last = record;
        appended++;
      } else if (rest === undefined) {
        rest = [record];
      } else {
        rest.push(record);
      }
    }
    if (rest === undefined) return appended;
    rest.sort(compareEvents);
    this.#events = mergeSorted(stored, rest, compareEvents);
    return appended + rest.length;
  }

  /** Declares items as trended locally, even before they have points. */
  async registerItems(items: readonly string[]): Promise<void> {
    this.#checkOpen();
    assertItemIds(items);
    for (const item of items) this.#seriesOf(item);
  }

  /** Every registered item and every item with points, sorted by code point. */
  async listItems(): Promise<string[]> {
    this.#checkOpen();
    this.#sortedItems ??= [...this.#series.keys()].sort(compareCodePoints);
    return [...this.#sortedItems];
  }

  /** Reads one page of `item`'s points in `window`, ascending by `t`. */
  async readPoints(item: string, window: TimeWindow, page: PageRequest): Promise<Page<Point>> {
    this.#checkOpen();
    assertItemId(item);
    assertWindow(window);
    assertPageRequest(page);
    const after =
      page.cursor === undefined ? undefined : decodePointCursor(page.cursor, item, window);
    const series = this.#series.get(item) ?? [];
    const start =
      after === undefined
        ? lowerBound(series, (p) => p.t - window.from)
        : lowerBound(series, (p) => (p.t <= after ? -1 : 1));
    const end = lowerBound(series, (p) => p.t - window.to);
    const stop = Math.min(end, start + page.limit);
    const items: Point[] = [];
    for (let i = start; i < stop; i++) items.push(series[i] as Point);
    const last = items.at(-1);
    return {
      items,
      next: stop < end && last !== undefined ? encodePointCursor(item, window, last.t) : null,
    };
  }

  /**
   * Atomically replaces every point of `item` in `window` with `points`, and writes
   * `options.syncState` with them (everything is validated before anything changes).
   */
  async replacePoints(
    item: string,
    window: TimeWindow,
    points: readonly Point[],
    options?: SyncWriteOptions,
  ): Promise<void> {
    this.#checkOpen();
    assertItemId(item);
    assertWindow(window);
    assertPointsInWindow(points, window, 'replacePoints');
    const record = encodeSyncWriteOptions(options, 'replacePoints');
    const series = this.#seriesOf(item);
    const incoming = storablePoints(points);
    const start = lowerBound(series, (p) => p.t - window.from);
    const end = lowerBound(series, (p) => p.t - window.to);
    this.#splice(item, series, start, end, incoming);
    this.#writeSync(record);
  }

  /**
   * Atomically writes the points whose timestamp `item` has no point at yet (stored points never
   * change), and `options.syncState` with them; returns how many points were written.
   */
  async mergePoints(
    item: string,
    window: TimeWindow,
    points: readonly Point[],
    options?: SyncWriteOptions,
  ): Promise<number> {
    this.#checkOpen();
    assertItemId(item);
    assertWindow(window);
    assertPointsInWindow(points, window, 'mergePoints');
    const record = encodeSyncWriteOptions(options, 'mergePoints');
    const written = this.#mergeAbsent(item, storablePoints(points));
    this.#writeSync(record);
    return written;
  }

  /** Writes live points; a point at an existing timestamp replaces it (the last in a batch wins). */
  async appendPoints(item: string, points: readonly Point[]): Promise<void> {
    this.#checkOpen();
    assertItemId(item);
    assertPoints(points);
    this.#append(item, points);
  }

  /**
   * Reads one page of events in `window`, ascending by `(t, id)`. The records are the stored,
   * deeply frozen ones (writing to one throws a `TypeError` in strict mode).
   */
  async readEvents(window: TimeWindow, page: PageRequest): Promise<Page<EventRecord>> {
    this.#checkOpen();
    assertWindow(window);
    assertPageRequest(page);
    const after = page.cursor === undefined ? undefined : decodeEventCursor(page.cursor, window);
    const events = this.#events;
    const start =
      after === undefined
        ? lowerBound(events, (e) => e.t - window.from)
        : lowerBound(events, (e) => (compareEvents(e, after) <= 0 ? -1 : 1));
    const end = lowerBound(events, (e) => e.t - window.to);
    const stop = Math.min(end, start + page.limit);
    const items: EventRecord[] = [];
    // The stored records are deeply frozen: shared with the reader, not copied.
    for (let i = start; i < stop; i++) items.push(events[i] as EventRecord);
    const last = items.at(-1);
    return {
      items,
      next: stop < end && last !== undefined ? encodeEventCursor(window, last.t, last.id) : null,
    };
  }

  /**
   * Inserts the events whose id is not stored yet (first of a batch wins), and writes
   * `options.syncState` with them; returns the count. Each stored event is a deeply frozen copy
   * (the caller's objects are neither kept nor frozen), except for a page `httpPeer` returned:
   * its records are already checked and deeply frozen, so they are kept as they are.
   */
  async insertEventsIfAbsent(
    events: readonly EventRecord[],
    options?: SyncWriteOptions,
  ): Promise<number> {
    this.#checkOpen();
    assertEvents(events);
    const record = encodeSyncWriteOptions(options, 'insertEventsIfAbsent');
    const inserted = this.#insert(events);
    this.#writeSync(record);
    return inserted;
  }

  /** Reads (a fresh copy of) the sync-state record stored under `key`, or `undefined`. */
  async readSyncState(key: string): Promise<SyncStateValue | undefined> {
    this.#checkOpen();
    assertSyncKey(key, 'readSyncState: key');
    const text = this.#syncState.get(key);
    return text === undefined ? undefined : (JSON.parse(text) as SyncStateValue);
  }

  /** Replaces the sync-state record stored under `key` (stored by value, as JSON text). */
  async writeSyncState(key: string, value: SyncStateValue): Promise<void> {
    this.#checkOpen();
    this.#writeSync(encodeSyncState(key, value, 'writeSyncState: '));
  }

  /** Closes the adapter and drops its data. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#series.clear();
    this.#events = [];
    this.#eventIds.clear();
    this.#syncState.clear();
    this.#sortedItems = undefined;
  }

  /** Same as {@link MemoryStorageAdapter.close}, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
