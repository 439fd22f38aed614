/**
 * The storage adapter contract (the guide: docs/adapters.md). An integrator implements {@link StorageAdapter} over
 * their own store and proves it with `runStorageAdapterSuite` from `edge-ha/testing`.
 */

/**
 * A JSON value (event bodies, sync state).
 *
 * @group Storage
 */
export type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject;

/**
 * A JSON object.
 *
 * @group Storage
 */
export interface JsonObject {
  [key: string]: JsonValue;
}

/**
 * Half-open time interval `[from, to)` in integer epoch milliseconds (UTC).
 *
 * @group Storage
 */
export interface TimeWindow {
  /** Inclusive start, epoch ms. */
  readonly from: number;
  /** Exclusive end, epoch ms. `from <= to`; `from === to` is an empty window. */
  readonly to: number;
}

/**
 * The value of a point. Numbers must be finite.
 *
 * @group Storage
 */
export type PointValue = number | string | boolean | null;

/**
 * One value of an item at one timestamp. An item has at most one point per timestamp.
 *
 * @group Storage
 */
export interface Point {
  /** Timestamp, integer epoch ms (UTC). */
  readonly t: number;
  /** The value. */
  readonly v: PointValue;
  /** Optional quality code, an integer 0..4294967295 (e.g. an OPC quality). */
  readonly q?: number;
}

/**
 * An alarm/event record. Identified by `id`; never modified once stored.
 *
 * @group Storage
 */
export interface EventRecord {
  /** Stable unique id (e.g. a UUID assigned where the event was raised). */
  readonly id: string;
  /** Timestamp, integer epoch ms (UTC). */
  readonly t: number;
  /**
   * The event's content: a JSON value nested at most 64 levels deep (the body is at depth 0, the
   * contents of an array or object at depth `d` at `d + 1`; arrays and objects may sit at depth
   * 64 at most, see `MAX_BODY_DEPTH`).
   */
  readonly body: JsonValue;
}

/**
 * Paging arguments of a read.
 *
 * @group Storage
 */
export interface PageRequest {
  /** Maximum number of records to return: an integer from 1 to 100,000 (else `STORAGE_INVALID_PAGE`). */
  readonly limit: number;
  /**
   * Opaque cursor from the previous page's `next`; absent for the first page. A cursor is only
   * valid for the read it came from (same method, item and window); anything else, and any
   * string longer than 4096 characters (`MAX_CURSOR_LENGTH`), is `STORAGE_INVALID_CURSOR`.
   */
  readonly cursor?: string | undefined;
}

/**
 * One page of a read.
 *
 * @group Storage
 */
export interface Page<T> {
  /** The records, in the read's order. May be shorter than the limit even when more follow. */
  readonly items: readonly T[];
  /**
   * Cursor for the next page, or `null` when the read is complete. A non-empty string of at most
   * 4096 characters (`MAX_CURSOR_LENGTH`): the HTTP peer protocol carries cursors and rejects
   * longer ones, so an adapter must never mint a longer cursor (whatever the item id, event id and
   * window). The kit's cursor codec (`encodePointCursor`, `encodeEventCursor`) stays below 1100.
   */
  readonly next: string | null;
}

/**
 * One page of a read with its records already encoded as JSON text: what an adapter's optional
 * {@link StorageAdapter.readPointsJson} and {@link StorageAdapter.readEventsJson} return, so a
 * peer serves a page without building an object per record and serialising it again.
 *
 * @group Storage
 */
export interface JsonPage {
  /**
   * The records as the text of one JSON array: `JSON.parse(json)` must be deep-equal to the
   * `items` of the same {@link Page} from `readPoints` / `readEvents` (same records, same order).
   * Any valid JSON spelling of the values will do (`5.0` for `5`, escapes of the encoder's
   * choice); numbers must keep every bit of the stored double.
   */
  readonly json: string;
  /** How many records `json` holds. */
  readonly count: number;
  /** The same cursor as the {@link Page}'s `next`: the page after these records, or `null`. */
  readonly next: string | null;
}

