/**
 * Hostile clients against the peer handler over real HTTP (createPeerHandler + toNodeListener on
 * 127.0.0.1): missing or wrong tokens, oversized and malformed requests, path tricks, wrong
 * methods, garbage on the socket. Each gets a clear 4xx, no internals (no stack, no file path)
 * in the body, and the server keeps serving honest clients afterwards.
 */

import { createServer, request as httpRequest, type Server } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPeerHandler } from '../../src/peer/http-handler.js';
import { toNodeListener } from '../../src/peer/node-listener.js';
import { MemoryStorageAdapter } from '../../src/storage/memory.js';

const TOKEN = 'correct-horse-battery-staple';
const BASE = '/edge-ha/v1';
const MAX_BODY = 4096;

let server: Server;
let port: number;
const logged: { status: number; code: string }[] = [];

beforeAll(async () => {
  const storage = new MemoryStorageAdapter({
    points: { temp: [{ t: 1, v: 20 }] },
    events: [{ id: 'e1', t: 1, body: 'x' }],
  });
  const handler = createPeerHandler({
    storage,
    token: TOKEN,
    instanceId: 'target',
    limits: { maxBodyBytes: MAX_BODY },
    log: (entry) => logged.push({ status: entry.status, code: entry.code }),
  });
  server = createServer(toNodeListener(handler));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

interface RawReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Sends a request with the path exactly as given (no URL normalisation on the client side). */
function send(options: {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  chunks?: number;
}): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: options.method ?? 'GET',
        path: options.path,
        headers: options.headers ?? {},
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (options.chunks !== undefined) {
      // A streamed body without content-length.
      const piece = Buffer.alloc(1024, 'a');
      for (let i = 0; i < options.chunks; i++) {
        if (!req.write(piece)) break;
      }
      req.end();
    } else {
      req.end(options.body);
    }
  });
}

/** Writes raw bytes on a socket and returns what comes back before the server closes it. */
function rawSocket(bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(bytes));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
    socket.on('error', reject);
  });
}

const auth = { authorization: `Bearer ${TOKEN}` };
const jsonAuth = { ...auth, 'content-type': 'application/json' };

