/**
 * Errors thrown by edge-ha. Every error is an {@link EdgeHaError} with a stable string `code`;
 * test for a code with {@link isEdgeHaError}, which also recognises errors thrown by another copy
 * of this package (for example a second version deep in `node_modules`).
 *
 * @module
 */

import type { DeputyRunSummary } from './deputy/types.js';

const BRAND: unique symbol = Symbol.for('edge-ha.error') as never;

/**
 * Options accepted by every edge-ha error constructor.
 *
 * @group Errors
 */
export interface EdgeHaErrorOptions {
  /** The underlying error or value that caused this one. */
  cause?: unknown;
}

/**
 * The plain JSON form of an {@link EdgeHaError}.
 *
 * @group Errors
 */
export interface EdgeHaErrorJSON {
  /** The subclass name. */
  name: string;
  /** The error code. */
  code: string;
  /** The message. */
  message: string;
}

/**
 * Base class of every error edge-ha throws.
 *
 * @example
 * ```ts
 * import { isEdgeHaError, parsePolicies } from 'edge-ha';
 *
 * declare const text: string; // a policy file's text
 *
 * try {
 *   parsePolicies(text);
 * } catch (error) {
 *   if (isEdgeHaError(error, 'POLICY_SYNTAX')) console.error(error.code, error.message);
 *   else throw error;
 * }
 * ```
 *
 * @group Errors
 */
export class EdgeHaError extends Error {
  /** Stable machine-readable code, e.g. `POLICY_SYNTAX`. Codes are documented and never reused. */
  readonly code: string;

  constructor(code: string, message: string, options?: EdgeHaErrorOptions) {
    super(message, options && 'cause' in options ? { cause: options.cause } : undefined);
    this.code = code;
    Object.defineProperty(this, BRAND, { value: true, enumerable: false });
  }

  /** The subclass name, e.g. `StorageError`. */
  override get name(): string {
    return this.constructor.name;
  }

  /** A plain JSON view (code, name, message) without stack or cause: safe to log or send. */
  toJSON(): EdgeHaErrorJSON {
    return { name: this.name, code: this.code, message: this.message };
  }
}

/**
 * Codes of {@link PolicyError}.
 *
 * @group Errors
 */
export type PolicyErrorCode =
  /** The text is not valid JSON / Python-literal syntax; `line` and `column` say where. */
  | 'POLICY_SYNTAX'
  /** The input is larger than the configured limit. */
  | 'POLICY_TOO_LARGE'
  /** The input nests deeper than the configured limit. */
  | 'POLICY_TOO_DEEP'
  /** A value is not a policy: not an object with exactly one root key whose value is an object. */
  | 'POLICY_SHAPE'
  /** A value cannot be rendered the way AnyLog hashes it (e.g. a non-finite number). */
  | 'POLICY_UNHASHABLE'
  /** A policy set failed validation; `issues` lists every problem. */
  | 'POLICY_INVALID'
  /** Every member id 1..255 of the cluster is taken. */
  | 'POLICY_MEMBERS_EXHAUSTED'
  /** An option passed to a policy function is invalid. */
  | 'POLICY_INVALID_OPTION'
  /** A JS value given as a policy is not JSON-like (undefined, function, NaN, class instance, cycle…). */
  | 'POLICY_VALUE';

/**
 * One problem found in a policy set (see `validatePolicies`).
 *
 * @group Errors
 */
export interface PolicyIssue {
  /** Stable code of the rule, e.g. `OPERATOR_DUPLICATE_ADDRESS`. */
  readonly code: string;
  /** `error` makes the set invalid; `warning` is reported but allowed. */
  readonly severity: 'error' | 'warning';
  /** Index of the policy in the input array. */
  readonly index: number;
  /** The policy's id when it has one. */
  readonly policyId: string | undefined;
  /** Path of the attribute inside the policy, e.g. `['operator', 'port']`. */
  readonly path: readonly (string | number)[];
  /** What is wrong and how to fix it. */
  readonly message: string;
}

/**
 * Extra detail a {@link PolicyError} may carry.
 *
 * @group Errors
 */
export interface PolicyErrorDetails extends EdgeHaErrorOptions {
  /** 1-based line of a syntax error. */
  line?: number;
  /** 1-based column of a syntax error. */
  column?: number;
  /** Index of the offending policy in the input. */
  index?: number;
  /** Attribute path of a semantic error. */
  path?: readonly (string | number)[];
  /** Every validation issue, for `POLICY_INVALID`. */
  issues?: readonly PolicyIssue[];
}

