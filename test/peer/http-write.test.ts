import { afterEach, describe, expect, it } from 'vitest';
import { PeerError, StorageError } from '../../src/errors.js';
import {
  createPeerHandler,
  type PeerHandlerLogEntry,
  type PeerHandlerOptions,
} from '../../src/peer/http-handler.js';
import { toNodeListener } from '../../src/peer/node-listener.js';
import { MemoryStorageAdapter } from '../../src/storage/memory.js';
import type { StorageAdapter } from '../../src/storage/types.js';
import { ServerPool } from './helpers.js';

const READ_TOKEN = 'read-token-0123456789';
const WRITE_TOKEN = 'write-token-9876543210';
const json = (token: string) => ({
  authorization: `Bearer ${token}`,
  'content-type': 'application/json',
});
const pool = new ServerPool();
afterEach(() => pool.closeAll());

/** Counts the storage writes the handler makes (so a rejected request can be shown to store nothing). */
class CountingStorage extends MemoryStorageAdapter {
  appends = 0;
  inserts = 0;
  override appendPoints(...args: Parameters<MemoryStorageAdapter['appendPoints']>) {
    this.appends++;
    return super.appendPoints(...args);
  }
  override insertEventsIfAbsent(...args: Parameters<MemoryStorageAdapter['insertEventsIfAbsent']>) {
    this.inserts++;
    return super.insertEventsIfAbsent(...args);
  }
}

function seeded(): CountingStorage {
  return new CountingStorage({
    points: { a: [{ t: 1, v: 1 }] },
    events: [{ id: 'e1', t: 1, body: { n: 1 } }],
  });
}

async function start(options: Partial<PeerHandlerOptions> = {}) {
  const logs: PeerHandlerLogEntry[] = [];
  // Served unless the test brings its own storage.
  const storage = seeded();
  const handler = createPeerHandler({
    token: READ_TOKEN,
    writeToken: WRITE_TOKEN,
    instanceId: 'srv',
    log: (entry) => logs.push(entry),
    ...options,
    storage: options.storage ?? storage,
  });
  const server = await pool.listen(toNodeListener(handler));
  return { base: `${server.origin}/edge-ha/v1`, logs, storage };
}

/** Everything the storage holds: items, their points, events. */
async function snapshot(storage: StorageAdapter) {
  const all = { from: Number.MIN_SAFE_INTEGER, to: Number.MAX_SAFE_INTEGER };
  const items = await storage.listItems();
  const points: Record<string, unknown> = {};
  for (const item of items) {
    points[item] = (await storage.readPoints(item, all, { limit: 1000 })).items;
  }
  const events = (await storage.readEvents(all, { limit: 1000 })).items;
  return { items, points, events };
}

function post(url: string, body: string | Uint8Array, headers: Record<string, string>) {
  return fetch(url, { method: 'POST', headers, body });
}

async function expectError(response: Response, status: number, code: string): Promise<string> {
  expect(response.status).toBe(status);
  const body = (await response.json()) as { error: { code: string; message: string } };
  expect(body).toEqual({ error: { code, message: expect.any(String) } });
  return body.error.message;
}