/** No stack trace, no file path, no storage internals in what a client sees. */
function expectNoInternals(text: string): void {
  expect(text).not.toMatch(/\n\s+at /);
  expect(text).not.toMatch(/\/(work|home|usr|tmp|node_modules|src)\//);
  expect(text).not.toMatch(/\.(ts|js|mjs):\d+/);
  expect(text).not.toMatch(/file:\/\//);
  expect(text).not.toContain(TOKEN);
}

function expectClientError(reply: RawReply, status: number, code?: string): void {
  expect(reply.status).toBe(status);
  expectNoInternals(reply.body);
  if (code !== undefined) {
    expect(String(reply.headers['content-type'])).toMatch(/^application\/json/);
    const body = JSON.parse(reply.body) as { error: { code: string; message: string } };
    expect(body.error.code).toBe(code);
    expect(body.error.message.length).toBeGreaterThan(10);
  }
}

async function expectStillServing(): Promise<void> {
  const hello = await send({ path: `${BASE}/hello`, headers: auth });
  expect(hello.status).toBe(200);
  expect(JSON.parse(hello.body)).toMatchObject({ instanceId: 'target', protocolVersion: 1 });
  const points = await send({
    method: 'POST',
    path: `${BASE}/points`,
    headers: jsonAuth,
    body: JSON.stringify({ item: 'temp', window: { from: 0, to: 10 }, limit: 10 }),
  });
  expect(points.status).toBe(200);
  expect(JSON.parse(points.body)).toEqual({ items: [{ t: 1, v: 20 }], next: null });
}

const points = (body: unknown) => JSON.stringify(body);

interface ClientCase {
  readonly name: string;
  readonly request: Parameters<typeof send>[0];
  readonly status: number;
  readonly code?: string;
}

const CASES: ClientCase[] = [
  // authentication
  {
    name: 'no authorization header',
    request: { path: `${BASE}/hello` },
    status: 401,
    code: 'PEER_AUTH',
  },
  {
    name: 'a wrong token of the same length',
    request: {
      path: `${BASE}/hello`,
      headers: { authorization: `Bearer ${'x'.repeat(TOKEN.length)}` },
    },
    status: 401,
    code: 'PEER_AUTH',
  },
  {
    name: 'a prefix of the token',
    request: { path: `${BASE}/items`, headers: { authorization: `Bearer ${TOKEN.slice(0, 5)}` } },
    status: 401,
    code: 'PEER_AUTH',
  },
  {
    name: 'the token plus a suffix',
    request: { path: `${BASE}/items`, headers: { authorization: `Bearer ${TOKEN}x` } },
    status: 401,
    code: 'PEER_AUTH',
  },
  {
    name: 'the token with the Basic scheme',
    request: { path: `${BASE}/hello`, headers: { authorization: `Basic ${TOKEN}` } },
    status: 401,
    code: 'PEER_AUTH',
  },
  {
    name: 'an empty bearer token',
    request: { path: `${BASE}/hello`, headers: { authorization: 'Bearer ' } },
    status: 401,
    code: 'PEER_AUTH',
  },
  {
    name: 'a huge token',
    request: { path: `${BASE}/hello`, headers: { authorization: `Bearer ${'t'.repeat(8000)}` } },
    status: 401,
    code: 'PEER_AUTH',
  },
  {
    name: 'a data route without a token',
    request: {
      method: 'POST',
      path: `${BASE}/points`,
      headers: { 'content-type': 'application/json' },
      body: points({ item: 'temp', window: { from: 0, to: 10 }, limit: 10 }),
    },
    status: 401,
    code: 'PEER_AUTH',
  },
  // bodies
  {
    name: 'a declared body over the limit',
    request: {
      method: 'POST',
      path: `${BASE}/points`,
      headers: jsonAuth,
      body: 'x'.repeat(MAX_BODY + 1),
    },
    status: 413,
    code: 'PEER_PAYLOAD_TOO_LARGE',
  },
  {
    name: 'a streamed body over the limit (no content-length)',
    request: { method: 'POST', path: `${BASE}/events`, headers: jsonAuth, chunks: 64 },
    status: 413,
    code: 'PEER_PAYLOAD_TOO_LARGE',
  },
  {
    name: 'malformed JSON',
    request: { method: 'POST', path: `${BASE}/points`, headers: jsonAuth, body: '{"item":' },
    status: 400,
    code: 'PEER_BAD_REQUEST',
  },
  {
    name: 'a body that is not UTF-8',
    request: {
      method: 'POST',
      path: `${BASE}/points`,
      headers: jsonAuth,
      body: Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x7d]),
    },
    status: 400,
    code: 'PEER_BAD_REQUEST',
  },
  {
    name: 'the wrong content-type',
    request: {
      method: 'POST',
      path: `${BASE}/points`,
      headers: { ...auth, 'content-type': 'text/plain' },
      body: points({ item: 'temp', window: { from: 0, to: 10 }, limit: 10 }),
    },
    status: 415,
    code: 'PEER_UNSUPPORTED_MEDIA_TYPE',
  },
  {
    name: 'unknown fields',
    request: {
      method: 'POST',
      path: `${BASE}/points`,
      headers: jsonAuth,
      body: points({ item: 'temp', window: { from: 0, to: 10 }, limit: 10, sql: 'DROP TABLE' }),
    },
    status: 400,
    code: 'PEER_BAD_REQUEST',
  },
  {
    name: 'a __proto__ field',
    request: {
      method: 'POST',
      path: `${BASE}/events`,
      headers: jsonAuth,
      body: '{"window":{"from":0,"to":10},"limit":10,"__proto__":{"polluted":true}}',
    },
    status: 400,
    code: 'PEER_BAD_REQUEST',
  },
  {
    name: 'a zero page limit',
    request: {
      method: 'POST',
      path: `${BASE}/events`,
      headers: jsonAuth,
      body: points({ window: { from: 0, to: 10 }, limit: 0 }),
    },
    status: 400,
    code: 'PEER_BAD_REQUEST',
  },
  {
    name: 'a fractional page limit',
    request: {
      method: 'POST',
      path: `${BASE}/events`,
      headers: jsonAuth,
      body: points({ window: { from: 0, to: 10 }, limit: 2.5 }),
    },
    status: 400,
    code: 'PEER_BAD_REQUEST',
  },
  {
    name: 'an inverted window',
    request: {
      method: 'POST',
      path: `${BASE}/points`,
      headers: jsonAuth,
      body: points({ item: 'temp', window: { from: 10, to: 0 }, limit: 10 }),
    },
    status: 400,
    code: 'PEER_BAD_REQUEST',
  },
  {
    name: 'an unsafe-integer window bound',
    request: {
      method: 'POST',
      path: `${BASE}/points`,
      headers: jsonAuth,
      body: '{"item":"temp","window":{"from":0,"to":1e300},"limit":10}',
    },
    status: 400,
    code: 'PEER_BAD_REQUEST',
  },
  {
    name: 'an overlong item id',
    request: {
      method: 'POST',
      path: `${BASE}/points`,
      headers: jsonAuth,
      body: points({ item: 'i'.repeat(2000), window: { from: 0, to: 10 }, limit: 10 }),
    },
    status: 400,
    code: 'PEER_BAD_REQUEST',
  },
  {
    name: 'a forged cursor',
    request: {
      method: 'POST',
      path: `${BASE}/points`,
      headers: jsonAuth,
      body: points({
        item: 'temp',
        window: { from: 0, to: 10 },
        limit: 10,
        cursor: '../../etc/passwd',
      }),
    },
    status: 400,
    code: 'PEER_BAD_REQUEST',
  },
  {
    name: 'an unknown item',
    request: {
      method: 'POST',
      path: `${BASE}/points`,
      headers: jsonAuth,
      body: points({ item: 'nope', window: { from: 0, to: 10 }, limit: 10 }),
    },
    status: 404,
    code: 'PEER_UNKNOWN_ITEM',
  },
  // paths
  {
    name: 'an unknown route',
    request: { path: `${BASE}/admin`, headers: auth },
    status: 404,
    code: 'PEER_NOT_FOUND',
  },
  {
    name: 'a path outside the base',
    request: { path: '/etc/passwd', headers: auth },
    status: 404,
    code: 'PEER_NOT_FOUND',
  },
  {
    name: 'dot-dot out of the base',
    request: { path: `${BASE}/../../../etc/passwd`, headers: auth },
    status: 404,
    code: 'PEER_NOT_FOUND',
  },
  {
    name: 'encoded dot-dot',
    request: { path: `${BASE}/%2e%2e/%2e%2e/secret`, headers: auth },
    status: 404,
    code: 'PEER_NOT_FOUND',
  },
  {
    name: 'an encoded slash',
    request: { path: '/edge-ha%2Fv1%2Fhello', headers: auth },
    status: 404,
    code: 'PEER_NOT_FOUND',
  },
  {
    name: 'double slashes',
    request: { path: '//edge-ha//v1//hello', headers: auth },
    status: 404,
    code: 'PEER_NOT_FOUND',
  },
  {
    name: 'a NUL byte in the path',
    request: { path: `${BASE}/hello%00.json`, headers: auth },
    status: 404,
    code: 'PEER_NOT_FOUND',
  },
  {
    name: 'a route without a token, behind dot-dot',
    request: { path: `${BASE}/x/../items` },
    status: 401,
    code: 'PEER_AUTH',
  },
  {
    name: 'a huge query string',
    request: { path: `${BASE}/nothing?q=${'a'.repeat(60_000)}`, headers: auth },
    status: 431,
  },
  // methods
  {
    name: 'DELETE',
    request: { method: 'DELETE', path: `${BASE}/hello`, headers: auth },
    status: 405,
    code: 'PEER_METHOD_NOT_ALLOWED',
  },
  {
    name: 'PUT',
    request: { method: 'PUT', path: `${BASE}/points`, headers: jsonAuth, body: '{}' },
    status: 405,
    code: 'PEER_METHOD_NOT_ALLOWED',
  },
  {
    name: 'GET on a POST route',
    request: { path: `${BASE}/events`, headers: auth },
    status: 405,
    code: 'PEER_METHOD_NOT_ALLOWED',
  },
  {
    name: 'POST on a GET route',
    request: { method: 'POST', path: `${BASE}/items`, headers: jsonAuth, body: '{}' },
    status: 405,
    code: 'PEER_METHOD_NOT_ALLOWED',
  },
  {
    name: 'OPTIONS',
    request: { method: 'OPTIONS', path: `${BASE}/hello`, headers: auth },
    status: 405,
    code: 'PEER_METHOD_NOT_ALLOWED',
  },
  {
    name: 'TRACE',
    request: { method: 'TRACE', path: `${BASE}/hello`, headers: auth },
    status: 400,
    code: 'PEER_BAD_REQUEST',
  },
];

