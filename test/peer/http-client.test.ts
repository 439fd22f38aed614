import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { PeerError } from '../../src/errors.js';
import { httpPeer } from '../../src/peer/http-client.js';
import type { RemotePeer } from '../../src/peer/types.js';
import type { EventRecord } from '../../src/storage/types.js';
import { listen, rawReply, ServerPool } from './helpers.js';

const TOKEN = 'client-token-s3cret';
const pool = new ServerPool();
afterEach(() => pool.closeAll());

interface FakeRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: Record<string, unknown> | undefined;
}

/** A fake remote: `reply` gets each parsed request and returns [status, body, headers?]. */
async function fake(
  reply: (request: FakeRequest) => [number, unknown, Record<string, string>?],
): Promise<{ peer: RemotePeer; url: string; requests: FakeRequest[] }> {
  const requests: FakeRequest[] = [];
  const server = await pool.listen((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const request: FakeRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: text === '' ? undefined : (JSON.parse(text) as Record<string, unknown>),
      };
      requests.push(request);
      const [status, body, headers] = reply(request);
      res.writeHead(status, headers ?? { 'content-type': 'application/json' });
      res.end(typeof body === 'string' ? body : JSON.stringify(body));
    });
  });
  const url = `${server.origin}/edge-ha/v1`;
  return { peer: httpPeer({ url, token: TOKEN, timeoutMs: 2_000 }), url, requests };
}

async function failure(promise: Promise<unknown>): Promise<PeerError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PeerError);
  const peerError = error as PeerError;
  expect(peerError.message).not.toContain(TOKEN);
  return peerError;
}

const W = { from: 100, to: 200 };
const points =
  (items: unknown, next: unknown = null) =>
  () =>
    [200, { items, next }] as [number, unknown];

describe('httpPeer: requests it sends', () => {
  it('sends the bearer token and JSON bodies to the documented routes', async () => {
    const { peer, requests } = await fake((r) =>
      r.path.endsWith('/hello')
        ? [200, { instanceId: 'x', protocolVersion: 1, now: 5 }]
        : [200, { items: [], next: null }],
    );
    await peer.hello();
    await peer.readPoints('a/b', W, { limit: 10, cursor: 'c1' });
    await peer.readEvents(W, { limit: 3 });
    expect(requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /edge-ha/v1/hello',
      'POST /edge-ha/v1/points',
      'POST /edge-ha/v1/events',
    ]);
    expect(requests.every((r) => r.headers.authorization === `Bearer ${TOKEN}`)).toBe(true);
    expect(requests[1]?.body).toEqual({ item: 'a/b', window: W, limit: 10, cursor: 'c1' });
    expect(requests[2]?.body).toEqual({ window: W, limit: 3 });
  });

  it('a URL without a path gets the default base path /edge-ha/v1; a given path is kept', async () => {
    const { url, requests } = await fake(() => [
      200,
      { instanceId: 'x', protocolVersion: 1, now: 5 },
    ]);
    const origin = url.replace(/\/edge-ha\/v1$/, '');
    for (const base of [origin, `${origin}/`]) {
      const peer = httpPeer({ url: base, token: TOKEN, timeoutMs: 2_000 });
      expect(peer.label).toBe(`${origin}/edge-ha/v1`);
      await peer.hello();
    }
    await httpPeer({ url: `${origin}/mounted/here/`, token: TOKEN, timeoutMs: 2_000 }).hello();
    expect(requests.map((r) => r.path)).toEqual([
      '/edge-ha/v1/hello',
      '/edge-ha/v1/hello',
      '/mounted/here/hello',
    ]);
  });

  it('rejects invalid call arguments with PEER_BAD_REQUEST without sending anything', async () => {
    const { peer, requests } = await fake(points([]));
    for (const call of [
      () => peer.readPoints('', W, { limit: 1 }),
      () => peer.readPoints('a', { from: 5, to: 1 }, { limit: 1 }),
      () => peer.readPoints('a', { from: 0.5, to: 1 }, { limit: 1 }),
      () => peer.readEvents(W, { limit: 0 }),
      () => peer.readEvents(W, { limit: 1, cursor: 5 as unknown as string }),
    ]) {
      expect(await failure(call())).toMatchObject({ code: 'PEER_BAD_REQUEST', transient: false });
    }
    expect(requests).toHaveLength(0);
  });

  it('rejects invalid options with PEER_INVALID_OPTION', () => {
    for (const options of [
      { url: 'not a url', token: TOKEN },
      { url: 'ftp://host/x', token: TOKEN },
      { url: 'http://user:pw@host/x', token: TOKEN },
      { url: 'http://host/x?y=1', token: TOKEN },
      { url: 'http://host/x', token: '' },
      { url: 'http://host/x', token: 'has space' },
      { url: 'http://host/x', token: TOKEN, timeoutMs: 0 },
      { url: 'http://host/x', token: TOKEN, maxReplyBytes: -1 },
    ]) {
      expect(() => httpPeer(options)).toThrow(
        expect.objectContaining({ code: 'PEER_INVALID_OPTION' }),
      );
    }
  });
});

