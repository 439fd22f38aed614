import { describe, expect, test } from 'vitest';
import { MemoryStorageAdapter } from '../../src/storage/memory.js';
import type {
  EventRecord,
  Page,
  PageRequest,
  Point,
  StorageAdapter,
  SyncStateValue,
  SyncWriteOptions,
  TimeWindow,
} from '../../src/storage/types.js';
import { runStorageAdapterSuite } from '../../src/testing/index.js';

/** Registers the suite with a collecting `test`, runs every test, returns the failed names. */
async function failuresOf(factory: () => StorageAdapter): Promise<{
  total: number;
  failed: string[];
}> {
  const tests: { name: string; fn: () => Promise<void> }[] = [];
  runStorageAdapterSuite({
    test: (name, fn) => tests.push({ name, fn }),
    factory,
    seed: 42,
    modelBased: { runs: Number(process.env.EDGE_HA_PROPERTY_RUNS ?? 100) },
    largePage: 2_000,
  });
  const failed: string[] = [];
  for (const { name, fn } of tests) {
    try {
      await fn();
    } catch {
      failed.push(name);
    }
  }
  return { total: tests.length, failed };
}

/** Bug: replacePoints writes the new points but deletes nothing. */
class ReplaceWithoutDelete extends MemoryStorageAdapter {
  override async replacePoints(
    item: string,
    _window: TimeWindow,
    points: readonly Point[],
  ): Promise<void> {
    await this.appendPoints(item, points);
  }
}

