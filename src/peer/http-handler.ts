/**
 * The server side of the HTTP peer protocol: a fetch-style handler serving a storage adapter to
 * the deputies of other instances, and accepting writes from holders of the write token.
 */

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../clock.js';
import { systemClock } from '../clock.js';
import { isEdgeHaError, PeerError } from '../errors.js';
import { errorFields, type Logger, safeLog } from '../ops/logger.js';
import {
  HANDLER_METRICS,
  type MetricFamily,
  type MetricsSnapshot,
  snapshotFamilies,
} from '../ops/metrics.js';
import { formatPrometheus, PROMETHEUS_CONTENT_TYPE } from '../ops/prometheus.js';
import { jsonPageOf } from '../storage/json-page.js';
import type { JsonPage, Point, StorageAdapter, TimeWindow } from '../storage/types.js';
import { MAX_PAGE_LIMIT } from '../storage/validate.js';
import { helloGaps } from './gaps.js';
import { PEER_PROTOCOL_VERSION } from './types.js';
import {
  BodyTooLargeError,
  DEFAULT_PEER_BASE_PATH,
  decodeUtf8,
  describeIssues,
  eventsRequestSchema,
  isJsonContentType,
  pointsRequestSchema,
  ROUTES,
  readCapped,
  type WireErrorCode,
  WRITE_ROUTES,
  writeEventsRequestSchema,
  writePointsRequestSchema,
} from './wire.js';

/**
 * A fetch-style HTTP handler: one `Request` in, one `Response` out. Never rejects.
 *
 * @group Peer protocol
 */
export type PeerHandler = (request: Request) => Promise<Response>;

/**
 * Limits a {@link createPeerHandler} enforces on every request.
 *
 * @group Peer protocol
 */
export interface PeerHandlerLimits {
  /**
   * Largest accepted request body, in bytes; larger bodies get `413`.
   * @default 65536
   */
  readonly maxBodyBytes?: number;
  /**
   * Largest page served: a request asking for more gets at most this many records (the page is
   * simply shorter, the client pages on). At most 100000. The reply, and the memory it takes,
   * grows with it.
   * @default 5000
   */
  readonly maxPageLimit?: number;
  /**
   * Largest reply served, in bytes of JSON. A page whose records would exceed it is served
   * shorter (re-read with a smaller limit, so the cursor stays exact) and the client pages on;
   * keep it below the client's `maxReplyBytes` (16 MiB by default). A single record larger than
   * this is answered with `500 PEER_INTERNAL` and logged.
   * @default 8388608 (8 MiB)
   */
  readonly maxReplyBytes?: number;
}

/**
 * One error reply, as reported to {@link PeerHandlerOptions.log}.
 *
 * @group Peer protocol
 */
export interface PeerHandlerLogEntry {
  /** HTTP status sent. */
  readonly status: number;
  /** The code sent in `{ error: { code } }`. */
  readonly code: string;
  /** The message sent to the client. */
  readonly message: string;
  /** Request method. */
  readonly method: string;
  /** Request path (no query string). */
  readonly path: string;
  /** The underlying error of a `5xx` reply (never sent to the client), if any. */
  readonly error?: unknown;
}

/**
 * What {@link PeerHandlerOptions.readiness} returns.
 *
 * @group Peer protocol
 */
export interface PeerReadiness {
  /** Whether the node should receive traffic (for example: caught up). */
  readonly ready: boolean;
  /** Why not, in words (sent in the `503` reply). */
  readonly reason?: string | undefined;
}

/**
 * What {@link PeerHandlerOptions.metrics} configures: who may scrape, and what is served.
 *
 * @group Peer protocol
 */
export interface PeerHandlerMetricsOptions {
  /**
   * Serve `GET /metrics` without authentication (for a scraper on a trusted network). Otherwise
   * it needs the read token (or the write token) as `authorization: Bearer <token>`, like the
   * protocol routes.
   * @default false
   */
  readonly public?: boolean;
  /**
   * The figures served after the handler's own: a {@link MetricsSnapshot} (for an edge-ha node:
   * `() => governor.metrics()`), formatted as the Prometheus text format; or exposition text
   * the host formats itself, served as it is; or `null` for nothing more. A throwing hook is
   * answered `500 PEER_INTERNAL` (the cause goes to `log` and `logger`).
   * @default undefined (the handler's own metrics only)
   */
  readonly collect?: () => MetricsSnapshot | string | null;
}

