import { describe, expect, test } from 'vitest';
import { MemoryStorageAdapter } from '../../src/storage/memory.js';
import type {
  EventRecord,
  Page,
  PageRequest,
  Point,
  StorageAdapter,
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

describe('runStorageAdapterSuite against broken adapters', () => {
  test('the reference adapter passes every test (control)', async () => {
    const { total, failed } = await failuresOf(() => new MemoryStorageAdapter());
    expect(total).toBeGreaterThan(35);
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
});
