/**
 * The HA governor: heartbeat, downtime window, deputies per instance, status and `caughtUp`.
 *
 * @module
 */

export type {
  GovernorEvents,
  GovernorHeartbeat,
  GovernorRecovery,
  GovernorRunResult,
  GovernorStatus,
  HAGovernorOptions,
} from './governor.js';
export { HAGovernor } from './governor.js';
export type { RecoveryBasis, RecoveryWindow, RecoveryWindowInput } from './window.js';
export { computeRecoveryWindow } from './window.js';
