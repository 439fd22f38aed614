import { describe, expect, it } from 'vitest';
import { formatTable, target } from '../../bench/lib.js';
import { syntheticPeer } from '../../bench/synthetic-peer.js';
import { TimeSeriesDeputy } from '../../src/deputy/deputy.js';
import { isEdgeHaError } from '../../src/errors.js';
import { MemoryStorageAdapter } from '../../src/storage/memory.js';

describe('syntheticPeer (the remote of the memory-bound benchmark)', () => {
  it('serves every generated point exactly once to a deputy, whatever the page size', async () => {
    for (const pageSize of [1, 7, 1000]) {
      const source = syntheticPeer({ items: 3, pointsPerItem: 50, stepMs: 10 });
      const storage = new MemoryStorageAdapter();
      await storage.registerItems(source.items);
      const deputy = new TimeSeriesDeputy({ storage, peer: source.peer, pageSize });
      const summary = await deputy.run(source.window);
      expect(summary.state).toBe('finished_ok');
      expect(summary.points).toBe(150);
      for (const item of source.items) {
        const page = await storage.readPoints(item, source.window, { limit: 1000 });
        expect(page.items.map((p) => p.t)).toEqual(
          Array.from({ length: 50 }, (_, k) => source.window.from + k * 10),
        );
      }
    }
  });

  it('is deterministic and honours a window that cuts the series', async () => {
    const a = syntheticPeer({ items: 2, pointsPerItem: 20, stepMs: 1000 });
    const b = syntheticPeer({ items: 2, pointsPerItem: 20, stepMs: 1000 });
    const window = { from: a.window.from + 2500, to: a.window.from + 6000 };
    const pageA = await a.peer.readPoints('item-001', window, { limit: 100 });
    const pageB = await b.peer.readPoints('item-001', window, { limit: 100 });
    expect(pageA).toEqual(pageB);
    expect(pageA.items.map((p) => p.t - a.window.from)).toEqual([3000, 4000, 5000]);
    expect(pageA.next).toBeNull();
  });

  it('rejects an unknown item with PEER_UNKNOWN_ITEM', async () => {
    const { peer, window } = syntheticPeer({ items: 1, pointsPerItem: 5 });
    const error = await peer.readPoints('nope', window, { limit: 10 }).catch((e: unknown) => e);
    expect(isEdgeHaError(error, 'PEER_UNKNOWN_ITEM')).toBe(true);
  });
});

describe('bench target checks', () => {
  it('passes and misses on the right side of the threshold, stretch included', () => {
    expect(target('a', 'ratio', 0.6, '>=', 0.5, '×', 0.7)).toMatchObject({
      pass: true,
      stretch: { threshold: 0.7, pass: false },
    });
    expect(target('b', 'growth', 65, '<=', 64, 'MiB').pass).toBe(false);
    expect(target('c', 'build', 1000, '<', 1000, 'ms').pass).toBe(false);
    expect(target('d', 'missing', Number.NaN, '>', 1, '×').pass).toBe(false);
  });

  it('formats a table with aligned columns', () => {
    const text = formatTable([
      ['', 'x'],
      ['long label', '1'],
    ]);
    expect(text.split('\n')).toEqual(['            x', '----------  -', 'long label  1']);
  });
});