/**
 * One sync-state record: a small JSON object owned by the library (the heartbeat, a deputy's gap
 * ledger and LastUpToDate, one item's progress). Its format is versioned by the library; an
 * adapter stores it by value and never interprets it. It follows the rules of an event body
 * (plain objects, arrays, finite numbers, strings, booleans, null; no cycles; at most 64 levels)
 * and is at most 65,536 UTF-16 code units as JSON text (`JSON.stringify`); keys are non-empty
 * well-formed strings of at most 2048 code units. Anything else is `STORAGE_INVALID_SYNC_STATE`.
 *
 * @group Storage
 */
export type SyncStateValue = JsonObject;

/**
 * A sync-state record to write in the same commit as a data write.
 *
 * @group Storage
 */
export interface SyncStateWrite {
  /** The record's key (same rules as `writeSyncState`). */
  readonly key: string;
  /** The new value of the record. */
  readonly value: SyncStateValue;
}

/**
 * Options of the sync writes (`replacePoints`, `mergePoints`, `insertEventsIfAbsent`).
 *
 * @group Storage
 */
export interface SyncWriteOptions {
  /**
   * A sync-state record committed **atomically with the data** of the call: after a crash
   * either both the data and the record are stored, or neither. The deputies use it to commit a
   * page and that item's progress in one durable commit. A record that fails validation rejects
   * the whole call (`STORAGE_INVALID_SYNC_STATE`) and stores nothing.
   * @default undefined (no record written)
   */
  readonly syncState?: SyncStateWrite | undefined;
}

/**
 * What an adapter can promise. Static: declared once, never changes at run time. Each flag
 * answers one question.
 *
 * @group Storage
 */
export interface StorageCapabilities {
  /** Does the data survive `close()` and a reopen of the same store (and a process restart)? */
  readonly persistent: boolean;
  /**
   * Are `replacePoints` and `mergePoints` all-or-nothing (data and their `syncState` record),
   * even if the process dies in the middle of one?
   */
  readonly atomicReplace: boolean;
  /** Is `insertEventsIfAbsent` all-or-nothing for one call (events and their `syncState` record)? */
  readonly atomicInsert: boolean;
  /** Can several processes open the same store at once? */
  readonly multiProcess: boolean;
}

/**
 * The storage contract a deputy, the governor and the peer handler use.
 *
 * Invariants every implementation keeps (the conformance suite checks each):
 * - Every method returns a promise and reports failures by rejecting it (never a synchronous
 *   throw) with a `StorageError` carrying a code; after `close()` every method rejects with
 *   `STORAGE_CLOSED`, whatever its arguments (a second `close()` is a no-op).
 * - Item ids are non-empty strings of at most 1024 UTF-16 code units (`STORAGE_INVALID_ITEM`);
 *   event ids at most 256 (`STORAGE_INVALID_RECORD`). Ids, sync-state keys and point values
 *   must be well-formed Unicode: a lone UTF-16 surrogate is rejected with the code of the field
 *   that holds it (item id `STORAGE_INVALID_ITEM`, event id `STORAGE_INVALID_RECORD`, sync-state
 *   key `STORAGE_INVALID_SYNC_STATE`, point value `STORAGE_VALUE_OUT_OF_RANGE` like a non-finite
 *   number). Ids sort by Unicode code point (= UTF-8 byte order, SQLite's `BINARY`,
 *   PostgreSQL's `COLLATE "C"`), not by locale.
 * - Timestamps are safe integers; numbers are finite (`STORAGE_VALUE_OUT_OF_RANGE`); `-0` may be
 *   read back as `0`. A point without quality is read back without a `q` property.
 * - A batch with one invalid record is rejected as a whole and stores nothing.
 * - Records are stored by value: mutating an argument after the call, or a returned record,
 *   never changes stored data.
 * - Windows are half-open `[from, to)` with safe-integer bounds; `from > to` is
 *   `STORAGE_INVALID_WINDOW`. An empty window reads nothing and replaces nothing.
 * - An item holds at most one point per timestamp; `readPoints` returns them ascending by `t`.
 * - Paging never skips or repeats a record, also when many records share a timestamp and when
 *   records are written between pages outside the part already read. Cursors are opaque, bound
 *   to their read and at most 4096 characters long; `next` is `null` exactly when nothing follows
 *   (a page may be shorter than the limit).
 * - Events are ordered by `(t, id)`.
 * - `replacePoints` removes every point of the item with `from <= t < to` and writes the given
 *   ones, atomically for one call; points of the item outside the window and other items are
 *   untouched.
 * - `mergePoints` writes a given point only where the item has no point at that timestamp (an
 *   existing point is never changed or removed), atomically for one call, and returns how many
 *   it wrote.
 * - `insertEventsIfAbsent` never modifies an existing event; it returns how many it inserted.
 *   Within one batch the first event of an id wins and counts once.
 * - `appendPoints` upserts by timestamp; within one batch the last point of a timestamp wins.
 * - `writeSyncState` replaces the record of that key atomically; `readSyncState` of an unknown key
 *   is `undefined`. Writing one key never changes another.
 * - The sync writes (`replacePoints`, `mergePoints`, `insertEventsIfAbsent`) take an optional
 *   `syncState` record that is committed in the same atomic commit as their data: one durable
 *   commit per call, data and progress together.
 *
 * @group Storage
 */