/** Key of the sync-state record `/healthz` reads to check that the storage answers. */
const HEALTH_PROBE_KEY = 'edge-ha:healthz';

/**
 * Options of {@link createPeerHandler}.
 *
 * @group Peer protocol
 */
export interface PeerHandlerOptions {
  /**
   * The storage served to peers. The handler writes into it only on the write routes, and only
   * for a request carrying {@link PeerHandlerOptions.writeToken}.
   */
  readonly storage: StorageAdapter;
  /**
   * Shared secret that grants reads; clients send it as `authorization: Bearer <token>`.
   * Non-empty. It never grants writes.
   */
  readonly token: string;
  /**
   * A second secret that grants writes (`/write/points`, `/write/events`) as well as reads,
   * compared in constant time like `token`. Non-empty, at most 4096 characters, and different
   * from `token`. Without it every write is answered `403 PEER_FORBIDDEN`.
   * @default undefined (writes refused)
   * @example
   * ```ts
   * import { createPeerHandler, type StorageAdapter } from 'edge-ha';
   *
   * declare const storage: StorageAdapter;
   *
   * createPeerHandler({
   *   storage,
   *   instanceId: 'a',
   *   token: process.env.EDGE_HA_TOKEN!, // reads (the deputies of peers)
   *   writeToken: process.env.EDGE_HA_WRITE_TOKEN, // writes (a WriteDistributor); unset: refused
   * });
   * ```
   */
  readonly writeToken?: string | undefined;
  /** This instance's id, returned by `hello`. Non-empty. */
  readonly instanceId: string;
  /**
   * Clock used for `hello`'s `now`.
   * @default systemClock
   */
  readonly clock?: Clock;
  /** Request limits. */
  readonly limits?: PeerHandlerLimits;
  /**
   * Path prefix of the routes (`<basePath>/hello`, …). Use `''` when the host already mounts the
   * handler on the prefix and strips it.
   * @default '/edge-ha/v1'
   */
  readonly basePath?: string;
  /**
   * Called for every error reply (4xx and 5xx), e.g. to log failed authentications or storage
   * failures. Internals (the `error` of a 5xx) go here, never into the reply. A throwing hook is
   * ignored.
   */
  readonly log?: (entry: PeerHandlerLogEntry) => void;
  /**
   * The windows this instance is missing itself (for an edge-ha node: its governor's
   * `missingWindows()`), called for every `hello` and listed in the reply as `gaps`, so a
   * deputy that syncs from this peer takes those windows from another peer. Invalid windows are
   * left out, the list is joined and bounded to 1000 windows, and a throwing hook counts as no
   * gaps (the hello is still answered).
   * @default undefined (hello lists no gaps)
   * @example
   * ```ts
   * import { createPeerHandler, type HAGovernor, type StorageAdapter } from 'edge-ha';
   *
   * declare const storage: StorageAdapter;
   * declare const governor: HAGovernor;
   *
   * createPeerHandler({
   *   storage,
   *   instanceId: 'a',
   *   token: process.env.EDGE_HA_TOKEN!,
   *   gaps: () => governor.missingWindows(),
   * });
   * ```
   */
  readonly gaps?: () => readonly TimeWindow[];
  /**
   * Readiness for `GET /readyz` (unauthenticated): `{ ready: true }`, or `{ ready: false, reason }`
   * (for example not caught up yet). Without it, `/readyz` answers like `/healthz`. A throwing
   * hook counts as not ready.
   * @default undefined (ready while serving)
   * @example
   * ```ts
   * import { createPeerHandler, type HAGovernor, type StorageAdapter } from 'edge-ha';
   *
   * declare const storage: StorageAdapter;
   * declare const governor: HAGovernor;
   *
   * createPeerHandler({
   *   storage,
   *   instanceId: 'a',
   *   token: process.env.EDGE_HA_TOKEN!,
   *   readiness: () => governor.status().caughtUp
   *     ? { ready: true }
   *     : { ready: false, reason: 'not caught up' },
   * });
   * ```
   */
  readonly readiness?: () => PeerReadiness;
  /**
   * `GET /metrics` (and `GET <basePath>/metrics`) in the Prometheus text exposition format
   * 0.0.4: the handler's own metrics (requests by route and status, bytes served, process
   * memory), then what `collect` returns. Authenticated with the read token unless `public`.
   * @default {} (authenticated; the handler's own metrics only)
   * @example
   * ```ts
   * import { createPeerHandler, type HAGovernor, type StorageAdapter } from 'edge-ha';
   *
   * declare const storage: StorageAdapter;
   * declare const governor: HAGovernor;
   *
   * createPeerHandler({
   *   storage,
   *   instanceId: 'a',
   *   token: process.env.EDGE_HA_TOKEN!,
   *   metrics: { collect: () => governor.metrics() },
   * });
   * ```
   */
  readonly metrics?: PeerHandlerMetricsOptions;
  /**
   * Where the handler logs (pino-compatible: `error(fields, message)`): every `5xx` at `error`
   * with its cause (`err`: the storage error's name, code, message and stack: never sent to the
   * client), refused authentications and writes at `warn`, other `4xx` and every request at
   * `debug`. A throwing logger is ignored.
   * @default undefined
   */
  readonly logger?: Logger;
}

