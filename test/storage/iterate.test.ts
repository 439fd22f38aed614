import { describe, expect, it } from 'vitest';
import { collect, iterateEvents, iteratePoints } from '../../src/storage/iterate.js';
import { MemoryStorageAdapter } from '../../src/storage/memory.js';
import type { PageRequest } from '../../src/storage/types.js';

describe('iteratePoints / iterateEvents', () => {
  it('yields every record of the window across pages, in order, one page at a time', async () => {
    const points = Array.from({ length: 25 }, (_, i) => ({ t: i * 10, v: i }));
    const events = Array.from({ length: 12 }, (_, i) => ({ id: `e${i}`, t: 100, body: i }));
    const storage = new MemoryStorageAdapter({ points: { a: points }, events });
    const requests: PageRequest[] = [];
    const spy = {
      readPoints: (item: string, window: { from: number; to: number }, page: PageRequest) => {
        requests.push(page);
        return storage.readPoints(item, window, page);
      },
    };
    const got = await collect(iteratePoints(spy, 'a', { from: 10, to: 240 }, { pageSize: 4 }));
    expect(got.map((p) => p.t)).toEqual(points.slice(1, 24).map((p) => p.t));
    expect(requests.length).toBe(6);
    expect(requests.every((r) => r.limit === 4)).toBe(true);
    expect(requests[0]?.cursor).toBeUndefined();
    const all = await collect(iterateEvents(storage, { from: 0, to: 1000 }, { pageSize: 5 }));
    expect(all.map((e) => e.id)).toEqual([...events.map((e) => e.id)].sort());
  });

  it('passes storage errors through', async () => {
    const storage = new MemoryStorageAdapter();
    await storage.close();
    await expect(collect(iterateEvents(storage, { from: 0, to: 1 }))).rejects.toMatchObject({
      code: 'STORAGE_CLOSED',
    });
  });
});
