/**
 * httpPeer ↔ createPeerHandler over HTTPS (node:https + toNodeListener), with certificates made
 * at test time: trusted with the CA, `PEER_TLS` without it, with the wrong CA, with a name the
 * certificate does not carry, or against a plain HTTP port; mutual TLS accepts a client
 * certificate signed by the server's CA and refuses the handshake without one (the handler is
 * never reached); a governor back-fills over mutual TLS; bad `tls` options are
 * `PEER_INVALID_OPTION`.
 */

import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer, type ServerOptions } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PeerError } from '../../src/errors.js';
import { HAGovernor } from '../../src/governor/governor.js';
import { httpPeer } from '../../src/peer/http-client.js';
import { createPeerHandler } from '../../src/peer/http-handler.js';
import { toNodeListener } from '../../src/peer/node-listener.js';
import { MemoryStorageAdapter } from '../../src/storage/memory.js';
import type { Point } from '../../src/storage/types.js';
import { createTestPki, type TestPki } from '../support/tls.js';

const run = promisify(execFile);
const TOKEN = 'tls-read-token-0123';
const WRITE_TOKEN = 'tls-write-token-4567';
const NOW = Date.now();
const POINTS: Point[] = Array.from({ length: 1_200 }, (_, i) => ({
  t: NOW - 600_000 + i * 100,
  v: i,
}));

let pki: TestPki;
beforeAll(async () => {
  pki = await createTestPki();
});
afterAll(() => pki.cleanup());

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

interface Remote {
  readonly url: string;
  readonly storage: MemoryStorageAdapter;
  /** Requests that reached the peer handler. */
  requests(): number;
  /** Handshakes the server refused, with their error codes. */
  readonly refused: string[];
}