describe('httpPeer: malformed replies are PEER_BAD_REPLY (permanent)', () => {
  const cases: [string, () => [number, unknown, Record<string, string>?]][] = [
    ['a value of the wrong type', points([{ t: 150, v: { nested: 1 } }])],
    ['a string timestamp', points([{ t: '150', v: 1 }])],
    ['a fractional timestamp', points([{ t: 150.5, v: 1 }])],
    [
      'an unsafe-integer timestamp',
      () => [200, `{"items":[{"t":9007199254740993,"v":1}],"next":null}`],
    ],
    ['an infinite number', () => [200, '{"items":[{"t":150,"v":1e999}],"next":null}']],
    ['a NaN literal', () => [200, '{"items":[{"t":150,"v":NaN}],"next":null}']],
    ['a negative quality', points([{ t: 150, v: 1, q: -1 }])],
    ['an unknown field on a point', points([{ t: 150, v: 1, extra: true }])],
    [
      'a __proto__ key on a point',
      () => [200, '{"items":[{"t":150,"v":1,"__proto__":{"polluted":1}}],"next":null}'],
    ],
    ['a missing next', () => [200, { items: [] }]],
    ['a non-array items', points({ 0: { t: 150, v: 1 } })],
    ['a point before the window', points([{ t: 99, v: 1 }])],
    ['a point at the window end', points([{ t: 200, v: 1 }])],
    [
      'unsorted points',
      points([
        { t: 160, v: 1 },
        { t: 150, v: 2 },
      ]),
    ],
    [
      'a repeated timestamp',
      points([
        { t: 150, v: 1 },
        { t: 150, v: 2 },
      ]),
    ],
    [
      'more points than the limit',
      points([
        { t: 150, v: 1 },
        { t: 151, v: 1 },
        { t: 152, v: 1 },
      ]),
    ],
    ['truncated JSON', () => [200, '{"items":[{"t":150,"v":1}']],
    ['an empty body', () => [200, '']],
    ['invalid UTF-8', () => [200, Buffer.from([0x7b, 0xff, 0xfe, 0x7d])]],
    [
      'a wrong content type',
      () => [200, { items: [], next: null }, { 'content-type': 'text/html' }],
    ],
    ['no content type', () => [200, { items: [], next: null }, {}]],
    ['a redirect', () => [302, '', { location: 'http://elsewhere.invalid/' }]],
    ['a cursor equal to the request cursor', points([{ t: 150, v: 1 }], 'c1')],
    ['an empty cursor', points([], '')],
  ];
  for (const [name, reply] of cases) {
    it(`rejects ${name}`, async () => {
      const { peer, url } = await fake(reply);
      const error = await failure(peer.readPoints('a', W, { limit: 2, cursor: 'c1' }));
      expect(error).toMatchObject({ code: 'PEER_BAD_REPLY', transient: false });
      expect(error.message).toContain(`${url}/points`);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });
  }

  it('rejects a hello of the wrong shape and an item list with duplicates', async () => {
    const { peer } = await fake((r) =>
      r.path.endsWith('/hello')
        ? [200, { instanceId: 7, protocolVersion: 1, now: 1 }]
        : [200, { items: ['a', 'a'] }],
    );
    expect(await failure(peer.hello())).toMatchObject({ code: 'PEER_BAD_REPLY' });
    expect(await failure(peer.listItems())).toMatchObject({ code: 'PEER_BAD_REPLY' });
  });

  it('rejects another protocol version with PEER_PROTOCOL', async () => {
    const { peer } = await fake(() => [200, { instanceId: 'x', protocolVersion: 2, now: 1 }]);
    const error = await failure(peer.hello());
    expect(error).toMatchObject({ code: 'PEER_PROTOCOL', transient: false });
    expect(error.message).toMatch(/v2.*v1/);
  });

  it('rejects events out of (t, id) order, duplicated, out of window or with a non-JSON body', async () => {
    const bad: unknown[][] = [
      [
        { id: 'b', t: 150, body: null },
        { id: 'a', t: 150, body: null },
      ],
      [
        { id: 'a', t: 150, body: null },
        { id: 'a', t: 150, body: null },
      ],
      [{ id: 'a', t: 250, body: null }],
      [{ id: '', t: 150, body: null }],
      [{ id: 'a', t: 150 }],
    ];
    for (const items of bad) {
      const { peer } = await fake(() => [200, { items, next: null }]);
      expect(await failure(peer.readEvents(W, { limit: 10 }))).toMatchObject({
        code: 'PEER_BAD_REPLY',
      });
    }
    const { peer } = await fake(() => [
      200,
      '{"items":[{"id":"a","t":150,"body":{"x":1e999}}],"next":null}',
    ]);
    expect(await failure(peer.readEvents(W, { limit: 10 }))).toMatchObject({
      code: 'PEER_BAD_REPLY',
    });
  });

  it('accepts events with ties at one timestamp in id order', async () => {
    const items = [
      { id: 'a', t: 150, body: { k: 1 } },
      { id: 'b', t: 150, body: [1, 'x', null] },
      { id: 'a', t: 151, body: 'text' },
    ];
    const { peer } = await fake(() => [200, { items, next: null }]);
    await expect(peer.readEvents(W, { limit: 10 })).resolves.toEqual({ items, next: null });
  });

  it('returns events deeply frozen (so a store keeps them without a copy), -0 read as 0', async () => {
    const { peer } = await fake(() => [
      200,
      '{"items":[{"id":"a","t":150,"body":{"list":[1,{"x":-0}]}}],"next":null}',
    ]);
    const page = await peer.readEvents(W, { limit: 10 });
    const event = page.items[0] as EventRecord;
    const body = event.body as { list: [number, { x: number }] };
    expect(page.items).toEqual([{ id: 'a', t: 150, body: { list: [1, { x: 0 }] } }]);
    expect(Object.is(body.list[1].x, 0)).toBe(true);
    for (const frozen of [page.items, event, body, body.list, body.list[1]]) {
      expect(Object.isFrozen(frozen)).toBe(true);
    }
    expect(() => {
      (body.list as unknown[]).push(2);
    }).toThrow(TypeError);
  });

  it('detects a remote that cycles cursors and re-sends records', async () => {
    // c1 -> c2 -> c1 -> ... with the same two pages forever.
    const { peer } = await fake((r) =>
      r.body?.cursor === 'c2'
        ? [200, { items: [{ t: 160, v: 2 }], next: 'c1' }]
        : [200, { items: [{ t: 150, v: 1 }], next: 'c2' }],
    );
    let cursor: string | undefined;
    const error = await failure(
      (async () => {
        for (let i = 0; i < 10; i++)
          cursor = (await peer.readPoints('a', W, { limit: 5, cursor })).next ?? undefined;
      })(),
    );
    expect(error).toMatchObject({ code: 'PEER_BAD_REPLY' });
    expect(error.message).toMatch(/repeat or go backwards/);
  });

  it('detects a remote that returns empty pages with new cursors forever', async () => {
    let n = 0;
    const { peer } = await fake(() => [200, { items: [], next: `c${++n}` }]);
    let cursor: string | undefined;
    const error = await failure(
      (async () => {
        for (let i = 0; i < 100; i++)
          cursor = (await peer.readEvents(W, { limit: 5, cursor })).next ?? undefined;
      })(),
    );
    expect(error).toMatchObject({ code: 'PEER_BAD_REPLY' });
    expect(n).toBeLessThan(100);
  });

  it('rejects a reply over maxReplyBytes, declared or chunked', async () => {
    const big = { items: [{ t: 150, v: 'x'.repeat(5_000) }], next: null };
    const declared = await pool.listen(rawReply(200, JSON.stringify(big)));
    const chunked = await pool.listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"items":[{"t":150,"v":"');
      for (let i = 0; i < 10; i++) res.write('y'.repeat(1_000));
      res.end('"}],"next":null}');
    });
    for (const server of [declared, chunked]) {
      const peer = httpPeer({
        url: `${server.origin}/edge-ha/v1`,
        token: TOKEN,
        maxReplyBytes: 4_096,
      });
      const error = await failure(peer.readPoints('a', W, { limit: 5 }));
      expect(error).toMatchObject({ code: 'PEER_BAD_REPLY', transient: false });
      expect(error.message).toMatch(/maxReplyBytes/);
    }
  });
});