export interface StorageAdapter extends AsyncDisposable {
  /** The adapter's static capabilities. */
  readonly capabilities: StorageCapabilities;

  /** Declares items as trended locally (so a sync pulls them) even before they have points. */
  registerItems(items: readonly string[]): Promise<void>;
  /** The item ids trended locally: registered ones and every item that has points. Sorted. */
  listItems(): Promise<string[]>;
  /** Reads one page of an item's points in `window`, ascending by `t`. Unknown item: empty page. */
  readPoints(item: string, window: TimeWindow, page: PageRequest): Promise<Page<Point>>;
  /**
   * Atomically replaces every point of `item` in `window` with `points` (in any order; each must
   * lie in the window, else `STORAGE_POINT_OUTSIDE_WINDOW`; timestamps unique, else
   * `STORAGE_INVALID_RECORD`). Registers the item. An empty window changes nothing.
   */
  replacePoints(
    item: string,
    window: TimeWindow,
    points: readonly Point[],
    options?: SyncWriteOptions,
  ): Promise<void>;
  /**
   * Atomically writes each of `points` for which `item` has no point at that timestamp yet; a
   * stored point is never changed or removed. Every point must lie in `window` (else
   * `STORAGE_POINT_OUTSIDE_WINDOW`); timestamps unique (else `STORAGE_INVALID_RECORD`).
   * Registers the item. Resolves with how many points were written.
   */
  mergePoints(
    item: string,
    window: TimeWindow,
    points: readonly Point[],
    options?: SyncWriteOptions,
  ): Promise<number>;
  /** Writes live points; a point at an existing timestamp replaces it. Registers the item. */
  appendPoints(item: string, points: readonly Point[]): Promise<void>;

  /** Reads one page of events in `window`, ascending by `(t, id)`. */
  readEvents(window: TimeWindow, page: PageRequest): Promise<Page<EventRecord>>;
  /** Inserts the events whose `id` is not stored yet; returns how many were inserted. */
  insertEventsIfAbsent(events: readonly EventRecord[], options?: SyncWriteOptions): Promise<number>;

  /**
   * Optional: the page `readPoints` would return with the same arguments, as JSON text
   * ({@link JsonPage}). A peer (`createPeerHandler`) serves points through it when present,
   * which saves decoding every record into an object and encoding it again; it must accept
   * and reject exactly what `readPoints` does. The conformance suite checks both agree.
   */
  readPointsJson?(item: string, window: TimeWindow, page: PageRequest): Promise<JsonPage>;
  /**
   * Optional: the page `readEvents` would return with the same arguments, as JSON text
   * ({@link JsonPage}); used by a peer as {@link StorageAdapter.readPointsJson} is.
   */
  readEventsJson?(window: TimeWindow, page: PageRequest): Promise<JsonPage>;

  /** Reads the sync-state record stored under `key` (a copy), or `undefined`. */
  readSyncState(key: string): Promise<SyncStateValue | undefined>;
  /**
   * Atomically replaces the sync-state record stored under `key` (a JSON object of at most
   * 65,536 characters as JSON text, else `STORAGE_INVALID_SYNC_STATE`).
   */
  writeSyncState(key: string, value: SyncStateValue): Promise<void>;

  /** Releases resources. Idempotent. */
  close(): Promise<void>;
}
