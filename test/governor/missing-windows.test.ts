/**
 * `HAGovernor.missingWindows()`: the windows a node lacks (the union of its deputies' ledgers),
 * what its peer handler lists in hello so its peers take those windows from someone else.
 */

import { afterEach, describe, expect, it } from 'vitest';
import { TimeSeriesDeputy } from '../../src/deputy/deputy.js';
import { PeerError } from '../../src/errors.js';
import { HAGovernor } from '../../src/governor/governor.js';
import { httpPeer } from '../../src/peer/http-client.js';
import { createPeerHandler } from '../../src/peer/http-handler.js';
import { localPeer } from '../../src/peer/local.js';
import { toNodeListener } from '../../src/peer/node-listener.js';
import type { JsonObject, Point, StorageAdapter } from '../../src/storage/types.js';
import { ManualClock } from '../../src/testing/manual-clock.js';
import { dump, faultPeer, linked, memory } from '../deputy/helpers.js';
import { ServerPool } from '../peer/helpers.js';

const pool = new ServerPool();
afterEach(() => pool.closeAll());

/** A version-2 deputy record with these gaps (ids from 1) and unrecoverable windows. */
function ledger(
  gaps: [from: number, to: number, mode: 'merge' | 'overwrite', reason: string][],
  unrecoverable: { from: number; to: number }[] = [],
): JsonObject {
  return {
    format: 'edge-ha.deputy',
    version: 2,
    lastUpToDate: null,
    nextGapId: gaps.length + 1,
    gaps: gaps.map(([from, to, mode, reason], i) => ({
      id: i + 1,
      from,
      to,
      mode,
      reason,
      addedAt: 0,
      pendingMargins: null,
    })),
    unrecoverable,
  };
}

/** A governor whose only peer refuses it (permanent), so the ledgers stay as they are. */
async function stuck(storage: StorageAdapter, now: number): Promise<HAGovernor> {
  const { clock, peer } = linked(await memory(), now);
  return new HAGovernor({
    storage,
    peers: [faultPeer(peer, () => new PeerError('PEER_AUTH', 'denied'))],
    clock,
    retryEveryMs: false,
    heartbeatIntervalMs: 1_000,
  });
}

describe('HAGovernor.missingWindows()', () => {
  it('is the sorted, joined union of both ledgers, unrecoverable windows included, follow gaps left out', async () => {
    const storage = await memory();
    await storage.writeSyncState(
      'edge-ha:timeSeries',
      ledger([
        [300, 400, 'merge', 'reported'],
        [100, 200, 'merge', 'requested'],
        [150, 250, 'overwrite', 'requested'],
      ]),
    );
    await storage.writeSyncState(
      'edge-ha:events',
      ledger(
        [
          [250, 260, 'merge', 'margin'],
          [5_000, 6_000, 'merge', 'follow'],
          [700, 800, 'merge', 'firstStart'],
        ],
        [{ from: 0, to: 10 }],
      ),
    );
    const governor = await stuck(storage, 10_000);
    expect(governor.missingWindows()).toEqual([]);
    await governor.start();
    expect(governor.missingWindows()).toEqual([
      { from: 0, to: 10 },
      { from: 100, to: 260 },
      { from: 300, to: 400 },
      { from: 700, to: 800 },
    ]);
    await governor.close();
  });

  it('a downtime whose margins are pending counts from the last heartbeat', async () => {
    const storage = await memory();
    await storage.writeSyncState('edge-ha:heartbeat', {
      format: 'edge-ha.heartbeat',
      version: 2,
      at: 5_000,
      clean: false,
      intervalMs: 1_000,
    });
    const governor = await stuck(storage, 20_000);
    await governor.start();
    const [gap] = governor.status().gaps.timeSeries ?? [];
    expect(gap?.from).toBeGreaterThan(5_000);
    expect(gap?.pendingMargins).toEqual({ heartbeat: 5_000 });
    expect(governor.missingWindows()).toEqual([{ from: 5_000, to: 20_000 }]);
    await governor.close();
  });

  it('is empty once caught up', async () => {
    const remote = await memory({ a: [{ t: 150, v: 1 }] });
    const { clock, peer } = linked(remote, 10_000);
    const governor = new HAGovernor({ storage: await memory(), peers: [peer], clock });
    await governor.start();
    await governor.reportGap({ from: 100, to: 200 });
    expect(governor.missingWindows()).toEqual([{ from: 100, to: 200 }]);
    await governor.sync();
    expect(governor.status().caughtUp).toBe(true);
    expect(governor.missingWindows()).toEqual([]);
    await governor.close();
  });

  it('served by createPeerHandler({ gaps }), httpPeer.hello() lists it over HTTP', async () => {
    const storage = await memory();
    await storage.writeSyncState('edge-ha:timeSeries', ledger([[100, 200, 'merge', 'reported']]));
    const governor = await stuck(storage, 10_000);
    const handler = createPeerHandler({
      storage,
      token: 'tok-0123456789',
      instanceId: 'b',
      gaps: () => governor.missingWindows(),
    });
    const server = await pool.listen(toNodeListener(handler));
    const peer = httpPeer({ url: `${server.origin}/edge-ha/v1`, token: 'tok-0123456789' });
    expect((await peer.hello()).gaps).toEqual([]);
    await governor.start();
    expect((await peer.hello()).gaps).toEqual([{ from: 100, to: 200 }]);
    await governor.close();
  });

  it('a third node syncing from it takes what it lacks from the next peer', async () => {
    const clock = new ManualClock(10_000);
    const points = (tag: string): Point[] => [100, 150, 300].map((t) => ({ t, v: `${tag}${t}` }));
    // b lacks [100, 200) (a reported gap it has not synced), a has everything.
    const storageB = await memory({ x: points('b') });
    await storageB.writeSyncState('edge-ha:timeSeries', ledger([[100, 200, 'merge', 'reported']]));
    const governorB = await stuck(storageB, 10_000);
    await governorB.start();
    const b = localPeer(storageB, {
      clock,
      instanceId: 'b',
      gaps: () => governorB.missingWindows(),
    });
    const a = localPeer(await memory({ x: points('a') }), { clock, instanceId: 'a' });
    const local = await memory({}, [], ['x']);
    const deputy = new TimeSeriesDeputy({ storage: local, peer: [b, a], clock });
    const summary = await deputy.run({ from: 0, to: 1_000 });
    expect(summary).toMatchObject({
      state: 'finished_ok',
      peer: 'local:b',
      peers: ['local:b', 'local:a'],
    });
    expect((await dump(local)).points.x?.map((p) => p.v)).toEqual(['a100', 'a150', 'b300']);
    await governorB.close();
  });
});
