/**
 * A skeleton storage adapter: the starting point of your own `StorageAdapter` over your own store
 * (PostgreSQL, TimescaleDB, a historian…). Copy this file, then fill in one method at a time.
 *
 * What is already done, with the adapter kit of `edge-ha`:
 * - the "closed" check first, so that after `close()` every method rejects with `STORAGE_CLOSED`;
 * - argument validation with the contract's codes (`assertItemId`, `assertWindow`, …);
 * - the cursor codec (`decodePointCursor` / `encodePointCursor` and the event pair), bound to
 *   the read it was minted for and at most 4096 characters long;
 * - the validation of sync-state records (`encodeSyncState`, `encodeSyncWriteOptions`).
 *
 * What is left: the store itself. Every method that needs it rejects with
 * `STORAGE_NOT_IMPLEMENTED` and a message saying what to return, so running the conformance suite
 * against this file lists exactly what to implement:
 *
 *   runStorageAdapterSuite({ test, describe, factory: () => new SkeletonStorageAdapter() });
 *
 * In your own project, import from 'edge-ha' instead of '../src/index.js'. See
 * docs/adapters.md for the contract, method by method.
 */

import {
  assertEvents,
  assertItemId,
  assertItemIds,
  assertPageRequest,
  assertPoints,
  assertPointsInWindow,
  assertSyncKey,
  assertWindow,
  decodeEventCursor,
  decodePointCursor,
  type EventRecord,
  encodeSyncState,
  encodeSyncWriteOptions,
  type Page,
  type PageRequest,
  type Point,
  type StorageAdapter,
  type StorageCapabilities,
  StorageError,
  type SyncStateValue,
  type SyncWriteOptions,
  type TimeWindow,
} from '../src/index.js';

/** The error of a method not written yet: what it must do, and where the contract says more. */
function notImplemented(method: string, todo: string, anchor: string): StorageError {
  return new StorageError(
    'STORAGE_NOT_IMPLEMENTED',
    `${method} is not implemented yet: ${todo}. See docs/adapters.md#${anchor}.`,
  );
}

/**
 * The skeleton: validation, cursors and `close()` done, the store left to you. Every method is
 * `async`, so that failures reject the returned promise (never a synchronous throw).
 */
export class SkeletonStorageAdapter implements StorageAdapter {
  /**
   * Declare what your store really guarantees (see docs/adapters.md#capabilities): a store with
   * transactions makes the sync writes atomic; `persistent` when data survives a restart.
   */
  readonly capabilities: StorageCapabilities = Object.freeze({
    persistent: false,
    atomicReplace: false,
    atomicInsert: false,
    multiProcess: false,
  });

  #closed = false;

