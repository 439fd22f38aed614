/**
 * A SQLite file written by edge-ha 0.1.0, interrupted in the middle of a recovery run (see
 * test/fixtures/sqlite/make-v0.1.0.mjs), opened by this version and caught up over real HTTP.
 */

import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type PeerServer, startPeerServer } from '../../src/cli/server.js';
import type { DeputyTransitionEvent } from '../../src/deputy/types.js';
import { HAGovernor } from '../../src/governor/governor.js';
import { httpPeer } from '../../src/peer/http-client.js';
import type { RemotePeer } from '../../src/peer/types.js';
import { openSqliteStorage } from '../../src/sqlite/adapter.js';
import { MemoryStorageAdapter } from '../../src/storage/memory.js';
import type { JsonObject, StorageAdapter, TimeWindow } from '../../src/storage/types.js';
import { ManualClock } from '../../src/testing/manual-clock.js';
import { QUIET, readAllEvents, readAllPoints, TOKEN, tempDir } from './helpers.js';

const FIXTURE = new URL('../fixtures/sqlite/v0.1.0-interrupted.sqlite', import.meta.url).pathname;
const T0 = 1_700_000_000_000;
const S = 1_000;
/** The 0.1.0 run that was interrupted: [T0 - 60 s, T0 + 70 s), a and b checkpointed, c not. */
const PENDING: TimeWindow = { from: T0 - 60 * S, to: T0 + 70 * S };
const STARTUP = T0 + 100 * S;

let tmp: Awaited<ReturnType<typeof tempDir>>;
let server: PeerServer | undefined;
let storage: StorageAdapter | undefined;
let governor: HAGovernor | undefined;

beforeEach(async () => {
  tmp = await tempDir();
});

afterEach(async () => {
  await governor?.close();
  await server?.close();
  await storage?.close();
  governor = undefined;
  server = undefined;
  storage = undefined;
  await tmp.cleanup();
});

/** The remote the fixture script synced from, with the same data. */
function fixtureRemote(): MemoryStorageAdapter {
  return new MemoryStorageAdapter({
    points: {
      a: [
        { t: T0 + 5_000, v: 1 },
        { t: T0 + 65_000, v: 2 },
      ],
      b: [{ t: T0 + 66_000, v: 3 }],
      c: [
        { t: T0 + 67_000, v: 4 },
        { t: T0 + 68_000, v: 5 },
      ],
    },
    events: [{ id: 'e1', t: T0 + 66_500, body: { alarm: 'high' } }],
  });
}

/** Counts the remote's readPoints calls per item, with the window each asked for. */
function countingPeer(peer: RemotePeer): { peer: RemotePeer; reads: Map<string, TimeWindow[]> } {
  const reads = new Map<string, TimeWindow[]>();
  return {
    reads,
    peer: {
      label: peer.label,
      hello: (options) => peer.hello(options),
      listItems: (options) => peer.listItems(options),
      readPoints: (item, window, page, options) => {
        reads.set(item, [...(reads.get(item) ?? []), { ...window }]);
        return peer.readPoints(item, window, page, options);
      },
      readEvents: (window, page, options) => peer.readEvents(window, page, options),
    },
  };
}

/** Records every sync-state record written, in order (the commits of the migration and run). */
function recordingWrites(inner: StorageAdapter): {
  storage: StorageAdapter;
  writes: { key: string; value: JsonObject }[];
} {
  const writes: { key: string; value: JsonObject }[] = [];
  const storage = new Proxy(inner, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver) as unknown;
      if (name === 'writeSyncState') {
        return (key: string, record: JsonObject) => {
          writes.push({ key, value: structuredClone(record) });
          return target.writeSyncState(key, record);
        };
      }
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { storage, writes };
}

