/**
 * Copies that converge (SPEC §5 "Writes", §4.6): a 3-operator cluster over real HTTP on
 * 127.0.0.1 with SQLite. A WriteDistributor delivers every batch to each live copy; a copy that
 * misses writes (down, or cut off by a partition) says so in the result and converges later:
 * after a restart through its downtime gap, while running through follow mode.
 */

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HAGovernor } from '../../src/governor/governor.js';
import { WriteDistributor } from '../../src/peer/distributor.js';
import { httpPeer } from '../../src/peer/http-client.js';
import { createPeerHandler } from '../../src/peer/http-handler.js';
import { toNodeListener } from '../../src/peer/node-listener.js';
import type { PeerWriter } from '../../src/peer/types.js';
import { openSqliteStorage } from '../../src/sqlite/adapter.js';
import type { Point, StorageAdapter } from '../../src/storage/types.js';
import { ManualClock } from '../../src/testing/manual-clock.js';
import type { RoutedOperator } from '../../src/topology/types.js';
import { clusterTopology, statusOf, TABLE } from '../peer/cluster.js';
import { ALL, tempDir } from './helpers.js';

const READ = 'cluster-read-token';
const WRITE = 'cluster-write-token';
const ITEM = 'boiler/pressure';
const T0 = 1_700_000_000_000;

interface Operator {
  readonly id: string;
  readonly file: string;
  storage: StorageAdapter | undefined;
  server: Server | undefined;
  port: number;
  governor: HAGovernor | undefined;
}

let tmp: Awaited<ReturnType<typeof tempDir>>;
let ops: Operator[];
let clock: ManualClock;

async function serve(op: Operator): Promise<void> {
  op.storage = openSqliteStorage(op.file);
  await op.storage.registerItems([ITEM]);
  const handler = createPeerHandler({
    storage: op.storage,
    token: READ,
    writeToken: WRITE,
    instanceId: op.id,
    clock,
  });
  const server = createServer(toNodeListener(handler));
  await new Promise<void>((resolve) => server.listen(op.port, '127.0.0.1', resolve));
  op.server = server;
  op.port = (server.address() as AddressInfo).port;
}

async function stop(op: Operator): Promise<void> {
  await op.governor?.close();
  op.governor = undefined;
  const server = op.server;
  op.server = undefined;
  if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  await op.storage?.close();
  op.storage = undefined;
}

function governorOf(op: Operator, extra: { followEveryMs?: number } = {}): HAGovernor {
  const peers = ops
    .filter((other) => other !== op)
    .map((other) => httpPeer({ url: `http://127.0.0.1:${other.port}/edge-ha/v1`, token: READ }));
  return new HAGovernor({
    storage: op.storage as StorageAdapter,
    peers,
    clock,
    overlapMs: 1_000,
    retry: { retries: 0 },
    retryEveryMs: false,
    heartbeatIntervalMs: 60_000,
    ...extra,
  });
}

async function points(op: Operator): Promise<Point[]> {
  const out: Point[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < 100; i++) {
    const page = await (op.storage as StorageAdapter).readPoints(
      ITEM,
      ALL,
      cursor === undefined ? { limit: 1000 } : { limit: 1000, cursor },
    );
    out.push(...page.items);
    if (page.next === null) return out;
    cursor = page.next;
  }
  throw new Error('too many pages');
}

beforeEach(async () => {
  tmp = await tempDir();
  clock = new ManualClock(T0);
  ops = ['o1', 'o2', 'o3'].map((id) => ({
    id,
    file: `${tmp.dir}/${id}.sqlite`,
    storage: undefined,
    server: undefined,
    port: 0,
    governor: undefined,
  }));
  for (const op of ops) await serve(op);
  for (const op of ops) {
    op.governor = governorOf(op);
    await op.governor.start();
  }
});

afterEach(async () => {
  for (const op of ops) await stop(op).catch(() => undefined);
  await tmp.cleanup();
});

