/**
 * `WriteDistributor`: delivers one batch to every live copy a `Topology.routeWrite` names, in
 * parallel, and reports per copy whether it acknowledged (docs/writes.md).
 */

import { isEdgeHaError, PeerError } from '../errors.js';
import type { EventRecord, Point } from '../storage/types.js';
import { assertItemId, assertPoints } from '../storage/validate.js';
import type { Topology } from '../topology/topology.js';
import type { MissingCopy, RoutedOperator, WriteRequest, WriteRoute } from '../topology/types.js';
import { httpPeer, type PeerFetch } from './http-client.js';
import type { PeerCallOptions, PeerWriter } from './types.js';
import { assertWritableEvents, DEFAULT_PEER_BASE_PATH } from './wire.js';

/**
 * Options of {@link WriteDistributor}.
 *
 * @group Peer protocol
 */
export interface WriteDistributorOptions {
  /** The topology that routes each write and records the liveness of its copies. */
  readonly topology: Topology;
  /**
   * Returns the writer for one routed copy. Called for every copy of every write (cache inside
   * it if building a writer is costly); a throw counts as a failed copy.
   * @default an `httpPeer` to `<protocol>//<host>:<port><basePath>` with `token` (cached per URL)
   * @example
   * ```ts
   * import { readFileSync } from 'node:fs';
   * import { httpPeer, type Topology, WriteDistributor } from 'edge-ha';
   *
   * declare const topology: Topology;
   *
   * const ca = readFileSync('/etc/edge-ha/ca.pem');
   * const distributor = new WriteDistributor({
   *   topology,
   *   connect: (target) =>
   *     httpPeer({
   *       url: `https://${target.host}:${target.port}/edge-ha/v1`,
   *       token: process.env.EDGE_HA_WRITE_TOKEN!,
   *       tls: { ca },
   *     }),
   * });
   * ```
   */
  readonly connect?: (target: RoutedOperator) => PeerWriter;
  /**
   * The operators' write token (their `createPeerHandler({ writeToken })`), for the default
   * `connect`. Required without `connect`, ignored with it.
   */
  readonly token?: string;
  /**
   * Base path of the operators' peer handlers, for the default `connect`.
   * @default '/edge-ha/v1'
   */
  readonly basePath?: string;
  /**
   * URL scheme of the operators' peer handlers, for the default `connect`.
   * @default 'http:'
   */
  readonly protocol?: 'http:' | 'https:';
  /**
   * The `fetch` the default `connect` gives `httpPeer` (e.g. one with TLS settings).
   * @default globalThis.fetch
   */
  readonly fetch?: PeerFetch;
  /**
   * Time one copy has to acknowledge, in ms, measured by the distributor (the writer is aborted
   * through its signal, and a writer that ignores the signal is not waited for). A copy that
   * takes longer fails with `PEER_TIMEOUT` and is reported `not_responding`.
   * @default 10000
   */
  readonly timeoutMs?: number;
}

/**
 * A copy that acknowledged the batch.
 *
 * @group Peer protocol
 */
export interface DeliveredCopy {
  /** The operator that holds the copy. */
  readonly operator: RoutedOperator;
  /** The operator's liveness key (external `ip:port`), as in `topology.liveness()`. */
  readonly address: string;
  /** The copy acknowledged the whole batch (it is stored there). */
  readonly ok: true;
  /** For `writeEvents`: how many of the events were new on this copy. Absent for points. */
  readonly inserted?: number;
}

/**
 * A copy that did not acknowledge the batch: it may or may not hold it.
 *
 * @group Peer protocol
 */
export interface FailedCopy {
  /** The operator that should hold the copy. */
  readonly operator: RoutedOperator;
  /** The operator's liveness key (external `ip:port`), as in `topology.liveness()`. */
  readonly address: string;
  /** No acknowledgement. */
  readonly ok: false;
  /** Why: the writer's `PeerError` (`PEER_TIMEOUT` when the distributor's timeout fired). */
  readonly error: PeerError;
  /**
   * Whether the operator was reported `not_responding` to the topology. Every failure is,
   * except `PEER_BAD_REQUEST` (the operator answered and rejected the batch itself) and
   * `PEER_ABORTED` (the caller's signal aborted).
   */
  readonly reported: boolean;
}

