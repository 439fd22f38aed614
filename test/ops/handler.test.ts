/**
 * The peer handler's operations side over real HTTP on 127.0.0.1: `GET /metrics` (authenticated
 * by default, public on request, the host's figures after the handler's own), and the logger
 * that receives the cause of every 5xx while the client gets a generic PEER_INTERNAL.
 */

import { afterEach, describe, expect, it } from 'vitest';
import { StorageError } from '../../src/errors.js';
import { HAGovernor } from '../../src/governor/governor.js';
import type { LogFields, Logger } from '../../src/ops/logger.js';
import {
  createPeerHandler,
  type PeerHandlerLogEntry,
  type PeerHandlerOptions,
} from '../../src/peer/http-handler.js';
import { toNodeListener } from '../../src/peer/node-listener.js';
import { MemoryStorageAdapter } from '../../src/storage/memory.js';
import type { StorageAdapter } from '../../src/storage/types.js';
import { linked, memory, pts } from '../deputy/helpers.js';
import { ServerPool } from '../peer/helpers.js';
import { parseExposition } from './exposition.js';

const TOKEN = 'metrics-read-token-123';
const WRITE = 'metrics-write-token-456';
const pool = new ServerPool();
afterEach(() => pool.closeAll());

async function start(options: Partial<PeerHandlerOptions> = {}) {
  const storage = options.storage ?? new MemoryStorageAdapter();
  const handler = createPeerHandler({
    token: TOKEN,
    writeToken: WRITE,
    instanceId: 'node-a',
    ...options,
    storage,
  });
  const server = await pool.listen(toNodeListener(handler));
  return { origin: server.origin, storage };
}

const auth = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

