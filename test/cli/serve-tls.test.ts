/**
 * `edge-ha serve` over TLS, as real child processes: the certificates are made by running the
 * `openssl` blocks of docs/operations.md ("TLS") as they are written (for node-a, and for node-b
 * by changing only `NODE=`). One node serves HTTPS, another mutual TLS; they are synced from with
 * `httpPeer`, with `edge-ha sync --peer-ca`, and by a second `edge-ha serve` started with the
 * documented mutual-TLS command line. Misconfigurations exit with their codes before serving.
 */

import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PeerError } from '../../src/errors.js';
import { httpPeer } from '../../src/peer/http-client.js';
import { openSqliteStorage } from '../../src/sqlite/adapter.js';
import type { Point } from '../../src/storage/types.js';
import { type CliProcess, spawnCli, startCli, tempDir } from './helpers.js';

const run = promisify(execFile);
const TOKEN = 'serve-tls-test-token';
const ENV = { EDGE_HA_TOKEN: TOKEN };
const DOCS = new URL('../../docs/operations.md', import.meta.url);
const CERT_MARKER = '<!-- test/cli/serve-tls.test.ts runs this block and the next one';
const SERVE_MARKER = '<!-- test/cli/serve-tls.test.ts runs this command';
const ITEM = 'plant/boiler/temperature';
const NOW = Date.now();
const POINTS: Point[] = Array.from({ length: 900 }, (_, i) => ({
  t: NOW - 900_000 + i * 1_000,
  v: i / 4,
}));

/** The `n` fenced sh blocks after `marker` in the docs. */
function shellBlocks(text: string, marker: string, n: number): string[] {
  const at = text.indexOf(marker);
  expect(at, `docs/operations.md lost the marker ${marker}`).toBeGreaterThan(-1);
  const blocks = [...text.slice(at).matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] as string);
  expect(blocks.length).toBeGreaterThanOrEqual(n);
  return blocks.slice(0, n);
}

let tmp: Awaited<ReturnType<typeof tempDir>>;
let documentedServe: string[];
const children: CliProcess[] = [];
const file = (name: string): string => join(tmp.dir, name);

/** A SQLite file with the test's points and one event. */
async function seeded(name: string): Promise<string> {
  const storage = openSqliteStorage(file(name));
  await storage.appendPoints(ITEM, POINTS);
  await storage.insertEventsIfAbsent([{ id: 'alarm-1', t: NOW - 60_000, body: { high: true } }]);
  await storage.close();
  return file(name);
}

async function pointsOf(path: string): Promise<readonly Point[]> {
  const storage = openSqliteStorage(path);
  try {
    const page = await storage.readPoints(ITEM, { from: 0, to: NOW + 1 }, { limit: 10_000 });
    return page.items;
  } finally {
    await storage.close();
  }
}

/** Starts `edge-ha serve` and resolves with its peer URL once it runs. */
async function serve(argv: readonly string[]): Promise<{ child: CliProcess; url: string }> {
  const child = startCli(['serve', ...argv], { env: ENV, timeoutMs: 60_000 });
  children.push(child);
  const [, url] = await child.waitFor(/serving .* at (https:\/\/127\.0\.0\.1:\d+\/edge-ha\/v1)/);
  await child.waitFor(/running; heartbeats/);
  return { child, url: url as string };
}

let httpsNode: { child: CliProcess; url: string };
let mutualNode: { child: CliProcess; url: string };

