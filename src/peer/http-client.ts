/**
 * The client side of the HTTP peer protocol: a {@link RemotePeer} and {@link PeerWriter} over
 * `fetch` that validates every reply before a deputy (or a write distributor) trusts it.
 */

import type * as z from 'zod/mini';
import { isEdgeHaError, PeerError, type PeerErrorCode } from '../errors.js';
import { errorFields, type Logger, safeLog } from '../ops/logger.js';
import type { EventRecord, Page, PageRequest, Point, TimeWindow } from '../storage/types.js';
import {
  assertItemId,
  assertPageRequest,
  assertPoints,
  assertWindow,
  compareCodePoints,
  isSealedEvents,
} from '../storage/validate.js';
import {
  checkTlsOptions,
  createNodeTransport,
  describeTlsError,
  type PeerTlsOptions,
} from './https-transport.js';
import type { PeerCallOptions, PeerHello, PeerWriter, RemotePeer } from './types.js';
import { PEER_PROTOCOL_VERSION } from './types.js';
import {
  assertWritableEvents,
  BodyTooLargeError,
  DEFAULT_PEER_BASE_PATH,
  decodeUtf8,
  describeIssues,
  errorReplySchema,
  eventsReplySchema,
  helloReplySchema,
  isJsonContentType,
  itemsReplySchema,
  parseEventsReplyFast,
  parsePointsReplyFast,
  pointsReplySchema,
  ROUTES,
  readCapped,
  writeEventsReplySchema,
  writePointsReplySchema,
} from './wire.js';

/**
 * The `fetch` function {@link httpPeer} calls; the global `fetch` fits.
 *
 * @group Peer protocol
 */
export type PeerFetch = (input: string, init: RequestInit) => Promise<Response>;

/**
 * Options of {@link httpPeer}.
 *
 * @group Peer protocol
 */