describe('hostile clients against the peer handler over real HTTP', () => {
  it.each(CASES)('$name → $status, no internals, server keeps serving', async (c) => {
    const reply = await send(c.request);
    expectClientError(reply, c.status, c.code);
    if (c.status === 401) expect(reply.headers['www-authenticate']).toMatch(/^Bearer/);
    if (c.status === 405) expect(reply.headers.allow).toMatch(/^(GET|POST)$/);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    await expectStillServing();
  });

  it('garbage on the socket gets a 400 and does not take the server down', async () => {
    for (const garbage of [
      'GARBAGE\r\n\r\n',
      'GET /edge-ha/v1/hello HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n',
      'GET /edge-ha/v1/hello HTTP/1.1\r\nHost: x\r\nbad header\r\n\r\n',
      `POST /edge-ha/v1/points HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nzz\r\n`,
    ]) {
      const reply = await rawSocket(garbage);
      expect(reply).toMatch(/^HTTP\/1\.1 400/);
      expectNoInternals(reply);
    }
    await expectStillServing();
  });

  it('a client that aborts in the middle of its body does not disturb the server', async () => {
    await new Promise<void>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.write(
          `POST ${BASE}/points HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"item":`,
        );
        setTimeout(() => {
          socket.destroy();
          resolve();
        }, 20);
      });
      socket.on('error', () => undefined);
    });
    await expectStillServing();
  });

  it('server-side failures are logged for the operator, never shown to the client', () => {
    // Every error reply above went through the log hook with its status and code.
    expect(logged.length).toBeGreaterThan(20);
    expect(logged.every((entry) => entry.status >= 400 && entry.status < 500)).toBe(true);
  });
});
