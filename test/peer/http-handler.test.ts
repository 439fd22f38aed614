import { request as httpRequest } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { StorageError } from '../../src/errors.js';
import {
  createPeerHandler,
  type PeerHandlerLogEntry,
  type PeerHandlerOptions,
} from '../../src/peer/http-handler.js';
import { toNodeListener } from '../../src/peer/node-listener.js';
import { MemoryStorageAdapter } from '../../src/storage/memory.js';
import type { StorageAdapter } from '../../src/storage/types.js';
import { ServerPool } from './helpers.js';

const TOKEN = 'handler-token-abcdef';
const AUTH = { authorization: `Bearer ${TOKEN}` };
const JSON_AUTH = { ...AUTH, 'content-type': 'application/json' };
const pool = new ServerPool();
afterEach(() => pool.closeAll());

async function start(options: Partial<PeerHandlerOptions> = {}) {
  const logs: PeerHandlerLogEntry[] = [];
  const storage =
    options.storage ??
    new MemoryStorageAdapter({
      points: { a: [{ t: 1, v: 1 }] },
      events: [{ id: 'e1', t: 1, body: null }],
    });
  const handler = createPeerHandler({
    token: TOKEN,
    instanceId: 'srv',
    log: (entry) => logs.push(entry),
    ...options,
    storage,
  });
  const server = await pool.listen(toNodeListener(handler));
  return { base: `${server.origin}/edge-ha/v1`, origin: server.origin, logs, storage };
}

async function expectError(response: Response, status: number, code: string): Promise<string> {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  const body = (await response.json()) as { error: { code: string; message: string } };
  expect(body).toEqual({ error: { code, message: expect.any(String) } });
  return body.error.message;
}

const pointsBody = JSON.stringify({ item: 'a', window: { from: 0, to: 10 }, limit: 5 });

describe('createPeerHandler: authentication', () => {
  it('rejects a request without a token with 401 PEER_AUTH', async () => {
    const { base, logs } = await start();
    const response = await fetch(`${base}/hello`);
    await expectError(response, 401, 'PEER_AUTH');
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(logs[0]).toMatchObject({ status: 401, code: 'PEER_AUTH', path: '/edge-ha/v1/hello' });
  });

  it('rejects a wrong token, a token prefix and a non-bearer scheme with 401', async () => {
    const { base } = await start();
    for (const authorization of [
      'Bearer wrong',
      `Bearer ${TOKEN.slice(0, -1)}`,
      `Bearer ${TOKEN}x`,
      `Basic ${TOKEN}`,
      TOKEN,
      'Bearer ',
    ]) {
      await expectError(
        await fetch(`${base}/hello`, { headers: { authorization } }),
        401,
        'PEER_AUTH',
      );
    }
  });

  it('checks the token before reading or validating a body', async () => {
    const { base } = await start();
    const response = await fetch(`${base}/points`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: 'not json',
    });
    await expectError(response, 401, 'PEER_AUTH');
  });

  it('accepts the right token on every route', async () => {
    const { base } = await start();
    expect((await fetch(`${base}/hello`, { headers: AUTH })).status).toBe(200);
    expect((await fetch(`${base}/items`, { headers: AUTH })).status).toBe(200);
    const events = await fetch(`${base}/events`, {
      method: 'POST',
      headers: JSON_AUTH,
      body: JSON.stringify({ window: { from: 0, to: 10 }, limit: 5 }),
    });
    expect(await events.json()).toEqual({ items: [{ id: 'e1', t: 1, body: null }], next: null });
  });
});