/** Body sizes of the replies this module builds (for the bytes-served metric). */
const BODY_BYTES = new WeakMap<Response, number>();

const DEFAULT_MAX_BODY_BYTES = 65_536;
const DEFAULT_MAX_PAGE_LIMIT = 5000;
const DEFAULT_MAX_REPLY_BYTES = 8 * 1024 * 1024;
const MAX_TOKEN_LENGTH = 4096;

/** Errors of storage calls that mean "the request was wrong", not "the server failed". */
const STORAGE_REQUEST_CODES: ReadonlySet<string> = new Set([
  'STORAGE_INVALID_WINDOW',
  'STORAGE_INVALID_CURSOR',
  'STORAGE_INVALID_PAGE',
  'STORAGE_INVALID_ITEM',
  'STORAGE_INVALID_RECORD',
  'STORAGE_VALUE_OUT_OF_RANGE',
]);

/** A reply decided before the route ran (auth, validation, …). */
class Reply {
  constructor(
    readonly status: number,
    readonly code: WireErrorCode,
    readonly message: string,
    readonly headers: Readonly<Record<string, string>> = {},
    readonly error?: unknown,
  ) {}
}

function json(
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): Response {
  return jsonText(status, JSON.stringify(body), headers);
}

function jsonText(
  status: number,
  text: string,
  headers: Readonly<Record<string, string>> = {},
): Response {
  const response = new Response(text, {
    status,
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'no-store',
      ...headers,
    },
  });
  BODY_BYTES.set(response, Buffer.byteLength(text, 'utf8'));
  return response;
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

function positiveInt(
  value: number | undefined,
  fallback: number,
  name: string,
  max: number,
): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1 || value > max) {
    throw new PeerError(
      'PEER_INVALID_OPTION',
      `createPeerHandler: limits.${name} must be an integer from 1 to ${max}, got ${String(value)}.`,
    );
  }
  return value;
}

function normalizeBasePath(basePath: string): string {
  if (basePath === '' || basePath === '/') return '';
  if (!basePath.startsWith('/') || basePath.includes('?') || basePath.includes('#')) {
    throw new PeerError(
      'PEER_INVALID_OPTION',
      `createPeerHandler: basePath must be '' or start with '/' (e.g. '/edge-ha/v1'), got '${basePath}'.`,
    );
  }
  return basePath.replace(/\/+$/, '');
}