/**
 * The outcome of one copy of a distributed write.
 *
 * @group Peer protocol
 */
export type CopyResult = DeliveredCopy | FailedCopy;

/**
 * The result of {@link WriteDistributor.writePoints} and {@link WriteDistributor.writeEvents}.
 *
 * @group Peer protocol
 */
export interface DistributedWrite {
  /** The route the write took (cluster, targets, copies configured). */
  readonly route: WriteRoute;
  /** One result per live target of the route, in the route's order. */
  readonly copies: readonly CopyResult[];
  /** The copies not sent at all because their operator was already `not_responding`. */
  readonly missing: readonly MissingCopy[];
  /** Every operator of the cluster that does not hold the batch for sure: failed, then missing. */
  readonly missed: readonly RoutedOperator[];
  /** How many copies acknowledged. */
  readonly delivered: number;
  /** `true` when every configured copy of the cluster acknowledged (`missed` is empty). */
  readonly complete: boolean;
}

const DEFAULT_TIMEOUT_MS = 10_000;
/** Writers the default `connect` keeps (oldest dropped first). */
const MAX_CACHED_WRITERS = 1024;
/** Codes that say nothing about the operator's health. */
const NOT_REPORTED: ReadonlySet<string> = new Set(['PEER_BAD_REQUEST', 'PEER_ABORTED']);

function invalidOption(message: string): PeerError {
  return new PeerError('PEER_INVALID_OPTION', `WriteDistributor: ${message}`);
}

