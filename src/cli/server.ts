/** Serving a storage adapter to peers over `node:http` (used by `serve` and the demo). */

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Clock } from '../clock.js';
import type { Logger } from '../ops/logger.js';
import {
  createPeerHandler,
  type PeerHandlerLogEntry,
  type PeerHandlerMetricsOptions,
  type PeerReadiness,
} from '../peer/http-handler.js';
import { toNodeListener } from '../peer/node-listener.js';
import { DEFAULT_PEER_BASE_PATH } from '../peer/wire.js';
import type { StorageAdapter, TimeWindow } from '../storage/types.js';
import { usageError } from './errors.js';
import { createNodeServer, type ServerTls, type TlsClientFailure } from './tls.js';

/** A running peer server. */
export interface PeerServer {
  /** URL clients pass to `httpPeer` (with the base path), e.g. `http://127.0.0.1:7070/edge-ha/v1`. */
  readonly url: string;
  /** The server's origin, e.g. `http://127.0.0.1:7070`. */
  readonly origin: string;
  /** The bound port (useful with port 0). */
  readonly port: number;
  /** The instance id the server announces in `hello`. */
  readonly instanceId: string;
  /** Stops accepting connections, ends open ones and resolves when the server is closed. */
  close(): Promise<void>;
}

/** Options of {@link startPeerServer}. */
export interface PeerServerOptions {
  /** The storage served; written into only through the write routes, with `writeToken`. */
  readonly storage: StorageAdapter;
  /** Shared bearer token: grants reads. */
  readonly token: string;
  /**
   * Secret that grants writes (`/write/points`, `/write/events`) and reads; different from
   * `token`. Without it every write is refused with `403 PEER_FORBIDDEN`.
   */
  readonly writeToken?: string | undefined;
  /** Instance id returned by `hello`, or a function of the bound port (useful with port 0). */
  readonly instanceId: string | ((port: number) => string);
  /** Interface to listen on. @default '127.0.0.1' */
  readonly host?: string;
  /** Port; 0 picks a free one. */
  readonly port: number;
  /** Error-reply hook (failed authentications, storage failures). */
  readonly log?: (entry: PeerHandlerLogEntry) => void;
  /** Clock whose time `hello` reports (tests simulate a skewed peer with it). @default systemClock */
  readonly clock?: Clock;
  /**
   * The windows this node is missing, sent in `hello` so its peers take them elsewhere (e.g.
   * `() => governor.missingWindows()`).
   */
  readonly gaps?: () => readonly TimeWindow[];
  /** Readiness for `GET /readyz` (see `PeerHandlerOptions.readiness`). */
  readonly readiness?: () => PeerReadiness;
  /** `GET /metrics` (see `PeerHandlerOptions.metrics`). */
  readonly metrics?: PeerHandlerMetricsOptions;
  /** The handler's logger (see `PeerHandlerOptions.logger`). */
  readonly logger?: Logger;
  /** HTTPS (and mutual TLS) settings; plain HTTP without. */
  readonly tls?: ServerTls | undefined;
  /** Hears every refused or failed TLS handshake. */
  readonly onTlsError?: (failure: TlsClientFailure) => void;
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/**
 * Starts a `node:http` server (`node:https` with `tls`) mounting `createPeerHandler` on the
 * default base path.
 */
export async function startPeerServer(options: PeerServerOptions): Promise<PeerServer> {
  const host = options.host ?? '127.0.0.1';
  let listener: ReturnType<typeof toNodeListener> | undefined;
  const server = createNodeServer(
    options.tls,
    (req, res) => {
      if (listener) listener(req, res);
      else res.writeHead(503).end();
    },
    options.onTlsError,
  );
  server.keepAliveTimeout = 1_000;
  await listen(server, options.port, host);
  const port = (server.address() as AddressInfo).port;
  const instanceId =
    typeof options.instanceId === 'function' ? options.instanceId(port) : options.instanceId;
  listener = toNodeListener(
    createPeerHandler({
      storage: options.storage,
      token: options.token,
      writeToken: options.writeToken,
      instanceId,
      ...(options.log === undefined ? {} : { log: options.log }),
      ...(options.clock === undefined ? {} : { clock: options.clock }),
      ...(options.gaps === undefined ? {} : { gaps: options.gaps }),
      ...(options.readiness === undefined ? {} : { readiness: options.readiness }),
      ...(options.metrics === undefined ? {} : { metrics: options.metrics }),
      ...(options.logger === undefined ? {} : { logger: options.logger }),
    }),
  );
  const urlHost = host.includes(':') ? `[${host}]` : host;
  let closed: Promise<void> | undefined;
  const origin = `${options.tls === undefined ? 'http' : 'https'}://${urlHost}:${port}`;
  return {
    url: `${origin}${DEFAULT_PEER_BASE_PATH}`,
    origin,
    port,
    instanceId,
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}

/**
 * Finds a free loopback port by binding port 0 and releasing it. Used by the demo to write the
 * operators' ports into their policies before the servers start; another process could take the
 * port in between, which on a loopback demo is unlikely and fails loudly (EADDRINUSE).
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const server = createServer();
  await listen(server, 0, host);
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * A peer URL as given on the command line: `http://host:port` gets the default base path
 * (`/edge-ha/v1`) appended; a URL with a path is used as it is.
 */
export function normalizePeerUrl(input: string): string {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw usageError(`--peer must be an http(s) URL such as http://10.0.0.5:7070, got "${input}".`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw usageError(`--peer must be an http(s) URL, got "${input}".`);
  }
  if (url.pathname === '/' || url.pathname === '') url.pathname = DEFAULT_PEER_BASE_PATH;
  return url.toString().replace(/\/$/, '');
}