describe('createPeerHandler: routes and methods', () => {
  it('answers unknown routes with 404 PEER_NOT_FOUND, outside and inside the base path', async () => {
    const { base, origin } = await start();
    await expectError(await fetch(`${origin}/`, { headers: AUTH }), 404, 'PEER_NOT_FOUND');
    await expectError(
      await fetch(`${origin}/edge-ha/v2/hello`, { headers: AUTH }),
      404,
      'PEER_NOT_FOUND',
    );
    await expectError(await fetch(`${base}/nope`, { headers: AUTH }), 404, 'PEER_NOT_FOUND');
    await expectError(await fetch(`${base}/hello/x`, { headers: AUTH }), 404, 'PEER_NOT_FOUND');
  });

  it('answers a wrong method with 405 and an allow header', async () => {
    const { base } = await start();
    const post = await fetch(`${base}/hello`, { method: 'POST', headers: JSON_AUTH, body: '{}' });
    expect(post.headers.get('allow')).toBe('GET');
    await expectError(post, 405, 'PEER_METHOD_NOT_ALLOWED');
    const get = await fetch(`${base}/points`, { headers: AUTH });
    expect(get.headers.get('allow')).toBe('POST');
    await expectError(get, 405, 'PEER_METHOD_NOT_ALLOWED');
    await expectError(
      await fetch(`${base}/events`, { method: 'DELETE', headers: AUTH }),
      405,
      'PEER_METHOD_NOT_ALLOWED',
    );
  });

  it('serves under a custom base path, and at the root with basePath ""', async () => {
    const custom = await start({ basePath: '/peer/' });
    expect((await fetch(`${custom.origin}/peer/hello`, { headers: AUTH })).status).toBe(200);
    const root = await start({ basePath: '' });
    expect((await fetch(`${root.origin}/hello`, { headers: AUTH })).status).toBe(200);
  });
});

