import { describe, expect, test } from 'vitest';
import { isEdgeHaError, StorageError } from '../../src/errors.js';
import { MemoryStorageAdapter } from '../../src/storage/memory.js';
import type { EventRecord, JsonValue } from '../../src/storage/types.js';
import { isSealedEvents, sealParsedEvents } from '../../src/storage/validate.js';

const ALL = { from: 0, to: 1_000_000 };

describe('MemoryStorageAdapter', () => {
  test('starts with the initial points and events given as options', async () => {
    await using storage = new MemoryStorageAdapter({
      points: {
        'plant/temp': [
          { t: 2, v: 20 },
          { t: 1, v: 19 },
          { t: 2, v: 21 },
        ],
      },
      events: [
        { id: 'b', t: 5, body: null },
        { id: 'a', t: 5, body: { first: true } },
        { id: 'a', t: 9, body: 'ignored' },
      ],
    });
    expect(await storage.listItems()).toEqual(['plant/temp']);
    expect((await storage.readPoints('plant/temp', ALL, { limit: 10 })).items).toEqual([
      { t: 1, v: 19 },
      { t: 2, v: 21 },
    ]);
    expect((await storage.readEvents(ALL, { limit: 10 })).items).toEqual([
      { id: 'a', t: 5, body: { first: true } },
      { id: 'b', t: 5, body: null },
    ]);
  });

  test('invalid initial data throws a coded StorageError from the constructor', () => {
    expect(() => new MemoryStorageAdapter({ points: { '': [] } })).toThrow(StorageError);
    try {
      new MemoryStorageAdapter({ points: { i: [{ t: 1, v: Number.NaN }] } });
      expect.unreachable();
    } catch (error) {
      expect(isEdgeHaError(error, 'STORAGE_VALUE_OUT_OF_RANGE')).toBe(true);
    }
  });

  test('declares itself non-persistent and atomic', () => {
    expect(new MemoryStorageAdapter().capabilities).toEqual({
      persistent: false,
      atomicReplace: true,
      atomicInsert: true,
      multiProcess: false,
    });
  });

  test('appends before, between and after stored points keep the series sorted', async () => {
    await using storage = new MemoryStorageAdapter();
    await storage.appendPoints('i', [
      { t: 10, v: 1 },
      { t: 20, v: 2 },
    ]);
    await storage.appendPoints('i', [
      { t: 30, v: 3 },
      { t: 5, v: 0 },
      { t: 15, v: 1.5 },
      { t: 20, v: 'two' },
    ]);
    await storage.appendPoints('i', [{ t: 40, v: 4 }]);
    expect((await storage.readPoints('i', ALL, { limit: 100 })).items).toEqual([
      { t: 5, v: 0 },
      { t: 10, v: 1 },
      { t: 15, v: 1.5 },
      { t: 20, v: 'two' },
      { t: 30, v: 3 },
      { t: 40, v: 4 },
    ]);
  });

  test('a replace of a large window with many points (slice path) keeps the rest', async () => {
    await using storage = new MemoryStorageAdapter();
    const old = Array.from({ length: 60_000 }, (_, t) => ({ t, v: 'old' }));
    await storage.appendPoints('i', old);
    const fresh = Array.from({ length: 40_000 }, (_, i) => ({ t: 10_000 + i, v: 'new' }));
    await storage.replacePoints('i', { from: 10_000, to: 55_000 }, fresh);
    const read = (await storage.readPoints('i', ALL, { limit: 100_000 })).items;
    expect(read).toHaveLength(10_000 + 40_000 + 5_000);
    expect(read[9_999]).toEqual({ t: 9_999, v: 'old' });
    expect(read[10_000]).toEqual({ t: 10_000, v: 'new' });
    expect(read[49_999]).toEqual({ t: 49_999, v: 'new' });
    expect(read[50_000]).toEqual({ t: 55_000, v: 'old' });
  });

  test('a merge of many points into a large series (rebuild path) only adds absent points', async () => {
    await using storage = new MemoryStorageAdapter();
    const evens = Array.from({ length: 60_000 }, (_, i) => ({ t: i * 2, v: 'old' }));
    await storage.appendPoints('i', evens);
    // Every t of [50_000, 130_000): odd ones in the stored range and everything after it are new.
    const incoming = Array.from({ length: 80_000 }, (_, i) => ({ t: 50_000 + i, v: 'new' }));
    const written = await storage.mergePoints('i', { from: 50_000, to: 130_000 }, incoming);
    expect(written).toBe(35_000 + 10_000);
    const low = (await storage.readPoints('i', { from: 0, to: 100_000 }, { limit: 100_000 })).items;
    const high = (await storage.readPoints('i', { from: 100_000, to: 200_000 }, { limit: 100_000 }))
      .items;
    expect(low.length + high.length).toBe(60_000 + written);
    expect(low[25_000]).toEqual({ t: 50_000, v: 'old' });
    expect(low[25_001]).toEqual({ t: 50_001, v: 'new' });
    expect(high[19_998]).toEqual({ t: 119_998, v: 'old' }); // the last point stored before
    expect(high.at(-1)).toEqual({ t: 129_999, v: 'new' });
  });

  test('a merge after the last stored point (the usual back-fill) appends in order', async () => {
    await using storage = new MemoryStorageAdapter();
    await storage.appendPoints('i', [{ t: 1, v: 'old' }]);
    expect(
      await storage.mergePoints('i', { from: 0, to: 10 }, [
        { t: 3, v: 'new' },
        { t: 2, v: 'new' },
      ]),
    ).toBe(2);
    expect((await storage.readPoints('i', ALL, { limit: 10 })).items.map((p) => p.t)).toEqual([
      1, 2, 3,
    ]);
  });

  test('-0 is stored as 0', async () => {
    await using storage = new MemoryStorageAdapter();
    await storage.appendPoints('i', [{ t: -0, v: -0 }]);
    const [p] = (await storage.readPoints('i', { from: -1, to: 1 }, { limit: 1 })).items;
    expect(Object.is(p?.t, 0)).toBe(true);
    expect(Object.is(p?.v, 0)).toBe(true);
  });

  test('stored events are deeply frozen copies, shared with readers', async () => {
    await using storage = new MemoryStorageAdapter();
    const body = JSON.parse('{"list":[1,{"x":-0}],"__proto__":{"own":true}}') as {
      list: JsonValue[];
    };
    // Out of order, with an id twice in the batch (the first wins).
    const inserted = await storage.insertEventsIfAbsent([
      { id: 'b', t: 2, body },
      { id: 'a', t: 1, body: 'first' },
      { id: 'a', t: 3, body: 'second' },
    ]);
    expect(inserted).toBe(2);
    body.list.push('mutated');
    const page = await storage.readEvents(ALL, { limit: 10 });
    expect(page.items.map((e) => e.id)).toEqual(['a', 'b']);
    const [a, b] = page.items;
    expect(a?.body).toBe('first');
    const stored = b?.body as { list: [number, { x: number }] };
    expect(stored.list).toHaveLength(2);
    expect(Object.is(stored.list[1].x, 0)).toBe(true);
    // `__proto__` stays an own key (as JSON.parse made it), not the prototype.
    expect(Object.getPrototypeOf(stored)).toBe(Object.prototype);
    expect(Object.hasOwn(stored, '__proto__')).toBe(true);
    expect(Object.isFrozen(b)).toBe(true);
    expect(Object.isFrozen(stored)).toBe(true);
    expect(Object.isFrozen(stored.list)).toBe(true);
    expect(Object.isFrozen(stored.list[1])).toBe(true);
    expect(() => {
      (stored.list as unknown[]).push(4);
    }).toThrow(TypeError);
    // The page array itself is the caller's.
    (page.items as EventRecord[]).length = 0;
    const again = await storage.readEvents(ALL, { limit: 10 });
    expect(again.items[1]).toBe(b);
    expect(again.items[1]?.body).toEqual({ list: [1, { x: 0 }], ['__proto__']: { own: true } });
  });

  test('a sync write of frozen ascending points keeps them; other batches are copied and sorted', async () => {
    await using source = new MemoryStorageAdapter();
    await source.appendPoints('i', [
      { t: 1, v: 1 },
      { t: 2, v: 'two', q: 3 },
      { t: 3, v: null },
    ]);
    const read = (await source.readPoints('i', ALL, { limit: 10 })).items;
    await using local = new MemoryStorageAdapter();
    await local.replacePoints('i', ALL, read);
    const kept = (await local.readPoints('i', ALL, { limit: 10 })).items;
    expect(kept).toEqual(read);
    for (let i = 0; i < read.length; i++) expect(kept[i]).toBe(read[i]);
    // Frozen but out of order: stored sorted; plain objects: stored as frozen copies.
    const reversed = [...read].reverse();
    expect(await local.mergePoints('j', ALL, reversed)).toBe(3);
    expect((await local.readPoints('j', ALL, { limit: 10 })).items.map((p) => p.t)).toEqual([
      1, 2, 3,
    ]);
    const plain = [{ t: 5, v: 5 }];
    await local.replacePoints('k', ALL, plain);
    const stored = (await local.readPoints('k', ALL, { limit: 10 })).items[0];
    expect(stored).not.toBe(plain[0]);
    expect(Object.isFrozen(stored)).toBe(true);
    plain[0] = { t: 5, v: 6 };
    expect((await local.readPoints('k', ALL, { limit: 10 })).items).toEqual([{ t: 5, v: 5 }]);
  });

  test('keeps a sealed page (checked and frozen by httpPeer) as it is, and still checks others', async () => {
    await using storage = new MemoryStorageAdapter();
    const sealed = sealParsedEvents(
      JSON.parse('[{"id":"b","t":2,"body":{"k":[1]}},{"id":"a","t":1,"body":null}]'),
    );
    expect(sealed).toBeDefined();
    expect(isSealedEvents(sealed)).toBe(true);
    expect(await storage.insertEventsIfAbsent(sealed ?? [])).toBe(2);
    const page = await storage.readEvents(ALL, { limit: 10 });
    // Out of order in the page: stored sorted, the records themselves.
    expect(page.items[0]).toBe(sealed?.[1]);
    expect(page.items[1]).toBe(sealed?.[0]);
    // An array of the same records that is not the sealed one is checked (and copied) again.
    const copy = [...(sealed ?? []), { id: 'c', t: 3, body: Number.NaN }];
    await expect(storage.insertEventsIfAbsent(copy)).rejects.toMatchObject({
      code: 'STORAGE_INVALID_RECORD',
    });
    expect((await storage.readEvents(ALL, { limit: 10 })).items).toHaveLength(2);
  });
});
