import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { PeerError } from '../../src/errors.js';
import { httpPeer } from '../../src/peer/http-client.js';
import { createPeerHandler } from '../../src/peer/http-handler.js';
import { toNodeListener } from '../../src/peer/node-listener.js';
import { MemoryStorageAdapter } from '../../src/storage/memory.js';
import type { EventRecord, Point } from '../../src/storage/types.js';
import { listen, ServerPool } from './helpers.js';

const READ_TOKEN = 'read-token-0123456789';
const WRITE_TOKEN = 'write-token-9876543210';
const ALL = { from: 0, to: 1_000_000 };
const pool = new ServerPool();
afterEach(() => pool.closeAll());

async function realPeer(options: { writeToken?: string | undefined; maxBodyBytes?: number } = {}) {
  const storage = new MemoryStorageAdapter({ events: [{ id: 'old', t: 1, body: 'kept' }] });
  const handler = createPeerHandler({
    storage,
    token: READ_TOKEN,
    writeToken: 'writeToken' in options ? options.writeToken : WRITE_TOKEN,
    instanceId: 'node-b',
    ...(options.maxBodyBytes === undefined
      ? {}
      : { limits: { maxBodyBytes: options.maxBodyBytes } }),
  });
  const server = await pool.listen(toNodeListener(handler));
  return { storage, url: `${server.origin}/edge-ha/v1` };
}

interface Seen {
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: unknown;
}

/** A fake remote that records each request and answers with `reply`. */
async function fake(reply: (seen: Seen) => [number, unknown] | undefined) {
  const seen: Seen[] = [];
  const server = await pool.listen((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const request = {
        path: req.url ?? '',
        headers: req.headers,
        body: text === '' ? undefined : JSON.parse(text),
      };
      seen.push(request);
      const answer = reply(request);
      if (answer === undefined) return; // never answer
      res.writeHead(answer[0], { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer[1]));
    });
  });
  return { url: `${server.origin}/edge-ha/v1`, seen };
}

async function failure(promise: Promise<unknown>): Promise<PeerError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PeerError);
  return error as PeerError;
}

describe('httpPeer writes against a real handler', () => {
  it('writes points and events with the write token; a reader sees them', async () => {
    const { url, storage } = await realPeer();
    const writer = httpPeer({ url, token: WRITE_TOKEN });
    await writer.writePoints('plant/temp', [
      { t: 10, v: 1.5 },
      { t: 20, v: 'x', q: 3 },
    ]);
    await writer.writePoints('plant/temp', [{ t: 10, v: 2.5 }]);
    expect(
      await writer.writeEvents([
        { id: 'old', t: 1, body: 'changed' },
        { id: 'new', t: 2, body: { a: [1] } },
      ]),
    ).toBe(1);

    const reader = httpPeer({ url, token: READ_TOKEN });
    expect((await reader.readPoints('plant/temp', ALL, { limit: 10 })).items).toEqual([
      { t: 10, v: 2.5 },
      { t: 20, v: 'x', q: 3 },
    ]);
    expect((await storage.readEvents(ALL, { limit: 10 })).items).toEqual([
      { id: 'old', t: 1, body: 'kept' },
      { id: 'new', t: 2, body: { a: [1] } },
    ]);
  });

  it('rejects a write with the read token as PEER_AUTH (403, permanent) and stores nothing', async () => {
    const { url, storage } = await realPeer();
    const reader = httpPeer({ url, token: READ_TOKEN });
    const error = await failure(reader.writePoints('a', [{ t: 1, v: 1 }]));
    expect(error).toMatchObject({ code: 'PEER_AUTH', status: 403, transient: false });
    expect(error.message).toMatch(/write token/);
    expect(error.message).not.toContain(READ_TOKEN);
    const events = await failure(reader.writeEvents([{ id: 'z', t: 1, body: null }]));
    expect(events.code).toBe('PEER_AUTH');
    expect(await storage.listItems()).toEqual([]);
    expect((await storage.readEvents(ALL, { limit: 10 })).items).toHaveLength(1);
  });

  it('rejects writes to a remote without a write token as PEER_AUTH', async () => {
    const { url } = await realPeer({ writeToken: undefined });
    const error = await failure(
      httpPeer({ url, token: READ_TOKEN }).writePoints('a', [{ t: 1, v: 1 }]),
    );
    expect(error).toMatchObject({ code: 'PEER_AUTH', status: 403 });
  });

  it('maps a batch above the remote body limit to PEER_BAD_REQUEST (413)', async () => {
    const { url, storage } = await realPeer({ maxBodyBytes: 256 });
    const points = Array.from({ length: 50 }, (_, t): Point => ({ t, v: t }));
    const error = await failure(httpPeer({ url, token: WRITE_TOKEN }).writePoints('a', points));
    expect(error).toMatchObject({ code: 'PEER_BAD_REQUEST', status: 413, transient: false });
    expect(error.message).toMatch(/smaller batches/);
    expect(await storage.listItems()).toEqual([]);
  });
});

