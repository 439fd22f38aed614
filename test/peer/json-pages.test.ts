/**
 * The handler serves pages through an adapter's optional `readPointsJson` / `readEventsJson`
 * when it has them: the replies must be the same records, cursors and limits as through the
 * record reads, including the shorter pages of `limits.maxReplyBytes` and unknown items.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createPeerHandler, type PeerHandlerOptions } from '../../src/peer/http-handler.js';
import { toNodeListener } from '../../src/peer/node-listener.js';
import { openSqliteStorage, type SqliteStorageAdapter } from '../../src/sqlite/adapter.js';
import type { StorageAdapter } from '../../src/storage/types.js';
import { ServerPool } from './helpers.js';

const TOKEN = 'json-pages-token-abcdef';
const JSON_AUTH = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
const pool = new ServerPool();
const dir = mkdtempSync(join(tmpdir(), 'edge-ha-json-pages-'));
const opened: SqliteStorageAdapter[] = [];
afterEach(async () => {
  await pool.closeAll();
  for (const storage of opened.splice(0)) await storage.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
/** A SQLite file (pages above 3 rows read in chunks) with varied points and tied events. */
async function sqlite(): Promise<SqliteStorageAdapter> {
  const storage = openSqliteStorage(join(dir, `s${files++}.db`), { readChunkRows: 3 });
  opened.push(storage);
  await storage.appendPoints(
    'a',
    Array.from({ length: 40 }, (_, i) => {
      const v = i % 5 === 0 ? `text ${i} "q"` : i % 7 === 0 ? i % 2 === 0 : i / 3;
      return i % 4 === 0 ? { t: i * 10, v, q: i } : { t: i * 10, v };
    }),
  );
  await storage.registerItems(['empty']);
  await storage.insertEventsIfAbsent(
    Array.from({ length: 30 }, (_, i) => ({
      id: `e${String(i).padStart(2, '0')}`,
      t: 1000 + (i % 4),
      body: { text: 'x'.repeat(200), i, nested: [i, null, { ok: true }] },
    })),
  );
  return storage;
}

/** The same adapter without its JSON reads: the handler encodes the record pages itself. */
function recordsOnly(storage: StorageAdapter): StorageAdapter {
  return new Proxy(storage, {
    get(target, property) {
      if (property === 'readPointsJson' || property === 'readEventsJson') return undefined;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** Counts the calls of the JSON reads, passing them on. */
function counting(storage: StorageAdapter): { storage: StorageAdapter; calls: string[] } {
  const calls: string[] = [];
  const proxy = new Proxy(storage, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      if (property !== 'readPointsJson' && property !== 'readEventsJson') return value.bind(target);
      return (...args: unknown[]) => {
        calls.push(property);
        return Reflect.apply(value, target, args);
      };
    },
  });
  return { storage: proxy, calls };
}

async function base(options: Partial<PeerHandlerOptions> & { storage: StorageAdapter }) {
  const handler = createPeerHandler({ token: TOKEN, instanceId: 'srv', ...options });
  const server = await pool.listen(toNodeListener(handler));
  return `${server.origin}/edge-ha/v1`;
}

/** Every page of one read, as the raw reply texts. */
async function pages(url: string, route: string, body: Record<string, unknown>): Promise<string[]> {
  const texts: string[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < 1000; i++) {
    const response = await fetch(`${url}/${route}`, {
      method: 'POST',
      headers: JSON_AUTH,
      body: JSON.stringify(cursor === undefined ? body : { ...body, cursor }),
    });
    const text = await response.text();
    expect(response.status, text).toBe(200);
    texts.push(text);
    cursor = (JSON.parse(text) as { next: string | null }).next ?? undefined;
    if (cursor === undefined) return texts;
  }
  throw new Error('the read did not end within 1000 pages');
}

describe('createPeerHandler over an adapter with JSON page reads', () => {
  it('serves points and events through readPointsJson / readEventsJson', async () => {
    const { storage, calls } = counting(await sqlite());
    const url = await base({ storage });
    await pages(url, 'points', { item: 'a', window: { from: 0, to: 1000 }, limit: 7 });
    await pages(url, 'events', { window: { from: 0, to: 2000 }, limit: 7 });
    expect(calls.filter((c) => c === 'readPointsJson').length).toBe(6);
    expect(calls.filter((c) => c === 'readEventsJson').length).toBe(5);
  });

  it('replies with the records and cursors of the record reads, page for page', async () => {
    const storage = await sqlite();
    const fast = await base({ storage });
    const plain = await base({ storage: recordsOnly(storage) });
    for (const [route, body] of [
      ['points', { item: 'a', window: { from: 0, to: 1000 }, limit: 7 }],
      ['points', { item: 'a', window: { from: 15, to: 305 }, limit: 100 }],
      ['points', { item: 'empty', window: { from: 0, to: 1000 }, limit: 5 }],
      ['events', { window: { from: 0, to: 2000 }, limit: 4 }],
      ['events', { window: { from: 1001, to: 1003 }, limit: 100 }],
    ] as const) {
      const a = (await pages(fast, route, body)).map((text) => JSON.parse(text));
      const b = (await pages(plain, route, body)).map((text) => JSON.parse(text));
      expect(a, `${route} ${JSON.stringify(body)}`).toEqual(b);
    }
  });

  it('keeps replies within maxReplyBytes with JSON pages, never skipping a record', async () => {
    const storage = await sqlite();
    const url = await base({ storage, limits: { maxReplyBytes: 1_000 } });
    const texts = await pages(url, 'events', { window: { from: 0, to: 2000 }, limit: 1000 });
    for (const text of texts) expect(Buffer.byteLength(text)).toBeLessThanOrEqual(1_000);
    const ids = texts.flatMap((text) =>
      (JSON.parse(text) as { items: { id: string }[] }).items.map((e) => e.id),
    );
    const expected = (await storage.readEvents({ from: 0, to: 2000 }, { limit: 100 })).items.map(
      (e) => e.id,
    );
    expect(ids).toEqual(expected);
    expect(texts.length).toBeGreaterThan(5);
  });

  it('answers an unknown item with 404 PEER_UNKNOWN_ITEM and a registered empty one with an empty page', async () => {
    const url = await base({ storage: await sqlite() });
    const unknown = await fetch(`${url}/points`, {
      method: 'POST',
      headers: JSON_AUTH,
      body: JSON.stringify({ item: 'ghost', window: { from: 0, to: 10 }, limit: 5 }),
    });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe(
      'PEER_UNKNOWN_ITEM',
    );
    const empty = await pages(url, 'points', {
      item: 'empty',
      window: { from: 0, to: 10 },
      limit: 5,
    });
    expect(empty.map((text) => JSON.parse(text))).toEqual([{ items: [], next: null }]);
  });
});