/**
 * Thrown when policy text or a policy set is malformed or invalid.
 *
 * @group Errors
 */
export class PolicyError extends EdgeHaError {
  declare readonly code: PolicyErrorCode;
  /** 1-based line of a syntax error. */
  readonly line: number | undefined;
  /** 1-based column of a syntax error. */
  readonly column: number | undefined;
  /** Index of the offending policy in the input. */
  readonly index: number | undefined;
  /** Attribute path of a semantic error. */
  readonly path: readonly (string | number)[] | undefined;
  /** Every validation issue (for `POLICY_INVALID`), otherwise empty. */
  readonly issues: readonly PolicyIssue[];

  constructor(code: PolicyErrorCode, message: string, details: PolicyErrorDetails = {}) {
    super(code, message, details);
    this.line = details.line;
    this.column = details.column;
    this.index = details.index;
    this.path = details.path;
    this.issues = details.issues ?? [];
  }
}

/**
 * Codes of {@link TopologyError}.
 *
 * @group Errors
 */
export type TopologyErrorCode =
  /** The policy set given to the topology is invalid; `issues` lists why. */
  | 'TOPOLOGY_INVALID_POLICIES'
  /** No routable cluster holds the requested table. */
  | 'TOPOLOGY_UNKNOWN_TABLE'
  /** A cluster holding the table has no live operator (and `subset` was not asked for). */
  | 'TOPOLOGY_NO_LIVE_OPERATOR'
  /** No operator or cluster with that id or address. */
  | 'TOPOLOGY_UNKNOWN_OPERATOR'
  /** An argument of a topology call is invalid. */
  | 'TOPOLOGY_INVALID_ARGUMENT';

/**
 * Extra detail a {@link TopologyError} may carry.
 *
 * @group Errors
 */
export interface TopologyErrorDetails extends EdgeHaErrorOptions {
  /** Validation issues, for `TOPOLOGY_INVALID_POLICIES`. */
  issues?: readonly PolicyIssue[];
  /** The clusters concerned (ids), e.g. the ones with no live operator. */
  clusters?: readonly string[];
}

/**
 * Thrown by the topology (routing) module.
 *
 * @group Errors
 */
export class TopologyError extends EdgeHaError {
  declare readonly code: TopologyErrorCode;
  /** Validation issues, for `TOPOLOGY_INVALID_POLICIES`; otherwise empty. */
  readonly issues: readonly PolicyIssue[];
  /** The clusters concerned (ids); may be empty. */
  readonly clusters: readonly string[];

  constructor(code: TopologyErrorCode, message: string, details: TopologyErrorDetails = {}) {
    super(code, message, details);
    this.issues = details.issues ?? [];
    this.clusters = details.clusters ?? [];
  }
}

/**
 * Codes of {@link StorageError}.
 *
 * @group Errors
 */
export type StorageErrorCode =
  /** The adapter was closed; every call after `close()` fails with this code. */
  | 'STORAGE_CLOSED'
  /** A window is not `[from, to)` with safe-integer bounds and `from <= to`. */
  | 'STORAGE_INVALID_WINDOW'
  /** A cursor was not produced by this adapter for this read, is corrupt or altered, or is longer than 4096 characters. */
  | 'STORAGE_INVALID_CURSOR'
  /** A page limit is not an integer within the allowed range. */
  | 'STORAGE_INVALID_PAGE'
  /** An item id is empty, too long, not a string, or contains a lone UTF-16 surrogate. */
  | 'STORAGE_INVALID_ITEM'
  /** A point or event is malformed (bad timestamp, value type, quality, id, body). */
  | 'STORAGE_INVALID_RECORD'
  /** A point value the adapter cannot store: a non-finite number or a string with a lone UTF-16 surrogate. */
  | 'STORAGE_VALUE_OUT_OF_RANGE'
  /** A point given to `replacePoints` or `mergePoints` lies outside its window (a repeated timestamp is `STORAGE_INVALID_RECORD`). */
  | 'STORAGE_POINT_OUTSIDE_WINDOW'
  /** A sync-state key or value is malformed (value not a JSON object or longer than 65,536 characters as JSON, key empty or longer than 2048), also as the `syncState` option of a sync write. */
  | 'STORAGE_INVALID_SYNC_STATE'
  /** The stored schema is newer than this adapter understands, or otherwise unusable. */
  | 'STORAGE_SCHEMA'
  /** An optional dependency of the adapter is missing (e.g. `better-sqlite3`, `pg`, or the TimescaleDB extension that `timescale: 'require'` asks for). */
  | 'STORAGE_DEPENDENCY_MISSING'
  /**
   * An option given to an adapter's open function is invalid (e.g. `openPostgresStorage` with
   * both or neither of `pool` and `connectionString`, or a schema name that is not a safe
   * identifier). Fix the option; nothing was opened.
   */
  | 'STORAGE_INVALID_OPTIONS'
  /** A method of the adapter is not implemented yet (the methods of `examples/skeleton-adapter.ts` until you fill them in). */
  | 'STORAGE_NOT_IMPLEMENTED'
  /**
   * The store's file is damaged: the integrity check at open (`PRAGMA quick_check` of the SQLite
   * adapter) or a read found corrupt pages. The message names the file and the first problems.
   */
  | 'STORAGE_CORRUPT'
  /** The underlying store failed (I/O error, constraint, corrupted file, a stored record that does not parse). */
  | 'STORAGE_BACKEND';