/** A peer handler on node:https (or node:http with `tls: null`) on 127.0.0.1. */
async function remote(tls: ServerOptions | null): Promise<Remote> {
  const storage = new MemoryStorageAdapter({
    points: { 'plant/temp': POINTS },
    events: [{ id: 'alarm-1', t: NOW - 1_000, body: { high: true } }],
  });
  const listener = toNodeListener(
    createPeerHandler({ storage, token: TOKEN, writeToken: WRITE_TOKEN, instanceId: 'remote' }),
  );
  let requests = 0;
  const counted: typeof listener = (req, res) => {
    requests++;
    listener(req, res);
  };
  const server = tls === null ? createHttpServer(counted) : createHttpsServer(tls, counted);
  const refused: string[] = [];
  server.on('tlsClientError', (error: Error & { code?: string }, socket: TLSSocket) => {
    refused.push(socket.authorizationError?.toString() ?? error.code ?? error.message);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  closers.push(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await storage.close();
  });
  return {
    url: `${tls === null ? 'http' : 'https'}://127.0.0.1:${port}/edge-ha/v1`,
    storage,
    requests: () => requests,
    refused,
  };
}

const serverTls = (): ServerOptions => ({ cert: pki.server.cert, key: pki.server.key });
const mutualTls = (): ServerOptions => ({
  ...serverTls(),
  ca: pki.ca.cert,
  requestCert: true,
  rejectUnauthorized: true,
});

async function failure(call: Promise<unknown>): Promise<PeerError> {
  const error = await call.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(PeerError);
  return error as PeerError;
}

describe('httpPeer over HTTPS', () => {
  it('reads (paged) and writes with the CA as tls.ca', async () => {
    const node = await remote(serverTls());
    const reader = httpPeer({ url: node.url, token: TOKEN, tls: { ca: pki.ca.cert } });
    await expect(reader.hello()).resolves.toMatchObject({ instanceId: 'remote' });
    await expect(reader.listItems()).resolves.toEqual(['plant/temp']);
    const read: Point[] = [];
    let cursor: string | undefined;
    for (let pages = 0; pages < 100; pages++) {
      const page = await reader.readPoints(
        'plant/temp',
        { from: 0, to: NOW },
        { limit: 100, ...(cursor === undefined ? {} : { cursor }) },
      );
      read.push(...page.items);
      if (page.next === null) break;
      cursor = page.next;
    }
    expect(read).toEqual(POINTS);

    const writer = httpPeer({
      url: node.url,
      token: WRITE_TOKEN,
      tls: { ca: Buffer.from(pki.ca.cert) },
    });
    await writer.writePoints('plant/flow', [{ t: NOW, v: 7 }]);
    await expect(writer.writeEvents([{ id: 'e-2', t: NOW, body: null }])).resolves.toBe(1);
    const flow = await node.storage.readPoints(
      'plant/flow',
      { from: 0, to: NOW + 1 },
      { limit: 10 },
    );
    expect(flow.items).toEqual([{ t: NOW, v: 7 }]);
  });

  it('without tls (global fetch, public CAs) the self-made certificate is PEER_TLS, permanent', async () => {
    const node = await remote(serverTls());
    const error = await failure(httpPeer({ url: node.url, token: TOKEN }).hello());
    expect(error).toMatchObject({ code: 'PEER_TLS', transient: false });
    expect(error.message).toMatch(/not trusted .*tls\.ca.*--peer-ca/);
    expect(node.requests()).toBe(0);
  });

  it('with the wrong CA, or against a self-signed certificate, is PEER_TLS', async () => {
    const node = await remote(serverTls());
    const wrongCa = httpPeer({ url: node.url, token: TOKEN, tls: { ca: pki.otherCa.cert } });
    expect(await failure(wrongCa.hello())).toMatchObject({ code: 'PEER_TLS', transient: false });

    const selfSigned = await remote({ cert: pki.untrusted.cert, key: pki.untrusted.key });
    const peer = httpPeer({ url: selfSigned.url, token: TOKEN, tls: { ca: pki.ca.cert } });
    expect((await failure(peer.hello())).code).toBe('PEER_TLS');
    expect(node.requests() + selfSigned.requests()).toBe(0);
  });

  it('checks the certificate against tls.servername instead of the URL host', async () => {
    const node = await remote(serverTls());
    const wrongName = httpPeer({
      url: node.url,
      token: TOKEN,
      tls: { ca: pki.ca.cert, servername: 'historian.example.com' },
    });
    const error = await failure(wrongName.hello());
    expect(error.code).toBe('PEER_TLS');
    expect(error.message).toContain('ERR_TLS_CERT_ALTNAME_INVALID');
    const named = httpPeer({
      url: node.url,
      token: TOKEN,
      tls: { ca: pki.ca.cert, servername: 'localhost' },
    });
    await expect(named.hello()).resolves.toMatchObject({ instanceId: 'remote' });
  });

  it('an https: URL to a plain HTTP port is PEER_TLS', async () => {
    const plain = await remote(null);
    const url = plain.url.replace('http:', 'https:');
    const error = await failure(httpPeer({ url, token: TOKEN, tls: { ca: pki.ca.cert } }).hello());
    expect(error.code).toBe('PEER_TLS');
    expect(error.message).toMatch(/does not speak TLS on that port/);
  });

  it('presents a client certificate whose key is encrypted, with tls.passphrase', async () => {
    const encrypted = join(pki.dir, 'client-encrypted.key');
    await run('openssl', [
      'pkey',
      '-in',
      pki.client.keyFile,
      '-aes256',
      '-passout',
      'pass:s3cret-phrase',
      '-out',
      encrypted,
    ]);
    const key = await readFile(encrypted, 'utf8');
    expect(key).toContain('ENCRYPTED');
    const node = await remote(mutualTls());
    const peer = httpPeer({
      url: node.url,
      token: TOKEN,
      tls: { ca: pki.ca.cert, cert: pki.client.cert, key, passphrase: 's3cret-phrase' },
    });
    await expect(peer.hello()).resolves.toMatchObject({ instanceId: 'remote' });
    expect(() =>
      httpPeer({
        url: node.url,
        token: TOKEN,
        tls: { ca: pki.ca.cert, cert: pki.client.cert, key, passphrase: 'wrong' },
      }),
    ).toThrow(/passphrase is wrong/);
  });

  it('rejectUnauthorized: false accepts an unverified certificate (tests only)', async () => {
    const node = await remote({ cert: pki.untrusted.cert, key: pki.untrusted.key });
    const peer = httpPeer({ url: node.url, token: TOKEN, tls: { rejectUnauthorized: false } });
    await expect(peer.hello()).resolves.toMatchObject({ instanceId: 'remote' });
  });
});

describe('httpPeer over mutual TLS', () => {
  it('is served with a client certificate signed by the server CA', async () => {
    const node = await remote(mutualTls());
    const peer = httpPeer({
      url: node.url,
      token: TOKEN,
      tls: { ca: pki.ca.cert, cert: pki.client.cert, key: pki.client.key },
    });
    await expect(peer.hello()).resolves.toMatchObject({ instanceId: 'remote' });
    expect(node.refused).toEqual([]);
  });

  it('is refused at the handshake without a client certificate, or with one of another CA', async () => {
    const node = await remote(mutualTls());
    const anonymous = httpPeer({ url: node.url, token: TOKEN, tls: { ca: pki.ca.cert } });
    const error = await failure(anonymous.hello());
    expect(error).toMatchObject({ code: 'PEER_TLS', transient: false });
    expect(error.message).toMatch(
      /refused the TLS handshake \(ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED\).*tls\.cert and tls\.key/,
    );

    const stranger = httpPeer({
      url: node.url,
      token: TOKEN,
      tls: { ca: pki.ca.cert, cert: pki.otherClient.cert, key: pki.otherClient.key },
    });
    // Node's server closes the connection right after the handshake, without a TLS alert: to
    // the client that is a reset connection (transient), the server knows why.
    expect(await failure(stranger.hello())).toMatchObject({ code: 'PEER_UNREACHABLE' });
    // Neither got as far as the handler: the token was never even looked at.
    expect(node.requests()).toBe(0);
    expect(node.refused).toHaveLength(2);
    expect(node.refused[1]).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });

  it('a governor back-fills over mutual TLS', async () => {
    const node = await remote(mutualTls());
    const local = new MemoryStorageAdapter();
    await local.registerItems(['plant/temp']);
    const governor = new HAGovernor({
      storage: local,
      peers: [
        httpPeer({
          url: node.url,
          token: TOKEN,
          tls: { ca: pki.ca.cert, cert: pki.client.cert, key: pki.client.key },
        }),
      ],
      firstStartLookbackMs: 3_600_000,
      pageSize: 250,
    });
    closers.push(async () => {
      await governor.close();
      await local.close();
    });
    const result = await governor.start();
    expect(result.timeSeries?.state).toBe('finished_ok');
    expect(result.events?.state).toBe('finished_ok');
    expect(governor.status().caughtUp).toBe(true);
    const page = await local.readPoints('plant/temp', { from: 0, to: NOW + 1 }, { limit: 5_000 });
    expect(page.items).toEqual(POINTS);
    const events = await local.readEvents({ from: 0, to: NOW + 1 }, { limit: 10 });
    expect(events.items.map((e) => e.id)).toEqual(['alarm-1']);
  });
});

describe('httpPeer tls options', () => {
  const url = 'https://127.0.0.1:7070/edge-ha/v1';
  const cases: [string, () => unknown, RegExp][] = [
    [
      'tls with an http: URL',
      () => httpPeer({ url: 'http://127.0.0.1:7070', token: TOKEN, tls: { ca: pki.ca.cert } }),
      /tls needs an https: URL/,
    ],
    [
      'tls together with fetch',
      () => httpPeer({ url, token: TOKEN, tls: { ca: pki.ca.cert }, fetch: globalThis.fetch }),
      /either fetch or tls/,
    ],
    [
      'a cert without its key',
      () => httpPeer({ url, token: TOKEN, tls: { cert: pki.client.cert } }),
      /cert and key go together/,
    ],
    [
      'a CA that is not PEM',
      () => httpPeer({ url, token: TOKEN, tls: { ca: 'not a certificate' } }),
      /holds no PEM certificate/,
    ],
    [
      'a key that belongs to another certificate',
      () => httpPeer({ url, token: TOKEN, tls: { cert: pki.client.cert, key: pki.server.key } }),
      /key does not belong to cert/,
    ],
    [
      'an empty servername',
      () => httpPeer({ url, token: TOKEN, tls: { servername: '' } }),
      /servername/,
    ],
  ];
  for (const [name, create, message] of cases) {
    it(`rejects ${name} with PEER_INVALID_OPTION`, () => {
      let caught: unknown;
      try {
        create();
      } catch (error) {
        caught = error;
      }
      expect(caught).toMatchObject({ code: 'PEER_INVALID_OPTION' });
      expect((caught as Error).message).toMatch(message);
    });
  }
});
