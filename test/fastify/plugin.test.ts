/**
 * `edge-ha/fastify`: the peer routes in a Fastify 5 app, through `fastify.inject` and through a
 * listening server on 127.0.0.1. POST bodies reach the handler (no 30 s hang behind Fastify's
 * JSON parser), with the handler's size limit rather than Fastify's; the host's own routes keep
 * their JSON and custom parsers; a governor back-fills through the plugin with httpPeer.
 */

import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { edgeHaPlugin } from '../../src/fastify/index.js';
import { HAGovernor } from '../../src/governor/governor.js';
import { httpPeer } from '../../src/peer/http-client.js';
import { MemoryStorageAdapter } from '../../src/storage/memory.js';
import type { EventRecord, Point } from '../../src/storage/types.js';

const TOKEN = 'fastify-read-token';
const WRITE_TOKEN = 'fastify-write-token';
const NOW = Date.now();
const POINTS: Point[] = Array.from({ length: 2_000 }, (_, i) => ({
  t: NOW - 1_000_000 + i * 500,
  v: i % 13,
}));
const EVENTS: EventRecord[] = Array.from({ length: 40 }, (_, i) => ({
  id: `alarm-${i}`,
  t: NOW - 900_000 + Math.floor(i / 3) * 1_000,
  body: { i },
}));

const apps: FastifyInstance[] = [];
const storages: MemoryStorageAdapter[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
  await Promise.all(storages.splice(0).map((storage) => storage.close()));
});

function remoteStorage(): MemoryStorageAdapter {
  const storage = new MemoryStorageAdapter({ points: { 'plant/temp': POINTS }, events: EVENTS });
  storages.push(storage);
  return storage;
}

/** A host app with its own JSON route and a custom-parser route, and the plugin under /peer. */
async function hostApp(
  storage: MemoryStorageAdapter,
  extra: Partial<Parameters<typeof edgeHaPlugin>[1]> = {},
): Promise<FastifyInstance> {
  const app = Fastify();
  apps.push(app);
  app.post('/ingest', async (request) => ({ received: request.body }));
  app.addContentTypeParser('application/x-csv', { parseAs: 'string' }, (_request, body, done) => {
    done(null, String(body).split(','));
  });
  app.post('/csv', async (request) => ({ cells: request.body }));
  await app.register(edgeHaPlugin, {
    prefix: '/peer',
    storage,
    token: TOKEN,
    writeToken: WRITE_TOKEN,
    instanceId: 'fastify-node',
    readiness: () => ({ ready: false, reason: 'catching up' }),
    ...extra,
  });
  return app;
}

const auth = (token: string) => ({ authorization: `Bearer ${token}` });

