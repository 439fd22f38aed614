import { afterEach, describe, expect, it } from 'vitest';
import { httpPeer } from '../../src/peer/http-client.js';
import { createPeerHandler } from '../../src/peer/http-handler.js';
import { toNodeListener } from '../../src/peer/node-listener.js';
import { PEER_PROTOCOL_VERSION, type RemotePeer } from '../../src/peer/types.js';
import { MemoryStorageAdapter } from '../../src/storage/memory.js';
import type { EventRecord, Page, PageRequest, Point, TimeWindow } from '../../src/storage/types.js';
import { ServerPool } from './helpers.js';

const TOKEN = 'test-token-0123456789';
const pool = new ServerPool();
afterEach(() => pool.closeAll());

function seedStorage(): MemoryStorageAdapter {
  const temp: Point[] = [];
  for (let i = 0; i < 2500; i++) temp.push({ t: 1_000 + i * 10, v: i / 4 });
  const state: Point[] = [
    { t: 1_000, v: 'open', q: 192 },
    { t: 2_000, v: true, q: 0 },
    { t: 3_000, v: null },
    { t: 4_000, v: 'closed', q: 4_294_967_295 },
  ];
  const events: EventRecord[] = [];
  // 40 events share one timestamp, so pages must cut inside a run of ties.
  for (let i = 0; i < 40; i++) {
    events.push({ id: `tie-${String(i).padStart(2, '0')}`, t: 5_000, body: { i } });
  }
  for (let i = 0; i < 200; i++) {
    events.push({
      id: `ev-${i}`,
      t: 1_000 + (i % 50) * 100,
      body: { level: i % 3, text: `alarm ${i}` },
    });
  }
  events.push({
    id: 'proto',
    t: 6_000,
    body: JSON.parse('{"__proto__":{"polluted":true},"x":[1,{"y":null}]}'),
  });
  return new MemoryStorageAdapter({ points: { 'plant/temp': temp, 'plant/state': state }, events });
}

async function startPeer(storage = seedStorage(), limits?: { maxPageLimit: number }) {
  const handler = createPeerHandler({
    storage,
    token: TOKEN,
    instanceId: 'node-a',
    clock: { now: () => 1_234_567, setTimeout: () => ({ cancel: () => undefined }) },
    ...(limits === undefined ? {} : { limits }),
  });
  const server = await pool.listen(toNodeListener(handler));
  return { storage, url: `${server.origin}/edge-ha/v1` };
}

async function readAll<T>(
  read: (page: PageRequest) => Promise<Page<T>>,
  limit: number,
): Promise<{ records: T[]; pages: number }> {
  const records: T[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await read({ limit, cursor });
    expect(page.items.length).toBeLessThanOrEqual(limit);
    records.push(...page.items);
    pages++;
    cursor = page.next ?? undefined;
  } while (cursor !== undefined);
  return { records, pages };
}

async function readAllLocal<T>(read: (page: PageRequest) => Promise<Page<T>>): Promise<T[]> {
  return (await readAll(read, 100_000)).records;
}