describe('httpPeer: HTTP and network failures', () => {
  const statuses: [number, string, boolean][] = [
    [500, 'PEER_UNAVAILABLE', true],
    [502, 'PEER_UNAVAILABLE', true],
    [503, 'PEER_UNAVAILABLE', true],
    [429, 'PEER_UNAVAILABLE', true],
    [401, 'PEER_AUTH', false],
    [403, 'PEER_AUTH', false],
    [400, 'PEER_BAD_REQUEST', false],
    [405, 'PEER_BAD_REQUEST', false],
    [413, 'PEER_BAD_REQUEST', false],
    [404, 'PEER_BAD_REQUEST', false],
  ];
  for (const [status, code, transient] of statuses) {
    it(`maps HTTP ${status} to ${code} (transient: ${transient})`, async () => {
      const { peer } = await fake(() => [
        status,
        { error: { code: 'X', message: 'remote says no' } },
      ]);
      const error = await failure(peer.readEvents(W, { limit: 5 }));
      expect(error).toMatchObject({ code, transient, status });
      expect(error.message).toContain('remote says no');
    });
  }

  it('maps a 404 coded PEER_UNKNOWN_ITEM to PEER_UNKNOWN_ITEM', async () => {
    const { peer } = await fake(() => [
      404,
      { error: { code: 'PEER_UNKNOWN_ITEM', message: 'no such item' } },
    ]);
    expect(await failure(peer.readPoints('a', W, { limit: 5 }))).toMatchObject({
      code: 'PEER_UNKNOWN_ITEM',
      transient: false,
    });
  });

  it('maps an error status with a non-JSON body by its status', async () => {
    const { peer } = await fake(() => [
      503,
      '<html>maintenance</html>',
      { 'content-type': 'text/html' },
    ]);
    expect(await failure(peer.hello())).toMatchObject({
      code: 'PEER_UNAVAILABLE',
      transient: true,
    });
  });

  it('maps a refused connection to PEER_UNREACHABLE (transient)', async () => {
    const server = await listen(rawReply(200, '{}'));
    await server.close();
    const peer = httpPeer({ url: `${server.origin}/edge-ha/v1`, token: TOKEN });
    const error = await failure(peer.hello());
    expect(error).toMatchObject({ code: 'PEER_UNREACHABLE', transient: true });
    expect(error.message).toContain(`${server.origin}/edge-ha/v1/hello`);
  });

  it('maps a connection dropped mid-reply to PEER_UNREACHABLE (transient)', async () => {
    const server = await pool.listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
      res.write('{"items":[');
      setTimeout(() => res.destroy(), 20);
    });
    const peer = httpPeer({ url: `${server.origin}/edge-ha/v1`, token: TOKEN });
    expect(await failure(peer.readEvents(W, { limit: 5 }))).toMatchObject({
      code: 'PEER_UNREACHABLE',
      transient: true,
    });
  });

  it('maps a remote that never answers to PEER_TIMEOUT (transient)', async () => {
    const server = await pool.listen(() => undefined);
    const peer = httpPeer({ url: `${server.origin}/edge-ha/v1`, token: TOKEN, timeoutMs: 150 });
    const error = await failure(peer.hello());
    expect(error).toMatchObject({ code: 'PEER_TIMEOUT', transient: true });
  });

  it('maps a reply body that stalls to PEER_TIMEOUT', async () => {
    const server = await pool.listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"items":[');
    });
    const peer = httpPeer({ url: `${server.origin}/edge-ha/v1`, token: TOKEN, timeoutMs: 150 });
    expect(await failure(peer.readEvents(W, { limit: 5 }))).toMatchObject({
      code: 'PEER_TIMEOUT',
      transient: true,
    });
  });

  it("maps the caller's abort to PEER_ABORTED, before and during the call", async () => {
    const server = await pool.listen(() => undefined);
    const peer = httpPeer({ url: `${server.origin}/edge-ha/v1`, token: TOKEN, timeoutMs: 10_000 });
    expect(await failure(peer.hello({ signal: AbortSignal.abort() }))).toMatchObject({
      code: 'PEER_ABORTED',
      transient: false,
    });
    const controller = new AbortController();
    const pending = peer.listItems({ signal: controller.signal });
    setTimeout(() => controller.abort(), 30);
    expect(await failure(pending)).toMatchObject({ code: 'PEER_ABORTED', transient: false });
  });

  it('maps a custom fetch that throws to PEER_UNREACHABLE', async () => {
    const peer = httpPeer({
      url: 'http://peer.invalid/edge-ha/v1',
      token: TOKEN,
      fetch: () => Promise.reject(new TypeError('fetch failed')),
    });
    expect(await failure(peer.hello())).toMatchObject({
      code: 'PEER_UNREACHABLE',
      transient: true,
    });
  });
});
