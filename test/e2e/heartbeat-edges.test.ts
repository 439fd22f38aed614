/**
 * The edges of "where was this node down?" (SPEC §4.2, I9): a point the node recorded while it
 * was running must survive its next start-up's sync, also when it lies exactly on the stop
 * time, or after a heartbeat that was due but not yet committed when the node died.
 * SQLite nodes over real HTTP, a ManualClock for both.
 */

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HAGovernor } from '../../src/governor/governor.js';
import type { JsonObject, StorageAdapter } from '../../src/storage/types.js';
import { ManualClock } from '../../src/testing/manual-clock.js';
import { at, E2ENode, QUIET, readAllPoints, tempDir } from './helpers.js';

const T0 = 1_700_000_000_000;
const S = 1_000;
const ITEM = 'line-1/temperature';
const HEARTBEAT_MS = 5 * S;

let tmp: Awaited<ReturnType<typeof tempDir>>;
let clock: ManualClock;
let a: E2ENode;
let b: E2ENode;

beforeEach(async () => {
  tmp = await tempDir();
  clock = new ManualClock(T0);
  a = E2ENode.in(tmp.dir, 'node-a', clock);
  b = E2ENode.in(tmp.dir, 'node-b', clock);
  for (const node of [a, b]) {
    await node.open();
    await node.db.registerItems([ITEM]);
  }
});

afterEach(async () => {
  await a.stop();
  await b.stop();
  await tmp.cleanup();
});

function governorFor(storage: StorageAdapter): HAGovernor {
  return new HAGovernor({
    storage,
    peers: [b.peer()],
    clock,
    heartbeatIntervalMs: HEARTBEAT_MS,
    overlapMs: S,
    ...QUIET,
  });
}

describe('start-up edges of the downtime', () => {
  it('keeps a point recorded in the very millisecond of a clean stop', async () => {
    a.governor = governorFor(a.db);
    await a.governor.start();
    await clock.advanceAsync(10 * S);
    // A records a point and is stopped cleanly in the same millisecond; B missed that write.
    const last = { t: clock.now(), v: 'recorded by A while running' };
    await a.db.appendPoints(ITEM, [last]);
    await a.stop(); // clean heartbeat at exactly last.t
    await clock.advanceAsync(10 * S);
    await b.db.appendPoints(ITEM, [{ t: clock.now() - S, v: 'B, while A was down' }]);

    await a.open();
    a.governor = governorFor(a.db);
    const result = await a.governor.start();
    expect(result.timeSeries?.state).toBe('finished_ok');
    const points = await readAllPoints(a.db, ITEM);
    expect(at(points, clock.now() - S)?.v).toBe('B, while A was down');
    // A ran through last.t (it recorded a point then): the downtime starts after it.
    expect(at(points, last.t)).toEqual(last);
  });

  it('keeps a point recorded after a heartbeat fell due whose write had not committed at the crash', async () => {
    // The heartbeat write due at T0 + 5 s is slow (a busy database): it has not committed when
    // the node dies half a second later, after recording a point.
    let stall = false;
    const stalled = new Proxy(a.db, {
      get(target, name, receiver) {
        const value = Reflect.get(target, name, receiver) as unknown;
        if (name === 'writeSyncState') {
          return (key: string, record: JsonObject) =>
            stall && key === 'edge-ha:heartbeat'
              ? new Promise<void>(() => undefined)
              : target.writeSyncState(key, record);
        }
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const crashed = governorFor(stalled);
    await crashed.start(); // heartbeat at T0
    stall = true;
    await clock.advanceAsync(HEARTBEAT_MS); // the next heartbeat (T0 + 5 s) hangs
    await clock.advanceAsync(S / 2);
    const late = { t: clock.now(), v: 'recorded by A after the heartbeat fell due' };
    await a.db.appendPoints(ITEM, [late]);
    // The process dies: no close(). The file keeps the heartbeat of T0 (not clean).
    expect(await a.db.readSyncState('edge-ha:heartbeat')).toMatchObject({ at: T0, clean: false });

    await clock.advanceAsync(20 * S);
    a.governor = governorFor(a.db);
    const result = await a.governor.start();
    expect(result.timeSeries?.state).toBe('finished_ok');
    // A was running at late.t; B never had that point: it must not be deleted.
    expect(at(await readAllPoints(a.db, ITEM), late.t)).toEqual(late);
  });
});