describe('httpPeer writes: the request and its acknowledgement', () => {
  it('sends only t, v, q and id, t, body, with the token and a JSON content type', async () => {
    const { url, seen } = await fake((request) =>
      request.path.endsWith('/write/points') ? [200, { written: 1 }] : [200, { inserted: 1 }],
    );
    const peer = httpPeer({ url, token: WRITE_TOKEN });
    const point = { t: 1, v: 2, q: 3, extra: 'dropped' } as unknown as Point;
    await peer.writePoints('a', [point]);
    const event = { id: 'e', t: 1, body: { k: 1 }, extra: true } as unknown as EventRecord;
    await peer.writeEvents([event]);
    expect(seen.map((s) => [s.path, s.body])).toEqual([
      ['/edge-ha/v1/write/points', { item: 'a', points: [{ t: 1, v: 2, q: 3 }] }],
      ['/edge-ha/v1/write/events', { events: [{ id: 'e', t: 1, body: { k: 1 } }] }],
    ]);
    expect(seen[0]?.headers.authorization).toBe(`Bearer ${WRITE_TOKEN}`);
    expect(seen[0]?.headers['content-type']).toBe('application/json');
  });

  it('does not send an invalid batch (PEER_BAD_REQUEST)', async () => {
    const { url, seen } = await fake(() => [200, { written: 0 }]);
    const peer = httpPeer({ url, token: WRITE_TOKEN });
    const cases: Promise<unknown>[] = [
      peer.writePoints('a', [{ t: 1, v: Number.NaN }]),
      peer.writePoints('a', [{ t: 2 ** 53, v: 1 }]),
      peer.writePoints('', [{ t: 1, v: 1 }]),
      peer.writeEvents([{ id: 'e', t: 1, body: { s: '\ud800' } }]),
      peer.writeEvents([{ id: 'e', t: 1, body: undefined as unknown as null }]),
    ];
    for (const call of cases) {
      expect((await failure(call)).code).toBe('PEER_BAD_REQUEST');
    }
    expect(seen).toHaveLength(0);
  });

  it('treats a wrong or missing acknowledgement as PEER_BAD_REPLY', async () => {
    const replies: unknown[] = [{ written: 1 }, {}, { inserted: 3 }, { inserted: -1 }];
    const { url } = await fake(() => [200, replies.shift()]);
    const peer = httpPeer({ url, token: WRITE_TOKEN });
    const two: Point[] = [
      { t: 1, v: 1 },
      { t: 2, v: 2 },
    ];
    expect((await failure(peer.writePoints('a', two))).code).toBe('PEER_BAD_REPLY');
    expect((await failure(peer.writePoints('a', two))).code).toBe('PEER_BAD_REPLY');
    const events: EventRecord[] = [{ id: 'e', t: 1, body: null }];
    expect((await failure(peer.writeEvents(events))).code).toBe('PEER_BAD_REPLY');
    expect((await failure(peer.writeEvents(events))).code).toBe('PEER_BAD_REPLY');
  });

  it('classifies transport failures like the reads: 503, unreachable, timeout, abort', async () => {
    const unavailable = await fake(() => [
      503,
      { error: { code: 'PEER_UNAVAILABLE', message: 'busy' } },
    ]);
    const error = await failure(
      httpPeer({ url: unavailable.url, token: WRITE_TOKEN }).writePoints('a', [{ t: 1, v: 1 }]),
    );
    expect(error).toMatchObject({ code: 'PEER_UNAVAILABLE', transient: true, status: 503 });

    const gone = await listen(() => undefined);
    await gone.close();
    const refused = await failure(
      httpPeer({ url: `${gone.origin}/edge-ha/v1`, token: WRITE_TOKEN }).writeEvents([]),
    );
    expect(refused).toMatchObject({ code: 'PEER_UNREACHABLE', transient: true });

    const silent = await fake(() => undefined);
    const slow = httpPeer({ url: silent.url, token: WRITE_TOKEN, timeoutMs: 100 });
    const timeout = await failure(slow.writePoints('a', [{ t: 1, v: 1 }]));
    expect(timeout).toMatchObject({ code: 'PEER_TIMEOUT', transient: true });

    const controller = new AbortController();
    const pending = slow.writeEvents([{ id: 'e', t: 1, body: null }], {
      signal: controller.signal,
    });
    controller.abort();
    expect(await failure(pending)).toMatchObject({ code: 'PEER_ABORTED', transient: false });
  });
});
