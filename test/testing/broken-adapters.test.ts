import { describe, expect, test } from 'vitest';
import { StorageError } from '../../src/errors.js';
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
import {
  assertItemIds,
  assertPageRequest,
  assertWindow,
  compareCodePoints,
} from '../../src/storage/validate.js';
import { runStorageAdapterSuite } from '../../src/testing/index.js';

/**
 * Registers the suite with a collecting `test`, runs every test, returns the failed names and the
 * message of each failure by test name.
 */
async function failuresOf(factory: () => StorageAdapter): Promise<{
  total: number;
  failed: string[];
  messages: Map<string, string>;
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
  const messages = new Map<string, string>();
  for (const { name, fn } of tests) {
    try {
      await fn();
    } catch (error) {
      failed.push(name);
      messages.set(name, error instanceof Error ? error.message : String(error));
    }
  }
  return { total: tests.length, failed, messages };
}

/** The failure message of the one failed test whose name contains `name`. */
function messageOf(result: { messages: Map<string, string> }, name: string): string {
  const found = [...result.messages].filter(([test]) => test.includes(name));
  expect(found.map(([test]) => test)).toHaveLength(1);
  return (found[0] as [string, string])[1];
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

/** Events of `window` after the key `after` in `(t, id)` order, from the memory adapter. */
async function eventsAfter(
  read: (window: TimeWindow, page: PageRequest) => Promise<Page<EventRecord>>,
  window: TimeWindow,
  after: { t: number; id: string } | undefined,
): Promise<EventRecord[]> {
  const all: EventRecord[] = [];
  let cursor: string | undefined;
  do {
    const page = await read(window, { limit: 100_000, cursor });
    all.push(...page.items);
    cursor = page.next ?? undefined;
  } while (cursor !== undefined);
  return after === undefined
    ? all
    : all.filter(
        (e) => e.t > after.t || (e.t === after.t && compareCodePoints(e.id, after.id) > 0),
      );
}

/**
 * Bug (issue #14): event cursors are base64url JSON decoded with Node's lenient decoder, which
 * skips characters outside the alphabet, so a corrupt cursor `${next}x!` reads as `next`.
 */
class LenientEventCursors extends MemoryStorageAdapter {
  override async readEvents(window: TimeWindow, page: PageRequest): Promise<Page<EventRecord>> {
    assertWindow(window);
    assertPageRequest(page);
    const read = `${window.from},${window.to}`;
    let after: { t: number; id: string; read: string } | undefined;
    if (page.cursor !== undefined) {
      try {
        after = JSON.parse(Buffer.from(page.cursor, 'base64url').toString('utf8'));
      } catch (cause) {
        throw new StorageError('STORAGE_INVALID_CURSOR', 'Bad cursor.', { cause });
      }
      if (typeof after?.t !== 'number' || typeof after.id !== 'string' || after.read !== read) {
        throw new StorageError('STORAGE_INVALID_CURSOR', 'Bad cursor.');
      }
    }
    const rest = await eventsAfter((w, p) => super.readEvents(w, p), window, after);
    const items = rest.slice(0, page.limit);
    const last = items.at(-1);
    const next =
      rest.length > page.limit && last !== undefined
        ? Buffer.from(JSON.stringify({ t: last.t, id: last.id, read })).toString('base64url')
        : null;
    return { items, next };
  }
}

/** Bug: point cursors carry the item id and window as base64url JSON: too long for long ids. */
class LongPointCursors extends MemoryStorageAdapter {
  override async readPoints(
    item: string,
    window: TimeWindow,
    page: PageRequest,
  ): Promise<Page<Point>> {
    const inner =
      page.cursor === undefined
        ? undefined
        : (JSON.parse(Buffer.from(page.cursor, 'base64url').toString('utf8')) as { c: string }).c;
    const read = await super.readPoints(item, window, { limit: page.limit, cursor: inner });
    const next =
      read.next === null
        ? null
        : Buffer.from(JSON.stringify({ item, window, c: read.next })).toString('base64url');
    return { items: read.items, next };
  }
}

/** Bug: an invalid window is reported as STORAGE_INVALID_RECORD. */
class WrongWindowCode extends MemoryStorageAdapter {
  override async readPoints(
    item: string,
    window: TimeWindow,
    page: PageRequest,
  ): Promise<Page<Point>> {
    if (!(window?.from <= window?.to)) {
      throw new StorageError('STORAGE_INVALID_RECORD', `Bad window ${JSON.stringify(window)}.`);
    }
    return super.readPoints(item, window, page);
  }
}

/** Bug: registerItems validates synchronously, before returning a promise. */
class SynchronousThrow extends MemoryStorageAdapter {
  override registerItems(items: readonly string[]): Promise<void> {
    assertItemIds(items);
    return super.registerItems(items);
  }
}

/** Bug: after close, listItems rejects with a plain Error that only carries the code. */
class PlainErrorWhenClosed extends MemoryStorageAdapter {
  #closed = false;
  override async close(): Promise<void> {
    this.#closed = true;
    await super.close();
  }
  override async listItems(): Promise<string[]> {
    if (this.#closed) throw Object.assign(new Error('closed'), { code: 'STORAGE_CLOSED' });
    return super.listItems();
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

  test('a lenient cursor decoder: the message shows the corrupt cursor and the expected code', async () => {
    const result = await failuresOf(() => new LenientEventCursors());
    expect(result.failed).toEqual([expect.stringContaining('foreign or corrupt cursors')]);
    const message = messageOf(result, 'foreign or corrupt cursors');
    // The call with its input, why it is bad, the expected code and the actual outcome: Node's
    // base64url decoder ignores the "=" appended to the cursor of the first page.
    expect(message).toMatch(
      /^readEvents\(\{ from: 0, to: 10 \}, \{ limit: 2, cursor: '[\w-]+=' \}\)/,
    );
    expect(message).toContain(
      "(an event cursor with \"=\" padding appended) must reject with STORAGE_INVALID_CURSOR, but it resolved with { items: [ { id: 'e2', t: 2, body: { id: 'e2' } }",
    );
  });

  test(`cursors longer than 4096 characters are caught, naming the read and the length`, async () => {
    const result = await failuresOf(() => new LongPointCursors());
    expect(result.failed).toContainEqual(expect.stringContaining('next cursors are at most 4096'));
    const message = messageOf(result, 'next cursors are at most 4096');
    expect(message).toMatch(/^readPoints\('日日日/);
    expect(message).toMatch(/returned a next cursor of \d{4,} characters; a cursor is 1 to 4096/);
  });

  test('a wrong error code: the message names the call, both codes and the message', async () => {
    const result = await failuresOf(() => new WrongWindowCode());
    expect(result.failed).toContainEqual(expect.stringContaining('invalid windows reject'));
    expect(messageOf(result, 'invalid windows reject')).toBe(
      'readPoints(\'i\', { from: 10, to: 5 }, { limit: 1 }) (from > to) must reject with STORAGE_INVALID_WINDOW, but it rejected with STORAGE_INVALID_RECORD: Bad window {"from":10,"to":5}.',
    );
  });

  test('a synchronous throw is caught and named', async () => {
    const result = await failuresOf(() => new SynchronousThrow());
    expect(result.failed).toEqual([expect.stringContaining('invalid item ids reject')]);
    expect(messageOf(result, 'invalid item ids reject')).toMatch(
      /^registerItems\(\[ '' \]\) \(an empty id\) must reject with STORAGE_INVALID_ITEM, but it threw synchronously \(STORAGE_INVALID_ITEM: An item id must be a non-empty string.*\); every method must return a promise/,
    );
  });

  test('an error that is not a StorageError is caught', async () => {
    const result = await failuresOf(() => new PlainErrorWhenClosed());
    expect(result.failed.length).toBeGreaterThan(0);
    expect(messageOf(result, 'close and Symbol.asyncDispose are idempotent')).toContain(
      'carrying that code that is not a StorageError: throw new StorageError(code, message)',
    );
  });

  test('a wrong read names the read, the expected and the actual records', async () => {
    const result = await failuresOf(() => new InclusiveEnd());
    // (node:assert may append its own diff below the first line.)
    expect(messageOf(result, '[from, to) includes from and excludes to').split('\n')[0]).toBe(
      'after appendPoints("i", t = 9, 10, 11, 19, 20, 21), readPoints(\'i\', [10, 20), …) read page by page (limit 1000) must return the points at t = [ 10, 11, 19 ], got t = [ 10, 11, 19, 20 ]',
    );
  });
});
