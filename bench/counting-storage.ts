/**
 * A thin {@link StorageAdapter} wrapper that counts the durable writes a sync makes, so a
 * benchmark can check "one durable commit per page" (SPEC §3, §4.3) from the outside: every
 * `replacePoints`, `mergePoints`, `insertEventsIfAbsent` and `writeSyncState` call is one commit
 * of the adapter (the SQLite adapter runs each in one transaction).
 */

import type {
  EventRecord,
  Page,
  PageRequest,
  Point,
  StorageAdapter,
  SyncStateValue,
  SyncWriteOptions,
  TimeWindow,
} from '../src/storage/types.js';

/** What {@link countingStorage} counted since the last `reset()`. */
export interface WriteCounts {
  /** `replacePoints` calls. */
  replacePoints: number;
  /** `mergePoints` calls. */
  mergePoints: number;
  /** `insertEventsIfAbsent` calls. */
  insertEvents: number;
  /** Data calls (the three above) that carried a `syncState` record (data + progress, one commit). */
  dataWithSyncState: number;
  /** `writeSyncState` calls of a progress record (`…:progress:…`), i.e. without data. */
  progressWrites: number;
  /** Other `writeSyncState` calls (gap ledgers, heartbeat), by key. */
  otherWrites: Map<string, number>;
}

/** A counting wrapper and its counters. */
export interface CountingStorage {
  /** The wrapped adapter; hand it to the deputy or governor. */
  readonly storage: StorageAdapter;
  /** The counters (live). */
  readonly counts: WriteCounts;
  /** Zeroes the counters (e.g. after the set-up writes). */
  reset(): void;
}

function zero(): WriteCounts {
  return {
    replacePoints: 0,
    mergePoints: 0,
    insertEvents: 0,
    dataWithSyncState: 0,
    progressWrites: 0,
    otherWrites: new Map(),
  };
}

/** Wraps `inner`; every call is passed through unchanged. */
export function countingStorage(inner: StorageAdapter): CountingStorage {
  const counts = zero();
  const data = (options: SyncWriteOptions | undefined): void => {
    if (options?.syncState !== undefined) counts.dataWithSyncState++;
  };
  const storage: StorageAdapter = {
    capabilities: inner.capabilities,
    registerItems: (items: readonly string[]) => inner.registerItems(items),
    listItems: () => inner.listItems(),
    readPoints: (item: string, window: TimeWindow, page: PageRequest): Promise<Page<Point>> =>
      inner.readPoints(item, window, page),
    replacePoints: (item, window, points, options) => {
      counts.replacePoints++;
      data(options);
      return inner.replacePoints(item, window, points, options);
    },
    mergePoints: (item, window, points, options) => {
      counts.mergePoints++;
      data(options);
      return inner.mergePoints(item, window, points, options);
    },
    appendPoints: (item: string, points: readonly Point[]) => inner.appendPoints(item, points),
    readEvents: (window: TimeWindow, page: PageRequest): Promise<Page<EventRecord>> =>
      inner.readEvents(window, page),
    insertEventsIfAbsent: (events, options) => {
      counts.insertEvents++;
      data(options);
      return inner.insertEventsIfAbsent(events, options);
    },
    readSyncState: (key: string) => inner.readSyncState(key),
    writeSyncState: (key: string, value: SyncStateValue) => {
      if (key.includes(':progress:')) counts.progressWrites++;
      else counts.otherWrites.set(key, (counts.otherWrites.get(key) ?? 0) + 1);
      return inner.writeSyncState(key, value);
    },
    close: () => inner.close(),
    [Symbol.asyncDispose]: () => inner.close(),
  };
  return {
    storage,
    counts,
    reset() {
      Object.assign(counts, zero());
    },
  };
}
