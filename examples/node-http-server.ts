/**
 * One edge-ha instance on plain `node:http`: it serves its storage to peers over the HTTP peer
 * protocol and, at start-up, catches up from the peers it is given.
 *
 * Run two instances in two terminals (the second pulls the last hour from the first):
 *
 *   EDGE_HA_TOKEN=change-me npx tsx examples/node-http-server.ts --id b --port 7071 --simulate
 *   EDGE_HA_TOKEN=change-me npx tsx examples/node-http-server.ts --id a --port 7070 \
 *     --peer http://127.0.0.1:7071/edge-ha/v1 --item plant/temp --lookback-ms 3600000
 *
 * In your own project, import from 'edge-ha' instead of '../src/…'. The memory adapter keeps data
 * only while the process runs; use the SQLite adapter (`edge-ha/sqlite`) for a real instance.
 */

import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { GovernorRunResult } from '../src/governor/index.js';
import { HAGovernor, type HAGovernorOptions } from '../src/governor/index.js';
import { httpPeer } from '../src/peer/http-client.js';
import { createPeerHandler } from '../src/peer/http-handler.js';
import { toNodeListener } from '../src/peer/node-listener.js';
import { MemoryStorageAdapter } from '../src/storage/memory.js';
import type { StorageAdapter } from '../src/storage/types.js';

/** Options of {@link start}. */
export interface NodeHttpServerOptions {
  /** Shared secret of the cluster's instances. */
  readonly token: string;
  /** This instance's id (returned by `hello`). */
  readonly instanceId: string;
  /** TCP port; `0` picks a free one. @default 0 */
  readonly port?: number;
  /** Interface to listen on. @default '127.0.0.1' */
  readonly host?: string;
  /** Peer base URLs to catch up from, in order of preference. @default [] */
  readonly peers?: readonly string[];
  /** Local storage. @default a new MemoryStorageAdapter (closed by `close()`) */
  readonly storage?: StorageAdapter;
  /** Extra governor options (overlap, lookback, retries, …). */
  readonly governor?: Omit<HAGovernorOptions, 'storage' | 'peers'>;
  /** Where progress lines go. @default nothing */
  readonly log?: (line: string) => void;
}

/** A running instance. */
export interface RunningNodeHttpServer {
  /** Base URL peers use to reach this instance, e.g. `http://127.0.0.1:7070/edge-ha/v1`. */
  readonly url: string;
  /** The local storage. */
  readonly storage: StorageAdapter;
  /** The governor, or `null` when no peers were given. */
  readonly governor: HAGovernor | null;
  /** Settles when the start-up catch-up is over (`null` without peers). */
  readonly synced: Promise<GovernorRunResult | null>;
  /** Stops the governor and the server, and closes a storage `start` created. */
  close(): Promise<void>;
}

/** Starts one instance: peer handler on `node:http`, then the governor against `peers`. */
export async function start(options: NodeHttpServerOptions): Promise<RunningNodeHttpServer> {
  const log = options.log ?? (() => undefined);
  const ownStorage = options.storage === undefined;
  const storage = options.storage ?? new MemoryStorageAdapter();

  // 1. Serve the local storage to peers (read only), so they can catch up from us.
  const handler = createPeerHandler({
    storage,
    token: options.token,
    instanceId: options.instanceId,
    log: (entry) =>
      log(`peer handler: ${entry.status} ${entry.code} ${entry.method} ${entry.path}`),
  });
  const server = createServer(toNodeListener(handler));
  server.listen(options.port ?? 0, options.host ?? '127.0.0.1');
  await once(server, 'listening');
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  const url = `http://${host}:${port}/edge-ha/v1`;
  log(`${options.instanceId} serves its storage at ${url}`);

  // 2. Catch up from the peers: the governor adds the time this node was down to its gap ledger
  //    and syncs it (the peer wins only where this node was down; around it, it merges).
  const peers = (options.peers ?? []).map((peerUrl) =>
    httpPeer({ url: peerUrl, token: options.token }),
  );
  let governor: HAGovernor | null = null;
  let synced: Promise<GovernorRunResult | null> = Promise.resolve(null);
  if (peers.length > 0) {
    governor = new HAGovernor({ ...options.governor, storage, peers });
    governor.on('transition', (event) =>
      log(`${event.kind}: ${event.fromCode}→${event.toCode} ${event.to} (${event.reason})`),
    );
    synced = governor.start();
    synced.then(
      (result) =>
        log(
          `catch-up finished: time series ${result?.timeSeries?.state ?? 'off'}, events ${result?.events?.state ?? 'off'}`,
        ),
      (error: unknown) => log(`catch-up failed: ${String(error)}`),
    );
  }

  return {
    url,
    storage,
    governor,
    synced,
    async close() {
      await governor?.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (ownStorage) await storage.close();
    },
  };
}

/** Writes a simulated sensor feed (one point and every tenth second an alarm event). */
function simulate(storage: StorageAdapter): () => void {
  let n = 0;
  const timer = setInterval(() => {
    const t = Date.now();
    n++;
    void storage.appendPoints('plant/temp', [{ t, v: 20 + Math.sin(n / 10) }]);
    if (n % 10 === 0) void storage.insertEventsIfAbsent([{ id: `alarm-${t}`, t, body: { n } }]);
  }, 1_000);
  return () => clearInterval(timer);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      id: { type: 'string', default: 'node-a' },
      port: { type: 'string', default: process.env.PORT ?? '7070' },
      host: { type: 'string', default: '127.0.0.1' },
      peer: { type: 'string', multiple: true, default: process.env.EDGE_HA_PEER?.split(',') ?? [] },
      item: { type: 'string', multiple: true, default: [] },
      'lookback-ms': { type: 'string', default: '0' },
      simulate: { type: 'boolean', default: false },
    },
  });
  const token = process.env.EDGE_HA_TOKEN;
  if (token === undefined || token === '') {
    console.error('Set EDGE_HA_TOKEN to the shared secret of the instances.');
    process.exit(2);
  }
  const storage = new MemoryStorageAdapter();
  await storage.registerItems(values.item);
  const running = await start({
    token,
    instanceId: values.id,
    port: Number(values.port),
    host: values.host,
    peers: values.peer,
    storage,
    governor: { firstStartLookbackMs: Number(values['lookback-ms']) },
    log: (line) => console.log(line),
  });
  const stopFeed = values.simulate ? simulate(storage) : () => undefined;
  const shutdown = (): void => {
    stopFeed();
    void running.close().then(() => storage.close());
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
