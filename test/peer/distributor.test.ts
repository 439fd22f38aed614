import { afterEach, describe, expect, it } from 'vitest';
import { PeerError, StorageError, TopologyError } from '../../src/errors.js';
import { type FailedCopy, WriteDistributor } from '../../src/peer/distributor.js';
import { createPeerHandler } from '../../src/peer/http-handler.js';
import { localPeer } from '../../src/peer/local.js';
import { toNodeListener } from '../../src/peer/node-listener.js';
import type { PeerWriter } from '../../src/peer/types.js';
import { MemoryStorageAdapter } from '../../src/storage/memory.js';
import type { RoutedOperator } from '../../src/topology/types.js';
import { clusterTopology, statusOf, TABLE } from './cluster.js';
import { ServerPool, type TestServer } from './helpers.js';

const READ_TOKEN = 'read-token-0123456789';
const WRITE_TOKEN = 'write-token-9876543210';
const ALL = { from: 0, to: 1_000_000 };
const pool = new ServerPool();
afterEach(() => pool.closeAll());

/** Three operators of one cluster, each a real peer handler on 127.0.0.1 with its own storage. */
async function threeOperators() {
  const nodes: { id: string; storage: MemoryStorageAdapter; server: TestServer; port: number }[] =
    [];
  for (const id of ['o1', 'o2', 'o3']) {
    const storage = new MemoryStorageAdapter();
    const handler = createPeerHandler({
      storage,
      token: READ_TOKEN,
      writeToken: WRITE_TOKEN,
      instanceId: id,
    });
    const server = await pool.listen(toNodeListener(handler));
    nodes.push({ id, storage, server, port: Number(new URL(server.origin).port) });
  }
  const topology = clusterTopology(nodes.map((n) => ({ id: n.id, ip: '127.0.0.1', port: n.port })));
  return { nodes, topology, address: (i: number) => `127.0.0.1:${nodes[i]?.port}` };
}

/** A topology of three operators at made-up addresses, for distributors with fake writers. */
function fakeCluster() {
  const topology = clusterTopology([
    { id: 'o1', ip: '10.0.0.1', port: 7848 },
    { id: 'o2', ip: '10.0.0.2', port: 7848 },
    { id: 'o3', ip: '10.0.0.3', port: 7848 },
  ]);
  return { topology, addresses: ['10.0.0.1:7848', '10.0.0.2:7848', '10.0.0.3:7848'] };
}

/** A writer whose every call runs `behave` (one per operator id). */
function writer(label: string, behave: (signal: AbortSignal | undefined) => Promise<unknown>) {
  const calls: AbortSignal[] = [];
  const w: PeerWriter = {
    label,
    writePoints: async (_item, _points, options) => {
      if (options?.signal) calls.push(options.signal);
      await behave(options?.signal);
    },
    writeEvents: async (_events, options) => {
      if (options?.signal) calls.push(options.signal);
      return (await behave(options?.signal)) as number;
    },
  };
  return { writer: w, calls };
}

const ok = () => Promise.resolve(1);
const never = () => new Promise<never>(() => undefined);

