/**
 * A Fastify 5 service that embeds edge-ha with the `edge-ha/fastify` plugin: the peer routes are
 * mounted under `/peer` (`/peer/edge-ha/v1/*`, with `/peer/healthz` and `/peer/readyz`), next to
 * the service's own JSON route `POST /ingest`, which keeps Fastify's JSON parser. `/peer/readyz`
 * answers 200 once the governor has caught up from the peers, 503 before (or after a failed
 * catch-up).
 *
 *   EDGE_HA_TOKEN=change-me npx tsx examples/fastify-service.ts --id a --port 8080 \
 *     --peer http://127.0.0.1:7071/edge-ha/v1 --item plant/temp --lookback-ms 3600000
 *   curl -sS localhost:8080/ingest -H 'content-type: application/json' \
 *     -d '{"item":"plant/temp","points":[{"t":1717000000000,"v":21.5}]}'
 *
 * In your own project, import from 'edge-ha' and 'edge-ha/fastify' instead of '../src/…'.
 */

import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import Fastify from 'fastify';
import { edgeHaPlugin } from '../src/fastify/index.js';
import {
  type GovernorRunResult,
  HAGovernor,
  type HAGovernorOptions,
} from '../src/governor/index.js';
import { httpPeer } from '../src/peer/http-client.js';
import { MemoryStorageAdapter } from '../src/storage/memory.js';
import type { Point, StorageAdapter } from '../src/storage/types.js';

/** Options of {@link start}. */
export interface FastifyServiceOptions {
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

/** A running service. */
export interface RunningFastifyService {
  /** The service's origin, e.g. `http://127.0.0.1:8080` (`POST /ingest` lives there). */
  readonly origin: string;
  /** Base URL peers use to reach this instance: `<origin>/peer/edge-ha/v1`. */
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

/** The body of `POST /ingest`. */
interface IngestBody {
  readonly item: string;
  readonly points: readonly Point[];
}

/** Starts the service: Fastify app with `/ingest` and the edge-ha plugin, then the governor. */
export async function start(options: FastifyServiceOptions): Promise<RunningFastifyService> {
  const log = options.log ?? (() => undefined);
  const ownStorage = options.storage === undefined;
  const storage = options.storage ?? new MemoryStorageAdapter();
  const peers = (options.peers ?? []).map((url) => httpPeer({ url, token: options.token }));
  const governor =
    peers.length > 0 ? new HAGovernor({ ...options.governor, storage, peers }) : null;

  const app = Fastify();
  // The service's own route, parsed by Fastify's JSON parser as usual (the plugin's raw-body
  // parser lives in the plugin's context only). Invalid points are refused by the storage.
  app.post<{ Body: IngestBody }>('/ingest', async (request, reply) => {
    const { item, points } = request.body;
    try {
      await storage.appendPoints(item, points);
    } catch (error) {
      return reply
        .code(400)
        .send({ error: error instanceof Error ? error.message : String(error) });
    }
    return { written: points.length };
  });
  // The peer protocol under /peer: /peer/edge-ha/v1/*, /peer/healthz, /peer/readyz, /peer/metrics.
  await app.register(edgeHaPlugin, {
    prefix: '/peer',
    storage,
    token: options.token,
    instanceId: options.instanceId,
    // Peers learn from hello which windows this instance still lacks, and take them elsewhere.
    gaps: () => governor?.missingWindows() ?? [],
    // Readiness: an instance that has not caught up must not serve queries yet.
    readiness: () => {
      if (governor === null) return { ready: true };
      const status = governor.status();
      return status.caughtUp ? { ready: true } : { ready: false, reason: 'not caught up' };
    },
    log: (entry) => log(`peer handler: ${entry.status} ${entry.code} ${entry.path}`),
  });

  const origin = await app.listen({ port: options.port ?? 0, host: options.host ?? '127.0.0.1' });
  const url = `${origin}/peer/edge-ha/v1`;
  log(`${options.instanceId} listens on ${origin}; peers reach it at ${url}`);

  let synced: Promise<GovernorRunResult | null> = Promise.resolve(null);
  if (governor !== null) {
    governor.on('transition', (event) =>
      log(`${event.kind}: ${event.fromCode}→${event.toCode} ${event.to} (${event.reason})`),
    );
    synced = governor.start();
    synced.catch((error: unknown) => log(`catch-up failed: ${String(error)}`));
  }

  return {
    origin,
    url,
    storage,
    governor,
    synced,
    async close() {
      await governor?.close();
      await app.close();
      if (ownStorage) await storage.close();
    },
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      id: { type: 'string', default: 'service-a' },
      port: { type: 'string', default: process.env.PORT ?? '8080' },
      host: { type: 'string', default: '127.0.0.1' },
      peer: { type: 'string', multiple: true, default: process.env.EDGE_HA_PEER?.split(',') ?? [] },
      item: { type: 'string', multiple: true, default: [] },
      'lookback-ms': { type: 'string', default: '0' },
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
  const shutdown = (): void => {
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
