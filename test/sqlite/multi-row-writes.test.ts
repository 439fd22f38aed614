/**
 * The SQLite write paths cross into SQLite in multi-row statements of a few fixed sizes (128, 32,
 * 8 and 1 rows). Batches of every length around those sizes, with values of every type and with
 * duplicates where the contract allows them, must store exactly what a row-by-row write stores:
 * compared here with a simple in-memory model of the contract.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { openSqliteStorage, type SqliteStorageAdapter } from '../../src/sqlite/index.js';
import type { EventRecord, Point, PointValue } from '../../src/storage/types.js';

const ALL = { from: 0, to: 1_000_000 };
/** Batch lengths on both sides of every chunk size and of sums of them. */
const LENGTHS = [0, 1, 2, 7, 8, 9, 31, 32, 33, 41, 127, 128, 129, 169, 255, 256, 257, 1000];

let dir: string;
let storage: SqliteStorageAdapter;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'edge-ha-sqlite-multirow-'));
  storage = openSqliteStorage(join(dir, 'store.db'));
});
afterEach(async () => {
  await storage.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A value of each type in turn, `q` on some points. */
function pointAt(t: number, salt: number): Point {
  const k = (t + salt) % 5;
  const v: PointValue =
    k === 0
      ? null
      : k === 1
        ? t + salt / 10
        : k === 2
          ? `s${t}-${salt}`
          : k === 3
            ? t % 2 === 0
            : -(t + 1);
  return t % 3 === 0 ? { t, v, q: (t + salt) % 256 } : { t, v };
}

async function readAll(item: string): Promise<readonly Point[]> {
  const page = await storage.readPoints(item, ALL, { limit: 100_000 });
  expect(page.next).toBeNull();
  return page.items;
}

const sorted = (model: Map<number, Point>): Point[] =>
  [...model.values()].sort((a, b) => a.t - b.t);

describe('multi-row writes store what row-by-row writes store', () => {
  test('replacePoints of every batch length replaces the window exactly', async () => {
    for (const n of LENGTHS) {
      const item = `replace/${n}`;
      await storage.appendPoints(item, [pointAt(5, 1), pointAt(10_000, 1)]);
      const points = Array.from({ length: n }, (_, i) => pointAt(10 + i * 2, n));
      await storage.replacePoints(item, { from: 0, to: 5000 }, points);
      expect(await readAll(item)).toEqual([...points, pointAt(10_000, 1)]);
    }
  });

  test('mergePoints of every batch length writes only new timestamps and counts them', async () => {
    for (const n of LENGTHS) {
      const item = `merge/${n}`;
      const model = new Map<number, Point>();
      // Every third timestamp of the batch already has a point, which must be kept.
      const existing = Array.from({ length: Math.ceil(n / 3) }, (_, i) => pointAt(i * 3, 7));
      await storage.appendPoints(item, existing);
      for (const p of existing) model.set(p.t, p);
      const batch = Array.from({ length: n }, (_, i) => pointAt(i, n));
      let expected = 0;
      for (const p of batch) {
        if (!model.has(p.t)) {
          model.set(p.t, p);
          expected++;
        }
      }
      expect(await storage.mergePoints(item, ALL, batch)).toBe(expected);
      expect(await readAll(item)).toEqual(sorted(model));
    }
  });

  test('appendPoints of every batch length: a repeated timestamp keeps the last point', async () => {
    for (const n of LENGTHS) {
      const item = `append/${n}`;
      const model = new Map<number, Point>();
      const first = Array.from({ length: n }, (_, i) => pointAt(i, 1));
      await storage.appendPoints(item, first);
      for (const p of first) model.set(p.t, p);
      // Overlaps the first batch and repeats timestamps inside itself, across chunk borders.
      const batch = Array.from({ length: n }, (_, i) => pointAt(Math.floor(i / 2) + (n >> 2), i));
      await storage.appendPoints(item, batch);
      for (const p of batch) model.set(p.t, p);
      expect(await readAll(item)).toEqual(sorted(model));
    }
  });

  test('-0 is stored as 0 in every chunk position', async () => {
    const points = Array.from({ length: 129 }, (_, t) => ({ t, v: -0 }));
    await storage.appendPoints('zero', points);
    for (const p of await readAll('zero')) expect(Object.is(p.v, 0)).toBe(true);
  });

  test('insertEventsIfAbsent of every batch length: the first of a repeated id wins', async () => {
    let base = 0;
    for (const n of LENGTHS) {
      const model = new Map<string, EventRecord>();
      const stored = Array.from({ length: Math.ceil(n / 4) }, (_, i) => ({
        id: `e${base + i * 4}`,
        t: base + i * 4,
        body: { stored: true },
      }));
      await storage.insertEventsIfAbsent(stored);
      for (const e of stored) model.set(e.id, e);
      // Ids repeat inside the batch (pairs), and every fourth is stored already.
      const batch = Array.from({ length: n }, (_, i) => ({
        id: `e${base + Math.floor(i / 2)}`,
        t: base + Math.floor(i / 2),
        body: { i, text: `n${n}` },
      }));
      let expected = 0;
      for (const e of batch) {
        if (!model.has(e.id)) {
          model.set(e.id, e);
          expected++;
        }
      }
      expect(await storage.insertEventsIfAbsent(batch)).toBe(expected);
      const window = { from: base, to: base + n + 1 };
      const page = await storage.readEvents(window, { limit: 100_000 });
      expect(page.items).toEqual(
        [...model.values()]
          .filter((e) => e.t >= window.from && e.t < window.to)
          .sort((a, b) => a.t - b.t || (a.id < b.id ? -1 : 1)),
      );
      base += 10_000;
    }
  });
});
