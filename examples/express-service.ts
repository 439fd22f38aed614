/**
 * An Express 5 service that embeds edge-ha: the peer handler is mounted on a sub-path
 * (`/peer/edge-ha/v1/*`) through `toNodeListener`, and `/healthz` maps the governor's `caughtUp`
 * to readiness (200 when caught up, 503 while catching up or after a failed catch-up).
 *
 *   EDGE_HA_TOKEN=change-me npx tsx examples/express-service.ts --id a --port 8080 \
 *     --peer http://127.0.0.1:7071/edge-ha/v1 --item plant/temp --lookback-ms 3600000
 *
 * In your own project, import from 'edge-ha' instead of '../src/…'.
 */

import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import express from 'express';
import {
  type GovernorRunResult,
  HAGovernor,
  type HAGovernorOptions,
} from '../src/governor/index.js';
import { httpPeer } from '../src/peer/http-client.js';
import { createPeerHandler } from '../src/peer/http-handler.js';
import { toNodeListener } from '../src/peer/node-listener.js';
import { MemoryStorageAdapter } from '../src/storage/memory.js';
import type { StorageAdapter } from '../src/storage/types.js';

/** Options of {@link start}. */
export interface ExpressServiceOptions {
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
export interface RunningExpressService {
  /** The service's origin, e.g. `http://127.0.0.1:8080` (`/healthz` lives there). */
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

/** Starts the service: Express app with the peer handler and `/healthz`, then the governor. */
export async function start(options: ExpressServiceOptions): Promise<RunningExpressService> {
  const log = options.log ?? (() => undefined);
  const ownStorage = options.storage === undefined;
  const storage = options.storage ?? new MemoryStorageAdapter();
  const peers = (options.peers ?? []).map((url) => httpPeer({ url, token: options.token }));
  const governor =
    peers.length > 0 ? new HAGovernor({ ...options.governor, storage, peers }) : null;

  const app = express();
  // Readiness: an instance that has not caught up must not serve queries yet.
  app.get('/healthz', (_req, res) => {
    if (governor === null) {
      res.status(200).json({ ready: true, caughtUp: true });
      return;
    }
    const status = governor.status();
    const deputy = (kind: 'timeSeries' | 'events') => {
      const snapshot = status.deputies[kind];
      return snapshot === null ? null : { state: snapshot.state, code: snapshot.code };
    };
    res.status(status.caughtUp ? 200 : 503).json({
      ready: status.caughtUp,
      caughtUp: status.caughtUp,
      running: status.running,
      // What is still missing: the gaps of each deputy's ledger (empty when caught up).
      gaps: {
        timeSeries: status.gaps.timeSeries?.length ?? 0,
        events: status.gaps.events?.length ?? 0,
      },
      deputies: { timeSeries: deputy('timeSeries'), events: deputy('events') },
    });
  });
  // The peer protocol, mounted before any body parser (the handler reads the raw body itself).
  // Express strips the mount path, so the handler sees /edge-ha/v1/… as usual.
  app.use(
    '/peer',
    toNodeListener(
      createPeerHandler({
        storage,
        token: options.token,
        instanceId: options.instanceId,
        log: (entry) => log(`peer handler: ${entry.status} ${entry.code} ${entry.path}`),
      }),
    ),
  );

  const server = app.listen(options.port ?? 0, options.host ?? '127.0.0.1');
  await once(server, 'listening');
  const { address, port } = server.address() as AddressInfo;
  const origin = `http://${address.includes(':') ? `[${address}]` : address}:${port}`;
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
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
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
