import { describe, expect, it } from 'vitest';
import { DEMO_SENSORS, sampleFeed } from '../../src/cli/demo/feed.js';
import { verifyReplicas } from '../../src/cli/demo/verify.js';
import { MemoryStorageAdapter } from '../../src/storage/memory.js';

const window = { from: 1_000, to: 2_000 };

async function replicaPair(): Promise<[MemoryStorageAdapter, MemoryStorageAdapter]> {
  const a = new MemoryStorageAdapter();
  const b = new MemoryStorageAdapter();
  for (let tick = 0; tick < 40; tick++) {
    const sample = sampleFeed(tick, 1_000 + tick * 25);
    for (const store of [a, b]) {
      for (const { item, point } of sample.points) await store.appendPoints(item, [point]);
      await store.insertEventsIfAbsent(sample.events);
    }
  }
  return [a, b];
}

const items = DEMO_SENSORS.map((sensor) => sensor.item);

describe('verifyReplicas (the demo check)', () => {
  it('accepts identical replicas and counts what it compared', async () => {
    const [a, b] = await replicaPair();
    const result = await verifyReplicas(a, b, window, items);
    expect(result.problems).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.points).toBe(40 * items.length);
    expect(result.events).toBeGreaterThan(0);
  });

  it('finds a missing point', async () => {
    const [a, b] = await replicaPair();
    await a.replacePoints(items[0] as string, { from: 1_500, to: 1_501 }, []);
    const result = await verifyReplicas(a, b, window, items);
    expect(result.ok).toBe(false);
    expect(result.problems.join('\n')).toContain(
      `${items[0]}: local has 39 points, reference has 40`,
    );
  });

  it('finds a changed value', async () => {
    const [a, b] = await replicaPair();
    await a.appendPoints(items[1] as string, [{ t: 1_500, v: -1, q: 192 }]);
    const result = await verifyReplicas(a, b, window, items);
    expect(result.ok).toBe(false);
    expect(result.problems.join('\n')).toContain(`${items[1]}: point 20 differs`);
  });

  it('finds missing and extra events', async () => {
    const [a, b] = await replicaPair();
    await b.insertEventsIfAbsent([{ id: 'only-on-b', t: 1_100, body: null }]);
    await a.insertEventsIfAbsent([{ id: 'only-on-a', t: 1_200, body: null }]);
    const result = await verifyReplicas(a, b, window, items, { local: 'A', reference: 'B' });
    expect(result.ok).toBe(false);
    expect(result.problems).toContain('A is missing 1 event(s): only-on-b');
    expect(result.problems).toContain('A has 1 event(s) B lacks: only-on-a');
  });

  it('ignores data outside the window', async () => {
    const [a, b] = await replicaPair();
    await a.appendPoints(items[0] as string, [{ t: 5_000, v: 1 }]);
    await a.insertEventsIfAbsent([{ id: 'late', t: 5_000, body: null }]);
    expect((await verifyReplicas(a, b, window, items)).ok).toBe(true);
  });
});

describe('the demo feed', () => {
  it('produces one point per sensor per tick, alarms and batch records with unique ids', () => {
    const ids = new Set<string>();
    let alarms = 0;
    for (let tick = 0; tick < 200; tick++) {
      const sample = sampleFeed(tick, tick * 50);
      expect(sample.points.map((p) => p.item)).toEqual(items);
      for (const alarm of sample.events) ids.add(alarm.id);
      alarms += sample.events.length;
    }
    expect(alarms).toBeGreaterThan(20); // 20 batch records + the alarms
    expect([...ids].filter((id) => id.startsWith('alarm-')).length).toBeGreaterThan(0);
    expect([...ids].filter((id) => id.startsWith('batch-'))).toHaveLength(20);
    expect(ids.size).toBe(alarms);
  });
});