export interface HttpPeerOptions {
  /**
   * Base URL of the remote's peer handler, including its base path, e.g.
   * `http://10.0.0.5:7070/edge-ha/v1`. `http:` or `https:`, without credentials, query or hash.
   * A URL without a path (`http://10.0.0.5:7070`) gets the default base path `/edge-ha/v1`, as
   * the CLI's `--peer` does; a handler mounted at the root needs its routes' real prefix.
   */
  readonly url: string | URL;
  /**
   * The shared secret, sent as `authorization: Bearer <token>`. Never appears in messages. To
   * write (`writePoints`, `writeEvents`), pass the remote's write token: it grants reads too.
   */
  readonly token: string;
  /**
   * The `fetch` implementation (e.g. one with a custom dispatcher). Not together with `tls`.
   * @default globalThis.fetch (or, with `tls`, edge-ha's own transport over `node:https`)
   */
  readonly fetch?: PeerFetch;
  /**
   * TLS settings for an `https:` URL: the CA to trust for the remote's certificate and, for
   * mutual TLS, the client certificate and key (see {@link PeerTlsOptions}). Checked here
   * (`PEER_INVALID_OPTION` for a PEM that does not parse or a key that does not match). With
   * it, requests go through `node:https` with the same behaviour as `fetch` (reply cap, timeout,
   * signal, no redirects). Without it, an `https:` URL is verified against Node's public CAs.
   * A handshake that fails is `PEER_TLS`.
   * @default undefined
   * @example
   * ```ts
   * import { readFileSync } from 'node:fs';
   * import { httpPeer } from 'edge-ha';
   *
   * httpPeer({
   *   url: 'https://10.0.0.6:7070', // the path defaults to /edge-ha/v1
   *   token: process.env.EDGE_HA_TOKEN!,
   *   tls: { ca: readFileSync('ca.pem') },
   * });
   * ```
   */
  readonly tls?: PeerTlsOptions;
  /**
   * Time allowed for one call, from sending the request to the last byte of the reply, in ms.
   * @default 30000
   */
  readonly timeoutMs?: number;
  /**
   * Largest reply accepted, in bytes; a larger reply is `PEER_BAD_REPLY`.
   * @default 16777216
   */
  readonly maxReplyBytes?: number;
  /**
   * Label used in status and messages.
   * @default the URL
   */
  readonly label?: string;
  /**
   * Where the client logs (pino-compatible: `warn(fields, message)`): every failed call with its
   * code, HTTP status and whether it is transient (`warn` for transient failures, `error` for
   * permanent ones, `debug` for a call aborted by its signal), and every completed call at
   * `debug` (duration). The token is never logged. A throwing logger is ignored.
   * @default undefined
   */
  readonly logger?: Logger;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_REPLY_BYTES = 16 * 1024 * 1024;
const MAX_ERROR_REPLY_BYTES = 16 * 1024;
/** Consecutive empty pages with a `next` cursor tolerated before the read is declared stuck. */
const MAX_EMPTY_PAGES = 8;
/** Cursors remembered for the progress check (least recently issued are forgotten first). */
const MAX_TRACKED_CURSORS = 1024;

/** Progress of one paged read, remembered under the cursor the remote handed out. */
interface Chain {
  readonly key: string;
  readonly last: { readonly t: number; readonly id: string } | undefined;
  readonly emptyPages: number;
}

function invalidOption(message: string): PeerError {
  return new PeerError('PEER_INVALID_OPTION', `httpPeer: ${message}`);
}

function parseBaseUrl(value: string | URL): URL {
  let url: URL;
  try {
    url = new URL(String(value));
  } catch {
    throw invalidOption(`url must be an absolute http(s) URL such as http://host:7070/edge-ha/v1.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw invalidOption(`url must use http: or https:, got ${url.protocol}`);
  }
  if (url.username !== '' || url.password !== '') {
    throw invalidOption('url must not contain credentials; pass the shared secret as `token`.');
  }
  if (url.search !== '' || url.hash !== '') {
    throw invalidOption('url must not contain a query string or a hash.');
  }
  url.pathname =
    url.pathname === '/' || url.pathname === ''
      ? DEFAULT_PEER_BASE_PATH
      : url.pathname.replace(/\/+$/, '');
  return url;
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw invalidOption(`${name} must be a positive integer, got ${String(value)}.`);
  }
  return value;
}

/** Printable, bounded excerpt of remote-supplied text. */
function excerpt(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping control characters is the point
  const clean = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return clean.length > 200 ? `${clean.slice(0, 200)}…` : clean;
}

/**
 * What {@link httpPeer} returns: a {@link RemotePeer} (reads) that is also a {@link PeerWriter}.
 *
 * @group Peer protocol
 */
export interface HttpPeer extends RemotePeer, PeerWriter {}

const TIMEOUT = Symbol('timeout');
const ABORTED = Symbol('aborted');

/**
 * Creates a {@link RemotePeer} (and {@link PeerWriter}) that talks to a remote's peer handler
 * (see `createPeerHandler`) over HTTP with `fetch`. Reads need the remote's `token` or write
 * token; `writePoints` and `writeEvents` need its write token (with the read token the remote
 * answers 403, which rejects with `PEER_AUTH`).
 *
 * Every reply is size-capped, parsed and validated before it is returned: JSON shape and types
 * (finite numbers, safe-integer timestamps, no unknown fields on records), ordering (points
 * strictly ascending by `t`, events by `(t, id)`), every record inside the requested window, page
 * size within the requested limit, and cursor progress (a `next` cursor equal to the request's,
 * pages going backwards, or endless empty pages are rejected). The events `readEvents` returns
 * are deeply frozen (each record, its body and the `items` array; writing to them throws a
 * `TypeError` in strict mode), which lets a deputy and a store take them without checking or
 * copying them again. Every failure is a `PeerError`:
 *
 * | failure | code | transient |
 * |---|---|---|
 * | connection refused/reset, DNS | `PEER_UNREACHABLE` | yes |
 * | no complete reply within `timeoutMs` | `PEER_TIMEOUT` | yes |
 * | 408, 429, 5xx | `PEER_UNAVAILABLE` | yes |
 * | 401, 403 (403: the token may not write) | `PEER_AUTH` | no |
 * | 404 for an unknown item | `PEER_UNKNOWN_ITEM` | no |
 * | other 4xx (413: write batch too large), invalid call arguments | `PEER_BAD_REQUEST` | no |
 * | redirect, wrong content type, malformed or hostile reply, wrong write acknowledgement | `PEER_BAD_REPLY` | no |
 * | other protocol version | `PEER_PROTOCOL` | no |
 * | TLS: certificate not trusted or misnamed, client certificate required but none given, no TLS on the port | `PEER_TLS` | no |
 * | the caller's `signal` aborted | `PEER_ABORTED` | no |
 *
 * @throws {PeerError} `PEER_INVALID_OPTION` when an option is invalid.
 *
 * @example
 * ```ts
 * import { httpPeer } from 'edge-ha';
 *
 * const peer = httpPeer({ url: 'http://10.0.0.5:7070/edge-ha/v1', token: process.env.EDGE_HA_TOKEN! });
 * const hello = await peer.hello();
 * const page = await peer.readPoints('boiler.temp', { from: 0, to: Date.now() }, { limit: 500 });
 *
 * // with the remote's write token
 * const writer = httpPeer({ url: 'http://10.0.0.5:7070/edge-ha/v1', token: process.env.EDGE_HA_WRITE_TOKEN! });
 * await writer.writePoints('boiler.temp', [{ t: Date.now(), v: 71.5 }]);
 * ```
 *
 * @group Peer protocol
 */
export function httpPeer(options: HttpPeerOptions): HttpPeer {
  const base = parseBaseUrl(options.url);
  const { token } = options;
  if (typeof token !== 'string' || token.length === 0 || /[\s]/.test(token)) {
    throw invalidOption('token must be a non-empty string without whitespace.');
  }
  if (options.tls !== undefined && options.fetch !== undefined) {
    throw invalidOption('pass either fetch or tls: a custom fetch brings its own TLS settings.');
  }
  if (options.tls !== undefined && base.protocol !== 'https:') {
    throw invalidOption(
      `tls needs an https: URL, got ${base.protocol} (the traffic would not be encrypted).`,
    );
  }
  const fetchFn: PeerFetch =
    options.tls !== undefined
      ? createNodeTransport(checkTlsOptions(options.tls))
      : (options.fetch ?? ((input, init) => fetch(input, init)));
  const timeoutMs = positive(options.timeoutMs, DEFAULT_TIMEOUT_MS, 'timeoutMs');
  const maxReplyBytes = positive(options.maxReplyBytes, DEFAULT_MAX_REPLY_BYTES, 'maxReplyBytes');
  const baseText = base.href;
  const label = options.label ?? baseText;
  const { logger } = options;
  if (logger !== undefined && (typeof logger !== 'object' || typeof logger?.warn !== 'function')) {
    throw invalidOption('logger must have info, warn and error methods (pino, console, …).');
  }
  const chains = new Map<string, Chain>();

  function fail(
    code: PeerErrorCode,
    where: string,
    message: string,
    extra?: { status?: number; cause?: unknown },
  ): PeerError {
    return new PeerError(code, `${where}: ${message}`, {
      ...(extra?.status === undefined ? {} : { status: extra.status }),
      ...(extra?.cause === undefined ? {} : { cause: extra.cause }),
    });
  }

  /** Classifies an error thrown by fetch or by reading the body. */
  function transportError(error: unknown, signal: AbortSignal, where: string): PeerError {
    if (isEdgeHaError(error)) return error as PeerError;
    if (signal.aborted && signal.reason === TIMEOUT) {
      return fail(
        'PEER_TIMEOUT',
        where,
        `no complete reply within ${timeoutMs} ms; the remote may be overloaded or hung, retry later.`,
        { cause: error },
      );
    }
    if (signal.aborted) {
      return fail('PEER_ABORTED', where, 'the call was aborted by its signal.', { cause: error });
    }
    const cause = (error as { cause?: { code?: unknown } } | null)?.cause;
    const tlsProblem = describeTlsError(cause);
    if (tlsProblem !== undefined) return fail('PEER_TLS', where, tlsProblem, { cause: error });
    const detail = typeof cause?.code === 'string' ? ` (${cause.code})` : '';
    return fail(
      'PEER_UNREACHABLE',
      where,
      `the remote could not be reached${detail}; check that it runs and the URL is right, retrying.`,
      { cause: error },
    );
  }

  async function errorReply(response: Response, where: string): Promise<PeerError> {
    const { status } = response;
    let code: string | undefined;
    let remoteMessage = '';
    try {
      const bytes = await readCapped(response.body, MAX_ERROR_REPLY_BYTES);
      const parsed = errorReplySchema.safeParse(JSON.parse(decodeUtf8(bytes)));
      if (parsed.success) {
        code = parsed.data.error.code;
        remoteMessage = ` The remote said: ${excerpt(parsed.data.error.message)}`;
      }
    } catch {
      // The error body only improves the message.
    }
    const http = `HTTP ${status}`;
    if (status === 403 && code === 'PEER_FORBIDDEN') {
      return fail(
        'PEER_AUTH',
        where,
        `the remote refused to let our token write (${http}); pass the remote's write token as token, and start the remote with a writeToken.${remoteMessage}`,
        { status },
      );
    }
    if (status === 401 || status === 403) {
      return fail(
        'PEER_AUTH',
        where,
        `the remote refused our token (${http}); give both instances the same shared token.${remoteMessage}`,
        { status },
      );
    }
    if (status === 404 && code === 'PEER_UNKNOWN_ITEM') {
      return fail(
        'PEER_UNKNOWN_ITEM',
        where,
        `the remote does not trend this item (${http}).${remoteMessage}`,
        { status },
      );
    }
    if (status === 404) {
      return fail(
        'PEER_BAD_REQUEST',
        where,
        `no such route (${http}); the URL must be the peer handler's base, e.g. http://host:7070/edge-ha/v1, and both instances must speak protocol v${PEER_PROTOCOL_VERSION}.${remoteMessage}`,
        { status },
      );
    }
    if (status === 408 || status === 429 || status >= 500) {
      return fail(
        'PEER_UNAVAILABLE',
        where,
        `the remote is unavailable (${http}); retrying later may succeed.${remoteMessage}`,
        { status },
      );
    }
    if (status === 413) {
      return fail(
        'PEER_BAD_REQUEST',
        where,
        `the request is larger than the remote accepts (${http}); send smaller batches or raise the remote's limits.maxBodyBytes.${remoteMessage}`,
        { status },
      );
    }
    if (status >= 300 && status < 400) {
      return new PeerError(
        'PEER_BAD_REPLY',
        `${where}: the remote redirected (${http}); configure the final URL of the peer handler instead.`,
        { status },
      );
    }
    return fail(
      'PEER_BAD_REQUEST',
      where,
      `the remote rejected the request (${http}).${remoteMessage}`,
      { status },
    );
  }