describe('createPeerHandler: write routes', () => {
  it('appends points with the write token, replacing a point at an existing timestamp', async () => {
    const { base, storage } = await start();
    const response = await post(
      `${base}/write/points`,
      JSON.stringify({
        item: 'a',
        points: [
          { t: 1, v: 9 },
          { t: 2, v: 'on', q: 192 },
        ],
      }),
      json(WRITE_TOKEN),
    );
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ written: 2 });
    expect((await snapshot(storage)).points.a).toEqual([
      { t: 1, v: 9 },
      { t: 2, v: 'on', q: 192 },
    ]);
  });

  it('registers a new item on its first write', async () => {
    const { base, storage } = await start();
    const response = await post(
      `${base}/write/points`,
      JSON.stringify({ item: 'plant/new', points: [{ t: 5, v: null }] }),
      json(WRITE_TOKEN),
    );
    expect(await response.json()).toEqual({ written: 1 });
    expect(await storage.listItems()).toEqual(['a', 'plant/new']);
  });

  it('inserts only absent events and replies how many were new; an existing event is never changed', async () => {
    const { base, storage } = await start();
    const response = await post(
      `${base}/write/events`,
      JSON.stringify({
        events: [
          { id: 'e1', t: 1, body: { n: 'changed' } },
          { id: 'e2', t: 2, body: [1, 'two', null] },
        ],
      }),
      json(WRITE_TOKEN),
    );
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ inserted: 1 });
    expect((await snapshot(storage)).events).toEqual([
      { id: 'e1', t: 1, body: { n: 1 } },
      { id: 'e2', t: 2, body: [1, 'two', null] },
    ]);
  });

  it('stores a __proto__ key inside an event body as plain data, polluting nothing', async () => {
    const { base, storage } = await start();
    const text = '{"events":[{"id":"p","t":3,"body":{"__proto__":{"polluted":true},"x":1}}]}';
    const response = await post(`${base}/write/events`, text, json(WRITE_TOKEN));
    expect(await response.json()).toEqual({ inserted: 1 });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const stored = (await snapshot(storage)).events.find((e) => e.id === 'p');
    const body = stored?.body as Record<string, unknown>;
    expect(Object.getPrototypeOf(body)).toBe(Object.prototype);
    expect(Object.keys(body)).toEqual(['__proto__', 'x']);
    expect(body.polluted).toBeUndefined();
  });

  it('also lets the write token read', async () => {
    const { base } = await start();
    const hello = await fetch(`${base}/hello`, { headers: json(WRITE_TOKEN) });
    expect(hello.status).toBe(200);
    const points = await post(
      `${base}/points`,
      JSON.stringify({ item: 'a', window: { from: 0, to: 10 }, limit: 5 }),
      json(WRITE_TOKEN),
    );
    expect(await points.json()).toEqual({ items: [{ t: 1, v: 1 }], next: null });
  });
});

