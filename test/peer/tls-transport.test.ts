/**
 * The node:https transport `httpPeer` uses with `tls` behaves like `fetch` where the client
 * relies on it: every scenario below runs with the global `fetch` over HTTP, with the transport
 * over HTTP, and with the transport over HTTPS, and must end the same way (same result or same
 * error code). Then what only the transport does: keep-alive reuse, a stale kept-alive
 * connection retried once, a large reply stopped at the cap without being downloaded.
 */

import {
  createServer as createHttpServer,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PeerError } from '../../src/errors.js';
import { httpPeer } from '../../src/peer/http-client.js';
import { classifyTlsError, createNodeTransport } from '../../src/peer/https-transport.js';
import { createTestPki, type TestPki } from '../support/tls.js';

const TOKEN = 'transport-token-0123';
const HELLO = { instanceId: 'remote', protocolVersion: 1, now: 1_700_000_000_000 };
const JSON_TYPE = { 'content-type': 'application/json' };

let pki: TestPki;
beforeAll(async () => {
  pki = await createTestPki();
});
afterAll(() => pki.cleanup());

type Listener = (req: IncomingMessage, res: ServerResponse) => void;
type Mode = 'fetch over http' | 'transport over http' | 'transport over https';

interface Running {
  readonly origin: string;
  /** TCP connections accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

const running: Running[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((server) => server.close()));
});

async function serve(secure: boolean, listener: Listener): Promise<Running> {
  const server = secure
    ? createHttpsServer({ cert: pki.server.cert, key: pki.server.key }, listener)
    : createHttpServer(listener);
  let connections = 0;
  server.on(secure ? 'secureConnection' : 'connection', () => {
    connections++;
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const handle: Running = {
    origin: `${secure ? 'https' : 'http'}://127.0.0.1:${port}`,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  running.push(handle);
  return handle;
}

function peerFor(
  mode: Mode,
  origin: string,
  extra: { timeoutMs?: number; maxReplyBytes?: number } = {},
) {
  const url = `${origin}/edge-ha/v1`;
  if (mode === 'fetch over http') return httpPeer({ url, token: TOKEN, ...extra });
  if (mode === 'transport over http') {
    return httpPeer({ url, token: TOKEN, fetch: createNodeTransport(), ...extra });
  }
  return httpPeer({ url, token: TOKEN, tls: { ca: pki.ca.cert }, ...extra });
}

async function failure(call: Promise<unknown>): Promise<PeerError> {
  const error = await call.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(PeerError);
  return error as PeerError;
}

const json =
  (status: number, body: unknown, headers: Record<string, string> = JSON_TYPE): Listener =>
  (req, res) => {
    req.resume();
    res.writeHead(status, headers);
    res.end(JSON.stringify(body));
  };

interface Scenario {
  readonly name: string;
  readonly listener: Listener;
  readonly code: string | null;
  readonly options?: { timeoutMs?: number; maxReplyBytes?: number };
}

const SCENARIOS: Scenario[] = [
  { name: 'a valid hello', listener: json(200, HELLO), code: null },
  {
    name: 'a hello sent in many small chunks',
    listener: (req, res) => {
      req.resume();
      res.writeHead(200, JSON_TYPE);
      const text = JSON.stringify(HELLO);
      for (const char of text) res.write(char);
      res.end();
    },
    code: null,
  },
  {
    name: '503',
    listener: json(503, { error: { code: 'PEER_UNAVAILABLE', message: 'x' } }),
    code: 'PEER_UNAVAILABLE',
  },
  {
    name: '401',
    listener: json(401, { error: { code: 'PEER_AUTH', message: 'x' } }),
    code: 'PEER_AUTH',
  },
  {
    name: 'a reply that is not JSON',
    listener: json(200, HELLO, { 'content-type': 'text/html' }),
    code: 'PEER_BAD_REPLY',
  },
  {
    name: 'a redirect (never followed)',
    listener: (req, res) => {
      req.resume();
      if (req.url === '/moved/hello') {
        res.writeHead(200, JSON_TYPE);
        res.end(JSON.stringify(HELLO));
        return;
      }
      res.writeHead(307, { location: '/moved/hello' });
      res.end();
    },
    code: 'PEER_BAD_REPLY',
  },
  {
    name: 'a declared content-length over maxReplyBytes',
    listener: (req, res) => {
      req.resume();
      res.writeHead(200, { ...JSON_TYPE, 'content-length': String(1024 * 1024) });
      res.write('{');
    },
    options: { maxReplyBytes: 1024 },
    code: 'PEER_BAD_REPLY',
  },
  {
    name: 'a chunked reply over maxReplyBytes',
    listener: (req, res) => {
      req.resume();
      res.writeHead(200, JSON_TYPE);
      res.write(`{"instanceId":"${'x'.repeat(4096)}`);
    },
    options: { maxReplyBytes: 1024 },
    code: 'PEER_BAD_REPLY',
  },
  {
    name: 'a remote that never answers',
    listener: (req) => req.resume(),
    options: { timeoutMs: 300 },
    code: 'PEER_TIMEOUT',
  },
  {
    name: 'a reply body that stalls',
    listener: (req, res) => {
      req.resume();
      res.writeHead(200, JSON_TYPE);
      res.write('{"instanceId":');
    },
    options: { timeoutMs: 300 },
    code: 'PEER_TIMEOUT',
  },
  {
    name: 'a connection dropped mid-reply',
    listener: (req, res) => {
      req.resume();
      res.writeHead(200, { ...JSON_TYPE, 'content-length': '500' });
      res.write('{"instanceId":', () => res.socket?.destroy());
    },
    code: 'PEER_UNREACHABLE',
  },
  {
    name: 'a connection dropped before any reply',
    listener: (req) => {
      req.resume();
      req.socket.destroy();
    },
    code: 'PEER_UNREACHABLE',
  },
];

const MODES: Mode[] = ['fetch over http', 'transport over http', 'transport over https'];

describe.each(MODES)('httpPeer %s', (mode) => {
  const secure = mode === 'transport over https';

  for (const scenario of SCENARIOS) {
    it(`${scenario.name}: ${scenario.code ?? 'answers'}`, async () => {
      const server = await serve(secure, scenario.listener);
      const peer = peerFor(mode, server.origin, scenario.options);
      if (scenario.code === null) {
        await expect(peer.hello()).resolves.toEqual(HELLO);
      } else {
        expect((await failure(peer.hello())).code).toBe(scenario.code);
      }
    });
  }

  it("the caller's abort during the call: PEER_ABORTED", async () => {
    const server = await serve(secure, (req) => req.resume());
    const controller = new AbortController();
    const call = peerFor(mode, server.origin).hello({ signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    expect((await failure(call)).code).toBe('PEER_ABORTED');
  });

  it('a refused connection: PEER_UNREACHABLE', async () => {
    const server = await serve(secure, json(200, HELLO));
    const { origin } = server;
    await server.close();
    const error = await failure(peerFor(mode, origin).hello());
    expect(error).toMatchObject({ code: 'PEER_UNREACHABLE', transient: true });
    expect(error.message).toContain('ECONNREFUSED');
  });

  it('sends the token and the JSON body, and keeps one connection for consecutive calls', async () => {
    const seen: { method: string; url: string; auth: string; type: string; body: string }[] = [];
    const server = await serve(secure, (req, res) => {
      let body = '';
      req.setEncoding('utf8').on('data', (chunk: string) => {
        body += chunk;
      });
      req.on('end', () => {
        seen.push({
          method: req.method ?? '',
          url: req.url ?? '',
          auth: req.headers.authorization ?? '',
          type: req.headers['content-type'] ?? '',
          body,
        });
        res.writeHead(200, JSON_TYPE);
        res.end(
          req.url?.endsWith('/hello')
            ? JSON.stringify(HELLO)
            : JSON.stringify({ items: [], next: null }),
        );
      });
    });
    const peer = peerFor(mode, server.origin);
    await peer.hello();
    await peer.readEvents({ from: 0, to: 10 }, { limit: 5 });
    await peer.hello();
    expect(seen.map((request) => `${request.method} ${request.url}`)).toEqual([
      'GET /edge-ha/v1/hello',
      'POST /edge-ha/v1/events',
      'GET /edge-ha/v1/hello',
    ]);
    expect(seen.every((request) => request.auth === `Bearer ${TOKEN}`)).toBe(true);
    expect(seen[1]).toMatchObject({
      type: 'application/json',
      body: JSON.stringify({ window: { from: 0, to: 10 }, limit: 5 }),
    });
    // The transport's keep-alive agent reuses its connection (undici's pool may open another).
    if (mode !== 'fetch over http') expect(server.connections()).toBe(1);
  });
});

describe('the node transport', () => {
  it('stops reading a large reply at the cap: the rest is never sent', async () => {
    const total = 64 * 1024 * 1024;
    let written = 0;
    let closedEarly: Promise<boolean> = Promise.resolve(false);
    const server = await serve(true, (req, res) => {
      req.resume();
      res.writeHead(200, JSON_TYPE);
      closedEarly = new Promise((resolve) => {
        res.on('close', () => resolve(written < total));
      });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const pump = (): void => {
        while (written < total) {
          written += chunk.byteLength;
          if (!res.write(chunk)) {
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      pump();
    });
    const peer = httpPeer({
      url: `${server.origin}/edge-ha/v1`,
      token: TOKEN,
      tls: { ca: pki.ca.cert },
      maxReplyBytes: 256 * 1024,
    });
    const error = await failure(peer.hello());
    expect(error.code).toBe('PEER_BAD_REPLY');
    expect(error.message).toContain('maxReplyBytes');
    expect(await closedEarly).toBe(true);
  });

  it('resends once, on a new connection, a request whose kept-alive connection the server dropped', async () => {
    const sockets = new Set<Socket>();
    let requests = 0;
    const server = await serve(true, (req, res) => {
      requests++;
      req.resume();
      if (sockets.has(req.socket)) {
        // The server closes the idle connection at the moment the client reuses it.
        req.socket.destroy();
        return;
      }
      sockets.add(req.socket);
      res.writeHead(200, JSON_TYPE);
      res.end(JSON.stringify(HELLO));
    });
    const peer = httpPeer({
      url: `${server.origin}/edge-ha/v1`,
      token: TOKEN,
      tls: { ca: pki.ca.cert },
    });
    await expect(peer.hello()).resolves.toEqual(HELLO);
    await expect(peer.hello()).resolves.toEqual(HELLO);
    expect(requests).toBe(3);
    expect(server.connections()).toBe(2);
  });

  it('gives a reply with no body (204) as a null body, and rejects a body it cannot send', async () => {
    const server = await serve(false, (req, res) => {
      req.resume();
      res.writeHead(204);
      res.end();
    });
    const transport = createNodeTransport();
    const response = await transport(`${server.origin}/x`, { method: 'GET' });
    expect(response.status).toBe(204);
    expect(response.body).toBeNull();
    await expect(
      transport(`${server.origin}/x`, { method: 'POST', body: new Blob(['x']) }),
    ).rejects.toThrow(/string or byte bodies/);
  });
});

describe('classifyTlsError', () => {
  it('tells certificate, client-certificate, plaintext and other handshake failures from network trouble', () => {
    const cases: [string, string, ReturnType<typeof classifyTlsError>][] = [
      ['SELF_SIGNED_CERT_IN_CHAIN', 'self-signed certificate in certificate chain', 'untrusted'],
      ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'unable to verify the first certificate', 'untrusted'],
      ['CERT_HAS_EXPIRED', 'certificate has expired', 'untrusted'],
      [
        'ERR_TLS_CERT_ALTNAME_INVALID',
        "Hostname/IP does not match certificate's altnames",
        'untrusted',
      ],
      [
        'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
        'SSL routines:…:tlsv13 alert certificate required',
        'refused',
      ],
      [
        'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE',
        'SSL routines:…:sslv3 alert bad certificate',
        'refused',
      ],
      ['ERR_SSL_WRONG_VERSION_NUMBER', 'SSL routines:…:wrong version number', 'plaintext'],
      ['EPROTO', 'write EPROTO …:SSL routines:ssl3_get_record:wrong version number', 'plaintext'],
      [
        'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION',
        'SSL routines:…:tlsv1 alert protocol version',
        'handshake',
      ],
      ['ECONNRESET', 'socket hang up', undefined],
      ['ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:1', undefined],
      ['ERR_TLS_HANDSHAKE_TIMEOUT', 'TLS handshake timeout', undefined],
      ['EPROTO', 'some other protocol error', undefined],
    ];
    for (const [code, message, expected] of cases) {
      expect(classifyTlsError(code, message), code).toBe(expected);
    }
    expect(classifyTlsError(undefined, 'no code')).toBeUndefined();
  });
});