describe('createPeerHandler: request validation', () => {
  const cases: [string, string][] = [
    ['truncated JSON', '{"item":"a","window":{'],
    ['not an object', '[1,2,3]'],
    ['missing item', JSON.stringify({ window: { from: 0, to: 10 }, limit: 5 })],
    ['empty item', JSON.stringify({ item: '', window: { from: 0, to: 10 }, limit: 5 })],
    [
      'item too long',
      JSON.stringify({ item: 'x'.repeat(1025), window: { from: 0, to: 10 }, limit: 5 }),
    ],
    ['reversed window', JSON.stringify({ item: 'a', window: { from: 10, to: 0 }, limit: 5 })],
    ['fractional time', JSON.stringify({ item: 'a', window: { from: 0.5, to: 10 }, limit: 5 })],
    [
      'unsafe integer time',
      JSON.stringify({ item: 'a', window: { from: 0, to: 2 ** 60 }, limit: 5 }),
    ],
    ['string time', JSON.stringify({ item: 'a', window: { from: '0', to: 10 }, limit: 5 })],
    ['zero limit', JSON.stringify({ item: 'a', window: { from: 0, to: 10 }, limit: 0 })],
    ['huge exponent', '{"item":"a","window":{"from":0,"to":1e999},"limit":5}'],
    [
      'unknown field',
      JSON.stringify({ item: 'a', window: { from: 0, to: 10 }, limit: 5, sql: 'drop' }),
    ],
    [
      'non-string cursor',
      JSON.stringify({ item: 'a', window: { from: 0, to: 10 }, limit: 5, cursor: 3 }),
    ],
    [
      'forged cursor',
      JSON.stringify({ item: 'a', window: { from: 0, to: 10 }, limit: 5, cursor: 'forged' }),
    ],
    ['empty body', ''],
  ];
  for (const [name, body] of cases) {
    it(`rejects ${name} with 400 PEER_BAD_REQUEST`, async () => {
      const { base } = await start();
      const response = await fetch(`${base}/points`, { method: 'POST', headers: JSON_AUTH, body });
      const message = await expectError(response, 400, 'PEER_BAD_REQUEST');
      expect(message).not.toMatch(/\n\s+at /);
    });
  }

  it('names the offending field in the message', async () => {
    const { base } = await start();
    const response = await fetch(`${base}/events`, {
      method: 'POST',
      headers: JSON_AUTH,
      body: JSON.stringify({ window: { from: 0, to: 'x' }, limit: 5 }),
    });
    expect(await expectError(response, 400, 'PEER_BAD_REQUEST')).toMatch(/window\.to/);
  });

  it('rejects a body that is not declared as JSON with 415', async () => {
    const { base } = await start();
    const response = await fetch(`${base}/points`, {
      method: 'POST',
      headers: { ...AUTH, 'content-type': 'text/plain' },
      body: pointsBody,
    });
    await expectError(response, 415, 'PEER_UNSUPPORTED_MEDIA_TYPE');
  });

  it('rejects a body over the size limit with 413, streamed or declared', async () => {
    const { base } = await start({ limits: { maxBodyBytes: 256 } });
    const big = JSON.stringify({ item: 'a'.repeat(400), window: { from: 0, to: 10 }, limit: 5 });
    await expectError(
      await fetch(`${base}/points`, { method: 'POST', headers: JSON_AUTH, body: big }),
      413,
      'PEER_PAYLOAD_TOO_LARGE',
    );
    // Chunked (no content-length): the cap applies while streaming.
    const encoder = new TextEncoder();
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(encoder.encode(big.slice(0, 200)));
        controller.enqueue(encoder.encode(big.slice(200)));
        controller.close();
      },
    });
    await expectError(
      await fetch(`${base}/points`, {
        method: 'POST',
        headers: JSON_AUTH,
        body: stream,
        duplex: 'half',
      }),
      413,
      'PEER_PAYLOAD_TOO_LARGE',
    );
    // A body just under the limit still works.
    const ok = await fetch(`${base}/points`, {
      method: 'POST',
      headers: JSON_AUTH,
      body: pointsBody,
    });
    expect(ok.status).toBe(200);
  });

  it('clamps a request limit above the server cap instead of rejecting it', async () => {
    const storage = new MemoryStorageAdapter({
      points: { a: Array.from({ length: 30 }, (_, i) => ({ t: i, v: i })) },
    });
    const { base } = await start({ storage, limits: { maxPageLimit: 10 } });
    const response = await fetch(`${base}/points`, {
      method: 'POST',
      headers: JSON_AUTH,
      body: JSON.stringify({ item: 'a', window: { from: 0, to: 100 }, limit: 50_000 }),
    });
    const page = (await response.json()) as { items: unknown[]; next: string | null };
    expect(page.items).toHaveLength(10);
    expect(page.next).toEqual(expect.any(String));
  });

  it('serves shorter pages when the records would exceed maxReplyBytes, never skipping one', async () => {
    const events = Array.from({ length: 40 }, (_, i) => ({
      id: `e${String(i).padStart(2, '0')}`,
      t: 1000 + (i % 4), // ties across page boundaries
      body: { text: 'x'.repeat(900) },
    }));
    const storage = new MemoryStorageAdapter({ events });
    const { base } = await start({ storage, limits: { maxReplyBytes: 5_000 } });
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const response = await fetch(`${base}/events`, {
        method: 'POST',
        headers: JSON_AUTH,
        body: JSON.stringify({ window: { from: 0, to: 2000 }, limit: 1000, cursor }),
      });
      const text = await response.text();
      expect(response.status).toBe(200);
      expect(Buffer.byteLength(text)).toBeLessThanOrEqual(5_000);
      const page = JSON.parse(text) as { items: { id: string }[]; next: string | null };
      expect(page.items.length).toBeGreaterThan(0);
      seen.push(...page.items.map((e) => e.id));
      cursor = page.next ?? undefined;
      pages++;
    } while (cursor !== undefined);
    expect(pages).toBeGreaterThanOrEqual(Math.ceil((40 * 900) / 5_000));
    const expected = [...events]
      .sort((a, b) => a.t - b.t || (a.id < b.id ? -1 : 1))
      .map((e) => e.id);
    expect(seen).toEqual(expected);
  });

  it('answers 500 without internals when one record alone exceeds maxReplyBytes', async () => {
    const storage = new MemoryStorageAdapter({
      events: [{ id: 'big', t: 1, body: 'y'.repeat(10_000) }],
    });
    const { base, logs } = await start({ storage, limits: { maxReplyBytes: 5_000 } });
    const response = await fetch(`${base}/events`, {
      method: 'POST',
      headers: JSON_AUTH,
      body: JSON.stringify({ window: { from: 0, to: 10 }, limit: 10 }),
    });
    const message = await expectError(response, 500, 'PEER_INTERNAL');
    expect(message).not.toMatch(/maxReplyBytes \d/);
    expect(logs.at(-1)?.status).toBe(500);
  });

  it('answers unknown items with 404 PEER_UNKNOWN_ITEM', async () => {
    const { base } = await start();
    const response = await fetch(`${base}/points`, {
      method: 'POST',
      headers: JSON_AUTH,
      body: JSON.stringify({ item: 'ghost', window: { from: 0, to: 10 }, limit: 5 }),
    });
    await expectError(response, 404, 'PEER_UNKNOWN_ITEM');
  });
});

