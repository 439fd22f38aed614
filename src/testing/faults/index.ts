/**
 * The fault-injection harness of `edge-ha/testing`: a seeded, replayable faulty peer
 * ({@link faultyPeer}), a crashing storage wrapper ({@link faultyStorage}), fault schedules
 * ({@link generateFaultSchedule}) and the seeded generator behind them ({@link seededRandom}).
 *
 * @example
 * ```ts
 * import { localPeer, MemoryStorageAdapter } from 'edge-ha';
 * import { faultyPeer, faultyStorage, ManualClock } from 'edge-ha/testing';
 *
 * const remote = new MemoryStorageAdapter();
 * const local = new MemoryStorageAdapter();
 * const clock = new ManualClock(Date.UTC(2024, 0, 1));
 * const peer = faultyPeer(localPeer(remote, { clock }), { seed: 99, clock, skewMs: 1500 });
 * const storage = faultyStorage(local, { crashAt: 12, mode: 'after' });
 * ```
 *
 * @module
 */

export { isInjectedFault } from './injected.js';
export type {
  FaultyPeer,
  FaultyPeerOperation,
  FaultyPeerOptions,
  InjectedPeerFault,
} from './peer.js';
export { faultyPeer } from './peer.js';
export type { SeededRandom } from './random.js';
export { newSeed, seededRandom } from './random.js';
export type {
  FaultSchedule,
  FaultScheduleOptions,
  PeerFault,
  PeerFaultKind,
  PeerFaultLimits,
  PeerFaultRates,
  PermanentFaultCode,
  TransientFaultCode,
} from './schedule.js';
export {
  DEFAULT_PEER_FAULT_RATES,
  describePeerFault,
  generateFaultSchedule,
  PEER_FAULT_KINDS,
} from './schedule.js';
export type {
  CrashMode,
  FaultyStorage,
  FaultyStorageOperation,
  FaultyStorageOptions,
  StorageCrash,
} from './storage.js';
export { FAULTY_STORAGE_OPERATIONS, faultyStorage } from './storage.js';