/**
 * Thrown by storage adapters. Integrators' own adapters should throw it too.
 *
 * @group Errors
 */
export class StorageError extends EdgeHaError {
  declare readonly code: StorageErrorCode;

  constructor(code: StorageErrorCode, message: string, options?: EdgeHaErrorOptions) {
    super(code, message, options);
  }
}

/**
 * Codes of {@link PeerError}.
 *
 * @group Errors
 */
export type PeerErrorCode =
  /** The remote could not be reached (connection refused, DNS, reset). Transient. */
  | 'PEER_UNREACHABLE'
  /** The remote did not answer within the reply timeout. Transient. */
  | 'PEER_TIMEOUT'
  /** The remote answered with a server error or "unavailable" (5xx, 429). Transient. */
  | 'PEER_UNAVAILABLE'
  /** The remote refused our credentials (401/403). Permanent. */
  | 'PEER_AUTH'
  /** The remote does not know the requested item. Permanent for that item. */
  | 'PEER_UNKNOWN_ITEM'
  /** The remote rejected the request as malformed (4xx). Permanent. */
  | 'PEER_BAD_REQUEST'
  /** The remote's reply is malformed, out of window, unsorted, too large or loops. Permanent. */
  | 'PEER_BAD_REPLY'
  /** The remote speaks a protocol version we do not support. Permanent. */
  | 'PEER_PROTOCOL'
  /**
   * The TLS handshake failed: the remote's certificate does not verify (unknown CA, wrong name,
   * expired), the remote refused our client certificate (or its absence), or it does not speak
   * TLS. Permanent: fix `tls` (`ca`, `cert`, `key`, `servername`) or the remote's certificate.
   */
  | 'PEER_TLS'
  /** The request was aborted through its `AbortSignal`. */
  | 'PEER_ABORTED'
  /** An option given to `httpPeer` or `createPeerHandler` is invalid (bad URL, empty token, …). */
  | 'PEER_INVALID_OPTION';

/**
 * Extra detail a {@link PeerError} may carry.
 *
 * @group Errors
 */
export interface PeerErrorDetails extends EdgeHaErrorOptions {
  /** Whether retrying the same request may succeed. Defaults from the code. */
  transient?: boolean;
  /** HTTP status of the reply, when there was one. */
  status?: number;
}

const TRANSIENT_PEER_CODES: ReadonlySet<string> = new Set([
  'PEER_UNREACHABLE',
  'PEER_TIMEOUT',
  'PEER_UNAVAILABLE',
]);

/**
 * Thrown by remote peers (the transport between a deputy and the instance it pulls from).
 *
 * @group Errors
 */
export class PeerError extends EdgeHaError {
  declare readonly code: PeerErrorCode;
  /** Whether retrying the same request may succeed (network trouble, 5xx, timeouts). */
  readonly transient: boolean;
  /** HTTP status of the reply, when there was one. */
  readonly status: number | undefined;

  constructor(code: PeerErrorCode, message: string, details: PeerErrorDetails = {}) {
    super(code, message, details);
    this.transient = details.transient ?? TRANSIENT_PEER_CODES.has(code);
    this.status = details.status;
  }
}

/**
 * Codes of {@link SyncError}.
 *
 * @group Errors
 */
