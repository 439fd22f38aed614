import { afterEach, describe, expect, it } from 'vitest';
import { start as startExpress } from '../../examples/express-service.js';
import { start as startNode } from '../../examples/node-http-server.js';
import { httpPeer } from '../../src/peer/http-client.js';
import { MemoryStorageAdapter } from '../../src/storage/memory.js';
import type { EventRecord, Point, StorageAdapter, TimeWindow } from '../../src/storage/types.js';

const TOKEN = 'example-token-0123';
const HOUR = 3_600_000;
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

/** The remote's data: points and events in the last half hour, several events per timestamp. */
function remoteStorage(): MemoryStorageAdapter {
  const now = Date.now();
  const temp: Point[] = [];
  const flow: Point[] = [];
  for (let i = 0; i < 1_500; i++) {
    temp.push({ t: now - 1_800_000 + i * 1_000, v: 20 + (i % 7) });
    if (i % 3 === 0) flow.push({ t: now - 1_800_000 + i * 1_000, v: i % 2 === 0, q: 192 });
  }
  const events: EventRecord[] = [];
  for (let i = 0; i < 300; i++) {
    events.push({ id: `alarm-${i}`, t: now - 1_700_000 + Math.floor(i / 4) * 5_000, body: { i } });
  }
  return new MemoryStorageAdapter({ points: { 'plant/temp': temp, 'plant/flow': flow }, events });
}

async function readAllPoints(storage: StorageAdapter, item: string, window: TimeWindow) {
  const out: Point[] = [];
  let cursor: string | undefined;
  do {
    const page = await storage.readPoints(item, window, { limit: 10_000, cursor });
    out.push(...page.items);
    cursor = page.next ?? undefined;
  } while (cursor !== undefined);
  return out;
}

async function readAllEvents(storage: StorageAdapter, window: TimeWindow) {
  const out: EventRecord[] = [];
  let cursor: string | undefined;
  do {
    const page = await storage.readEvents(window, { limit: 10_000, cursor });
    out.push(...page.items);
    cursor = page.next ?? undefined;
  } while (cursor !== undefined);
  return out;
}

async function expectSameData(local: StorageAdapter, remote: StorageAdapter): Promise<void> {
  const window = { from: 0, to: Date.now() + HOUR };
  for (const item of ['plant/temp', 'plant/flow']) {
    const points = await readAllPoints(local, item, window);
    expect(points.length).toBeGreaterThan(0);
    expect(points).toEqual(await readAllPoints(remote, item, window));
  }
  const events = await readAllEvents(local, window);
  expect(events).toHaveLength(300);
  expect(events).toEqual(await readAllEvents(remote, window));
}

async function localStorage(): Promise<MemoryStorageAdapter> {
  const storage = new MemoryStorageAdapter();
  await storage.registerItems(['plant/temp', 'plant/flow']);
  return storage;
}

describe('examples/node-http-server.ts', () => {
  it('serves a remote over node:http and catches up a second instance from it', async () => {
    const remote = remoteStorage();
    const b = await startNode({ token: TOKEN, instanceId: 'b', storage: remote });
    closers.push(() => b.close());
    expect(b.governor).toBeNull();

    const local = await localStorage();
    const a = await startNode({
      token: TOKEN,
      instanceId: 'a',
      storage: local,
      peers: [b.url],
      governor: { firstStartLookbackMs: HOUR, pageSize: 200 },
    });
    closers.push(() => a.close());

    const result = await a.synced;
    expect(result?.timeSeries).toMatchObject({ state: 'finished_ok', peer: b.url });
    expect(result?.events).toMatchObject({ state: 'finished_ok', eventsInserted: 300 });
    expect(a.governor?.status().caughtUp).toBe(true);
    await expectSameData(local, remote);

    // A now serves what it caught up, over HTTP, to anyone with the token.
    const peer = httpPeer({ url: a.url, token: TOKEN });
    await expect(peer.hello()).resolves.toMatchObject({ instanceId: 'a' });
    await expect(peer.listItems()).resolves.toEqual(['plant/flow', 'plant/temp']);
  });
});