/** Yields to the event loop until `done()` (at most 1000 turns, then fails). */
async function until(done: () => boolean): Promise<void> {
  for (let turn = 0; turn < 1000; turn++) {
    if (done()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error('condition not reached');
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

describe('WriteDistributor over three real operators', () => {
  it('delivers to the live copies, says which one missed it, and marks it not_responding', async () => {
    const { nodes, topology, address } = await threeOperators();
    await nodes[2]?.server.close();
    const distributor = new WriteDistributor({ topology, token: WRITE_TOKEN, timeoutMs: 5_000 });

    const result = await distributor.writePoints(TABLE, 'boiler/temp', [
      { t: 10, v: 70.5 },
      { t: 20, v: 71 },
    ]);
    expect(result.copies.map((c) => [c.operator.operatorId, c.ok])).toEqual([
      ['o1', true],
      ['o2', true],
      ['o3', false],
    ]);
    const failed = result.copies[2] as FailedCopy;
    expect(failed.error.code).toBe('PEER_UNREACHABLE');
    expect(failed.reported).toBe(true);
    expect(result.missed.map((o) => o.address)).toEqual([address(2)]);
    expect(result).toMatchObject({ delivered: 2, complete: false, missing: [] });
    expect(statusOf(topology, address(2))).toBe('not_responding');
    expect(statusOf(topology, address(0))).toBe('active');

    for (const node of nodes.slice(0, 2)) {
      expect((await node.storage.readPoints('boiler/temp', ALL, { limit: 10 })).items).toEqual([
        { t: 10, v: 70.5 },
        { t: 20, v: 71 },
      ]);
    }
    expect(await nodes[2]?.storage.listItems()).toEqual([]);

    // The next write is not sent to the down copy: the route lists it as missing.
    const events = await distributor.writeEvents(TABLE, [
      { id: 'alarm-1', t: 30, body: { hi: 1 } },
    ]);
    expect(events.copies.map((c) => [c.operator.operatorId, c.ok, c.ok && c.inserted])).toEqual([
      ['o1', true, 1],
      ['o2', true, 1],
    ]);
    expect(events.missing.map((m) => m.operator.operatorId)).toEqual(['o3']);
    expect(events.missed.map((o) => o.operatorId)).toEqual(['o3']);
    expect(events.complete).toBe(false);
    for (const node of nodes.slice(0, 2)) {
      expect((await node.storage.readEvents(ALL, { limit: 10 })).items).toEqual([
        { id: 'alarm-1', t: 30, body: { hi: 1 } },
      ]);
    }
  });

  it('reports every copy delivered when all operators acknowledge', async () => {
    const { nodes, topology } = await threeOperators();
    const distributor = new WriteDistributor({ topology, token: WRITE_TOKEN });
    const result = await distributor.writeEvents(TABLE, [{ id: 'e', t: 1, body: null }]);
    expect(result).toMatchObject({ delivered: 3, complete: true, missed: [] });
    for (const node of nodes) {
      expect((await node.storage.readEvents(ALL, { limit: 10 })).items).toHaveLength(1);
    }
  });

  it('does not count a copy whose operator refuses the token as delivered', async () => {
    const { nodes, topology, address } = await threeOperators();
    const distributor = new WriteDistributor({ topology, token: READ_TOKEN });
    const result = await distributor.writePoints(TABLE, 'a', [{ t: 1, v: 1 }]);
    expect(result.delivered).toBe(0);
    for (const copy of result.copies) {
      expect(copy.ok).toBe(false);
      expect((copy as FailedCopy).error).toMatchObject({ code: 'PEER_AUTH', status: 403 });
    }
    expect(statusOf(topology, address(1))).toBe('not_responding');
    for (const node of nodes) expect(await node.storage.listItems()).toEqual([]);
  });
});

describe('WriteDistributor with injected writers', () => {
  it('times out a copy that never acknowledges (even one ignoring its signal) and aborts its signal', async () => {
    const { topology, addresses } = fakeCluster();
    const slow = writer('slow', never);
    const fast = writer('fast', ok);
    const distributor = new WriteDistributor({
      topology,
      timeoutMs: 50,
      connect: (target) => (target.operatorId === 'o2' ? slow.writer : fast.writer),
    });
    const result = await distributor.writePoints(TABLE, 'a', [{ t: 1, v: 1 }]);
    expect(result.copies.map((c) => c.ok)).toEqual([true, false, true]);
    const failed = result.copies[1] as FailedCopy;
    expect(failed.error.code).toBe('PEER_TIMEOUT');
    expect(failed.reported).toBe(true);
    expect(slow.calls[0]?.aborted).toBe(true);
    expect(statusOf(topology, addresses[1] as string)).toBe('not_responding');
    expect(statusOf(topology, addresses[0] as string)).toBe('active');
  });

  it('does not mark an operator down for a batch it rejected (PEER_BAD_REQUEST), but counts it missed', async () => {
    const { topology, addresses } = fakeCluster();
    const picky = writer('picky', () =>
      Promise.reject(new PeerError('PEER_BAD_REQUEST', 'value too long for this store')),
    );
    const distributor = new WriteDistributor({
      topology,
      connect: (target) => (target.operatorId === 'o3' ? picky.writer : writer('ok', ok).writer),
    });
    const result = await distributor.writePoints(TABLE, 'a', [{ t: 1, v: 'x' }]);
    const failed = result.copies[2] as FailedCopy;
    expect(failed).toMatchObject({ ok: false, reported: false });
    expect(failed.error.code).toBe('PEER_BAD_REQUEST');
    expect(result.missed.map((o) => o.operatorId)).toEqual(['o3']);
    expect(statusOf(topology, addresses[2] as string)).toBe('active');
  });

  it('never reports success for a copy without a valid acknowledgement', async () => {
    const { topology, addresses } = fakeCluster();
    const behaviours: Record<string, () => Promise<unknown>> = {
      o1: () => Promise.resolve(5), // more inserted than sent
      o2: () => Promise.reject(new Error('socket hang up')), // not a PeerError
      o3: () => Promise.resolve(Number.NaN),
    };
    const distributor = new WriteDistributor({
      topology,
      connect: (target) => writer(target.operatorId, behaviours[target.operatorId] ?? ok).writer,
    });
    const result = await distributor.writeEvents(TABLE, [{ id: 'e', t: 1, body: null }]);
    expect(result.delivered).toBe(0);
    expect(result.copies.map((c) => (c as FailedCopy).error?.code)).toEqual([
      'PEER_BAD_REPLY',
      'PEER_UNAVAILABLE',
      'PEER_BAD_REPLY',
    ]);
    expect((result.copies[1] as FailedCopy).error.message).toMatch(/socket hang up/);
    for (const address of addresses) expect(statusOf(topology, address)).toBe('not_responding');
  });

  it('counts a connect that throws as a failed copy', async () => {
    const { topology } = fakeCluster();
    const distributor = new WriteDistributor({
      topology,
      connect: (target) => {
        if (target.operatorId === 'o1') throw new Error('no route to host');
        return writer('ok', ok).writer;
      },
    });
    const result = await distributor.writePoints(TABLE, 'a', [{ t: 1, v: 1 }]);
    expect(result.copies.map((c) => c.ok)).toEqual([false, true, true]);
  });

  it('marks a copy active again when it acknowledges', async () => {
    const { topology, addresses } = fakeCluster();
    const releases: ((value: number) => void)[] = [];
    const gate = writer('gated', () => new Promise<number>((resolve) => releases.push(resolve)));
    const distributor = new WriteDistributor({ topology, connect: () => gate.writer });
    const pending = distributor.writeEvents(TABLE, [{ id: 'e', t: 1, body: null }]);
    await until(() => releases.length === 3);
    // Another sender saw o1 fail meanwhile; this copy's acknowledgement brings it back.
    topology.reportFailure(addresses[0] as string);
    expect(statusOf(topology, addresses[0] as string)).toBe('not_responding');
    for (const release of releases) release(1);
    const result = await pending;
    expect(result.copies[0]?.ok).toBe(true);
    expect(statusOf(topology, addresses[0] as string)).toBe('active');
  });

  it('rejects an invalid batch before routing or sending anything', async () => {
    const { topology } = fakeCluster();
    let connects = 0;
    const distributor = new WriteDistributor({
      topology,
      connect: () => {
        connects++;
        return writer('ok', ok).writer;
      },
    });
    const bad = [
      distributor.writePoints(TABLE, 'a', [{ t: 1.5, v: 1 }]),
      distributor.writePoints(TABLE, '', [{ t: 1, v: 1 }]),
      distributor.writeEvents(TABLE, [{ id: 'e', t: 1, body: { s: '\udc00' } }]),
    ];
    for (const call of bad) {
      const error = await rejection(call);
      expect(error).toBeInstanceOf(PeerError);
      expect((error as PeerError).code).toBe('PEER_BAD_REQUEST');
      expect((error as PeerError).cause).toBeInstanceOf(StorageError);
    }
    expect(connects).toBe(0);
  });

  it('propagates a routing error (unknown table) without sending', async () => {
    const { topology } = fakeCluster();
    const distributor = new WriteDistributor({ topology, connect: () => writer('ok', ok).writer });
    const error = await rejection(
      distributor.writePoints({ dbms: 'plant', table: 'nope' }, 'a', [{ t: 1, v: 1 }]),
    );
    expect(error).toBeInstanceOf(TopologyError);
    expect((error as TopologyError).code).toBe('TOPOLOGY_UNKNOWN_TABLE');
  });

  it('honours the caller signal: aborted before, nothing sent; aborted during, copies fail unreported', async () => {
    const { topology, addresses } = fakeCluster();
    const stuck = writer('stuck', never);
    const distributor = new WriteDistributor({ topology, connect: () => stuck.writer });
    const early = await rejection(
      distributor.writePoints(TABLE, 'a', [{ t: 1, v: 1 }], { signal: AbortSignal.abort() }),
    );
    expect((early as PeerError).code).toBe('PEER_ABORTED');
    expect(stuck.calls).toHaveLength(0);

    const controller = new AbortController();
    const pending = distributor.writePoints(TABLE, 'a', [{ t: 1, v: 1 }], {
      signal: controller.signal,
    });
    await until(() => stuck.calls.length === 3);
    controller.abort();
    const result = await pending;
    for (const copy of result.copies) {
      expect(copy).toMatchObject({ ok: false, reported: false });
      expect((copy as FailedCopy).error.code).toBe('PEER_ABORTED');
    }
    for (const address of addresses) expect(statusOf(topology, address)).toBe('active');
  });

  it('delivers through localPeer writers', async () => {
    const { topology } = fakeCluster();
    const stores = new Map<string, MemoryStorageAdapter>();
    const distributor = new WriteDistributor({
      topology,
      connect: (target: RoutedOperator) => {
        const storage = stores.get(target.operatorId) ?? new MemoryStorageAdapter();
        stores.set(target.operatorId, storage);
        return localPeer(storage, { instanceId: target.operatorId });
      },
    });
    const result = await distributor.writePoints(TABLE, 'a', [{ t: 1, v: 1 }]);
    expect(result.complete).toBe(true);
    for (const storage of stores.values()) expect(await storage.listItems()).toEqual(['a']);
    expect(stores.size).toBe(3);
  });
});

describe('WriteDistributor default connect', () => {
  it('posts to http://<host>:<port><basePath>/write/... with the write token', async () => {
    const { topology } = fakeCluster();
    const seen: { url: string; authorization: string | null }[] = [];
    const distributor = new WriteDistributor({
      topology,
      token: WRITE_TOKEN,
      basePath: '/peer/v1/',
      fetch: async (url, init) => {
        seen.push({ url, authorization: new Headers(init.headers).get('authorization') });
        return new Response(JSON.stringify({ written: 1 }), {
          headers: { 'content-type': 'application/json' },
        });
      },
    });
    const result = await distributor.writePoints(TABLE, 'a', [{ t: 1, v: 1 }]);
    expect(result.delivered).toBe(3);
    expect(seen).toEqual([
      { url: 'http://10.0.0.1:7848/peer/v1/write/points', authorization: `Bearer ${WRITE_TOKEN}` },
      { url: 'http://10.0.0.2:7848/peer/v1/write/points', authorization: `Bearer ${WRITE_TOKEN}` },
      { url: 'http://10.0.0.3:7848/peer/v1/write/points', authorization: `Bearer ${WRITE_TOKEN}` },
    ]);
  });

  it('brackets an IPv6 operator address and uses the https: protocol when asked', async () => {
    const topology = clusterTopology([{ id: 'o6', ip: 'fd00::1', port: 7848 }]);
    const urls: string[] = [];
    const distributor = new WriteDistributor({
      topology,
      token: WRITE_TOKEN,
      protocol: 'https:',
      fetch: async (url) => {
        urls.push(url);
        return new Response('{"inserted":0}', { headers: { 'content-type': 'application/json' } });
      },
    });
    const result = await distributor.writeEvents(TABLE, [{ id: 'e', t: 1, body: null }]);
    expect(result.copies[0]).toMatchObject({ ok: true, inserted: 0 });
    expect(urls).toEqual(['https://[fd00::1]:7848/edge-ha/v1/write/events']);
  });

  it('rejects invalid options with PEER_INVALID_OPTION', () => {
    const { topology } = fakeCluster();
    const attempts = [
      () => new WriteDistributor({ topology }),
      () => new WriteDistributor({ topology, token: '' }),
      () => new WriteDistributor({ topology, token: WRITE_TOKEN, timeoutMs: 0 }),
      () => new WriteDistributor({ topology, token: WRITE_TOKEN, basePath: 'no-slash' }),
      () => new WriteDistributor({ topology: null as never, token: WRITE_TOKEN }),
    ];
    for (const attempt of attempts) {
      let caught: unknown;
      try {
        attempt();
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(PeerError);
      expect((caught as PeerError).code).toBe('PEER_INVALID_OPTION');
    }
  });
});