beforeAll(async () => {
  tmp = await tempDir();
  const docs = await readFile(DOCS, 'utf8');
  const [caBlock, nodeBlock] = shellBlocks(docs, CERT_MARKER, 2) as [string, string];
  expect(nodeBlock).toContain('NODE=node-a\n');
  // Run as documented: the CA once, then the per-node block for node-a and node-b.
  for (const script of [caBlock, nodeBlock, nodeBlock.replace('NODE=node-a\n', 'NODE=node-b\n')]) {
    await run('sh', ['-e', '-c', script], { cwd: tmp.dir });
  }
  const [serveBlock] = shellBlocks(docs, SERVE_MARKER, 1) as [string];
  documentedServe = serveBlock
    .replace(/\\\n\s*/g, ' ')
    .trim()
    .split(/\s+/);

  const tls = ['--tls-cert', file('node-b.pem'), '--tls-key', file('node-b.key')];
  const [https, mutual] = await Promise.all([
    seeded('https.sqlite').then((db) =>
      serve(['--db', db, '--port', '0', '--id', 'https-node', ...tls]),
    ),
    seeded('mutual.sqlite').then((db) =>
      serve([
        '--db',
        db,
        '--port',
        '0',
        '--id',
        'mutual-node',
        ...tls,
        '--tls-ca',
        file('ca.pem'),
        '--require-client-cert',
      ]),
    ),
  ]);
  httpsNode = https;
  mutualNode = mutual;
}, 60_000);

afterAll(async () => {
  await Promise.all(children.map((child) => child.interrupt().catch(() => undefined)));
  await tmp?.cleanup();
});

async function failure(call: Promise<unknown>): Promise<PeerError> {
  const error = await call.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(PeerError);
  return error as PeerError;
}