describe('examples/node-http-server.ts, restarted on the same storage', () => {
  it('syncs only the downtime over: keeps its own points around it, gets what it missed', async () => {
    const remote = remoteStorage();
    const b = await startNode({ token: TOKEN, instanceId: 'b', storage: remote });
    closers.push(() => b.close());
    const local = await localStorage();
    const options = { token: TOKEN, instanceId: 'a', storage: local, peers: [b.url] };
    const first = await startNode({ ...options, governor: { firstStartLookbackMs: HOUR } });
    expect((await first.synced)?.timeSeries?.state).toBe('finished_ok');
    // A records a live point; B holds another value at that very timestamp (e.g. a late write).
    // (5 ms before the clean stop, in the merge margin; a point in the very millisecond of the
    // stop is kept too, see test/e2e/heartbeat-edges.test.ts.)
    const live = Date.now() - 5;
    await local.appendPoints('plant/temp', [{ t: live, v: -1 }]);
    await remote.appendPoints('plant/temp', [{ t: live, v: 99 }]);
    await first.close();

    await new Promise((resolve) => setTimeout(resolve, 20));
    const down = Date.now();
    await remote.appendPoints('plant/temp', [{ t: down, v: 42 }]);
    await new Promise((resolve) => setTimeout(resolve, 20));

    const again = await startNode(options);
    closers.push(() => again.close());
    const result = await again.synced;
    expect(result?.timeSeries?.state).toBe('finished_ok');
    expect(result?.timeSeries?.gaps.map((gap) => `${gap.mode} ${gap.reason}`)).toEqual([
      'merge margin',
      'overwrite downtime',
      'merge margin',
    ]);
    const points = await readAllPoints(local, 'plant/temp', { from: live, to: down + 1 });
    expect(points).toEqual([
      { t: live, v: -1 },
      { t: down, v: 42 },
    ]);
  });
});

describe('examples/express-service.ts', () => {
  it('mounts the peer handler on a sub-path, catches up, and reports readiness on /healthz', async () => {
    const remote = remoteStorage();
    const b = await startExpress({ token: TOKEN, instanceId: 'b', storage: remote });
    closers.push(() => b.close());
    expect(b.url).toBe(`${b.origin}/peer/edge-ha/v1`);

    const local = await localStorage();
    const a = await startExpress({
      token: TOKEN,
      instanceId: 'a',
      storage: local,
      peers: [b.url],
      governor: { firstStartLookbackMs: HOUR },
    });
    closers.push(() => a.close());

    const result = await a.synced;
    expect(result?.timeSeries?.state).toBe('finished_ok');
    expect(result?.events?.state).toBe('finished_ok');
    await expectSameData(local, remote);

    const health = await fetch(`${a.origin}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({
      ready: true,
      gaps: { timeSeries: 0, events: 0 },
      deputies: { timeSeries: { code: 5 }, events: { code: 5 } },
    });
    // The handler only answers under the mount point, and still checks the token there.
    expect((await fetch(`${a.origin}/edge-ha/v1/hello`)).status).toBe(404);
    expect((await fetch(`${a.url}/hello`)).status).toBe(401);
  });

  it('reports 503 on /healthz when the catch-up failed', async () => {
    const remote = remoteStorage();
    const b = await startExpress({ token: 'another-token', instanceId: 'b', storage: remote });
    closers.push(() => b.close());

    const a = await startExpress({
      token: TOKEN,
      instanceId: 'a',
      storage: await localStorage(),
      peers: [b.url],
      governor: { firstStartLookbackMs: HOUR, retry: { retries: 0 } },
    });
    closers.push(() => a.close());

    const result = await a.synced;
    expect(result?.timeSeries?.state).toBe('finished_with_error');
    expect(result?.timeSeries?.errors.map((e) => e.code)).toContain('PEER_AUTH');
    const health = await fetch(`${a.origin}/healthz`);
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({
      ready: false,
      // The look-back the failed run could not sync stays in the ledgers for the next sync().
      gaps: { timeSeries: 1, events: 1 },
      deputies: { timeSeries: { code: 6 } },
    });
  });
});
