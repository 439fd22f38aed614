/**
 * examples/fastify-service.ts, tested like the Express and node:http examples
 * (test/examples/examples.test.ts): one instance serves a remote through the Fastify plugin, a
 * second catches up from it over HTTP and ends up with the same data; readiness on /peer/readyz;
 * the service's own JSON route works next to the plugin, and what it stores is served to peers.
 */

import { afterEach, describe, expect, it } from 'vitest';
import { start } from '../../examples/fastify-service.js';
import { httpPeer } from '../../src/peer/http-client.js';
import { MemoryStorageAdapter } from '../../src/storage/memory.js';
import type { EventRecord, Point, StorageAdapter } from '../../src/storage/types.js';

const TOKEN = 'example-token-0123';
const HOUR = 3_600_000;
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

function remoteStorage(): MemoryStorageAdapter {
  const now = Date.now();
  const temp: Point[] = [];
  for (let i = 0; i < 1_500; i++) temp.push({ t: now - 1_800_000 + i * 1_000, v: 20 + (i % 7) });
  const events: EventRecord[] = [];
  for (let i = 0; i < 300; i++) {
    events.push({ id: `alarm-${i}`, t: now - 1_700_000 + Math.floor(i / 4) * 5_000, body: { i } });
  }
  return new MemoryStorageAdapter({ points: { 'plant/temp': temp }, events });
}

async function everything(
  storage: StorageAdapter,
): Promise<{ points: readonly Point[]; events: readonly EventRecord[] }> {
  const window = { from: 0, to: Date.now() + HOUR };
  const points = await storage.readPoints('plant/temp', window, { limit: 100_000 });
  const events = await storage.readEvents(window, { limit: 100_000 });
  expect(points.next).toBeNull();
  expect(events.next).toBeNull();
  return { points: points.items, events: events.items };
}

describe('examples/fastify-service.ts', () => {
  it('serves a remote through the plugin, catches up a second instance, reports readiness', async () => {
    const remote = remoteStorage();
    const b = await start({ token: TOKEN, instanceId: 'b', storage: remote });
    closers.push(async () => {
      await b.close();
      await remote.close();
    });
    expect(b.url).toBe(`${b.origin}/peer/edge-ha/v1`);

    const local = new MemoryStorageAdapter();
    await local.registerItems(['plant/temp']);
    const a = await start({
      token: TOKEN,
      instanceId: 'a',
      storage: local,
      peers: [b.url],
      governor: { firstStartLookbackMs: HOUR, pageSize: 200 },
    });
    closers.push(async () => {
      await a.close();
      await local.close();
    });
    const result = await a.synced;
    expect(result?.timeSeries).toMatchObject({ state: 'finished_ok', peer: b.url });
    expect(result?.events).toMatchObject({ state: 'finished_ok', eventsInserted: 300 });
    const synced = await everything(local);
    expect(synced.points).toHaveLength(1_500);
    expect(synced).toEqual(await everything(remote));

    const ready = await fetch(`${a.origin}/peer/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ready: true, instanceId: 'a' });
    expect((await fetch(`${a.url}/hello`)).status).toBe(401);

    // The service's own JSON route, next to the plugin; what it stores is served to peers.
    const t = Date.now();
    const ingest = await fetch(`${a.origin}/ingest`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ item: 'plant/temp', points: [{ t, v: 42 }] }),
    });
    expect(await ingest.json()).toEqual({ written: 1 });
    const page = await httpPeer({ url: a.url, token: TOKEN }).readPoints(
      'plant/temp',
      { from: t, to: t + 1 },
      { limit: 10 },
    );
    expect(page.items).toEqual([{ t, v: 42 }]);
  });

  it('reports 503 on /peer/readyz when the catch-up failed', async () => {
    const remote = remoteStorage();
    const b = await start({ token: 'another-token', instanceId: 'b', storage: remote });
    closers.push(async () => {
      await b.close();
      await remote.close();
    });
    const a = await start({
      token: TOKEN,
      instanceId: 'a',
      peers: [b.url],
      governor: { firstStartLookbackMs: HOUR, retry: { retries: 0 } },
    });
    closers.push(() => a.close());
    const result = await a.synced;
    expect(result?.timeSeries?.state).toBe('finished_with_error');
    expect(result?.timeSeries?.errors.map((e) => e.code)).toContain('PEER_AUTH');
    const ready = await fetch(`${a.origin}/peer/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ ready: false, reason: 'not caught up' });
  });
});