describe('edge-ha serve --tls-cert --tls-key (HTTPS)', () => {
  it('prints its certificate and serves httpPeer with the CA; without it, PEER_TLS', async () => {
    // (node-b's certificate: the docs' block run with only NODE= changed keeps the NAMES.)
    expect(httpsNode.child.stdout()).toMatch(
      /tls: certificate for DNS:node-a\.plant\.example, IP Address:10\.0\.0\.5, IP Address:127\.0\.0\.1, valid until \d{4}-/,
    );
    expect(httpsNode.child.stdout()).not.toContain('client certificates required');
    const ca = await readFile(file('ca.pem'), 'utf8');
    const peer = httpPeer({ url: httpsNode.url, token: TOKEN, tls: { ca } });
    await expect(peer.hello()).resolves.toMatchObject({ instanceId: 'https-node' });
    const page = await peer.readPoints(ITEM, { from: 0, to: NOW + 1 }, { limit: 5_000 });
    expect(page.items).toEqual(POINTS);
    // The global fetch (public CAs only) does not trust the private CA.
    const plain = httpPeer({ url: httpsNode.url, token: TOKEN });
    expect((await failure(plain.hello())).code).toBe('PEER_TLS');
  });

  it('edge-ha sync --peer https://… --peer-ca syncs from it', async () => {
    const local = openSqliteStorage(file('synced.sqlite'));
    await local.registerItems([ITEM]);
    await local.close();
    const result = await spawnCli(
      [
        'sync',
        '--db',
        file('synced.sqlite'),
        '--peer',
        httpsNode.url,
        '--peer-ca',
        file('ca.pem'),
        '--from',
        String(NOW - 3_600_000),
        '--to',
        String(NOW + 1),
      ],
      { env: ENV, timeoutMs: 60_000 },
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(await pointsOf(file('synced.sqlite'))).toEqual(POINTS);
  });
});

describe('edge-ha serve --tls-ca --require-client-cert (mutual TLS)', () => {
  it('serves a client certificate signed by the CA, refuses the handshake without one and logs it', async () => {
    expect(mutualNode.child.stdout()).toContain('client certificates required (mutual TLS)');
    const [ca, cert, key] = (await Promise.all(
      ['ca.pem', 'node-a.pem', 'node-a.key'].map((name) => readFile(file(name), 'utf8')),
    )) as [string, string, string];
    const withCert = httpPeer({ url: mutualNode.url, token: TOKEN, tls: { ca, cert, key } });
    await expect(withCert.hello()).resolves.toMatchObject({ instanceId: 'mutual-node' });

    const without = httpPeer({ url: mutualNode.url, token: TOKEN, tls: { ca } });
    const error = await failure(without.hello());
    expect(error).toMatchObject({ code: 'PEER_TLS', transient: false });
    expect(error.message).toContain('client certificate');
  });

  it('a second serve with the documented --peer-ca/--peer-cert/--peer-key line catches up from it', async () => {
    expect(documentedServe.slice(0, 2)).toEqual(['edge-ha', 'serve']);
    const local = openSqliteStorage(file('a.sqlite'));
    await local.registerItems([ITEM]);
    await local.close();
    const port = new URL(mutualNode.url).port;
    const substitutions: Record<string, string> = {
      'a.sqlite': file('a.sqlite'),
      '7070': '0',
      '0.0.0.0': '127.0.0.1',
      'https://10.0.0.6:7070': `https://127.0.0.1:${port}`,
    };
    const argv = documentedServe
      .slice(2)
      .map((word) => substitutions[word] ?? (/\.(pem|key)$/.test(word) ? file(word) : word));
    const child = startCli(['serve', ...argv, '--id', 'node-a', '--lookback-ms', '3600000'], {
      env: ENV,
      timeoutMs: 60_000,
    });
    children.push(child);
    await child.waitFor(/serving .* at https:\/\/127\.0\.0\.1:\d+\/edge-ha\/v1/);
    await child.waitFor(/\.\d{3}Z caught up\n/);
    const stopped = await child.interrupt();
    expect(stopped.code).toBe(0);
    expect(await pointsOf(file('a.sqlite'))).toEqual(POINTS);
  });

  it('stops cleanly; its stderr logged the handshake refused for want of a client certificate', async () => {
    const stopped = await mutualNode.child.interrupt();
    expect(stopped.code).toBe(0);
    expect(stopped.stderr).toMatch(
      /\dZ tls handshake from 127\.0\.0\.1 failed: ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE\n/,
    );
  });
});

describe('edge-ha serve refuses a TLS misconfiguration before serving', () => {
  it('exits with a usage error, CLI_FILE or CLI_TLS', async () => {
    const db = file('misconfigured.sqlite');
    const base = ['serve', '--db', db, '--port', '0'];
    const cases: [string[], number, RegExp][] = [
      [['--tls-cert', file('node-a.pem')], 2, /CLI_USAGE: --tls-cert needs --tls-key/],
      [['--tls-key', file('node-a.key')], 2, /CLI_USAGE: --tls-key needs --tls-cert/],
      [
        [
          '--tls-cert',
          file('node-a.pem'),
          '--tls-key',
          file('node-a.key'),
          '--require-client-cert',
        ],
        2,
        /CLI_USAGE: --require-client-cert needs --tls-ca/,
      ],
      [
        ['--tls-cert', file('missing.pem'), '--tls-key', file('node-a.key')],
        1,
        /CLI_FILE: Cannot read ".*missing\.pem": no such file/,
      ],
      [
        ['--tls-cert', file('node-a.pem'), '--tls-key', file('node-b.key')],
        1,
        /CLI_TLS: --tls-key ".*node-b\.key" does not belong to --tls-cert/,
      ],
      [
        ['--tls-cert', file('node-a.key'), '--tls-key', file('node-a.key')],
        1,
        /CLI_TLS: --tls-cert ".*node-a\.key" holds no PEM certificate/,
      ],
      [
        ['--peer', 'http://127.0.0.1:1', '--peer-ca', file('ca.pem')],
        2,
        /CLI_USAGE: --peer-ca, --peer-cert and --peer-key apply to https:\/\/ peers/,
      ],
    ];
    const runs = await Promise.all(
      cases.map(([argv]) => spawnCli([...base, ...argv], { env: ENV, timeoutMs: 60_000 })),
    );
    for (const [index, [argv, code, message]] of cases.entries()) {
      const result = runs[index];
      expect(result?.stderr, argv.join(' ')).toMatch(message);
      expect(result?.code, argv.join(' ')).toBe(code);
      expect(result?.stdout, argv.join(' ')).not.toContain('serving');
    }
  }, 60_000);
});