  /** {@link send}, logged: every failure with its code, every call at debug. */
  async function call<T>(
    method: 'GET' | 'POST',
    route: string,
    body: unknown,
    schema: z.ZodMiniType<T>,
    callOptions: PeerCallOptions | undefined,
    fast?: (json: unknown) => T | undefined,
  ): Promise<T> {
    if (logger === undefined) return send(method, route, body, schema, callOptions, fast);
    const started = performance.now();
    const url = `${baseText}${route}`;
    const durationMs = (): number => Math.round((performance.now() - started) * 1000) / 1000;
    try {
      const result = await send(method, route, body, schema, callOptions, fast);
      safeLog(
        logger,
        'debug',
        { peer: label, method, url, durationMs: durationMs() },
        `peer call ${method} ${url} ok`,
      );
      return result;
    } catch (error) {
      const peerError = error instanceof PeerError ? error : undefined;
      const code = peerError?.code ?? 'PEER_UNREACHABLE';
      const level = code === 'PEER_ABORTED' ? 'debug' : peerError?.transient ? 'warn' : 'error';
      safeLog(
        logger,
        level,
        {
          peer: label,
          method,
          url,
          code,
          ...(peerError?.status === undefined ? {} : { status: peerError.status }),
          transient: peerError?.transient ?? false,
          durationMs: durationMs(),
          err: errorFields(error),
        },
        `peer call ${method} ${url} failed: ${code}`,
      );
      throw error;
    }
  }