describe('a 3-operator cluster fed through the write path', () => {
  it('a copy that was down says so in the result, and converges after its restart', async () => {
    const topology = clusterTopology(
      ops.map((op) => ({ id: op.id, ip: '127.0.0.1', port: op.port })),
    );
    const distributor = new WriteDistributor({ topology, token: WRITE, timeoutMs: 5_000 });
    const write = async (s: number) => {
      await clock.advanceAsync(T0 + s * 1_000 - clock.now());
      return distributor.writePoints(TABLE, ITEM, [{ t: clock.now(), v: s }]);
    };
    for (let s = 1; s <= 3; s++) expect((await write(s)).complete).toBe(true);

    const down = ops[2] as Operator;
    await stop(down);
    const during = [];
    for (let s = 4; s <= 6; s++) during.push(await write(s));
    const first = during[0];
    expect(first?.complete).toBe(false);
    expect(first?.missed.map((copy) => copy.address)).toEqual([`127.0.0.1:${down.port}`]);
    expect(first?.delivered).toBe(2);
    expect(
      first?.copies
        .filter((copy) => copy.ok)
        .map((copy) => copy.address)
        .sort(),
    ).toEqual(
      ops
        .slice(0, 2)
        .map((op) => `127.0.0.1:${op.port}`)
        .sort(),
    );
    expect(statusOf(topology, `127.0.0.1:${down.port}`)).toBe('not_responding');
    // the next writes name the copy as missing (the route knows the operator is down)
    expect(during[2]?.missing.map((copy) => copy.operator.address)).toEqual([
      `127.0.0.1:${down.port}`,
    ]);

    await clock.advanceAsync(T0 + 10_000 - clock.now());
    await serve(down);
    down.governor = governorOf(down);
    const result = await down.governor.start();
    expect(result.timeSeries?.state).toBe('finished_ok');
    const expected = [1, 2, 3, 4, 5, 6].map((s) => ({ t: T0 + s * 1_000, v: s }));
    for (const op of ops) expect(await points(op)).toEqual(expected);
    expect(down.governor.status().caughtUp).toBe(true);
  });

  it('a copy cut off by a partition while running converges through follow mode; its own points stay', async () => {
    const cut = ops[2] as Operator;
    await cut.governor?.close();
    cut.governor = governorOf(cut, { followEveryMs: 5_000 });
    await cut.governor.start();
    const topology = clusterTopology(
      ops.map((op) => ({ id: op.id, ip: '127.0.0.1', port: op.port })),
    );
    let partitioned = true;
    const reach = (target: RoutedOperator): PeerWriter => {
      const real = httpPeer({ url: `http://127.0.0.1:${target.port}/edge-ha/v1`, token: WRITE });
      const fail = () => Promise.reject(new Error('partition (injected)'));
      return partitioned && target.port === cut.port
        ? { label: real.label, writePoints: fail, writeEvents: fail }
        : real;
    };
    const distributor = new WriteDistributor({ topology, connect: reach, timeoutMs: 5_000 });
    await clock.advanceAsync(1_000);
    const missed = await distributor.writePoints(TABLE, ITEM, [{ t: clock.now(), v: 'missed' }]);
    expect(missed.missed.map((copy) => copy.address)).toEqual([`127.0.0.1:${cut.port}`]);
    // the cut-off node records a point of its own at another timestamp, and one the others also have
    await (cut.storage as StorageAdapter).appendPoints(ITEM, [{ t: clock.now() + 1, v: 'own' }]);
    partitioned = false;
    topology.reportSuccess(`127.0.0.1:${cut.port}`);
    // two follow periods
    await clock.advanceAsync(5_000);
    await clock.advanceAsync(5_000);
    const after = await points(cut);
    expect(after).toEqual([
      { t: T0 + 1_000, v: 'missed' },
      { t: T0 + 1_001, v: 'own' },
    ]);
    expect(cut.governor.status().caughtUp).toBe(true);
  });
});