/** A logger that keeps every entry. */
function memoryLogger(): Required<Logger> & {
  entries: { level: string; fields: LogFields; message: string }[];
} {
  const entries: { level: string; fields: LogFields; message: string }[] = [];
  const at =
    (level: string) =>
    (fields: LogFields, message: string): void => {
      entries.push({ level, fields, message });
    };
  return { entries, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

describe('GET /metrics', () => {
  it('needs the read (or write) token by default, at the root and under the base path', async () => {
    const { origin } = await start();
    for (const path of ['/metrics', '/edge-ha/v1/metrics']) {
      const anonymous = await fetch(`${origin}${path}`);
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('www-authenticate')).toContain('Bearer');
      expect((await anonymous.json()) as unknown).toMatchObject({ error: { code: 'PEER_AUTH' } });
      expect((await fetch(`${origin}${path}`, auth('wrong-token'))).status).toBe(401);
      for (const token of [TOKEN, WRITE]) {
        const response = await fetch(`${origin}${path}`, auth(token));
        expect(response.status).toBe(200);
        expect(response.headers.get('content-type')).toBe(
          'text/plain; version=0.0.4; charset=utf-8',
        );
        expect(response.headers.get('cache-control')).toBe('no-store');
        const families = parseExposition(await response.text());
        expect(families.get('edge_ha_peer_info')?.samples).toEqual([
          { name: 'edge_ha_peer_info', labels: { instance_id: 'node-a' }, value: 1 },
        ]);
        expect(
          families.get('edge_ha_process_resident_memory_bytes')?.samples[0]?.value,
        ).toBeGreaterThan(0);
      }
    }
    expect((await fetch(`${origin}/metrics`, { ...auth(TOKEN), method: 'POST' })).status).toBe(405);
  });

  it('metrics: { public: true } opens it; the protocol routes still need the token', async () => {
    const { origin } = await start({ metrics: { public: true } });
    expect((await fetch(`${origin}/metrics`)).status).toBe(200);
    expect((await fetch(`${origin}/edge-ha/v1/metrics`)).status).toBe(200);
    expect((await fetch(`${origin}/edge-ha/v1/hello`)).status).toBe(401);
  });

  it('counts requests by route and status, and the bytes served', async () => {
    const storage = await memory({ a: pts([1, 1], [2, 2]) });
    const { origin } = await start({ storage });
    await fetch(`${origin}/edge-ha/v1/hello`, auth(TOKEN));
    await fetch(`${origin}/edge-ha/v1/hello`, auth(TOKEN));
    await fetch(`${origin}/edge-ha/v1/hello`);
    const points = await fetch(`${origin}/edge-ha/v1/points`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ item: 'a', window: { from: 0, to: 10 }, limit: 10 }),
    });
    const pointsBytes = Buffer.byteLength(await points.text());
    await fetch(`${origin}/nowhere/at/all`);
    await fetch(`${origin}/healthz`);
    const families = parseExposition(await (await fetch(`${origin}/metrics`, auth(TOKEN))).text());
    const requests = Object.fromEntries(
      (families.get('edge_ha_peer_requests_total')?.samples ?? []).map((s) => [
        `${s.labels.route} ${s.labels.status}`,
        s.value,
      ]),
    );
    expect(requests).toEqual({
      '/hello 200': 2,
      '/hello 401': 1,
      '/points 200': 1,
      '/healthz 200': 1,
      'other 404': 1,
    });
    const bytes = Object.fromEntries(
      (families.get('edge_ha_peer_response_bytes_total')?.samples ?? []).map((s) => [
        s.labels.route,
        s.value,
      ]),
    );
    expect(bytes['/points']).toBe(pointsBytes);
    expect(bytes['/hello']).toBeGreaterThan(0);
    // the scrape itself is counted once it is answered
    const again = parseExposition(await (await fetch(`${origin}/metrics`, auth(TOKEN))).text());
    expect(
      again.get('edge_ha_peer_requests_total')?.samples.find((s) => s.labels.route === '/metrics'),
    ).toMatchObject({ labels: { route: '/metrics', status: '200' }, value: 1 });
  });

  it("serves the governor's metrics after its own, or the host's text as it is", async () => {
    const remote = await memory({ a: pts([500, 1]) });
    const { clock, peer } = linked(remote, 1_000);
    const local = await memory({}, [], ['a']);
    const governor = new HAGovernor({
      storage: local,
      peers: [peer],
      clock,
      firstStartLookbackMs: 1_000,
    });
    await clock.runUntilSettled(governor.start());
    const { origin } = await start({
      storage: local,
      metrics: { collect: () => governor.metrics() },
    });
    const text = await (await fetch(`${origin}/metrics`, auth(TOKEN))).text();
    const families = parseExposition(text);
    expect(families.get('edge_ha_caught_up')?.samples[0]?.value).toBe(1);
    expect(families.get('edge_ha_gap_ledger_gaps')?.samples).toHaveLength(2);
    expect(families.get('edge_ha_points_applied_total')?.samples).toContainEqual({
      name: 'edge_ha_points_applied_total',
      labels: { mode: 'merge' },
      value: 1,
    });
    expect(families.has('edge_ha_peer_requests_total')).toBe(false); // nothing answered yet
    expect(families.has('edge_ha_peer_info')).toBe(true);
    await governor.close();

    const custom = await start({
      metrics: { public: true, collect: () => '# TYPE my_app_up gauge\nmy_app_up 1' },
    });
    const customText = await (await fetch(`${custom.origin}/metrics`)).text();
    expect(customText.endsWith('my_app_up 1\n')).toBe(true);
    expect(parseExposition(customText).get('my_app_up')?.samples[0]?.value).toBe(1);
  });

  it('a throwing collect hook is a 500 whose cause goes to log and logger only', async () => {
    const logged: PeerHandlerLogEntry[] = [];
    const logger = memoryLogger();
    const { origin } = await start({
      log: (entry) => logged.push(entry),
      logger,
      metrics: {
        collect: () => {
          throw new Error('secret internals of the collector');
        },
      },
    });
    const response = await fetch(`${origin}/metrics`, auth(TOKEN));
    expect(response.status).toBe(500);
    const body = await response.text();
    expect(body).toContain('PEER_INTERNAL');
    expect(body).not.toContain('secret internals');
    expect((logged[0]?.error as Error | undefined)?.message).toBe(
      'secret internals of the collector',
    );
    expect(logger.entries.find((e) => e.level === 'error')?.fields.err).toMatchObject({
      message: 'secret internals of the collector',
    });
  });

  it('rejects a bad metrics option with PEER_INVALID_OPTION', () => {
    for (const metrics of [null, { public: 'yes' }, { collect: 42 }]) {
      expect(() =>
        createPeerHandler({
          storage: new MemoryStorageAdapter(),
          token: TOKEN,
          instanceId: 'x',
          metrics: metrics as never,
        }),
      ).toThrow(expect.objectContaining({ code: 'PEER_INVALID_OPTION' }));
    }
  });
});