describe('createPeerHandler: failures never leak internals', () => {
  function failingStorage(error: Error): StorageAdapter {
    const base = new MemoryStorageAdapter();
    return new Proxy(base, {
      get(target, key, receiver) {
        if (key === 'readPoints' || key === 'readEvents' || key === 'listItems') {
          return () => Promise.reject(error);
        }
        return Reflect.get(target, key, receiver);
      },
    });
  }

  it('maps a storage crash to 500 PEER_INTERNAL with a generic message and logs the cause', async () => {
    const secret = new Error('SQLITE_CORRUPT at /var/lib/secret/path.db');
    const { base, logs } = await start({ storage: failingStorage(secret) });
    const response = await fetch(`${base}/items`, { headers: AUTH });
    const message = await expectError(response, 500, 'PEER_INTERNAL');
    expect(message).not.toContain('secret');
    expect(message).not.toContain('SQLITE');
    expect(logs).toEqual([
      expect.objectContaining({ status: 500, code: 'PEER_INTERNAL', error: secret }),
    ]);
  });

  it('maps a closed storage to 503 PEER_UNAVAILABLE', async () => {
    const storage = new MemoryStorageAdapter();
    await storage.close();
    const { base } = await start({ storage });
    const response = await fetch(`${base}/events`, {
      method: 'POST',
      headers: JSON_AUTH,
      body: JSON.stringify({ window: { from: 0, to: 10 }, limit: 5 }),
    });
    await expectError(response, 503, 'PEER_UNAVAILABLE');
  });

  it('keeps answering when the log hook throws', async () => {
    const { base } = await start({
      log: () => {
        throw new Error('log sink down');
      },
    });
    await expectError(await fetch(`${base}/hello`), 401, 'PEER_AUTH');
  });

  it('survives a client that aborts mid-body and keeps serving', async () => {
    const { base } = await start();
    const url = new URL(`${base}/points`);
    await new Promise<void>((resolve) => {
      const req = httpRequest(url, {
        method: 'POST',
        headers: { ...JSON_AUTH, 'content-length': '1000' },
      });
      req.on('error', () => resolve());
      req.write('{"item":"a",');
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 50);
    });
    const response = await fetch(`${base}/points`, {
      method: 'POST',
      headers: JSON_AUTH,
      body: pointsBody,
    });
    expect(response.status).toBe(200);
  });

  it('rejects invalid options with PEER_INVALID_OPTION', () => {
    const storage = new MemoryStorageAdapter();
    const bad: Partial<PeerHandlerOptions>[] = [
      { token: '' },
      { instanceId: '' },
      { basePath: 'no-slash' },
      { limits: { maxBodyBytes: 0 } },
      { limits: { maxPageLimit: 1.5 } },
      { limits: { maxPageLimit: 1_000_000 } },
    ];
    for (const options of bad) {
      expect(() =>
        createPeerHandler({ storage, token: TOKEN, instanceId: 'x', ...options }),
      ).toThrow(expect.objectContaining({ code: 'PEER_INVALID_OPTION' }));
    }
  });

  it('does not confuse a storage validation error with a crash', async () => {
    const error = new StorageError('STORAGE_INVALID_CURSOR', 'The cursor is not from this read.');
    const { base } = await start({ storage: failingStorage(error) });
    const response = await fetch(`${base}/events`, {
      method: 'POST',
      headers: JSON_AUTH,
      body: JSON.stringify({ window: { from: 0, to: 10 }, limit: 5, cursor: 'x' }),
    });
    expect(await expectError(response, 400, 'PEER_BAD_REQUEST')).toMatch(/STORAGE_INVALID_CURSOR/);
  });
});
