/**
 * The remote of the memory-bound benchmark's paired rounds, in its own process so that its
 * memory is nobody's: fills a SQLite file with the points of a {@link syntheticPeer} (the same
 * values the in-process runs generate), then serves it over `node:http` on 127.0.0.1 with
 * {@link createPeerHandler} and {@link toNodeListener}, and prints one JSON line
 * ({@link MemoryServerReady}). It serves until its stdin closes (the parent ends or closes it).
 *
 * Run (compiled, see `memory-bundle.ts`) as `node server.mjs '<MemoryServerSpec as JSON>'`.
 */

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createPeerHandler } from '../src/peer/http-handler.js';
import { toNodeListener } from '../src/peer/node-listener.js';
import { openSqliteStorage } from '../src/sqlite/adapter.js';
import { syntheticPeer } from './synthetic-peer.js';

/** What the parent asks for. */
export interface MemoryServerSpec {
  /** The SQLite file to fill and serve (created). */
  readonly file: string;
  readonly items: number;
  readonly pointsPerItem: number;
  /** Timestamp of every item's first point, epoch ms. */
  readonly start: number;
  /** The read token. */
  readonly token: string;
}

/** What the server prints once it listens. */
export interface MemoryServerReady {
  /** Base URL of the peer handler. */
  readonly url: string;
  readonly items: readonly string[];
  readonly window: { readonly from: number; readonly to: number };
  /** Points stored. */
  readonly points: number;
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '') as MemoryServerSpec;
  const source = syntheticPeer({
    items: spec.items,
    pointsPerItem: spec.pointsPerItem,
    start: spec.start,
  });
  const storage = openSqliteStorage(spec.file);
  let points = 0;
  for (const item of source.items) {
    let cursor: string | undefined;
    do {
      const page = await source.peer.readPoints(
        item,
        source.window,
        cursor === undefined ? { limit: 10_000 } : { limit: 10_000, cursor },
      );
      await storage.appendPoints(item, page.items);
      points += page.items.length;
      cursor = page.next ?? undefined;
    } while (cursor !== undefined);
  }
  const server = createServer(
    toNodeListener(createPeerHandler({ storage, token: spec.token, instanceId: 'memory-remote' })),
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  const ready: MemoryServerReady = {
    url: `http://127.0.0.1:${port}/edge-ha/v1`,
    items: source.items,
    window: source.window,
    points,
  };
  process.stdout.write(`${JSON.stringify(ready)}\n`);
  const stop = (): void => {
    server.closeAllConnections();
    server.close(() => {
      storage.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
  };
  process.stdin.on('end', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
