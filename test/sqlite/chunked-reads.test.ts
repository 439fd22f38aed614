/**
 * Page reads in chunks (`readChunkRows`): a big page is read a chunk per event-loop turn on the
 * reader connection, from one snapshot, while writes go on; the event loop runs between chunks.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { isEdgeHaError } from '../../src/errors.js';
import { openSqliteStorage } from '../../src/sqlite/index.js';
import type { EventRecord, Point } from '../../src/storage/types.js';

const ALL = { from: 0, to: 1_000_000 };

let dir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'edge-ha-sqlite-chunks-'));
  file = join(dir, 'store.db');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const series = (count: number, v: number | string): Point[] =>
  Array.from({ length: count }, (_, t) => ({ t, v }));

/** Whether `promise` settles before a `setImmediate` queued now runs (i.e. without yielding). */
async function settlesBeforeNextTurn(promise: Promise<unknown>): Promise<boolean> {
  const order: string[] = [];
  setImmediate(() => order.push('turn'));
  await promise.then(() => order.push('read'));
  return order[0] === 'read';
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    expect(isEdgeHaError(error)).toBe(true);
    return (error as { code: string }).code;
  }
  throw new Error('expected a rejection');
}

describe('readChunkRows', () => {
  test('a page larger than one chunk lets the event loop run between chunks; a small one does not', async () => {
    await using storage = openSqliteStorage(file, { readChunkRows: 100 });
    await storage.appendPoints('i', series(1000, 1));
    // A page of 99 reads 100 rows (one to know whether there is more): one chunk.
    expect(await settlesBeforeNextTurn(storage.readPoints('i', ALL, { limit: 99 }))).toBe(true);
    expect(await settlesBeforeNextTurn(storage.readPoints('i', ALL, { limit: 500 }))).toBe(false);

    await using oneStep = openSqliteStorage(join(dir, 'one-step.db'), { readChunkRows: 0 });
    await oneStep.appendPoints('i', series(1000, 1));
    expect(await settlesBeforeNextTurn(oneStep.readPoints('i', ALL, { limit: 1000 }))).toBe(true);
  });

  test('chunked pages hold the same records and cursors as pages read in one step', async () => {
    await using chunked = openSqliteStorage(file, { readChunkRows: 7 });
    await using oneStep = openSqliteStorage(join(dir, 'one-step.db'), { readChunkRows: 0 });
    const points: Point[] = Array.from({ length: 250 }, (_, k) => ({
      t: k * 3,
      v: k % 4 === 0 ? `s${k}` : k % 4 === 1 ? k / 2 : k % 4 === 2 ? k % 3 === 0 : null,
      ...(k % 5 === 0 ? { q: 192 } : {}),
    }));
    // Many events share a timestamp: the chunks continue after (t, id), not after t.
    const events: EventRecord[] = Array.from({ length: 230 }, (_, k) => ({
      id: `e-${String(k).padStart(3, '0')}`,
      t: Math.floor(k / 40),
      body: { k, tags: ['a', k] },
    }));
    for (const storage of [chunked, oneStep]) {
      await storage.appendPoints('i', points);
      await storage.insertEventsIfAbsent(events);
    }
    for (const limit of [1, 6, 7, 8, 50, 249, 250, 251, 1000]) {
      let a: string | null | undefined;
      let b: string | null | undefined;
      let pages = 0;
      do {
        const x = await chunked.readPoints('i', ALL, { limit, cursor: a ?? undefined });
        const y = await oneStep.readPoints('i', ALL, { limit, cursor: b ?? undefined });
        expect(x.items, `points, limit ${limit}, page ${pages}`).toEqual(y.items);
        expect(x.next === null).toBe(y.next === null);
        a = x.next;
        b = y.next;
        pages++;
      } while (a !== null && pages < 300);
      pages = 0;
      a = undefined;
      b = undefined;
      do {
        const x = await chunked.readEvents(ALL, { limit, cursor: a ?? undefined });
        const y = await oneStep.readEvents(ALL, { limit, cursor: b ?? undefined });
        expect(x.items, `events, limit ${limit}, page ${pages}`).toEqual(y.items);
        expect(x.next === null).toBe(y.next === null);
        a = x.next;
        b = y.next;
        pages++;
      } while (a !== null && pages < 300);
    }
  });

  test('a chunked page is one snapshot: a replace committed while it is read is not half in it', async () => {
    await using storage = openSqliteStorage(file, { readChunkRows: 10 });
    await storage.appendPoints('i', series(500, 'old'));
    const reading = storage.readPoints('i', ALL, { limit: 500 });
    // The write is not blocked by the read in progress (WAL: another connection) and commits
    // before the read has finished.
    await storage.replacePoints('i', ALL, series(500, 'new'));
    let finished = false;
    const page = await reading.then((result) => {
      finished = true;
      return result;
    });
    expect(finished).toBe(true);
    expect(page.items).toEqual(series(500, 'old'));
    // The next read sees the commit.
    expect((await storage.readPoints('i', ALL, { limit: 500 })).items).toEqual(series(500, 'new'));
  });

  test('a write awaited before a read is seen by it (read-your-writes across the two connections)', async () => {
    await using storage = openSqliteStorage(file, { readChunkRows: 3 });
    for (let round = 0; round < 20; round++) {
      await storage.appendPoints('i', [{ t: round, v: round }]);
      await storage.insertEventsIfAbsent([{ id: `e${round}`, t: round, body: round }]);
      const points = await storage.readPoints('i', ALL, { limit: 100 });
      const events = await storage.readEvents(ALL, { limit: 100 });
      expect(points.items).toHaveLength(round + 1);
      expect(events.items).toHaveLength(round + 1);
    }
  });

  test('concurrent chunked reads each get their own page, in one snapshot each', async () => {
    await using storage = openSqliteStorage(file, { readChunkRows: 16 });
    for (const item of ['a', 'b', 'c', 'd']) await storage.appendPoints(item, series(300, item));
    await storage.insertEventsIfAbsent(
      Array.from({ length: 300 }, (_, k) => ({ id: `e${k}`, t: k, body: k })),
    );
    const reads = await Promise.all([
      ...['a', 'b', 'c', 'd'].map((item) => storage.readPoints(item, ALL, { limit: 299 })),
      storage.readEvents(ALL, { limit: 300 }),
    ]);
    for (const [i, item] of ['a', 'b', 'c', 'd'].entries()) {
      expect(reads[i]?.items).toEqual(series(299, item));
      expect(reads[i]?.next).not.toBeNull();
    }
    expect(reads[4]?.items).toHaveLength(300);
    expect(reads[4]?.next).toBeNull();
  });

  test('close() during chunked reads rejects them with STORAGE_CLOSED and leaves the file sound', async () => {
    const storage = openSqliteStorage(file, { readChunkRows: 5 });
    await storage.appendPoints('i', series(400, 1));
    const first = storage.readPoints('i', ALL, { limit: 400 });
    const queued = storage.readPoints('i', ALL, { limit: 400 });
    await storage.close();
    expect(await codeOf(first)).toBe('STORAGE_CLOSED');
    expect(await codeOf(queued)).toBe('STORAGE_CLOSED');
    await using again = openSqliteStorage(file);
    expect((await again.readPoints('i', ALL, { limit: 400 })).items).toEqual(series(400, 1));
  });

  test('an invalid readChunkRows is STORAGE_INVALID_OPTIONS', () => {
    for (const value of [-1, 1.5, 100_001, Number.NaN]) {
      let code: string | undefined;
      try {
        openSqliteStorage(file, { readChunkRows: value });
      } catch (error) {
        code = (error as { code?: string }).code;
      }
      expect(code, String(value)).toBe('STORAGE_INVALID_OPTIONS');
    }
  });

  test("':memory:' reads every page in one step", async () => {
    await using storage = openSqliteStorage(':memory:', { readChunkRows: 2 });
    await storage.appendPoints('i', series(50, 1));
    expect(await settlesBeforeNextTurn(storage.readPoints('i', ALL, { limit: 50 }))).toBe(true);
  });
});