describe('a 0.1.0 SQLite file interrupted mid-recovery, opened by this version', () => {
  it('keeps the pending run as a merge gap, resumes it without re-reading a and b, and keeps c', async () => {
    const file = join(tmp.dir, 'node-a.sqlite');
    await copyFile(FIXTURE, file);
    const clock = new ManualClock(STARTUP);
    server = await startPeerServer({
      storage: fixtureRemote(),
      token: TOKEN,
      instanceId: 'b',
      port: 0,
      clock,
    });
    const raw = openSqliteStorage(file);
    storage = raw;
    const before = (await raw.readSyncState('edge-ha:timeSeries')) as JsonObject;
    expect(before).toMatchObject({ lastUpToDate: T0, run: { window: PENDING } });
    expect(before.format).toBeUndefined();

    const { storage: watched, writes } = recordingWrites(raw);
    const { peer, reads } = countingPeer(httpPeer({ url: server.url, token: TOKEN }));
    governor = new HAGovernor({
      storage: watched,
      peers: [peer],
      clock,
      heartbeatIntervalMs: 10 * S,
      overlapMs: S,
      ...QUIET,
    });
    const finished: DeputyTransitionEvent[] = [];
    governor.on('transition', (event) => {
      if (event.to === 'finished_ok') finished.push(event);
    });
    const result = await governor.start();

    for (const summary of [result.timeSeries, result.events]) {
      expect(summary?.state).toBe('finished_ok');
      expect(summary?.resumed).toBe(summary?.kind === 'timeSeries');
    }
    // The pending run became a merge gap ("migrated"), next to the downtime since the 0.1.0
    // heartbeat (T0 + 70 s, not clean: two heartbeat intervals after it are merged; a 0.1.0
    // record does not say its interval, so twice the configured 10 s).
    const gaps = result.timeSeries?.gaps ?? [];
    const migrated = gaps.find((gap) => gap.reason === 'migrated');
    expect(migrated).toMatchObject({ from: PENDING.from, to: PENDING.to, mode: 'merge' });
    expect(gaps.find((gap) => gap.reason === 'downtime')).toMatchObject({
      from: T0 + 90 * S,
      to: STARTUP,
      mode: 'overwrite',
    });

    // Nothing of the pending run is lost: c's remote points and e1 arrive; c's live point stays.
    expect(await readAllPoints(raw, 'c')).toEqual([
      { t: T0 + 30_000, v: 30 },
      { t: T0 + 67_000, v: 4 },
      { t: T0 + 68_000, v: 5 },
    ]);
    expect((await readAllEvents(raw)).map((event) => event.id)).toEqual(['e1']);
    expect(await readAllPoints(raw, 'a')).toEqual([
      { t: T0 + 5_000, v: 1 },
      { t: T0 + 65_000, v: 2 },
    ]);
    expect(await readAllPoints(raw, 'b')).toEqual([{ t: T0 + 66_000, v: 3 }]);

    // a and b had finished the pending run under 0.1.0: they are read for the other gaps only;
    // c is read for the migrated gap too (from its start: it had no checkpoint).
    const others = gaps.filter((gap) => gap !== migrated).map((gap) => gap.from);
    for (const item of ['a', 'b']) {
      const starts = (reads.get(item) ?? []).map((window) => window.from);
      expect(starts, item).toEqual(others);
      expect(starts).not.toContain(PENDING.from);
    }
    expect((reads.get('c') ?? []).map((window) => window.from)).toEqual(
      gaps.map((gap) => gap.from),
    );

    // LastUpToDate: carried over by the migration (first record written), then advanced to the
    // time of the transition to finished_ok.
    const firstLedger = writes.find((write) => write.key === 'edge-ha:timeSeries');
    expect(firstLedger?.value).toMatchObject({
      format: 'edge-ha.deputy',
      version: 2,
      lastUpToDate: T0,
      gaps: [{ from: PENDING.from, to: PENDING.to, mode: 'merge', reason: 'migrated' }],
    });
    for (const item of ['a', 'b']) {
      const progress = writes.find((write) => write.key === `edge-ha:timeSeries:progress:${item}`);
      expect(progress?.value).toMatchObject({ format: 'edge-ha.progress', version: 2 });
      expect(Object.values(progress?.value.done as JsonObject)).toEqual([PENDING.to]);
    }
    const seriesFinish = finished.find((event) => event.kind === 'timeSeries');
    expect(result.timeSeries?.lastUpToDate).toBe(seriesFinish?.at);
    expect(result.timeSeries?.lastUpToDate).toBe(STARTUP);

    // Every record is in format version 2 now, and the ledgers are empty.
    const after = {
      timeSeries: await raw.readSyncState('edge-ha:timeSeries'),
      events: await raw.readSyncState('edge-ha:events'),
      heartbeat: await raw.readSyncState('edge-ha:heartbeat'),
    };
    for (const key of ['timeSeries', 'events'] as const) {
      expect(after[key]).toMatchObject({
        format: 'edge-ha.deputy',
        version: 2,
        lastUpToDate: STARTUP,
        gaps: [],
      });
    }
    expect(after.heartbeat).toMatchObject({ format: 'edge-ha.heartbeat', version: 2 });
  });
});