/** Bug: insertEventsIfAbsent overwrites the body of an event that is already stored. */
class InsertOverwrites extends MemoryStorageAdapter {
  readonly #latest = new Map<string, EventRecord>();
  override async insertEventsIfAbsent(events: readonly EventRecord[]): Promise<number> {
    const count = await super.insertEventsIfAbsent(events);
    for (const event of events) this.#latest.set(event.id, event);
    return count;
  }
  override async readEvents(window: TimeWindow, page: PageRequest): Promise<Page<EventRecord>> {
    const read = await super.readEvents(window, page);
    return {
      items: read.items.map((e) => ({ ...e, body: this.#latest.get(e.id)?.body ?? e.body })),
      next: read.next,
    };
  }
}

/** Bug: the event cursor keeps only the last timestamp, so the rest of a tie is dropped. */
class PagerDropsTies extends MemoryStorageAdapter {
  override async readEvents(window: TimeWindow, page: PageRequest): Promise<Page<EventRecord>> {
    const from = page.cursor === undefined ? window.from : Number(page.cursor.slice(4)) + 1;
    const read = await super.readEvents({ from, to: window.to }, { limit: page.limit });
    const last = read.items.at(-1);
    return { items: read.items, next: read.next && last ? `tie:${last.t}` : null };
  }
}

/** Bug: a window includes its end `to`. */
class InclusiveEnd extends MemoryStorageAdapter {
  override async readPoints(
    item: string,
    window: TimeWindow,
    page: PageRequest,
  ): Promise<Page<Point>> {
    return super.readPoints(item, { from: window.from, to: window.to + 1 }, page);
  }
}

/** Bug: mergePoints upserts (overwrites stored points) and counts every point it was given. */
class MergeOverwrites extends MemoryStorageAdapter {
  override async mergePoints(
    item: string,
    _window: TimeWindow,
    points: readonly Point[],
    options?: SyncWriteOptions,
  ): Promise<number> {
    await this.appendPoints(item, points);
    if (options?.syncState) {
      await this.writeSyncState(options.syncState.key, options.syncState.value);
    }
    return points.length;
  }
}

/** Bug: the sync writes store their data but ignore the `syncState` record. */
class SyncRecordIgnored extends MemoryStorageAdapter {
  override replacePoints(item: string, window: TimeWindow, points: readonly Point[]) {
    return super.replacePoints(item, window, points);
  }
  override mergePoints(item: string, window: TimeWindow, points: readonly Point[]) {
    return super.mergePoints(item, window, points);
  }
  override insertEventsIfAbsent(events: readonly EventRecord[]) {
    return super.insertEventsIfAbsent(events);
  }
}

/**
 * Bug: the sync writes commit the data first and write the record in a second step, so an
 * invalid record rejects the call only after its data is stored.
 */
class SyncRecordWrittenSeparately extends MemoryStorageAdapter {
  async #thenRecord<T>(data: Promise<T>, options: SyncWriteOptions | undefined): Promise<T> {
    const result = await data;
    if (options?.syncState !== undefined) {
      await this.writeSyncState(options.syncState.key, options.syncState.value);
    }
    return result;
  }
  override replacePoints(
    item: string,
    window: TimeWindow,
    points: readonly Point[],
    options?: SyncWriteOptions,
  ) {
    return this.#thenRecord(super.replacePoints(item, window, points), options);
  }
  override mergePoints(
    item: string,
    window: TimeWindow,
    points: readonly Point[],
    options?: SyncWriteOptions,
  ) {
    return this.#thenRecord(super.mergePoints(item, window, points), options);
  }
  override insertEventsIfAbsent(events: readonly EventRecord[], options?: SyncWriteOptions) {
    return this.#thenRecord(super.insertEventsIfAbsent(events), options);
  }
}

/** Bug: sync-state keys are cut to 1024 characters (a `VARCHAR(1024)` column, the old limit). */
class SyncKeysTruncated extends MemoryStorageAdapter {
  override readSyncState(key: string): Promise<SyncStateValue | undefined> {
    return super.readSyncState(typeof key === 'string' ? key.slice(0, 1024) : key);
  }
  override writeSyncState(key: string, value: SyncStateValue): Promise<void> {
    return super.writeSyncState(typeof key === 'string' ? key.slice(0, 1024) : key, value);
  }
}

describe('runStorageAdapterSuite against broken adapters', () => {
  test('the reference adapter passes every test (control)', async () => {
    const { total, failed } = await failuresOf(() => new MemoryStorageAdapter());
    expect(total).toBeGreaterThan(50);
    expect(failed).toEqual([]);
  });

  test('a replace that does not delete is caught', async () => {
    const { failed } = await failuresOf(() => new ReplaceWithoutDelete());
    expect(failed).toContainEqual(expect.stringContaining('replacePoints removes every old point'));
    expect(failed).toContainEqual(expect.stringContaining('random operation sequences'));
  });

  test('an insert-if-absent that overwrites is caught', async () => {
    const { failed } = await failuresOf(() => new InsertOverwrites());
    expect(failed).toContainEqual(expect.stringContaining('never overwrites'));
    expect(failed).toContainEqual(expect.stringContaining('stores the first and counts it once'));
    expect(failed).toContainEqual(expect.stringContaining('random operation sequences'));
  });

  test('a pager that drops the rest of a timestamp tie is caught', async () => {
    const { failed } = await failuresOf(() => new PagerDropsTies());
    expect(failed).toContainEqual(expect.stringContaining('many events at one timestamp'));
    expect(failed).toContainEqual(expect.stringContaining('random operation sequences'));
  });

  test('a window that includes its end is caught', async () => {
    const { failed } = await failuresOf(() => new InclusiveEnd());
    expect(failed).toContainEqual(
      expect.stringContaining('[from, to) includes from and excludes to'),
    );
    expect(failed).toContainEqual(expect.stringContaining('random operation sequences'));
  });

  test('a merge that overwrites stored points is caught', async () => {
    const { failed } = await failuresOf(() => new MergeOverwrites());
    expect(failed).toContainEqual(expect.stringContaining('writes only absent timestamps'));
    expect(failed).toContainEqual(expect.stringContaining('never changes a stored point'));
    expect(failed).toContainEqual(expect.stringContaining('random operation sequences'));
  });

  test('sync writes that ignore their syncState record are caught', async () => {
    const { failed } = await failuresOf(() => new SyncRecordIgnored());
    expect(failed).toContainEqual(expect.stringContaining('syncState record of replacePoints'));
    expect(failed).toContainEqual(expect.stringContaining('an invalid syncState record rejects'));
    expect(failed).toContainEqual(expect.stringContaining('random operation sequences'));
  });

  test('sync writes that store the data before validating the record are caught', async () => {
    const { failed } = await failuresOf(() => new SyncRecordWrittenSeparately());
    expect(failed).toEqual([
      expect.stringContaining('an invalid syncState record rejects the call'),
    ]);
  });

  test('sync-state keys cut to 1024 characters are caught', async () => {
    const { failed } = await failuresOf(() => new SyncKeysTruncated());
    expect(failed).toEqual([expect.stringContaining('keys: up to 2048 characters work')]);
  });
});