describe('edgeHaPlugin with fastify.inject', () => {
  it('serves hello, paged reads and writes, with POST bodies read by the handler', async () => {
    const storage = remoteStorage();
    const app = await hostApp(storage);
    const hello = await app.inject({ url: '/peer/edge-ha/v1/hello', headers: auth(TOKEN) });
    expect(hello.statusCode).toBe(200);
    expect(hello.json()).toMatchObject({ instanceId: 'fastify-node', protocolVersion: 1 });
    expect(hello.headers['content-type']).toBe('application/json; charset=utf-8');

    const page = await app.inject({
      method: 'POST',
      url: '/peer/edge-ha/v1/points',
      headers: auth(TOKEN),
      payload: { item: 'plant/temp', window: { from: 0, to: NOW }, limit: 3 },
    });
    expect(page.statusCode).toBe(200);
    expect(page.json()).toMatchObject({ items: POINTS.slice(0, 3) });
    expect(typeof page.json().next).toBe('string');

    const write = await app.inject({
      method: 'POST',
      url: '/peer/edge-ha/v1/write/points',
      headers: auth(WRITE_TOKEN),
      payload: { item: 'plant/flow', points: [{ t: NOW, v: 3.5 }] },
    });
    expect(write.json()).toEqual({ written: 1 });
    const stored = await storage.readPoints('plant/flow', { from: 0, to: NOW + 1 }, { limit: 5 });
    expect(stored.items).toEqual([{ t: NOW, v: 3.5 }]);

    // The read token may not write; no token at all is 401 before the body is looked at.
    const forbidden = await app.inject({
      method: 'POST',
      url: '/peer/edge-ha/v1/write/events',
      headers: auth(TOKEN),
      payload: { events: [] },
    });
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.json().error.code).toBe('PEER_FORBIDDEN');
    const anonymous = await app.inject({ url: '/peer/edge-ha/v1/items' });
    expect(anonymous.statusCode).toBe(401);
  });

  it("answers with the handler's codes: 413 over maxBodyBytes, 415, 405, 404", async () => {
    const app = await hostApp(remoteStorage(), { limits: { maxBodyBytes: 1_024 } });
    const tooLarge = await app.inject({
      method: 'POST',
      url: '/peer/edge-ha/v1/write/points',
      headers: auth(WRITE_TOKEN),
      payload: { item: 'x', points: Array.from({ length: 200 }, (_, t) => ({ t, v: t })) },
    });
    expect(tooLarge.statusCode).toBe(413);
    expect(tooLarge.json().error.code).toBe('PEER_PAYLOAD_TOO_LARGE');

    const text = await app.inject({
      method: 'POST',
      url: '/peer/edge-ha/v1/events',
      headers: { ...auth(TOKEN), 'content-type': 'text/plain' },
      payload: 'hello',
    });
    expect(text.statusCode).toBe(415);
    expect(text.json().error.code).toBe('PEER_UNSUPPORTED_MEDIA_TYPE');

    const method = await app.inject({
      method: 'GET',
      url: '/peer/edge-ha/v1/points',
      headers: auth(TOKEN),
    });
    expect(method.statusCode).toBe(405);
    expect(method.headers.allow).toBe('POST');

    const unknown = await app.inject({ url: '/peer/edge-ha/v1/nope', headers: auth(TOKEN) });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error.code).toBe('PEER_NOT_FOUND');
  });

  it('serves the probes under the prefix and under the base path', async () => {
    const app = await hostApp(remoteStorage());
    for (const url of ['/peer/healthz', '/peer/edge-ha/v1/healthz']) {
      const health = await app.inject({ url });
      expect(health.statusCode, url).toBe(200);
      expect(health.json()).toMatchObject({ status: 'ok', instanceId: 'fastify-node' });
    }
    const ready = await app.inject({ url: '/peer/readyz' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toMatchObject({ ready: false, reason: 'catching up' });
    // Outside the prefix the app has no such routes.
    expect((await app.inject({ url: '/healthz' })).statusCode).toBe(404);
    expect((await app.inject({ url: '/edge-ha/v1/hello', headers: auth(TOKEN) })).statusCode).toBe(
      404,
    );
  });

  it("leaves the host's routes and their JSON and custom parsers alone", async () => {
    const app = await hostApp(remoteStorage());
    const ingest = await app.inject({ method: 'POST', url: '/ingest', payload: { a: [1, 2] } });
    expect(ingest.json()).toEqual({ received: { a: [1, 2] } });
    const csv = await app.inject({
      method: 'POST',
      url: '/csv',
      headers: { 'content-type': 'application/x-csv' },
      payload: 'a,b,c',
    });
    expect(csv.json()).toEqual({ cells: ['a', 'b', 'c'] });
    // The host's JSON parser still rejects bad JSON on its route, with Fastify's own error.
    const bad = await app.inject({
      method: 'POST',
      url: '/ingest',
      headers: { 'content-type': 'application/json' },
      payload: '{nope',
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('FST_ERR_CTP_INVALID_JSON_BODY');
  });

  it('rootRoutes: false leaves /healthz to the host; basePath "" mounts the routes at the prefix', async () => {
    const app = Fastify();
    apps.push(app);
    app.get('/healthz', async () => ({ host: true }));
    await app.register(edgeHaPlugin, {
      storage: remoteStorage(),
      token: TOKEN,
      instanceId: 'root',
      rootRoutes: false,
    });
    await app.register(edgeHaPlugin, {
      prefix: '/bare',
      basePath: '',
      storage: remoteStorage(),
      token: TOKEN,
      instanceId: 'bare',
    });
    expect((await app.inject({ url: '/healthz' })).json()).toEqual({ host: true });
    const root = await app.inject({ url: '/edge-ha/v1/hello', headers: auth(TOKEN) });
    expect(root.json()).toMatchObject({ instanceId: 'root' });
    const bare = await app.inject({ url: '/bare/hello', headers: auth(TOKEN) });
    expect(bare.json()).toMatchObject({ instanceId: 'bare' });
    expect((await app.inject({ url: '/bare/healthz' })).json()).toMatchObject({
      instanceId: 'bare',
    });
  });

  it('an invalid handler option fails the registration with PEER_INVALID_OPTION', async () => {
    const app = Fastify();
    apps.push(app);
    app.register(edgeHaPlugin, { storage: remoteStorage(), token: '', instanceId: 'x' });
    await expect(app.ready()).rejects.toMatchObject({ code: 'PEER_INVALID_OPTION' });
  });
});

describe('edgeHaPlugin on a listening server', () => {
  async function listening(
    storage: MemoryStorageAdapter,
    extra: Partial<Parameters<typeof edgeHaPlugin>[1]> = {},
  ): Promise<{ app: FastifyInstance; origin: string; url: string }> {
    const app = await hostApp(storage, extra);
    const origin = await app.listen({ port: 0, host: '127.0.0.1' });
    return { app, origin, url: `${origin}/peer/edge-ha/v1` };
  }

  it('a governor back-fills through it with httpPeer, and writes arrive', async () => {
    const remote = remoteStorage();
    const { url } = await listening(remote);
    const local = new MemoryStorageAdapter();
    storages.push(local);
    await local.registerItems(['plant/temp']);
    const governor = new HAGovernor({
      storage: local,
      peers: [httpPeer({ url, token: TOKEN })],
      firstStartLookbackMs: 3_600_000,
      pageSize: 300,
    });
    try {
      const result = await governor.start();
      expect(result.timeSeries).toMatchObject({ state: 'finished_ok', peer: url });
      expect(result.events).toMatchObject({ state: 'finished_ok', eventsInserted: EVENTS.length });
    } finally {
      await governor.close();
    }
    const window = { from: 0, to: NOW + 1 };
    expect((await local.readPoints('plant/temp', window, { limit: 5_000 })).items).toEqual(POINTS);
    const events = (await local.readEvents(window, { limit: 100 })).items;
    expect(events).toEqual((await remote.readEvents(window, { limit: 100 })).items);
    expect(events).toHaveLength(EVENTS.length);

    const writer = httpPeer({ url, token: WRITE_TOKEN });
    await writer.writePoints('plant/temp', [{ t: NOW, v: 99 }]);
    await expect(
      writer.writeEvents([EVENTS[0] as EventRecord, { id: 'new', t: NOW, body: null }]),
    ).resolves.toBe(1);
    const last = await remote.readPoints('plant/temp', { from: NOW, to: NOW + 1 }, { limit: 5 });
    expect(last.items).toEqual([{ t: NOW, v: 99 }]);
  });

  it("applies the handler's body limit, not Fastify's 1 MiB bodyLimit", async () => {
    const remote = remoteStorage();
    const { url } = await listening(remote, { limits: { maxBodyBytes: 4 * 1024 * 1024 } });
    const writer = httpPeer({ url, token: WRITE_TOKEN });
    // About 1.7 MB of JSON: over Fastify's default bodyLimit, within the handler's limit.
    const points = Array.from({ length: 60_000 }, (_, i) => ({ t: i, v: i + 0.123456789 }));
    await writer.writePoints('plant/bulk', points);
    const stored = await remote.readPoints(
      'plant/bulk',
      { from: 0, to: 60_000 },
      { limit: 100_000 },
    );
    expect(stored.items).toHaveLength(60_000);
    // Over the handler's limit: 413, which the client reports as PEER_BAD_REQUEST.
    const more = Array.from({ length: 160_000 }, (_, i) => ({ t: i, v: i + 0.123456789 }));
    await expect(writer.writePoints('plant/bulk', more)).rejects.toMatchObject({
      code: 'PEER_BAD_REQUEST',
      status: 413,
    });
  });

  it("the host's JSON route still parses over the network", async () => {
    const { origin } = await listening(remoteStorage());
    const reply = await fetch(`${origin}/ingest`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ temperature: 21.5 }),
    });
    expect(await reply.json()).toEqual({ received: { temperature: 21.5 } });
  });
});
