/**
 * The OPC UA `ServiceLevel` of a node, as a pure function of its governor's status: redundant
 * OPC UA clients (Apis among them) fail over to the server with the highest ServiceLevel.
 */

import type { GovernorStatus } from '../governor/governor.js';

/**
 * The sub-ranges of OPC UA Part 4 (ServiceLevel, §6.6.2.4.2) as edge-ha fills them:
 * - `maintenance` (0): the governor is closed, the node is out of service;
 * - `noData` (1): the governor has not started: nothing is known about the node's data;
 * - `degraded` (2–199): started but not caught up: 199 while the first catch-up runs, then 25
 *   less per consecutive sync attempt that left the node behind (`failedAttempts`), never below 2;
 * - `healthy` (255): caught up (every gap ledger empty, the last runs `finished_ok`).
 *
 * @group Operations
 */
export const SERVICE_LEVEL: {
  /** The governor is closed: out of service. */
  readonly maintenance: 0;
  /** The governor has not started: nothing is known about the data. */
  readonly noData: 1;
  /** Behind, during the first catch-up. */
  readonly degradedMax: 199;
  /** Behind after many failed attempts: the floor of the degraded range. */
  readonly degradedMin: 2;
  /** Caught up. */
  readonly healthy: 255;
} = Object.freeze({
  maintenance: 0,
  noData: 1,
  degradedMax: 199,
  degradedMin: 2,
  healthy: 255,
});

/**
 * The OPC UA ServiceLevel byte (0–255) of a node from its governor's status (see
 * {@link SERVICE_LEVEL} for the ranges).
 *
 * @example
 * ```ts
 * import { type HAGovernor, serviceLevel } from 'edge-ha';
 *
 * declare const governor: HAGovernor;
 * declare const opcuaServer: { serviceLevel: number }; // your OPC UA server's ServiceLevel variable
 *
 * opcuaServer.serviceLevel = serviceLevel(governor.status()); // 255 once caught up
 * ```
 *
 * @group Operations
 */
export function serviceLevel(
  status: Pick<GovernorStatus, 'closed' | 'startedAt' | 'caughtUp' | 'failedAttempts'>,
): number {
  if (status.closed) return SERVICE_LEVEL.maintenance;
  if (status.startedAt === null) return SERVICE_LEVEL.noData;
  if (status.caughtUp) return SERVICE_LEVEL.healthy;
  return Math.max(
    SERVICE_LEVEL.degradedMin,
    SERVICE_LEVEL.degradedMax - 25 * status.failedAttempts,
  );
}