/**
 * Creates the server side of the HTTP peer protocol: a fetch-style handler that serves `storage`
 * to the deputies of other instances and, for holders of `writeToken`, accepts writes into it.
 * Mount it in any server: `Bun.serve`, Deno, Hono, `node:http` / `node:https` / Express through
 * {@link toNodeListener}, or Fastify with the `edgeHaPlugin` of `edge-ha/fastify`.
 *
 * Protocol v1. Every request carries `authorization: Bearer <token>` (compared in constant time:
 * both sides are hashed with SHA-256, then compared with `timingSafeEqual`). Reads with
 * parameters and writes are POSTs with a JSON body (`content-type: application/json`, at most
 * `limits.maxBodyBytes`, unknown fields rejected); replies are JSON. Routes, under `basePath`:
 *
 * | route | method | request body | reply |
 * |---|---|---|---|
 * | `/hello` | GET | – | `{ instanceId, protocolVersion, now, gaps? }` |
 * | `/items` | GET | – | `{ items: string[] }` |
 * | `/points` | POST | `{ item, window: { from, to }, limit, cursor? }` | `{ items: Point[], next }` |
 * | `/events` | POST | `{ window: { from, to }, limit, cursor? }` | `{ items: EventRecord[], next }` |
 * | `/write/points` | POST | `{ item, points: Point[] }` | `{ written }` |
 * | `/write/events` | POST | `{ events: EventRecord[] }` | `{ inserted }` |
 *
 * The read routes accept `token` or `writeToken`; the `/write/*` routes accept `writeToken` only
 * (`403 PEER_FORBIDDEN` for `token`, or for everyone when no `writeToken` is configured).
 * `/write/points` stores the points with `storage.appendPoints` (a point at an existing
 * timestamp replaces it) and replies how many it stored; `/write/events` stores the events with
 * `storage.insertEventsIfAbsent` (an existing id is never changed) and replies how many were
 * new. A write body is validated as a whole before anything is stored: one bad record rejects
 * the batch with `400` and stores nothing.
 *
 * Operations: `GET /healthz` and `GET /readyz` (unauthenticated), and `GET /metrics`
 * in the Prometheus text format (authenticated unless `metrics.public`), each at the root and
 * under `basePath`.
 *
 * `next` is an opaque cursor (at most 4096 characters) or `null` at the end. A `limit` above
 * `limits.maxPageLimit` is served as a shorter page. An item this storage does not list answers
 * `404 PEER_UNKNOWN_ITEM` (a known item with no points in the window is an empty page).
 *
 * Error replies are `{ error: { code, message } }` with one of these codes: `PEER_AUTH` (401),
 * `PEER_FORBIDDEN` (403, a write without the write token), `PEER_BAD_REQUEST` (400),
 * `PEER_NOT_FOUND` (404, unknown route), `PEER_UNKNOWN_ITEM` (404),
 * `PEER_METHOD_NOT_ALLOWED` (405), `PEER_PAYLOAD_TOO_LARGE` (413),
 * `PEER_UNSUPPORTED_MEDIA_TYPE` (415), `PEER_INTERNAL` (500), `PEER_UNAVAILABLE` (503, storage
 * closed). They never contain stack traces or storage internals; `log` and `logger` get those.
 *
 * @throws {PeerError} `PEER_INVALID_OPTION` when an option is invalid.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * import { createPeerHandler, MemoryStorageAdapter, toNodeListener } from 'edge-ha';
 *
 * const storage = new MemoryStorageAdapter();
 * const handler = createPeerHandler({ storage, token: process.env.EDGE_HA_TOKEN!, instanceId: 'a' });
 * createServer(toNodeListener(handler)).listen(7070);
 * // peers now reach it as httpPeer({ url: 'http://host:7070/edge-ha/v1', token })
 * ```
 *
 * @group Peer protocol
 */
