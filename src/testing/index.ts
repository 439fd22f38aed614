/**
 * `edge-ha/testing`: tools to test code built on edge-ha and to prove your own storage adapter.
 *
 * - {@link runStorageAdapterSuite}: the storage adapter conformance suite, for any test runner
 *   (node:test, vitest, jest, mocha). Its model-based group needs the optional peer dependency
 *   `fast-check`.
 * - {@link ManualClock}: a deterministic {@link edge-ha!Clock} for deputies, the governor and topology.
 * - {@link recordEvents}: records an emitter's events so tests can assert exact sequences.
 * - {@link faultyPeer} and {@link faultyStorage}: seeded fault injection (lost, late, reordered,
 *   truncated replies, transient and permanent errors, crashes before or after a commit) whose
 *   failing seeds replay exactly.
 *
 * @example
 * ```ts
 * import { describe, test } from 'node:test';
 * import { MemoryStorageAdapter } from 'edge-ha';
 * import { runStorageAdapterSuite } from 'edge-ha/testing';
 *
 * runStorageAdapterSuite({ test, describe, factory: () => new MemoryStorageAdapter() });
 * ```
 *
 * @module edge-ha/testing
 */

export type {
  CrashMode,
  FaultSchedule,
  FaultScheduleOptions,
  FaultyPeer,
  FaultyPeerOperation,
  FaultyPeerOptions,
  FaultyStorage,
  FaultyStorageOperation,
  FaultyStorageOptions,
  InjectedPeerFault,
  PeerFault,
  PeerFaultKind,
  PeerFaultLimits,
  PeerFaultRates,
  PermanentFaultCode,
  SeededRandom,
  StorageCrash,
  TransientFaultCode,
} from './faults/index.js';
export {
  DEFAULT_PEER_FAULT_RATES,
  describePeerFault,
  FAULTY_STORAGE_OPERATIONS,
  faultyPeer,
  faultyStorage,
  generateFaultSchedule,
  isInjectedFault,
  newSeed,
  PEER_FAULT_KINDS,
  seededRandom,
} from './faults/index.js';
export { ManualClock } from './manual-clock.js';
export type { EventRecording, RecordedEvent } from './record-events.js';
export { recordEvents } from './record-events.js';
export type {
  StorageAdapterSuiteOptions,
  StorageSuiteContext,
  SuiteDescribeFunction,
  SuiteTestFunction,
} from './storage-suite/index.js';
export { runStorageAdapterSuite } from './storage-suite/index.js';