  async function send<T>(
    method: 'GET' | 'POST',
    route: string,
    body: unknown,
    schema: z.ZodMiniType<T>,
    callOptions: PeerCallOptions | undefined,
    fast?: (json: unknown) => T | undefined,
  ): Promise<T> {
    const url = `${baseText}${route}`;
    const where = `${method} ${url}`;
    const signal = callOptions?.signal;
    if (signal?.aborted)
      throw fail('PEER_ABORTED', where, 'the call was aborted by its signal before it started.');
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(TIMEOUT), timeoutMs);
    timer.unref?.();
    const onAbort = (): void => controller.abort(ABORTED);
    signal?.addEventListener('abort', onAbort, { once: true });
    // Settles as soon as the call is aborted, even if `fetch` ignores its signal.
    let onAborted: () => void = () => undefined;
    const abortedPromise = new Promise<never>((_, reject) => {
      onAborted = () => reject(new Error('aborted'));
      controller.signal.addEventListener('abort', onAborted, { once: true });
    });
    abortedPromise.catch(() => undefined);
    try {
      let response: Response;
      try {
        const headers: Record<string, string> = {
          authorization: `Bearer ${token}`,
          accept: 'application/json',
        };
        const init: RequestInit = {
          method,
          headers,
          signal: controller.signal,
          redirect: 'manual',
        };
        if (body !== undefined) {
          headers['content-type'] = 'application/json';
          init.body = JSON.stringify(body);
        }
        response = await Promise.race([fetchFn(url, init), abortedPromise]);
      } catch (error) {
        throw transportError(error, controller.signal, where);
      }
      try {
        if (response.status < 200 || response.status > 299) throw await errorReply(response, where);
        const contentType = response.headers.get('content-type');
        if (!isJsonContentType(contentType)) {
          throw fail(
            'PEER_BAD_REPLY',
            where,
            `the reply is not JSON (content-type ${JSON.stringify(contentType)}); check that the URL points at an edge-ha peer handler.`,
            { status: response.status },
          );
        }
        const declared = Number(response.headers.get('content-length') ?? '0');
        if (declared > maxReplyBytes) throw new BodyTooLargeError(maxReplyBytes);
        const bytes = await Promise.race([
          readCapped(response.body, maxReplyBytes),
          abortedPromise,
        ]);
        let json: unknown;
        try {
          json = JSON.parse(decodeUtf8(bytes));
        } catch (error) {
          throw fail('PEER_BAD_REPLY', where, 'the reply is not valid (complete, UTF-8) JSON.', {
            status: response.status,
            cause: error,
          });
        }
        // The hand-written check of the page arrays accepts only what the schema accepts; when
        // it declines, the schema decides (and names the problem). `json` is fresh from
        // `JSON.parse` and nobody else holds it: the events check may seal it in place.
        const quick = fast?.(json);
        if (quick !== undefined) return quick;
        const parsed = schema.safeParse(json);
        if (!parsed.success) {
          throw fail(
            'PEER_BAD_REPLY',
            where,
            `the reply does not match protocol v${PEER_PROTOCOL_VERSION}: ${describeIssues(parsed.error)}.`,
            { status: response.status },
          );
        }
        return parsed.data;
      } catch (error) {
        await response.body?.cancel().catch(() => undefined);
        if (error instanceof BodyTooLargeError) {
          throw fail(
            'PEER_BAD_REPLY',
            where,
            `the reply is larger than maxReplyBytes (${maxReplyBytes} bytes); lower the page limit or raise maxReplyBytes.`,
            { status: response.status },
          );
        }
        throw transportError(error, controller.signal, where);
      }
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      // fetch keeps its signal alive until its request is collected: without this, the signal
      // would hold abortedPromise, its Promise.race reactions and so every reply until then.
      controller.signal.removeEventListener('abort', onAborted);
    }
  }

  function badReply(route: string, message: string): PeerError {
    return new PeerError(
      'PEER_BAD_REPLY',
      `POST ${baseText}${route}: ${message} The remote is misbehaving; check its edge-ha version and storage adapter.`,
    );
  }

  function validateArguments(route: string, check: () => void): void {
    try {
      check();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new PeerError(
        'PEER_BAD_REQUEST',
        `POST ${baseText}${route}: not sent, the arguments are invalid: ${message}`,
        { cause: error },
      );
    }
  }

  /**
   * Checks the page against the read it belongs to: size, window, strict order, cursor progress.
   * `keyOf` gives the sort key of a record; `compare` orders keys.
   */
  function checkPage<R extends { t: number }>(
    route: string,
    chainKey: string,
    window: TimeWindow,
    page: PageRequest,
    reply: { items: readonly R[]; next: string | null },
    idOf: (record: R) => string,
  ): void {
    const { items, next } = reply;
    const what = route === ROUTES.points ? 'point' : 'event';
    if (items.length > page.limit) {
      throw badReply(
        route,
        `the page holds ${items.length} records but the limit was ${page.limit}.`,
      );
    }
    const previous = page.cursor === undefined ? undefined : chains.get(page.cursor);
    const chain = previous?.key === chainKey ? previous : undefined;
    // The previous key, as two variables (no object per record).
    let lastT = chain?.last?.t;
    let lastId = chain?.last?.id ?? '';
    for (let i = 0; i < items.length; i++) {
      const record = items[i] as R;
      if (record.t < window.from || record.t >= window.to) {
        throw badReply(
          route,
          `${what} ${i} (t=${record.t}) lies outside the requested window [${window.from}, ${window.to}).`,
        );
      }
      const id = idOf(record);
      if (
        lastT !== undefined &&
        (record.t < lastT || (record.t === lastT && compareCodePoints(id, lastId) <= 0))
      ) {
        throw badReply(
          route,
          i === 0
            ? `the page starts at or before the end of the previous page (t=${record.t}): records would repeat or go backwards.`
            : `${what} ${i} (t=${record.t}) is not strictly after the one before: the page is unsorted or repeats a record.`,
        );
      }
      lastT = record.t;
      lastId = id;
    }
    const last = lastT === undefined ? undefined : { t: lastT, id: lastId };
    if (next === null) return;
    if (next === page.cursor) {
      throw badReply(route, 'the next cursor equals the request cursor: paging would never end.');
    }
    const emptyPages = items.length === 0 ? (chain?.emptyPages ?? 0) + 1 : 0;
    if (emptyPages > MAX_EMPTY_PAGES) {
      throw badReply(
        route,
        `${emptyPages} empty pages in a row still announce more: paging makes no progress.`,
      );
    }
    chains.delete(next);
    chains.set(next, { key: chainKey, last, emptyPages });
    if (chains.size > MAX_TRACKED_CURSORS) {
      const oldest = chains.keys().next();
      if (oldest.done !== true) chains.delete(oldest.value);
    }
  }

  return {
    label,

    async hello(callOptions?: PeerCallOptions): Promise<PeerHello> {
      const reply = await call('GET', ROUTES.hello, undefined, helloReplySchema, callOptions);
      if (reply.protocolVersion !== PEER_PROTOCOL_VERSION) {
        throw new PeerError(
          'PEER_PROTOCOL',
          `GET ${baseText}${ROUTES.hello}: the remote speaks peer protocol v${reply.protocolVersion}, this edge-ha speaks v${PEER_PROTOCOL_VERSION}; upgrade the older instance.`,
        );
      }
      const hello = {
        instanceId: reply.instanceId,
        protocolVersion: reply.protocolVersion,
        now: reply.now,
      };
      return reply.gaps === undefined
        ? hello
        : { ...hello, gaps: reply.gaps.map((w) => ({ from: w.from, to: w.to })) };
    },

    async listItems(callOptions?: PeerCallOptions): Promise<string[]> {
      const reply = await call('GET', ROUTES.items, undefined, itemsReplySchema, callOptions);
      if (new Set(reply.items).size !== reply.items.length) {
        throw new PeerError(
          'PEER_BAD_REPLY',
          `GET ${baseText}${ROUTES.items}: the item list repeats an item. The remote is misbehaving; check its edge-ha version and storage adapter.`,
        );
      }
      return reply.items;
    },

    async readPoints(
      item: string,
      window: TimeWindow,
      page: PageRequest,
      callOptions?: PeerCallOptions,
    ): Promise<Page<Point>> {
      validateArguments(ROUTES.points, () => {
        assertItemId(item);
        assertWindow(window);
        assertPageRequest(page);
      });
      const request = {
        item,
        window: { from: window.from, to: window.to },
        limit: page.limit,
        ...(page.cursor === undefined ? {} : { cursor: page.cursor }),
      };
      const reply = await call(
        'POST',
        ROUTES.points,
        request,
        pointsReplySchema,
        callOptions,
        parsePointsReplyFast,
      );
      checkPage(
        ROUTES.points,
        `p\u0000${item}\u0000${window.from}\u0000${window.to}`,
        window,
        page,
        reply,
        () => '',
      );
      // Both parses build fresh point objects with only t, v and (when present) q.
      return { items: reply.items as Point[], next: reply.next };
    },

    async readEvents(
      window: TimeWindow,
      page: PageRequest,
      callOptions?: PeerCallOptions,
    ): Promise<Page<EventRecord>> {
      validateArguments(ROUTES.events, () => {
        assertWindow(window);
        assertPageRequest(page);
      });
      const request = {
        window: { from: window.from, to: window.to },
        limit: page.limit,
        ...(page.cursor === undefined ? {} : { cursor: page.cursor }),
      };
      const reply = await call(
        'POST',
        ROUTES.events,
        request,
        eventsReplySchema,
        callOptions,
        parseEventsReplyFast,
      );
      checkPage(
        ROUTES.events,
        `e\u0000${window.from}\u0000${window.to}`,
        window,
        page,
        reply,
        (e) => e.id,
      );
      // A sealed page (the fast path) is already fresh, frozen records: hand it on as it is, so
      // the deputy and the store skip checking and copying it again.
      const items = isSealedEvents(reply.items)
        ? reply.items
        : reply.items.map((e): EventRecord => ({ id: e.id, t: e.t, body: e.body }));
      return { items, next: reply.next };
    },

    async writePoints(
      item: string,
      points: readonly Point[],
      callOptions?: PeerCallOptions,
    ): Promise<void> {
      validateArguments(ROUTES.writePoints, () => {
        assertItemId(item);
        assertPoints(points);
      });
      const request = {
        item,
        points: points.map((p) =>
          p.q === undefined ? { t: p.t, v: p.v } : { t: p.t, v: p.v, q: p.q },
        ),
      };
      const reply = await call(
        'POST',
        ROUTES.writePoints,
        request,
        writePointsReplySchema,
        callOptions,
      );
      if (reply.written !== points.length) {
        throw badReply(
          ROUTES.writePoints,
          `the remote acknowledged ${reply.written} points of the ${points.length} sent.`,
        );
      }
    },

    async writeEvents(
      events: readonly EventRecord[],
      callOptions?: PeerCallOptions,
    ): Promise<number> {
      validateArguments(ROUTES.writeEvents, () => assertWritableEvents(events));
      const request = { events: events.map((e) => ({ id: e.id, t: e.t, body: e.body })) };
      const reply = await call(
        'POST',
        ROUTES.writeEvents,
        request,
        writeEventsReplySchema,
        callOptions,
      );
      if (reply.inserted > events.length) {
        throw badReply(
          ROUTES.writeEvents,
          `the remote says it inserted ${reply.inserted} events of the ${events.length} sent.`,
        );
      }
      return reply.inserted;
    },
  };
}
