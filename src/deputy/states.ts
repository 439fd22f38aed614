/**
 * The deputy state machine as data: Apis-compatible numeric states, the transition
 * table and a pure {@link step} function. The driver (`Deputy`) commits a state, then emits it.
 */

import { SyncError } from '../errors.js';

/**
 * The deputy states and their Apis `DeputyState` numeric codes. The codes are part of the public
 * contract: a host may publish them unchanged (e.g. as an OPC UA variable).
 *
 * @example
 * ```ts
 * import { DEPUTY_STATES, type TimeSeriesDeputy } from 'edge-ha';
 *
 * declare const deputy: TimeSeriesDeputy;
 *
 * if (deputy.snapshot().code === DEPUTY_STATES.finished_ok) console.log('synced');
 * ```
 *
 * @group Sync
 */
export const DEPUTY_STATES: {
  /** Not started. */
  readonly idle: 0;
  /** A sync run begins. */
  readonly started: 1;
  /** Trying to reach the remote (retries with back-off, abortable). */
  readonly waiting_for_connection: 2;
  /** Asking the remote for the window. */
  readonly sending_sync_request: 3;
  /** Receiving and applying pages. */
  readonly waiting_for_reply: 4;
  /** Every item and event of the window applied; LastUpToDate advanced. */
  readonly finished_ok: 5;
  /** The run ended with an error; SyncState says which and why. */
  readonly finished_with_error: 6;
} = Object.freeze({
  idle: 0,
  started: 1,
  waiting_for_connection: 2,
  sending_sync_request: 3,
  waiting_for_reply: 4,
  finished_ok: 5,
  finished_with_error: 6,
} as const);

/**
 * Name of a deputy state, e.g. `waiting_for_reply`.
 *
 * @group Sync
 */
export type DeputyStateName = keyof typeof DEPUTY_STATES;

/**
 * Numeric Apis code of a deputy state, `0`..`6`.
 *
 * @group Sync
 */
export type DeputyStateCode = (typeof DEPUTY_STATES)[DeputyStateName];

/**
 * What makes the machine move. Only the driver sends these; they are public so the table can be
 * read and documented.
 *
 * @group Sync
 */
export type DeputyEventType =
  /** A finished deputy is reset to `idle` before a new run. */
  | 'RESET'
  /** A run begins. */
  | 'START'
  /** The run needs the remote: start trying to reach it. */
  | 'CONNECT'
  /** A peer answered `hello()`. */
  | 'CONNECTED'
  /** The sync request (item list, window) was sent; pages follow. */
  | 'REQUEST_SENT'
  /**
   * The connection to the remote failed while requesting or receiving (a transient error): every
   * item stops, and the deputy tries to reach the remote again (one retry loop, not one per item).
   */
  | 'CONNECTION_LOST'
  /** Every item and event of the window was applied. */
  | 'SUCCEED'
  /** The window is empty: nothing to ask the remote. */
  | 'NOTHING_TO_DO'
  /** The run ended with an error (failed items, unreachable remote, cancellation, storage). */
  | 'FAIL';

/**
 * One row of the transition table.
 *
 * @group Sync
 */
export interface DeputyTransition {
  /** State the transition leaves. */
  readonly from: DeputyStateName;
  /** Event that triggers it. */
  readonly event: DeputyEventType;
  /** State the transition enters. */
  readonly to: DeputyStateName;
}

const RUNNING: readonly DeputyStateName[] = [
  'started',
  'waiting_for_connection',
  'sending_sync_request',
  'waiting_for_reply',
];

/**
 * Every legal transition of a deputy, as data. A run always goes
 * `idle → started → waiting_for_connection → sending_sync_request → waiting_for_reply` and ends in
 * `finished_ok` or `finished_with_error`; `FAIL` is legal from every running state (errors and
 * cancellation), an empty window short-cuts `started → finished_ok`, a connection lost while
 * requesting or receiving goes back to `waiting_for_connection`, and a finished deputy is
 * `RESET` to `idle` before its next run.
 *
 * @group Sync
 */
export const DEPUTY_TRANSITIONS: readonly DeputyTransition[] = Object.freeze(
  (
    [
      { from: 'idle', event: 'START', to: 'started' },
      { from: 'started', event: 'CONNECT', to: 'waiting_for_connection' },
      { from: 'started', event: 'NOTHING_TO_DO', to: 'finished_ok' },
      { from: 'waiting_for_connection', event: 'CONNECTED', to: 'sending_sync_request' },
      { from: 'sending_sync_request', event: 'REQUEST_SENT', to: 'waiting_for_reply' },
      { from: 'waiting_for_reply', event: 'SUCCEED', to: 'finished_ok' },
      { from: 'sending_sync_request', event: 'CONNECTION_LOST', to: 'waiting_for_connection' },
      { from: 'waiting_for_reply', event: 'CONNECTION_LOST', to: 'waiting_for_connection' },
      ...RUNNING.map(
        (from): DeputyTransition => ({ from, event: 'FAIL', to: 'finished_with_error' }),
      ),
      { from: 'finished_ok', event: 'RESET', to: 'idle' },
      { from: 'finished_with_error', event: 'RESET', to: 'idle' },
    ] satisfies DeputyTransition[]
  ).map((row): DeputyTransition => Object.freeze(row)),
);

const TABLE: ReadonlyMap<string, DeputyStateName> = new Map(
  DEPUTY_TRANSITIONS.map((row) => [`${row.from}|${row.event}`, row.to]),
);

/**
 * The pure transition function: the state `event` leads to from `state`, or `null` when the
 * transition is not in {@link DEPUTY_TRANSITIONS}.
 *
 * @example
 * ```ts
 * import { step } from 'edge-ha';
 *
 * step('idle', 'START'); // 'started'
 * step('idle', 'SUCCEED'); // null
 * ```
 *
 * @group Sync
 */
export function step(state: DeputyStateName, event: DeputyEventType): DeputyStateName | null {
  return TABLE.get(`${state}|${event}`) ?? null;
}

/**
 * Like {@link step} but throws `SyncError('SYNC_ILLEGAL_TRANSITION')` for a transition that is not
 * in the table. The driver uses it, so an illegal transition can never be committed.
 */
export function stepOrThrow(state: DeputyStateName, event: DeputyEventType): DeputyStateName {
  const next = step(state, event);
  if (next === null) {
    throw new SyncError(
      'SYNC_ILLEGAL_TRANSITION',
      `Deputy cannot take event ${event} in state ${state}; this is a bug in edge-ha, please report it.`,
    );
  }
  return next;
}

/** Whether a state is one of the two finished states. */
export function isFinishedState(state: DeputyStateName): boolean {
  return state === 'finished_ok' || state === 'finished_with_error';
}

/**
 * The state diagram of {@link DEPUTY_TRANSITIONS} as Mermaid `stateDiagram-v2` text (used to
 * generate `docs/sync.md`, so the documentation cannot drift from the code).
 *
 * @example
 * ```ts
 * import { deputyStateDiagram } from 'edge-ha';
 *
 * console.log(deputyStateDiagram());
 * ```
 *
 * @group Sync
 */
export function deputyStateDiagram(): string {
  const lines = ['stateDiagram-v2', '  [*] --> idle'];
  for (const [name, code] of Object.entries(DEPUTY_STATES)) {
    lines.push(`  ${name}: ${name} (${code})`);
  }
  for (const row of DEPUTY_TRANSITIONS) {
    lines.push(`  ${row.from} --> ${row.to}: ${row.event}`);
  }
  return `${lines.join('\n')}\n`;
}