describe('createPeerHandler: write permissions', () => {
  const pointsBody = JSON.stringify({ item: 'a', points: [{ t: 7, v: 7 }] });
  const eventsBody = JSON.stringify({ events: [{ id: 'x', t: 7, body: null }] });

  it('answers 403 PEER_FORBIDDEN to the read token on both write routes and stores nothing', async () => {
    const { base, storage, logs } = await start();
    const before = await snapshot(storage);
    const message = await expectError(
      await post(`${base}/write/points`, pointsBody, json(READ_TOKEN)),
      403,
      'PEER_FORBIDDEN',
    );
    expect(message).toMatch(/write token/);
    await expectError(
      await post(`${base}/write/events`, eventsBody, json(READ_TOKEN)),
      403,
      'PEER_FORBIDDEN',
    );
    expect(await snapshot(storage)).toEqual(before);
    expect(storage.appends + storage.inserts).toBe(0);
    expect(logs.map((entry) => [entry.status, entry.code, entry.path])).toEqual([
      [403, 'PEER_FORBIDDEN', '/edge-ha/v1/write/points'],
      [403, 'PEER_FORBIDDEN', '/edge-ha/v1/write/events'],
    ]);
  });

  it('still serves reads to the read token', async () => {
    const { base } = await start();
    expect((await fetch(`${base}/items`, { headers: json(READ_TOKEN) })).status).toBe(200);
  });

  it('answers 401 to a missing or wrong token on the write routes', async () => {
    const { base, storage } = await start();
    for (const headers of [
      { 'content-type': 'application/json' },
      json('not-the-token'),
      json(`${WRITE_TOKEN}x`),
      json(WRITE_TOKEN.slice(0, -1)),
    ]) {
      await expectError(await post(`${base}/write/points`, pointsBody, headers), 401, 'PEER_AUTH');
    }
    expect(storage.appends).toBe(0);
  });

  it('refuses every write when no write token is configured, with a message saying so', async () => {
    const { base, storage } = await start({ writeToken: undefined });
    const message = await expectError(
      await post(`${base}/write/points`, pointsBody, json(READ_TOKEN)),
      403,
      'PEER_FORBIDDEN',
    );
    expect(message).toMatch(/without a write token/);
    // The would-be write token is just a wrong token there.
    await expectError(
      await post(`${base}/write/events`, eventsBody, json(WRITE_TOKEN)),
      401,
      'PEER_AUTH',
    );
    expect(storage.appends + storage.inserts).toBe(0);
  });

  it('decides the permission before reading the body: a reader gets 403 even for an oversized or invalid body', async () => {
    const { base } = await start({ limits: { maxBodyBytes: 64 } });
    await expectError(
      await post(`${base}/write/points`, 'x'.repeat(1000), json(READ_TOKEN)),
      403,
      'PEER_FORBIDDEN',
    );
    await expectError(
      await post(`${base}/write/points`, '{not json', json(READ_TOKEN)),
      403,
      'PEER_FORBIDDEN',
    );
  });

  it('answers GET on a write route with 405', async () => {
    const { base } = await start();
    const response = await fetch(`${base}/write/points`, { headers: json(WRITE_TOKEN) });
    await expectError(response, 405, 'PEER_METHOD_NOT_ALLOWED');
  });

  it('rejects a write token equal to the read token, or empty, with PEER_INVALID_OPTION', () => {
    const storage = new MemoryStorageAdapter();
    for (const writeToken of [READ_TOKEN, '', 'x'.repeat(5000)]) {
      let caught: unknown;
      try {
        createPeerHandler({ storage, token: READ_TOKEN, writeToken, instanceId: 'a' });
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(PeerError);
      expect((caught as PeerError).code).toBe('PEER_INVALID_OPTION');
    }
  });
});

describe('createPeerHandler: hostile write bodies store nothing', () => {
  const points: [string, string][] = [
    [
      'a timestamp beyond the safe integers',
      '{"item":"a","points":[{"t":9007199254740992,"v":1}]}',
    ],
    ['a fractional timestamp', '{"item":"a","points":[{"t":1.5,"v":1}]}'],
    ['a huge negative timestamp', '{"item":"a","points":[{"t":-1e300,"v":1}]}'],
    ['a string timestamp', '{"item":"a","points":[{"t":"1","v":1}]}'],
    ['NaN', '{"item":"a","points":[{"t":1,"v":NaN}]}'],
    ['an infinite value', '{"item":"a","points":[{"t":1,"v":1e999}]}'],
    ['an object value', '{"item":"a","points":[{"t":1,"v":{"x":1}}]}'],
    ['a missing value', '{"item":"a","points":[{"t":1}]}'],
    ['a lone surrogate in a value', '{"item":"a","points":[{"t":1,"v":"\\ud800"}]}'],
    ['a lone surrogate in the item', '{"item":"\\udc00x","points":[{"t":1,"v":1}]}'],
    ['an empty item', '{"item":"","points":[{"t":1,"v":1}]}'],
    ['a negative quality', '{"item":"a","points":[{"t":1,"v":1,"q":-1}]}'],
    ['a quality above 32 bits', '{"item":"a","points":[{"t":1,"v":1,"q":4294967296}]}'],
    ['a __proto__ key in a point', '{"item":"a","points":[{"t":1,"v":1,"__proto__":{"x":1}}]}'],
    ['a __proto__ key at the top', '{"item":"a","points":[],"__proto__":{"polluted":true}}'],
    ['an unknown field', '{"item":"a","points":[],"extra":1}'],
    ['points that are not an array', '{"item":"a","points":{"0":{"t":1,"v":1}}}'],
    [
      'a valid point followed by an invalid one',
      '{"item":"a","points":[{"t":5,"v":5},{"t":6,"v":[]}]}',
    ],
    ['a JSON array body', '[{"t":1,"v":1}]'],
    ['a truncated body', '{"item":"a","points":[{"t":1,'],
  ];
  const events: [string, string][] = [
    ['an event without a body', '{"events":[{"id":"n","t":1}]}'],
    ['an event id longer than 256', `{"events":[{"id":"${'i'.repeat(257)}","t":1,"body":null}]}`],
    ['an out-of-range event timestamp', '{"events":[{"id":"n","t":1e17,"body":null}]}'],
    ['a lone surrogate in an event id', '{"events":[{"id":"\\ud800","t":1,"body":null}]}'],
    [
      'a lone surrogate deep in a body',
      '{"events":[{"id":"n","t":1,"body":{"a":["ok","\\udfff"]}}]}',
    ],
    ['a lone surrogate in a body key', '{"events":[{"id":"n","t":1,"body":{"\\ud800":1}}]}'],
    [
      'a body nested too deep',
      `{"events":[{"id":"n","t":1,"body":${'['.repeat(70)}${']'.repeat(70)}}]}`,
    ],
    [
      'a __proto__ key in an event',
      '{"events":[{"id":"n","t":1,"body":null,"__proto__":{"x":1}}]}',
    ],
    [
      'a valid event followed by an invalid one',
      '{"events":[{"id":"ok","t":1,"body":1},{"id":"","t":1,"body":1}]}',
    ],
    ['events that are not an array', '{"events":"e1"}'],
  ];

  for (const [name, text] of points) {
    it(`rejects ${name} on /write/points with 400 PEER_BAD_REQUEST`, async () => {
      const { base, storage } = await start();
      const before = await snapshot(storage);
      await expectError(
        await post(`${base}/write/points`, text, json(WRITE_TOKEN)),
        400,
        'PEER_BAD_REQUEST',
      );
      expect(await snapshot(storage)).toEqual(before);
      expect(storage.appends).toBe(0);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });
  }

  for (const [name, text] of events) {
    it(`rejects ${name} on /write/events with 400 PEER_BAD_REQUEST`, async () => {
      const { base, storage } = await start();
      const before = await snapshot(storage);
      await expectError(
        await post(`${base}/write/events`, text, json(WRITE_TOKEN)),
        400,
        'PEER_BAD_REQUEST',
      );
      expect(await snapshot(storage)).toEqual(before);
      expect(storage.inserts).toBe(0);
    });
  }

  it('rejects malformed UTF-8 with 400', async () => {
    const { base, storage } = await start();
    const bytes = new TextEncoder().encode('{"item":"a","points":[{"t":1,"v":"xx"}]}');
    bytes[33] = 0xff;
    await expectError(
      await post(`${base}/write/points`, bytes, json(WRITE_TOKEN)),
      400,
      'PEER_BAD_REQUEST',
    );
    expect(storage.appends).toBe(0);
  });

  it('rejects a body not declared as JSON with 415', async () => {
    const { base, storage } = await start();
    const body = JSON.stringify({ item: 'a', points: [{ t: 1, v: 1 }] });
    for (const contentType of ['text/plain', 'application/x-www-form-urlencoded']) {
      await expectError(
        await post(`${base}/write/points`, body, {
          authorization: `Bearer ${WRITE_TOKEN}`,
          'content-type': contentType,
        }),
        415,
        'PEER_UNSUPPORTED_MEDIA_TYPE',
      );
    }
    expect(storage.appends).toBe(0);
  });

  it('rejects a batch over the size limit with 413, declared or streamed', async () => {
    const { base, storage } = await start({ limits: { maxBodyBytes: 512 } });
    const many = Array.from({ length: 100 }, (_, t) => ({ t, v: t }));
    const big = JSON.stringify({ item: 'a', points: many });
    await expectError(
      await post(`${base}/write/points`, big, json(WRITE_TOKEN)),
      413,
      'PEER_PAYLOAD_TOO_LARGE',
    );
    const encoder = new TextEncoder();
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(encoder.encode(big.slice(0, 400)));
        controller.enqueue(encoder.encode(big.slice(400)));
        controller.close();
      },
    });
    await expectError(
      await fetch(`${base}/write/points`, {
        method: 'POST',
        headers: json(WRITE_TOKEN),
        body: stream,
        duplex: 'half',
      } as RequestInit),
      413,
      'PEER_PAYLOAD_TOO_LARGE',
    );
    expect(storage.appends).toBe(0);
    expect((await snapshot(storage)).points.a).toEqual([{ t: 1, v: 1 }]);
  });
});