/** A storage whose reads fail like a broken disk. */
function brokenStorage(inner: StorageAdapter): StorageAdapter {
  const fail = (): never => {
    throw new StorageError('STORAGE_BACKEND', 'SQLITE_IOERR: disk I/O error at /var/lib/a.db');
  };
  return new Proxy(inner, {
    get(target, name, receiver) {
      if (name === 'readPoints' || name === 'listItems' || name === 'readSyncState') {
        return async () => fail();
      }
      return Reflect.get(target, name, receiver);
    },
  });
}

describe('the handler logger', () => {
  it('gets the cause of every 5xx (code, message, stack); the client only PEER_INTERNAL', async () => {
    const logger = memoryLogger();
    const logged: PeerHandlerLogEntry[] = [];
    const storage = brokenStorage(await memory({ a: pts([1, 1]) }));
    const { origin } = await start({ storage, logger, log: (entry) => logged.push(entry) });
    const reply = await fetch(`${origin}/edge-ha/v1/points`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ item: 'a', window: { from: 0, to: 10 }, limit: 10 }),
    });
    expect(reply.status).toBe(500);
    const text = await reply.text();
    expect(JSON.parse(text)).toEqual({
      error: {
        code: 'PEER_INTERNAL',
        message: 'The peer failed to read its storage; retry later.',
      },
    });
    expect(text).not.toContain('SQLITE_IOERR');
    expect(text).not.toContain('STORAGE_BACKEND');
    // the existing log hook gets the error …
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({
      status: 500,
      code: 'PEER_INTERNAL',
      path: '/edge-ha/v1/points',
    });
    expect((logged[0]?.error as StorageError | undefined)?.code).toBe('STORAGE_BACKEND');
    // … and the logger the cause as fields, at error level
    const entry = logger.entries.find((e) => e.level === 'error');
    expect(entry?.message).toContain('500 PEER_INTERNAL (STORAGE_BACKEND: SQLITE_IOERR');
    expect(entry?.fields).toMatchObject({
      status: 500,
      code: 'PEER_INTERNAL',
      method: 'POST',
      path: '/edge-ha/v1/points',
      err: {
        name: 'StorageError',
        code: 'STORAGE_BACKEND',
        message: 'SQLITE_IOERR: disk I/O error at /var/lib/a.db',
      },
    });
    expect(String((entry?.fields.err as { stack?: unknown } | undefined)?.stack)).toContain(
      'StorageError',
    );
    // a probe answered 503 because of the storage logs its cause too
    expect((await fetch(`${origin}/healthz`)).status).toBe(503);
    const probe = logger.entries.filter((e) => e.level === 'error').at(-1);
    expect(probe?.fields).toMatchObject({
      status: 503,
      path: '/healthz',
      err: { code: 'STORAGE_BACKEND' },
    });
    // every request at debug
    expect(logger.entries.filter((e) => e.level === 'debug').map((e) => e.fields.status)).toEqual([
      500, 503,
    ]);
  });

  it('logs refused authentications at warn, never the token, and survives a throwing logger', async () => {
    const logger = memoryLogger();
    const { origin } = await start({ logger });
    await fetch(`${origin}/edge-ha/v1/hello`, auth('a-wrong-token-value'));
    const warn = logger.entries.find((e) => e.level === 'warn');
    expect(warn?.fields).toMatchObject({ status: 401, code: 'PEER_AUTH' });
    expect(JSON.stringify(logger.entries)).not.toContain('a-wrong-token-value');

    const throwing: Logger = {
      info: () => {
        throw new Error('log down');
      },
      warn: () => {
        throw new Error('log down');
      },
      error: () => {
        throw new Error('log down');
      },
      debug: () => {
        throw new Error('log down');
      },
    };
    const other = await start({
      logger: throwing,
      storage: brokenStorage(new MemoryStorageAdapter()),
    });
    expect((await fetch(`${other.origin}/edge-ha/v1/items`, auth(TOKEN))).status).toBe(500);
    expect((await fetch(`${other.origin}/edge-ha/v1/hello`)).status).toBe(401);
  });
});