  #checkOpen(): void {
    if (this.#closed) {
      throw new StorageError(
        'STORAGE_CLOSED',
        'The storage adapter is closed; open a new one to keep working.',
      );
    }
  }

  /** Declares items as trended locally, even before they have points. */
  async registerItems(items: readonly string[]): Promise<void> {
    this.#checkOpen();
    assertItemIds(items);
    // INSERT INTO items (item) VALUES … ON CONFLICT DO NOTHING, in one statement or transaction.
    throw notImplemented(
      'registerItems',
      'store each item id so that listItems() lists it, even without points, and resolve with undefined',
      'registeritems-and-listitems',
    );
  }

  /** Every registered item and every item with points, sorted by code point. */
  async listItems(): Promise<string[]> {
    this.#checkOpen();
    // SELECT item FROM items ORDER BY item COLLATE "C" (code point order, not a locale).
    throw notImplemented(
      'listItems',
      'resolve with every registered item and every item that has points, each once, sorted by code point (UTF-8 byte order)',
      'registeritems-and-listitems',
    );
  }

  /** One page of `item`'s points in `window`, ascending by `t`. */
  async readPoints(item: string, window: TimeWindow, page: PageRequest): Promise<Page<Point>> {
    this.#checkOpen();
    assertItemId(item);
    assertWindow(window);
    assertPageRequest(page);
    const after =
      page.cursor === undefined ? undefined : decodePointCursor(page.cursor, item, window);
    // SELECT t, v, q FROM points WHERE item = $1 AND t >= $from AND t < $to [AND t > $after]
    //   ORDER BY t LIMIT $limit + 1
    // const more = rows.length > page.limit; const items = rows.slice(0, page.limit);
    // return { items, next: more ? encodePointCursor(item, window, items.at(-1).t) : null };
    throw notImplemented(
      'readPoints',
      `resolve with a Page<Point> { items, next }: at most ${page.limit} points of the item with from <= t < to ${after === undefined ? '' : `and t > ${after} `}ascending by t, next = encodePointCursor(item, window, lastT) when more follow, else null`,
      'readpoints',
    );
  }

  /** Atomically replaces every point of `item` in `window` with `points` (and the record). */
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
    // BEGIN; DELETE FROM points WHERE item = $1 AND t >= $from AND t < $to; INSERT the points;
    // register the item; upsert record (key, text) into sync_state if record !== undefined; COMMIT
    throw notImplemented(
      'replacePoints',
      `in one transaction, delete the item's points with from <= t < to, write the ${points.length} given points, register the item${record === undefined ? '' : ` and store the syncState record "${record.key}"`}; resolve with undefined`,
      'replacepoints',
    );
  }

  /** Atomically writes the points at timestamps `item` has no point at; resolves with the count. */
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
    // BEGIN; INSERT … ON CONFLICT (item, t) DO NOTHING (count the rows inserted); register the
    // item; store the record; COMMIT
    throw notImplemented(
      'mergePoints',
      `in one transaction, write each of the ${points.length} points whose timestamp the item has no point at (never change a stored point), register the item${record === undefined ? '' : ` and store the syncState record "${record.key}"`}; resolve with how many points were written`,
      'mergepoints',
    );
  }

  /** Writes live points; a point at an existing timestamp replaces it (last of a batch wins). */
  async appendPoints(item: string, points: readonly Point[]): Promise<void> {
    this.#checkOpen();
    assertItemId(item);
    assertPoints(points);
    // INSERT … ON CONFLICT (item, t) DO UPDATE (keep only the last point of a repeated t first)
    throw notImplemented(
      'appendPoints',
      `upsert the ${points.length} points by timestamp (within the batch the last point of a timestamp wins) and register the item; resolve with undefined`,
      'appendpoints',
    );
  }

  /** One page of events in `window`, ascending by `(t, id)`. */
  async readEvents(window: TimeWindow, page: PageRequest): Promise<Page<EventRecord>> {
    this.#checkOpen();
    assertWindow(window);
    assertPageRequest(page);
    const after = page.cursor === undefined ? undefined : decodeEventCursor(page.cursor, window);
    // SELECT id, t, body FROM events WHERE t >= $from AND t < $to [AND (t, id) > ($t, $id)]
    //   ORDER BY t, id COLLATE "C" LIMIT $limit + 1
    // next = more ? encodeEventCursor(window, last.t, last.id) : null
    throw notImplemented(
      'readEvents',
      `resolve with a Page<EventRecord> { items, next }: at most ${page.limit} events with from <= t < to ${after === undefined ? '' : `after (t, id) = (${after.t}, ${JSON.stringify(after.id)}) `}ordered by (t, id), next = encodeEventCursor(window, lastT, lastId) when more follow, else null`,
      'readevents',
    );
  }

  /** Inserts the events whose id is not stored yet (and the record); resolves with the count. */
  async insertEventsIfAbsent(
    events: readonly EventRecord[],
    options?: SyncWriteOptions,
  ): Promise<number> {
    this.#checkOpen();
    assertEvents(events);
    const record = encodeSyncWriteOptions(options, 'insertEventsIfAbsent');
    // BEGIN; INSERT … ON CONFLICT (id) DO NOTHING (first event of an id in the batch wins);
    // store the record; COMMIT
    throw notImplemented(
      'insertEventsIfAbsent',
      `in one transaction, insert each of the ${events.length} events whose id is not stored yet (never change a stored event; within the batch the first event of an id wins)${record === undefined ? '' : ` and store the syncState record "${record.key}"`}; resolve with how many were inserted`,
      'inserteventsifabsent',
    );
  }

  /** Reads the sync-state record stored under `key`, or `undefined`. */
  async readSyncState(key: string): Promise<SyncStateValue | undefined> {
    this.#checkOpen();
    assertSyncKey(key, 'readSyncState: key');
    // SELECT state FROM sync_state WHERE key = $1; return decodeSyncState(text, …) or undefined
    throw notImplemented(
      'readSyncState',
      'resolve with a fresh copy of the record stored under the key (decodeSyncState of the stored JSON text), or undefined when there is none',
      'readsyncstate-and-writesyncstate',
    );
  }

  /** Atomically replaces the sync-state record stored under `key`. */
  async writeSyncState(key: string, value: SyncStateValue): Promise<void> {
    this.#checkOpen();
    const record = encodeSyncState(key, value, 'writeSyncState: ');
    // INSERT INTO sync_state (key, state) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE …
    throw notImplemented(
      'writeSyncState',
      `store record.text (${record.text.length} characters of JSON) under the key, replacing the previous record as a whole; resolve with undefined`,
      'readsyncstate-and-writesyncstate',
    );
  }

  /** Releases the store's resources (a pool, a file). Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // await pool.end();
  }

  /** Same as {@link SkeletonStorageAdapter.close}, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