describe('createPeerHandler: storage failures on writes', () => {
  const body = JSON.stringify({ item: 'a', points: [{ t: 1, v: 1 }] });

  it('maps a storage validation error to 400, a closed storage to 503, a crash to 500 (logged)', async () => {
    const rejecting = new MemoryStorageAdapter();
    rejecting.appendPoints = async () => {
      throw new StorageError('STORAGE_VALUE_OUT_OF_RANGE', 'string too long for this store');
    };
    const bad = await start({ storage: rejecting });
    const message = await expectError(
      await post(`${bad.base}/write/points`, body, json(WRITE_TOKEN)),
      400,
      'PEER_BAD_REQUEST',
    );
    expect(message).toMatch(/STORAGE_VALUE_OUT_OF_RANGE/);

    const closed = new MemoryStorageAdapter();
    await closed.close();
    const down = await start({ storage: closed });
    await expectError(
      await post(`${down.base}/write/events`, '{"events":[]}', json(WRITE_TOKEN)),
      503,
      'PEER_UNAVAILABLE',
    );

    const crashing = new MemoryStorageAdapter();
    const cause = new Error('disk on fire');
    crashing.appendPoints = async () => {
      throw cause;
    };
    const crash = await start({ storage: crashing });
    const text = await expectError(
      await post(`${crash.base}/write/points`, body, json(WRITE_TOKEN)),
      500,
      'PEER_INTERNAL',
    );
    expect(text).not.toMatch(/disk on fire/);
    expect(text).toMatch(/write/);
    expect(crash.logs.at(-1)).toMatchObject({ status: 500, code: 'PEER_INTERNAL', error: cause });
  });
});