describe('HTTP peer round trip over loopback', () => {
  it('hello returns the instance id, the protocol version and the server clock', async () => {
    const { url } = await startPeer();
    const peer = httpPeer({ url, token: TOKEN });
    await expect(peer.hello()).resolves.toEqual({
      instanceId: 'node-a',
      protocolVersion: PEER_PROTOCOL_VERSION,
      now: 1_234_567,
    });
    expect(peer.label).toBe(url);
  });

  it('lists the items the remote trends, including registered items without points', async () => {
    const { url, storage } = await startPeer();
    await storage.registerItems(['plant/empty']);
    const peer = httpPeer({ url: `${url}/`, token: TOKEN, label: 'node A' });
    await expect(peer.listItems()).resolves.toEqual(await storage.listItems());
    expect(peer.label).toBe('node A');
  });

  it('pages through every point of an item, in order, across many pages', async () => {
    const { url, storage } = await startPeer();
    const peer = httpPeer({ url, token: TOKEN });
    const window: TimeWindow = { from: 1_500, to: 20_005 };
    const { records, pages } = await readAll((p) => peer.readPoints('plant/temp', window, p), 97);
    const expected = await readAllLocal((p) => storage.readPoints('plant/temp', window, p));
    expect(records).toEqual(expected);
    expect(records.length).toBe(1851);
    expect(pages).toBeGreaterThan(19);
  });

  it('keeps value types and quality codes of points', async () => {
    const { url, storage } = await startPeer();
    const peer = httpPeer({ url, token: TOKEN });
    const page = await peer.readPoints('plant/state', { from: 0, to: 10_000 }, { limit: 10 });
    expect(page).toEqual(
      await storage.readPoints('plant/state', { from: 0, to: 10_000 }, { limit: 10 }),
    );
    expect(page.items).toHaveLength(4);
    expect(page.next).toBeNull();
  });

  it('returns an empty page for a known item with no points in the window', async () => {
    const { url } = await startPeer();
    const peer = httpPeer({ url, token: TOKEN });
    await expect(
      peer.readPoints('plant/state', { from: 50_000, to: 60_000 }, { limit: 10 }),
    ).resolves.toEqual({
      items: [],
      next: null,
    });
  });

  it('rejects an unknown item with PEER_UNKNOWN_ITEM (permanent)', async () => {
    const { url } = await startPeer();
    const peer = httpPeer({ url, token: TOKEN });
    const error = await peer
      .readPoints('no/such', { from: 0, to: 10 }, { limit: 10 })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'PEER_UNKNOWN_ITEM', transient: false, status: 404 });
  });

  it('pages through events with many ties at one timestamp without skipping or repeating', async () => {
    const { url, storage } = await startPeer();
    const peer = httpPeer({ url, token: TOKEN });
    const window: TimeWindow = { from: 0, to: 100_000 };
    for (const limit of [1, 3, 7, 64]) {
      const { records } = await readAll((p) => peer.readEvents(window, p), limit);
      const expected = await readAllLocal((p) => storage.readEvents(window, p));
      expect(records).toEqual(expected);
      expect(records).toHaveLength(241);
      expect(new Set(records.map((e) => e.id)).size).toBe(241);
    }
  });

  it('carries a __proto__ key of an event body as data without polluting any prototype', async () => {
    const { url } = await startPeer();
    const peer = httpPeer({ url, token: TOKEN });
    const page = await peer.readEvents({ from: 6_000, to: 6_001 }, { limit: 10 });
    const body = page.items[0]?.body as Record<string, unknown>;
    expect(Object.getPrototypeOf(body)).toBe(Object.prototype);
    expect(Object.hasOwn(body, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(body.x).toEqual([1, { y: null }]);
  });

  it('caps pages at the server limit; the client simply reads more pages', async () => {
    const { url } = await startPeer(undefined, { maxPageLimit: 100 });
    const peer = httpPeer({ url, token: TOKEN });
    const first = await peer.readPoints('plant/temp', { from: 0, to: 100_000 }, { limit: 1000 });
    expect(first.items).toHaveLength(100);
    const { records } = await readAll(
      (p) => peer.readPoints('plant/temp', { from: 0, to: 100_000 }, p),
      1000,
    );
    expect(records).toHaveLength(2500);
  });

  it('works as a fetch-style handler without any server', async () => {
    const handler = createPeerHandler({
      storage: seedStorage(),
      token: TOKEN,
      instanceId: 'inproc',
    });
    const hello = await handler(
      new Request('http://peer.invalid/edge-ha/v1/hello', {
        headers: { authorization: `Bearer ${TOKEN}` },
      }),
    );
    expect(hello.status).toBe(200);
    expect(hello.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await hello.json()).toMatchObject({
      instanceId: 'inproc',
      protocolVersion: PEER_PROTOCOL_VERSION,
    });

    const points = await handler(
      new Request('http://peer.invalid/edge-ha/v1/points', {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ item: 'plant/state', window: { from: 0, to: 2_500 }, limit: 10 }),
      }),
    );
    expect(await points.json()).toEqual({
      items: [
        { t: 1_000, v: 'open', q: 192 },
        { t: 2_000, v: true, q: 0 },
      ],
      next: null,
    });

    // The client accepts any fetch, so it can drive the handler in process too.
    const peer: RemotePeer = httpPeer({
      url: 'http://peer.invalid/edge-ha/v1',
      token: TOKEN,
      fetch: (input, init) => handler(new Request(input, init)),
    });
    await expect(peer.listItems()).resolves.toEqual(['plant/state', 'plant/temp']);
  });
});