function asPeerError(error: unknown, label: string): PeerError {
  if (error instanceof PeerError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new PeerError(
    'PEER_UNAVAILABLE',
    `${label}: the write failed (${isEdgeHaError(error) ? `${error.code}: ` : ''}${message}).`,
    { cause: error },
  );
}

/** `http://host:port` with brackets around an IPv6 host. */
function origin(protocol: string, host: string, port: number): string {
  return `${protocol}//${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/**
 * Delivers one batch to every live copy of a write route: it routes with
 * `topology.routeWrite`, sends the batch to each target in parallel (each with its own
 * timeout), reports each copy to the topology (`reportSuccess` on an acknowledgement,
 * `reportFailure` on a failure, see {@link FailedCopy.reported}) and returns one result per copy
 * plus the copies the route already listed as missing. A copy counts as delivered only when its
 * writer resolved (for `httpPeer`: the operator replied `200` with a matching acknowledgement).
 * It never retries: a copy that missed the batch catches up through sync (follow mode or a
 * reported gap); both writes are idempotent, so sending the batch again is also safe.
 *
 * The distributor never throws for a failed copy; it rejects only before sending anything: a
 * `TopologyError` from `routeWrite` (unknown table, no live operator: buffer and retry), a
 * `PeerError` `PEER_BAD_REQUEST` for an invalid batch, `PEER_ABORTED` for an aborted signal.
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * import { parsePolicies, Topology, WriteDistributor } from 'edge-ha';
 *
 * const topology = Topology.fromPolicies(parsePolicies(readFileSync('policies.json', 'utf8')));
 * const distributor = new WriteDistributor({ topology, token: process.env.EDGE_HA_WRITE_TOKEN! });
 * const result = await distributor.writePoints(
 *   { dbms: 'litsanleandro', table: 'ping_sensor', key: 'sensor-7' },
 *   'sensor-7/ping',
 *   [{ t: Date.now(), v: 12.5 }],
 * );
 * if (!result.complete) console.warn('copies missed the batch:', result.missed.map((o) => o.address));
 * ```
 *
 * @group Peer protocol
 */
export class WriteDistributor {
  readonly #topology: Topology;
  readonly #connect: (target: RoutedOperator) => PeerWriter;
  readonly #timeoutMs: number;

  /**
   * @throws {PeerError} `PEER_INVALID_OPTION` when an option is invalid (no `topology`, neither
   * `connect` nor `token`, a bad `timeoutMs`).
   */
  constructor(options: WriteDistributorOptions) {
    const { topology, connect, timeoutMs = DEFAULT_TIMEOUT_MS } = options;
    if (typeof topology !== 'object' || topology === null || !('routeWrite' in topology)) {
      throw invalidOption('topology must be a Topology.');
    }
    if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1) {
      throw invalidOption(`timeoutMs must be a positive integer, got ${String(timeoutMs)}.`);
    }
    if (connect !== undefined && typeof connect !== 'function') {
      throw invalidOption('connect must be a function (target) => PeerWriter.');
    }
    this.#topology = topology;
    this.#timeoutMs = timeoutMs;
    this.#connect = connect ?? httpConnect(options, timeoutMs);
  }

  /**
   * Writes live points of `item` to every live copy of `request`'s route (each copy's
   * `appendPoints`: a point at an existing timestamp replaces it).
   *
   * @param request - The table (and company, partition key) to route by.
   * @param item - The item the points belong to.
   * @param points - The batch; validated as a whole before anything is sent.
   * @param options - `signal` aborts every copy still in flight (they fail with `PEER_ABORTED`).
   * @returns One result per copy; see {@link DistributedWrite}.
   * @throws {TopologyError} from `routeWrite` (nothing sent).
   * @throws {PeerError} `PEER_BAD_REQUEST` (invalid batch) or `PEER_ABORTED` (nothing sent).
   *
   * @example
   * ```ts
   * import type { Point, WriteDistributor } from 'edge-ha';
   *
   * declare const distributor: WriteDistributor;
   * declare const points: Point[];
   *
   * const { delivered, missed } = await distributor.writePoints({ dbms: 'plant', table: 'temp' }, 'boiler.temp', points);
   * ```
   */
  async writePoints(
    request: WriteRequest,
    item: string,
    points: readonly Point[],
    options?: PeerCallOptions,
  ): Promise<DistributedWrite> {
    this.#check('writePoints', options, () => {
      assertItemId(item);
      assertPoints(points);
    });
    return this.#distribute(request, options, async (writer, signal) => {
      await writer.writePoints(item, points, { signal });
      return undefined;
    });
  }

  /**
   * Writes events to every live copy of `request`'s route (each copy's `insertEventsIfAbsent`:
   * an event whose id the copy holds is never changed). Each delivered copy says how many
   * events were new there.
   *
   * @param request - The table (and company, partition key) to route by.
   * @param events - The batch; validated as a whole before anything is sent.
   * @param options - `signal` aborts every copy still in flight (they fail with `PEER_ABORTED`).
   * @returns One result per copy; see {@link DistributedWrite}.
   * @throws {TopologyError} from `routeWrite` (nothing sent).
   * @throws {PeerError} `PEER_BAD_REQUEST` (invalid batch) or `PEER_ABORTED` (nothing sent).
   *
   * @example
   * ```ts
   * import type { WriteDistributor } from 'edge-ha';
   *
   * declare const distributor: WriteDistributor;
   *
   * const result = await distributor.writeEvents({ dbms: 'plant', table: 'alarms' }, [
   *   { id: 'alarm-17', t: Date.now(), body: { level: 2 } },
   * ]);
   * ```
   */
  async writeEvents(
    request: WriteRequest,
    events: readonly EventRecord[],
    options?: PeerCallOptions,
  ): Promise<DistributedWrite> {
    this.#check('writeEvents', options, () => assertWritableEvents(events));
    const count = events.length;
    return this.#distribute(request, options, async (writer, signal) => {
      const inserted: unknown = await writer.writeEvents(events, { signal });
      if (
        !Number.isSafeInteger(inserted) ||
        (inserted as number) < 0 ||
        (inserted as number) > count
      ) {
        throw new PeerError(
          'PEER_BAD_REPLY',
          `${writer.label}: writeEvents acknowledged ${String(inserted)} inserted events of the ${count} sent.`,
        );
      }
      return inserted as number;
    });
  }

  #check(method: string, options: PeerCallOptions | undefined, validate: () => void): void {
    try {
      validate();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new PeerError(
        'PEER_BAD_REQUEST',
        `WriteDistributor.${method}: not sent, the batch is invalid: ${message}`,
        { cause: error },
      );
    }
    if (options?.signal?.aborted) {
      throw new PeerError('PEER_ABORTED', `WriteDistributor.${method}: aborted before sending.`, {
        cause: options.signal.reason,
      });
    }
  }

  async #distribute(
    request: WriteRequest,
    options: PeerCallOptions | undefined,
    send: (writer: PeerWriter, signal: AbortSignal) => Promise<number | undefined>,
  ): Promise<DistributedWrite> {
    const route = this.#topology.routeWrite(request);
    const copies = await Promise.all(
      route.targets.map((target) => this.#deliver(target, send, options?.signal)),
    );
    const missed: RoutedOperator[] = [];
    let delivered = 0;
    for (const copy of copies) {
      if (copy.ok) delivered++;
      else missed.push(copy.operator);
    }
    for (const copy of route.missing) missed.push(copy.operator);
    return {
      route,
      copies,
      missing: route.missing,
      missed,
      delivered,
      complete: missed.length === 0,
    };
  }

  /** Sends to one copy with its own timeout; never rejects. */
  async #deliver(
    target: RoutedOperator,
    send: (writer: PeerWriter, signal: AbortSignal) => Promise<number | undefined>,
    callerSignal: AbortSignal | undefined,
  ): Promise<CopyResult> {
    const { address } = target;
    const label = `operator ${target.operatorName} (${address})`;
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new Error('timeout'));
    }, this.#timeoutMs);
    timer.unref?.();
    const onAbort = (): void => controller.abort(callerSignal?.reason);
    callerSignal?.addEventListener('abort', onAbort, { once: true });
    // Settles when the copy is aborted, even if the writer ignores its signal.
    const stopped = new Promise<never>((_, reject) => {
      controller.signal.addEventListener('abort', () => reject(new Error('aborted')), {
        once: true,
      });
    });
    stopped.catch(() => undefined);
    let result: CopyResult;
    try {
      const value = await Promise.race([send(this.#connect(target), controller.signal), stopped]);
      result =
        value === undefined
          ? { operator: target, address, ok: true }
          : { operator: target, address, ok: true, inserted: value };
    } catch (caught) {
      let error: PeerError;
      if (timedOut) {
        error = new PeerError(
          'PEER_TIMEOUT',
          `${label}: no acknowledgement within ${this.#timeoutMs} ms; the copy is reported not_responding.`,
          { cause: caught },
        );
      } else if (callerSignal?.aborted) {
        error = new PeerError('PEER_ABORTED', `${label}: the write was aborted by its signal.`, {
          cause: caught,
        });
      } else {
        error = asPeerError(caught, label);
      }
      result = {
        operator: target,
        address,
        ok: false,
        error,
        reported: !NOT_REPORTED.has(error.code),
      };
    } finally {
      clearTimeout(timer);
      callerSignal?.removeEventListener('abort', onAbort);
    }
    if (result.ok) this.#topology.reportSuccess(address);
    else if (result.reported) this.#topology.reportFailure(address);
    return result;
  }
}

/** The default `connect`: one cached `httpPeer` per operator URL. */
function httpConnect(
  options: WriteDistributorOptions,
  timeoutMs: number,
): (target: RoutedOperator) => PeerWriter {
  const { token, fetch } = options;
  if (typeof token !== 'string' || token.length === 0) {
    throw invalidOption(
      "pass the operators' write token as token, or a connect function that builds the writers.",
    );
  }
  const protocol = options.protocol ?? 'http:';
  if (protocol !== 'http:' && protocol !== 'https:') {
    throw invalidOption(`protocol must be 'http:' or 'https:', got ${String(protocol)}.`);
  }
  const basePath = (options.basePath ?? DEFAULT_PEER_BASE_PATH).replace(/\/+$/, '');
  if (basePath !== '' && !basePath.startsWith('/')) {
    throw invalidOption(`basePath must be '' or start with '/', got '${basePath}'.`);
  }
  const writers = new Map<string, PeerWriter>();
  return (target) => {
    const url = `${origin(protocol, target.host, target.port)}${basePath}`;
    let writer = writers.get(url);
    if (writer === undefined) {
      writer = httpPeer({ url, token, timeoutMs, ...(fetch === undefined ? {} : { fetch }) });
      writers.set(url, writer);
      if (writers.size > MAX_CACHED_WRITERS) {
        const oldest = writers.keys().next();
        if (oldest.done !== true) writers.delete(oldest.value);
      }
    }
    return writer;
  };
}