export function createPeerHandler(options: PeerHandlerOptions): PeerHandler {
  const { storage, token, writeToken, instanceId, log, logger } = options;
  if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
    throw new PeerError(
      'PEER_INVALID_OPTION',
      `createPeerHandler: token must be a non-empty string of at most ${MAX_TOKEN_LENGTH} characters.`,
    );
  }
  if (
    writeToken !== undefined &&
    (typeof writeToken !== 'string' ||
      writeToken.length === 0 ||
      writeToken.length > MAX_TOKEN_LENGTH)
  ) {
    throw new PeerError(
      'PEER_INVALID_OPTION',
      `createPeerHandler: writeToken must be a non-empty string of at most ${MAX_TOKEN_LENGTH} characters, or absent.`,
    );
  }
  if (writeToken === token) {
    throw new PeerError(
      'PEER_INVALID_OPTION',
      'createPeerHandler: writeToken must differ from token (reading and writing are separate permissions).',
    );
  }
  if (typeof instanceId !== 'string' || instanceId.length === 0) {
    throw new PeerError(
      'PEER_INVALID_OPTION',
      'createPeerHandler: instanceId must be a non-empty string.',
    );
  }
  if (typeof storage !== 'object' || storage === null || typeof storage.readPoints !== 'function') {
    throw new PeerError(
      'PEER_INVALID_OPTION',
      'createPeerHandler: storage must be a StorageAdapter.',
    );
  }
  const gaps = options.gaps;
  if (gaps !== undefined && typeof gaps !== 'function') {
    throw new PeerError(
      'PEER_INVALID_OPTION',
      'createPeerHandler: gaps must be a function returning the windows this instance is missing, or absent.',
    );
  }
  const metricsOptions = options.metrics === undefined ? {} : options.metrics;
  if (
    typeof metricsOptions !== 'object' ||
    metricsOptions === null ||
    (metricsOptions.collect !== undefined && typeof metricsOptions.collect !== 'function') ||
    (metricsOptions.public !== undefined && typeof metricsOptions.public !== 'boolean')
  ) {
    throw new PeerError(
      'PEER_INVALID_OPTION',
      'createPeerHandler: metrics must be { public?: boolean, collect?: () => MetricsSnapshot | string | null }.',
    );
  }
  const clock = options.clock ?? systemClock;
  const maxBodyBytes = positiveInt(
    options.limits?.maxBodyBytes,
    DEFAULT_MAX_BODY_BYTES,
    'maxBodyBytes',
    Number.MAX_SAFE_INTEGER,
  );
  const maxPageLimit = positiveInt(
    options.limits?.maxPageLimit,
    DEFAULT_MAX_PAGE_LIMIT,
    'maxPageLimit',
    MAX_PAGE_LIMIT,
  );
  const maxReplyBytes = positiveInt(
    options.limits?.maxReplyBytes,
    DEFAULT_MAX_REPLY_BYTES,
    'maxReplyBytes',
    Number.MAX_SAFE_INTEGER,
  );
  const basePath = normalizeBasePath(options.basePath ?? DEFAULT_PEER_BASE_PATH);

  /**
   * Serves one page as JSON within `maxReplyBytes`: when the records do not fit, the same page
   * is read again with fewer records (the adapter then hands out the exact cursor after them).
   */
  async function servePage(
    read: (limit: number) => Promise<JsonPage>,
    first: JsonPage,
  ): Promise<Response> {
    let page = first;
    for (;;) {
      const text = `{"items":${page.json},"next":${page.next === null ? 'null' : JSON.stringify(page.next)}}`;
      // A UTF-16 unit is at most 3 UTF-8 bytes: skip counting when it cannot be too large.
      const bytes = text.length * 3 <= maxReplyBytes ? 0 : Buffer.byteLength(text, 'utf8');
      if (bytes <= maxReplyBytes) return jsonText(200, text);
      const count = page.count;
      if (count <= 1) {
        throw new Reply(
          500,
          'PEER_INTERNAL',
          'A stored record is larger than this peer may send in one reply.',
          {},
          new Error(
            `one record serialises to ${bytes} bytes > limits.maxReplyBytes ${maxReplyBytes}`,
          ),
        );
      }
      const fit = Math.floor((count * maxReplyBytes) / bytes);
      page = await fromStorage(read(Math.max(1, Math.min(count - 1, fit))));
    }
  }

  const tokenHash = sha256(token);
  // Without a write token, compare against a random secret nobody knows: same work, never a match.
  const writeTokenHash =
    writeToken === undefined ? sha256(randomBytes(32).toString('hex')) : sha256(writeToken);

  /** What the request's bearer token grants. */
  function permission(request: Request): 'none' | 'read' | 'write' {
    const header = request.headers.get('authorization') ?? '';
    const match = /^Bearer +(\S+) *$/i.exec(header);
    // Hash both sides so the comparison is constant-time whatever the lengths.
    const presented = sha256(match?.[1] ?? '');
    const reads = timingSafeEqual(presented, tokenHash);
    const writes = timingSafeEqual(presented, writeTokenHash) && writeToken !== undefined;
    if (match === null) return 'none';
    if (writes) return 'write';
    return reads ? 'read' : 'none';
  }

  async function readJsonBody(request: Request): Promise<unknown> {
    if (!isJsonContentType(request.headers.get('content-type'))) {
      throw new Reply(
        415,
        'PEER_UNSUPPORTED_MEDIA_TYPE',
        "The request body must be JSON: send 'content-type: application/json'.",
      );
    }
    const declared = request.headers.get('content-length');
    if (declared !== null && Number(declared) > maxBodyBytes) throw tooLarge();
    let bytes: Uint8Array;
    try {
      bytes = await readCapped(request.body, maxBodyBytes);
    } catch (error) {
      if (error instanceof BodyTooLargeError) throw tooLarge();
      throw new Reply(400, 'PEER_BAD_REQUEST', 'The request body could not be read (aborted?).');
    }
    try {
      return JSON.parse(decodeUtf8(bytes)) as unknown;
    } catch {
      throw new Reply(400, 'PEER_BAD_REQUEST', 'The request body is not valid UTF-8 JSON.');
    }
  }

  function tooLarge(): Reply {
    return new Reply(
      413,
      'PEER_PAYLOAD_TOO_LARGE',
      `The request body is larger than ${maxBodyBytes} bytes.`,
      { connection: 'close' },
    );
  }

  function storageFailure(error: unknown, verb: 'read' | 'write'): Reply {
    if (isEdgeHaError(error) && STORAGE_REQUEST_CODES.has(error.code)) {
      // Storage validation messages describe the caller's input (e.g. a corrupt cursor).
      return new Reply(400, 'PEER_BAD_REQUEST', `${error.code}: ${error.message}`);
    }
    if (isEdgeHaError(error, 'STORAGE_CLOSED')) {
      return new Reply(503, 'PEER_UNAVAILABLE', 'The storage is closed; retry later.', {}, error);
    }
    return new Reply(
      500,
      'PEER_INTERNAL',
      verb === 'read'
        ? 'The peer failed to read its storage; retry later.'
        : 'The peer failed to write to its storage; retry later.',
      {},
      error,
    );
  }

  /** Awaits a storage call, turning its failure into a reply. */
  async function fromStorage<T>(call: Promise<T>, verb: 'read' | 'write' = 'read'): Promise<T> {
    try {
      return await call;
    } catch (error) {
      throw storageFailure(error, verb);
    }
  }

  async function route(
    name: string,
    request: Request,
    granted: 'read' | 'write',
  ): Promise<Response> {
    const get = name === ROUTES.hello || name === ROUTES.items;
    const method = get ? 'GET' : 'POST';
    if (request.method !== method) {
      throw new Reply(405, 'PEER_METHOD_NOT_ALLOWED', `Use ${method} for ${name}.`, {
        allow: method,
      });
    }
    // Checked before the body is read: a reader cannot make this peer buffer a write.
    if (WRITE_ROUTES.has(name) && granted !== 'write') {
      throw new Reply(
        403,
        'PEER_FORBIDDEN',
        writeToken === undefined
          ? 'This peer does not accept writes: it was started without a write token (writeToken).'
          : 'This token may read but not write: send the write token to use the write routes.',
      );
    }
    if (name === ROUTES.hello) {
      const hello = { instanceId, protocolVersion: PEER_PROTOCOL_VERSION, now: clock.now() };
      return json(200, gaps === undefined ? hello : { ...hello, gaps: helloGaps(gaps) });
    }
    if (name === ROUTES.items) {
      const items = await fromStorage(storage.listItems());
      return json(200, { items });
    }
    const body = await readJsonBody(request);
    if (name === ROUTES.writePoints) {
      const parsed = writePointsRequestSchema.safeParse(body);
      if (!parsed.success) throw invalid(parsed.error);
      const { item } = parsed.data;
      const points = parsed.data.points.map(
        (p): Point => (p.q === undefined ? { t: p.t, v: p.v } : { t: p.t, v: p.v, q: p.q }),
      );
      await fromStorage(storage.appendPoints(item, points), 'write');
      return json(200, { written: points.length });
    }
    if (name === ROUTES.writeEvents) {
      const parsed = writeEventsRequestSchema.safeParse(body);
      if (!parsed.success) throw invalid(parsed.error);
      const inserted = await fromStorage(storage.insertEventsIfAbsent(parsed.data.events), 'write');
      return json(200, { inserted });
    }
    if (name === ROUTES.points) {
      const parsed = pointsRequestSchema.safeParse(body);
      if (!parsed.success) throw invalid(parsed.error);
      const { item, window, limit, cursor } = parsed.data;
      const read = (max: number): Promise<JsonPage> =>
        storage.readPointsJson === undefined
          ? storage.readPoints(item, window, { limit: max, cursor }).then(jsonPageOf)
          : storage.readPointsJson(item, window, { limit: max, cursor });
      const page = await fromStorage(read(Math.min(limit, maxPageLimit)));
      if (page.count === 0 && page.next === null && cursor === undefined) {
        // An empty first page: tell "unknown item" from "no points in this window".
        const items = await fromStorage(storage.listItems());
        if (!items.includes(item)) {
          throw new Reply(
            404,
            'PEER_UNKNOWN_ITEM',
            `This peer does not trend item ${JSON.stringify(item)}.`,
          );
        }
      }
      return servePage(read, page);
    }
    const parsed = eventsRequestSchema.safeParse(body);
    if (!parsed.success) throw invalid(parsed.error);
    const { window, limit, cursor } = parsed.data;
    const read = (max: number): Promise<JsonPage> =>
      storage.readEventsJson === undefined
        ? storage.readEvents(window, { limit: max, cursor }).then(jsonPageOf)
        : storage.readEventsJson(window, { limit: max, cursor });
    return servePage(read, await fromStorage(read(Math.min(limit, maxPageLimit))));
  }

  function invalid(error: Parameters<typeof describeIssues>[0]): Reply {
    return new Reply(
      400,
      'PEER_BAD_REQUEST',
      `The request body is invalid: ${describeIssues(error)}.`,
    );
  }

  const routes: ReadonlySet<string> = new Set(Object.values(ROUTES));

  /** `/healthz` and `/readyz`: unauthenticated, no body, nothing but the state. */
  async function probe(which: 'healthz' | 'readyz', path: string): Promise<Response> {
    const headers = { 'cache-control': 'no-store' };
    try {
      await storage.readSyncState(HEALTH_PROBE_KEY);
    } catch (error) {
      report(
        {
          status: 503,
          code: 'PEER_UNAVAILABLE',
          message: `/${which}: the storage does not answer.`,
          method: 'GET',
          path,
          error,
        },
        false,
      );
      return json(
        503,
        {
          status: 'unavailable',
          ready: false,
          instanceId,
          reason: `the storage does not answer (${isEdgeHaError(error) ? error.code : 'error'})`,
        },
        headers,
      );
    }
    if (which === 'healthz' || options.readiness === undefined) {
      return json(200, { status: 'ok', ready: true, instanceId }, headers);
    }
    let readiness: PeerReadiness;
    try {
      readiness = options.readiness();
    } catch (error) {
      readiness = {
        ready: false,
        reason: `the readiness check failed (${error instanceof Error ? error.message : String(error)})`,
      };
    }
    return readiness.ready
      ? json(200, { status: 'ok', ready: true, instanceId }, headers)
      : json(
          503,
          {
            status: 'not_ready',
            ready: false,
            instanceId,
            reason: readiness.reason ?? 'not ready',
          },
          headers,
        );
  }

  /** Reports an error reply to `log` and `logger` (the cause of a 5xx included). */
  function report(entry: PeerHandlerLogEntry, callLog = true): void {
    if (callLog && log !== undefined) {
      try {
        log(entry);
      } catch {
        // A failing log hook must not change the reply.
      }
    }
    const level =
      entry.status >= 500
        ? 'error'
        : entry.status === 401 || entry.status === 403
          ? 'warn'
          : 'debug';
    safeLog(
      logger,
      level,
      {
        status: entry.status,
        code: entry.code,
        method: entry.method,
        path: entry.path,
        ...(entry.error === undefined ? {} : { err: errorFields(entry.error) }),
      },
      `peer request ${entry.method} ${entry.path}: ${entry.status} ${entry.code}${
        entry.error === undefined ? '' : ` (${describeCause(entry.error)})`
      }`,
    );
  }

  // ---- GET /metrics ----------------------------------------------------------------------

  const requestCounts = new Map<string, { route: string; status: string; count: number }>();
  const bytesServed = new Map<string, number>();
  const publicMetrics = metricsOptions.public === true;
  const processStart = Math.round(Date.now() - process.uptime() * 1000) / 1000;

  function handlerFamilies(): MetricFamily[] {
    const memory = process.memoryUsage();
    const byRoute = [...requestCounts.values()].sort((a, b) =>
      a.route === b.route ? (a.status < b.status ? -1 : 1) : a.route < b.route ? -1 : 1,
    );
    return [
      {
        definition: HANDLER_METRICS.requests,
        samples: byRoute.map(({ route, status, count }) => ({
          labels: { route, status },
          value: count,
        })),
      },
      {
        definition: HANDLER_METRICS.responseBytes,
        samples: [...bytesServed.entries()]
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .map(([route, value]) => ({ labels: { route }, value })),
      },
      {
        definition: HANDLER_METRICS.info,
        samples: [{ labels: { instance_id: instanceId }, value: 1 }],
      },
      {
        definition: HANDLER_METRICS.startTime,
        samples: [{ labels: {}, value: processStart }],
      },
      { definition: HANDLER_METRICS.residentMemory, samples: [{ labels: {}, value: memory.rss }] },
      { definition: HANDLER_METRICS.heapUsed, samples: [{ labels: {}, value: memory.heapUsed }] },
    ];
  }

  function serveMetrics(request: Request): Response {
    if (request.method !== 'GET') {
      throw new Reply(405, 'PEER_METHOD_NOT_ALLOWED', 'Use GET for /metrics.', { allow: 'GET' });
    }
    if (!publicMetrics && permission(request) === 'none') throw unauthorized();
    let text = formatPrometheus(handlerFamilies());
    if (metricsOptions.collect !== undefined) {
      let extra: MetricsSnapshot | string | null;
      try {
        extra = metricsOptions.collect();
      } catch (error) {
        throw new Reply(500, 'PEER_INTERNAL', 'The metrics could not be collected.', {}, error);
      }
      if (typeof extra === 'string') {
        text += extra.length === 0 || extra.endsWith('\n') ? extra : `${extra}\n`;
      } else if (extra !== null && typeof extra === 'object') {
        text += formatPrometheus(snapshotFamilies(extra));
      }
    }
    const response = new Response(text, {
      status: 200,
      headers: { 'content-type': PROMETHEUS_CONTENT_TYPE, 'cache-control': 'no-store' },
    });
    BODY_BYTES.set(response, Buffer.byteLength(text, 'utf8'));
    return response;
  }

  function unauthorized(): Reply {
    return new Reply(
      401,
      'PEER_AUTH',
      'Missing or wrong bearer token: send the shared token as "authorization: Bearer <token>".',
      { 'www-authenticate': 'Bearer realm="edge-ha"' },
    );
  }

  /** The `route` label of a path: a known route, a probe, `/metrics`, or `other`. */
  function routeLabel(path: string): string {
    for (const name of ['/healthz', '/readyz', '/metrics']) {
      if (path === name || path === `${basePath}${name}`) return name;
    }
    if (path.startsWith(`${basePath}/`)) {
      const name = path.slice(basePath.length);
      if (routes.has(name)) return name;
    }
    return 'other';
  }

  /** Counts a reply (requests by route and status, bytes served) and logs it at debug. */
  function account(request: Request, path: string, response: Response, startedAt: number): void {
    const route = routeLabel(path);
    const status = String(response.status);
    const key = `${route} ${status}`;
    const entry = requestCounts.get(key);
    if (entry === undefined) requestCounts.set(key, { route, status, count: 1 });
    else entry.count++;
    const bytes = BODY_BYTES.get(response) ?? 0;
    bytesServed.set(route, (bytesServed.get(route) ?? 0) + bytes);
    if (logger?.debug !== undefined) {
      safeLog(
        logger,
        'debug',
        {
          method: request.method,
          path,
          route,
          status: response.status,
          bytes,
          durationMs: Math.round((performance.now() - startedAt) * 1000) / 1000,
        },
        `peer request ${request.method} ${path}: ${response.status}`,
      );
    }
  }

  return async function peerHandler(request: Request): Promise<Response> {
    const startedAt = performance.now();
    let path = '/';
    try {
      path = new URL(request.url).pathname;
    } catch {
      // answered below (404 from the route check)
    }
    const response = await answer(request, path);
    account(request, path, response, startedAt);
    return response;
  };

  async function answer(request: Request, path: string): Promise<Response> {
    try {
      if (path === '/metrics' || path === `${basePath}/metrics`) return serveMetrics(request);
      const probeName = path.endsWith('/healthz')
        ? 'healthz'
        : path.endsWith('/readyz')
          ? 'readyz'
          : null;
      if (
        probeName !== null &&
        request.method === 'GET' &&
        (path === `/${probeName}` || path === `${basePath}/${probeName}`)
      ) {
        return await probe(probeName, path);
      }
      if (!path.startsWith(`${basePath}/`)) {
        throw new Reply(404, 'PEER_NOT_FOUND', 'No such route.');
      }
      const granted = permission(request);
      if (granted === 'none') throw unauthorized();
      const name = path.slice(basePath.length);
      if (!routes.has(name)) {
        throw new Reply(
          404,
          'PEER_NOT_FOUND',
          `No such route: ${name}. Routes are ${[...routes].join(', ')} (protocol v${PEER_PROTOCOL_VERSION}).`,
        );
      }
      return await route(name, request, granted);
    } catch (caught) {
      const reply =
        caught instanceof Reply
          ? caught
          : new Reply(500, 'PEER_INTERNAL', 'The peer failed to answer; retry later.', {}, caught);
      report({
        status: reply.status,
        code: reply.code,
        message: reply.message,
        method: request.method,
        path,
        ...(reply.error === undefined ? {} : { error: reply.error }),
      });
      return json(
        reply.status,
        { error: { code: reply.code, message: reply.message } },
        reply.headers,
      );
    }
  }
}

/** `CODE: message` of a 5xx cause, for a one-line log message. */
function describeCause(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  return `${typeof code === 'string' ? `${code}: ` : ''}${error.message}`;
}
