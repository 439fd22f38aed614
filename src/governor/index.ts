/**
 * The HA governor: heartbeat, downtime gaps, deputies per instance, status and `caughtUp`.
 *
 * @module
 */

export type { Downtime, DowntimeInput, HeartbeatInfo } from './downtime.js';
export { computeDowntime } from './downtime.js';
export type {
  GovernorDowntime,
  GovernorEvents,
  GovernorHeartbeat,
  GovernorRunResult,
  GovernorScheduledSync,
  GovernorStatus,
  HAGovernorOptions,
} from './governor.js';
export { HAGovernor } from './governor.js';
