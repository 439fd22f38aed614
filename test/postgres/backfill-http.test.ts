/**
 * Two nodes over real HTTP on 127.0.0.1, one on SQLite and one on PostgreSQL: a fresh node
 * back-fills from the other with the HA governor (`createPeerHandler` on `node:http`,
 * `httpPeer`, `HAGovernor`), in both directions, and ends with the same records, one for one:
 * values of every type, qualities, awkward strings, event bodies with their key order.
 */

import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HAGovernor } from '../../src/governor/governor.js';
import { httpPeer } from '../../src/peer/http-client.js';
import { createPeerHandler } from '../../src/peer/http-handler.js';
import { toNodeListener } from '../../src/peer/node-listener.js';
import { openPostgresStorage } from '../../src/postgres/index.js';
import { openSqliteStorage } from '../../src/sqlite/index.js';
import type { EventRecord, Point, StorageAdapter } from '../../src/storage/types.js';
import { ManualClock } from '../../src/testing/manual-clock.js';
import { dump } from '../reliability/helpers.js';
import { dropSchema, testPool } from './helpers.js';

const TOKEN = 'backfill-test-token';
const NOW = Date.UTC(2025, 5, 1, 12);
const HOUR = 3_600_000;
const START = NOW - 2 * HOUR;

const pool = testPool(6);
const dir = mkdtempSync(join(tmpdir(), 'edge-ha-pg-backfill-'));
afterAll(async () => {
  await pool.end();
  rmSync(dir, { recursive: true, force: true });
});

const STRINGS = [
  '',
  'tab\there',
  'back\\slash',
  'nul\u0000inside',
  '\\N',
  'line\nbreak',
  '日本 \u{1F600}',
];

/** Source data: three items of 6,000 points of every value type, 2,500 events with ties. */
async function seed(storage: StorageAdapter): Promise<void> {
  const items = ['plant/line-1/temp', 'plant/line-1/state', 'plant/\u0000odd item'];
  for (const [i, item] of items.entries()) {
    const points: Point[] = [];
    for (let k = 0; k < 6_000; k++) {
      const t = START + k * 1_000 + i;
      const kind = (k + i) % 5;
      const v =
        kind === 0
          ? k / 7
          : kind === 1
            ? (STRINGS[k % STRINGS.length] as string)
            : kind === 2
              ? k % 2 === 0
              : kind === 3
                ? null
                : -k * 1e-300;
      points.push(k % 11 === 0 ? { t, v, q: (k * 2_654_435_761) % 4_294_967_296 } : { t, v });
    }
    await storage.appendPoints(item, points);
  }
  await storage.registerItems(['plant/registered-without-points']);
  const events: EventRecord[] = [];
  for (let e = 0; e < 2_500; e++) {
    events.push({
      id: `evt-${e % 3 === 0 ? '\u0000' : ''}${String(e).padStart(5, '0')}`,
      t: START + Math.floor(e / 4) * 10_000,
      body: { z: e, a: STRINGS[e % STRINGS.length] ?? '', nested: { list: [e, 0.1, null] } },
    });
  }
  await storage.insertEventsIfAbsent(events);
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve(`http://127.0.0.1:${port}/edge-ha/v1`);
    });
  });
}

/** Serves `source` over HTTP, back-fills the fresh `destination` from it, returns the summary. */
async function backfill(source: StorageAdapter, destination: StorageAdapter) {
  // One clock for both nodes (the handler's `hello` reports it; the governor checks the skew).
  const clock = new ManualClock(NOW);
  const server = createServer(
    toNodeListener(
      createPeerHandler({
        storage: source,
        token: TOKEN,
        instanceId: 'source',
        clock,
        limits: { maxPageLimit: 5_000 },
      }),
    ),
  );
  const url = await listen(server);
  try {
    const governor = new HAGovernor({
      storage: destination,
      peers: [httpPeer({ url, token: TOKEN, timeoutMs: 30_000 })],
      clock,
      firstStartLookbackMs: 3 * HOUR,
      items: 'remote',
      retry: { retries: 0 },
    });
    try {
      return await governor.start();
    } finally {
      await governor.close();
    }
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

describe('back-fill over HTTP between SQLite and PostgreSQL nodes', () => {
  it('a fresh PostgreSQL node back-fills from a SQLite node, record for record', async () => {
    const sqlite = openSqliteStorage(join(dir, `source-${randomUUID()}.db`));
    const schema = `bf_${randomUUID().replaceAll('-', '').slice(0, 20)}`;
    const postgres = await openPostgresStorage({ pool, schema });
    try {
      await seed(sqlite);
      const result = await backfill(sqlite, postgres);
      expect(
        [result.timeSeries?.state, result.events?.state],
        JSON.stringify([result.timeSeries?.errors, result.events?.errors]),
      ).toEqual(['finished_ok', 'finished_ok']);
      const expected = await dump(sqlite);
      expect(Object.values(expected.points).flat()).toHaveLength(18_000);
      expect(expected.events).toHaveLength(2_500);
      const actual = await dump(postgres);
      expect(actual.events).toEqual(expected.events);
      // The registered item without points is not a data item of the remote: compare data items.
      for (const [item, points] of Object.entries(expected.points)) {
        if (points.length > 0) expect(actual.points[item], item).toEqual(points);
      }
    } finally {
      await postgres.close();
      await sqlite.close();
      await dropSchema(pool, schema);
    }
  });

  it('a fresh SQLite node back-fills from a PostgreSQL node, record for record', async () => {
    const schema = `bf_${randomUUID().replaceAll('-', '').slice(0, 20)}`;
    const postgres = await openPostgresStorage({ pool, schema });
    const sqlite = openSqliteStorage(join(dir, `destination-${randomUUID()}.db`));
    try {
      await seed(postgres);
      const result = await backfill(postgres, sqlite);
      expect(
        [result.timeSeries?.state, result.events?.state],
        JSON.stringify([result.timeSeries?.errors, result.events?.errors]),
      ).toEqual(['finished_ok', 'finished_ok']);
      const expected = await dump(postgres);
      expect(Object.values(expected.points).flat()).toHaveLength(18_000);
      const actual = await dump(sqlite);
      expect(actual.events).toEqual(expected.events);
      for (const [item, points] of Object.entries(expected.points)) {
        if (points.length > 0) expect(actual.points[item], item).toEqual(points);
      }
    } finally {
      await sqlite.close();
      await postgres.close();
      await dropSchema(pool, schema);
    }
  });
});
