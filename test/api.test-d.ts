// Type tests of the public API (checked by vitest's typecheck, never executed).
import { describe, expectTypeOf, it } from 'vitest';
import {
  DEPUTY_STATES,
  type DeputyStateCode,
  type DeputyStateName,
  type DeputyTransitionEvent,
  type EdgeHaError,
  HAGovernor,
  isEdgeHaError,
  MemoryStorageAdapter,
  type PeerError,
  type Policy,
  parsePolicies,
  type QueryRoute,
  type RemotePeer,
  type StorageAdapter,
  type SyncGap,
  type SyncGapMode,
  type SyncGapReason,
  type SyncStateValue,
  type TimeSeriesDeputy,
  Topology,
} from '../src/index.js';
import { openSqliteStorage } from '../src/sqlite/index.js';
import { ManualClock } from '../src/testing/index.js';

describe('public types', () => {
  it('keeps the Apis state codes as literal types', () => {
    expectTypeOf(DEPUTY_STATES.finished_ok).toEqualTypeOf<5>();
    expectTypeOf<DeputyStateCode>().toEqualTypeOf<0 | 1 | 2 | 3 | 4 | 5 | 6>();
    expectTypeOf<DeputyStateName>().toEqualTypeOf<
      | 'idle'
      | 'started'
      | 'waiting_for_connection'
      | 'sending_sync_request'
      | 'waiting_for_reply'
      | 'finished_ok'
      | 'finished_with_error'
    >();
    expectTypeOf<DeputyTransitionEvent['toCode']>().toEqualTypeOf<DeputyStateCode>();
  });

  it('narrows errors with isEdgeHaError and exposes typed codes', () => {
    const error: unknown = new Error('x');
    if (isEdgeHaError(error)) expectTypeOf(error).toEqualTypeOf<EdgeHaError>();
    expectTypeOf<PeerError['code']>().toExtend<string>();
    expectTypeOf<PeerError['transient']>().toEqualTypeOf<boolean>();
  });

  it('types the storage adapters and peers by the public contracts', () => {
    expectTypeOf(new MemoryStorageAdapter()).toExtend<StorageAdapter>();
    expectTypeOf(openSqliteStorage).returns.toExtend<StorageAdapter>();
    expectTypeOf(new ManualClock()).toHaveProperty('now');
    expectTypeOf<RemotePeer['readPoints']>().returns.resolves.toHaveProperty('next');
  });

  it('types policies and routes', () => {
    expectTypeOf(parsePolicies).returns.toEqualTypeOf<Policy[]>();
    expectTypeOf<Topology['routeQuery']>().returns.toEqualTypeOf<QueryRoute>();
    expectTypeOf(Topology.fromPolicies).returns.toEqualTypeOf<Topology>();
    expectTypeOf(
      new HAGovernor({ storage: new MemoryStorageAdapter(), peers: [] as RemotePeer[] }),
    ).toHaveProperty('status');
  });

  it('types the gap ledger and the v2 storage contract', () => {
    expectTypeOf<SyncGapMode>().toEqualTypeOf<'overwrite' | 'merge'>();
    expectTypeOf<SyncGapReason>().toEqualTypeOf<
      'downtime' | 'margin' | 'reported' | 'requested' | 'firstStart' | 'migrated' | 'follow'
    >();
    expectTypeOf<SyncGap['pendingMargins']>().toEqualTypeOf<{
      readonly heartbeat: number;
    } | null>();
    expectTypeOf<StorageAdapter['mergePoints']>().returns.resolves.toEqualTypeOf<number>();
    expectTypeOf<StorageAdapter['readSyncState']>().returns.resolves.toEqualTypeOf<
      SyncStateValue | undefined
    >();
    expectTypeOf<TimeSeriesDeputy['run']>()
      .parameter(1)
      .toExtend<{ mode?: SyncGapMode | undefined } | undefined>();
    expectTypeOf<HAGovernor['reportGap']>().returns.resolves.toEqualTypeOf<void>();
    expectTypeOf<ReturnType<HAGovernor['status']>['gaps']['timeSeries']>().toEqualTypeOf<
      readonly SyncGap[] | null
    >();
  });
});
