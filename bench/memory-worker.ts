/**
 * The edge-ha child process of the memory-bound benchmark: one {@link TimeSeriesDeputy}
 * back-fill (mode overwrite: a node that was down for the whole window) into a fresh SQLite
 * file, measured with {@link startSampling}, reported as one JSON line
 * ({@link MemoryWorkerResult}). Two sources ({@link MemoryWorkerSpec}):
 *
 * - `synthetic`: a {@link syntheticPeer} in the same process that generates its points on the
 *   fly (100 items), so the growth is the sync machinery alone (deputy, pages, SQLite);
 * - `http`: the real path, {@link httpPeer} pulling from the peer handler of another process
 *   (`memory-server.ts`) over loopback HTTP: the syncing process as it runs in production.
 *
 * Run (compiled, see `memory-bundle.ts`) as `node --expose-gc edge.mjs '<spec as JSON>'`.
 */

import { TimeSeriesDeputy } from '../src/deputy/deputy.js';
import { httpPeer } from '../src/peer/http-client.js';
import type { RemotePeer } from '../src/peer/types.js';
import { openSqliteStorage } from '../src/sqlite/adapter.js';
import type { TimeWindow } from '../src/storage/types.js';
import { type MemoryFigures, report, startSampling } from './memory-sampler.js';
import { syntheticPeer } from './synthetic-peer.js';

/** What the parent asks for. */
export type MemoryWorkerSpec =
  | {
      readonly mode: 'synthetic';
      /** Points to back-fill (over 100 items). */
      readonly points: number;
      /** The SQLite file to create. */
      readonly dest: string;
    }
  | {
      readonly mode: 'http';
      /** Base URL of the remote's peer handler. */
      readonly url: string;
      readonly token: string;
      readonly items: readonly string[];
      readonly window: TimeWindow;
      /** The SQLite file to create. */
      readonly dest: string;
      /** Deputy option `pageSize` (for diagnosis; default the deputy's). */
      readonly pageSize?: number;
      /** Deputy option `concurrency` (for diagnosis; default the deputy's). */
      readonly concurrency?: number;
    };

/** What the worker prints. */
export interface MemoryWorkerResult extends MemoryFigures {
  /** Points synced. */
  readonly points: number;
  /** Duration of the back-fill, ms. */
  readonly ms: number;
  /** Final state of the run. */
  readonly state: string;
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '') as MemoryWorkerSpec;
  let peer: RemotePeer;
  let items: readonly string[];
  let window: TimeWindow;
  if (spec.mode === 'synthetic') {
    const itemCount = 100;
    const source = syntheticPeer({
      items: itemCount,
      pointsPerItem: Math.floor(spec.points / itemCount),
    });
    ({ peer, items, window } = source);
  } else {
    peer = httpPeer({ url: spec.url, token: spec.token });
    ({ items, window } = spec);
  }
  const storage = openSqliteStorage(spec.dest);
  await storage.registerItems(items);
  const tuning =
    spec.mode === 'http'
      ? {
          ...(spec.pageSize === undefined ? {} : { pageSize: spec.pageSize }),
          ...(spec.concurrency === undefined ? {} : { concurrency: spec.concurrency }),
        }
      : {};
  const deputy = new TimeSeriesDeputy({ storage, peer, ...tuning });
  const sampler = await startSampling();
  // The deputy yields between pages (every storage and peer call is a promise): the timer fires.
  deputy.on('progress', sampler.sample);
  const start = performance.now();
  const summary = await deputy.run(window, { mode: 'overwrite' });
  const ms = performance.now() - start;
  const figures = sampler.stop();
  await storage.close();
  const result: MemoryWorkerResult = {
    ...figures,
    points: summary.points,
    ms,
    state: summary.state,
  };
  report(result);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