export type SyncErrorCode =
  /** The run was cancelled through `cancel()` or an `AbortSignal`. */
  | 'SYNC_CANCELLED'
  /** A run was started while another run of the same deputy or governor is in progress. */
  | 'SYNC_BUSY'
  /** The window is invalid (`from > to`, not integers). */
  | 'SYNC_INVALID_WINDOW'
  /** An option is invalid. */
  | 'SYNC_INVALID_OPTION'
  /** None of the configured peers could be reached. */
  | 'SYNC_NO_PEER'
  /** The governor or deputy was closed. */
  | 'SYNC_CLOSED'
  /** A run ended finished_with_error; `SyncState` has the details. */
  | 'SYNC_FAILED'
  /** Part of the downtime lies before the maximum recovery window and was not recovered. */
  | 'SYNC_UNRECOVERABLE'
  /**
   * The clocks of this node and its peer differ by more than `maxClockSkewMs`: the run changed
   * nothing. Fix the clocks (NTP) or raise the option.
   */
  | 'SYNC_CLOCK_SKEW'
  /** The gap ledger holds its maximum number of gaps and the new gap could not be merged in. */
  | 'SYNC_LEDGER_FULL'
  /**
   * A stored sync-state record is not in a format this edge-ha understands (written by a newer
   * version, or damaged); nothing was changed.
   */
  | 'SYNC_STATE_FORMAT'
  /** An event listener threw; reported in `SyncState`, never thrown into the run. */
  | 'SYNC_LISTENER_FAILED'
  /** The state machine was asked for a transition not in its table (a bug in edge-ha). */
  | 'SYNC_ILLEGAL_TRANSITION';

/**
 * Thrown by deputies and the governor.
 *
 * @group Errors
 */
export class SyncError extends EdgeHaError {
  declare readonly code: SyncErrorCode;

  constructor(code: SyncErrorCode, message: string, options?: EdgeHaErrorOptions) {
    super(code, message, options);
  }
}

/**
 * Extra detail a {@link SyncAbortError} carries.
 *
 * @group Errors
 */
export interface SyncAbortErrorDetails extends EdgeHaErrorOptions {
  /** The summaries of the runs the abort ended (empty when no run had started). */
  summaries?: readonly DeputyRunSummary[];
}

/**
 * How `deputy.run()`, `governor.start()`, `sync()`, `resync()` and `whenCaughtUp()` reject when
 * the caller's `signal` aborts, the way Node.js APIs do: `name` is `'AbortError'`, `cause` is
 * `signal.reason`, and `code` is `SYNC_CANCELLED`. A signal already aborted at the call starts
 * nothing; one that aborts a run in flight ends it `finished_with_error` (a `SYNC_CANCELLED`
 * SyncState error, the gaps stay in the ledger) and `summaries` holds what the run did.
 *
 * @example
 * ```ts
 * import { type HAGovernor, SyncAbortError } from 'edge-ha';
 *
 * declare const governor: HAGovernor;
 *
 * try {
 *   await governor.sync({ signal: AbortSignal.timeout(60_000) });
 * } catch (error) {
 *   // or, as for any abort in Node.js: error instanceof Error && error.name === 'AbortError'
 *   if (error instanceof SyncAbortError) console.log('sync aborted after', error.summaries.length, 'runs');
 *   else throw error;
 * }
 * ```
 *
 * @group Errors
 */
export class SyncAbortError extends SyncError {
  declare readonly code: 'SYNC_CANCELLED';
  /** The summaries of the runs the abort ended (empty when no run had started). */
  readonly summaries: readonly DeputyRunSummary[];

  constructor(message: string, details: SyncAbortErrorDetails = {}) {
    super('SYNC_CANCELLED', message, 'cause' in details ? { cause: details.cause } : undefined);
    this.summaries = details.summaries ?? [];
  }

  /** Always `'AbortError'`, as for the abort errors of Node.js and `fetch`. */
  override get name(): 'AbortError' {
    return 'AbortError';
  }
}

/**
 * Whether `value` is an edge-ha error, optionally with a given code. Works across duplicate
 * copies of the package because it checks a global symbol brand, not `instanceof`.
 *
 * @example
 * ```ts
 * import { isEdgeHaError, type StorageAdapter } from 'edge-ha';
 *
 * declare const storage: StorageAdapter;
 * declare function reopen(): Promise<void>; // your own recovery
 *
 * try {
 *   await storage.appendPoints('boiler.temp', [{ t: Date.now(), v: 71.5 }]);
 * } catch (error) {
 *   if (isEdgeHaError(error, 'STORAGE_CLOSED')) await reopen();
 *   else throw error;
 * }
 * ```
 *
 * @group Errors
 */
export function isEdgeHaError(value: unknown, code?: string): value is EdgeHaError {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as { [BRAND]?: unknown; code?: unknown };
  if (record[BRAND] !== true || typeof record.code !== 'string') return false;
  return code === undefined || record.code === code;
}
