/**
 * Deputies: the Apis-compatible state machine (numeric `DeputyState` codes, a transition table
 * and a pure `step()`), and the drivers that back-fill a restarted instance from a peer —
 * {@link TimeSeriesDeputy} (the remote wins) and {@link EventDeputy} (the local wins).
 *
 * @module
 */

export { Deputy, EventDeputy, TimeSeriesDeputy } from './deputy.js';
export type { SyncGap, SyncGapInput, SyncGapMode, SyncGapReason } from './ledger.js';
export type { BackoffFunction, ExponentialBackoffOptions, RetryOptions } from './retry.js';
export { exponentialBackoff } from './retry.js';
export type {
  DeputyEventType,
  DeputyStateCode,
  DeputyStateName,
  DeputyTransition,
} from './states.js';
export { DEPUTY_STATES, DEPUTY_TRANSITIONS, deputyStateDiagram, step } from './states.js';
export type {
  DeputyEvents,
  DeputyItemError,
  DeputyItemState,
  DeputyItemStatus,
  DeputyKind,
  DeputyOperation,
  DeputyOptions,
  DeputyProgress,
  DeputyRecord,
  DeputyRetryEvent,
  DeputyRunError,
  DeputyRunOptions,
  DeputyRunSummary,
  DeputySnapshot,
  DeputyTransitionEvent,
  SyncStateLevel,
  SyncStateMessage,
} from './types.js';
