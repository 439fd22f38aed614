/**
 * `governor.metrics()` as plain data, and the same instruments on an OpenTelemetry meter (a
 * recording fake of the MeterLike shape, and the real no-op meter of @opentelemetry/api).
 */

import { createNoopMeter } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { HAGovernor } from '../../src/governor/governor.js';
import type {
  CounterLike,
  MeterLike,
  ObservableCallbackLike,
  ObservableGaugeLike,
} from '../../src/ops/metrics.js';
import { formatMetrics } from '../../src/ops/prometheus.js';
import { faultPeer, linked, memory, pts, unreachable } from '../deputy/helpers.js';
import { parseExposition } from './exposition.js';

const HB = 'edge-ha:heartbeat';

/** A meter that records every counter increment and every registered gauge callback. */
function recordingMeter() {
  const adds: { name: string; value: number; attributes: Record<string, string> }[] = [];
  const callbacks = new Map<string, Set<ObservableCallbackLike>>();
  const created: { name: string; kind: string; unit?: string; description?: string }[] = [];
  const meter: MeterLike = {
    createCounter(name, options): CounterLike {
      created.push({ name, kind: 'counter', ...options });
      return { add: (value, attributes = {}) => adds.push({ name, value, attributes }) };
    },
    createObservableGauge(name, options): ObservableGaugeLike {
      created.push({ name, kind: 'gauge', ...options });
      const set = new Set<ObservableCallbackLike>();
      callbacks.set(name, set);
      return { addCallback: (cb) => set.add(cb), removeCallback: (cb) => set.delete(cb) };
    },
  };
  /** What a collection would export: every gauge observed now. */
  const collect = (name: string) => {
    const observed: { value: number; attributes: Record<string, string> }[] = [];
    for (const cb of callbacks.get(name) ?? []) {
      cb({ observe: (value, attributes = {}) => observed.push({ value, attributes }) });
    }
    return observed;
  };
  const total = (name: string, match: Record<string, string> = {}) =>
    adds
      .filter(
        (a) => a.name === name && Object.entries(match).every(([k, v]) => a.attributes[k] === v),
      )
      .reduce((sum, a) => sum + a.value, 0);
  const registered = () => [...callbacks.values()].reduce((n, set) => n + set.size, 0);
  return { meter, adds, created, collect, total, registered };
}

/**
 * A node down in [1000, 2000) after a clean stop: the peer has points inside the downtime
 * (overwritten), in the merge margin after it, and events.
 */
async function scenario(meter?: MeterLike) {
  const remote = await memory({ a: pts([1_500, 'down'], [1_600, 'down'], [2_000, 'margin']) }, [
    { id: 'e1', t: 1_500, body: { n: 1 } },
    { id: 'e2', t: 1_700, body: { n: 2 } },
  ]);
  const local = await memory({ a: pts([1_200, 'stale'], [2_000, 'mine']) });
  await local.writeSyncState(HB, {
    format: 'edge-ha.heartbeat',
    version: 2,
    at: 999,
    clean: true,
    intervalMs: 1_000,
  });
  const { clock, peer } = linked(remote, 2_000);
  const governor = new HAGovernor({
    storage: local,
    peers: [peer],
    clock,
    overlapMs: 0,
    retryEveryMs: false,
    ...(meter === undefined ? {} : { meter }),
  });
  return { governor, clock, local };
}

describe('governor.metrics()', () => {
  it('is plain data: zeros before start, counts after a run, by mode', async () => {
    const { governor, clock } = await scenario();
    const before = governor.metrics();
    expect(before).toMatchObject({
      startedAt: null,
      caughtUp: false,
      serviceLevel: 1,
      heartbeat: null,
      deputies: {
        timeSeries: { runs: { started: 0, finishedOk: 0, finishedWithError: 0 }, gaps: 0 },
        events: { state: 'idle', code: 0, pages: 0 },
      },
    });
    await clock.runUntilSettled(governor.start());
    clock.advance(5_000);
    const after = governor.metrics();
    expect(JSON.parse(JSON.stringify(after))).toEqual(after);
    expect(after).toMatchObject({ caughtUp: true, serviceLevel: 255, failedAttempts: 0 });
    const series = after.deputies.timeSeries;
    const events = after.deputies.events;
    expect(series).toMatchObject({
      state: 'finished_ok',
      code: 5,
      running: false,
      caughtUp: true,
      runs: { started: 1, finishedOk: 1, finishedWithError: 0 },
      pointsReceived: 3,
      // inside the downtime the remote wins (2 points), the margin merges (2000 is local's)
      pointsApplied: { overwrite: 2, merge: 0 },
      retries: 0,
      failedItems: 0,
      errors: {},
      gaps: 0,
      oldestGapAgeMs: null,
      itemsBehind: 0,
      lastUpToDate: 2_000,
      sinceLastFinishedOkMs: 5_000,
      clockSkewMs: 0,
    });
    expect(events).toMatchObject({
      eventsReceived: 2,
      eventsApplied: { overwrite: 2, merge: 0 },
      runs: { started: 1, finishedOk: 1 },
    });
    expect(series?.pages).toBeGreaterThan(0);
    expect(series?.bytesReceived).toBeGreaterThan(0);
    expect(after.heartbeat).toBe(2_000);
    await governor.close();
  });

  it('shows a node behind: retries, error codes, gaps and their age, items behind', async () => {
    const remote = await memory({ a: pts([500, 1]), b: pts([600, 2]) });
    const { clock, peer: inner } = linked(remote, 1_000);
    let down = true;
    const peer = faultPeer(inner, (call) =>
      down && call.op === 'hello' ? unreachable() : undefined,
    );
    const governor = new HAGovernor({
      storage: await memory({}, [], ['a', 'b']),
      peers: [peer],
      clock,
      events: false,
      retry: { retries: 2, backoff: () => 10 },
      retryEveryMs: false,
      firstStartLookbackMs: 1_000,
    });
    await clock.runUntilSettled(governor.start());
    clock.advance(3_000);
    const behind = governor.metrics();
    expect(behind.caughtUp).toBe(false);
    expect(behind.deputies.events).toBeNull();
    expect(behind.deputies.timeSeries).toMatchObject({
      state: 'finished_with_error',
      code: 6,
      runs: { started: 1, finishedOk: 0, finishedWithError: 1 },
      retries: 2,
      errors: { PEER_UNREACHABLE: 1 },
      gaps: 1,
      lastUpToDate: null,
      sinceLastFinishedOkMs: null,
      clockSkewMs: null,
    });
    expect(behind.deputies.timeSeries?.oldestGapAgeMs).toBe(3_000 + 20);
    const text = formatMetrics(behind);
    const families = parseExposition(text);
    expect(families.get('edge_ha_caught_up')?.samples[0]?.value).toBe(0);
    expect(families.get('edge_ha_retries_total')?.samples[0]).toMatchObject({
      labels: { deputy: 'timeSeries' },
      value: 2,
    });
    expect(text).toContain(
      'edge_ha_sync_errors_total{deputy="timeSeries",code="PEER_UNREACHABLE"} 1',
    );
    down = false;
    await clock.runUntilSettled(governor.sync());
    const healed = governor.metrics().deputies.timeSeries;
    expect(healed).toMatchObject({
      gaps: 0,
      itemsBehind: 0,
      runs: { started: 2, finishedOk: 1, finishedWithError: 1 },
      pointsApplied: { merge: 2, overwrite: 0 },
    });
    await governor.close();
  });

  it('counts items that fail and the items behind while a run is stuck', async () => {
    const remote = await memory({ a: pts([500, 1]), b: pts([600, 2]) });
    const { clock, peer: inner } = linked(remote, 1_000);
    const peer = faultPeer(inner, (call) =>
      call.op === 'readPoints' && call.args[0] === 'b'
        ? new Error('not a peer error: item b fails')
        : undefined,
    );
    const governor = new HAGovernor({
      storage: await memory({}, [], ['a', 'b']),
      peers: [peer],
      clock,
      events: false,
      retryEveryMs: false,
      firstStartLookbackMs: 1_000,
    });
    await clock.runUntilSettled(governor.start());
    expect(governor.metrics().deputies.timeSeries).toMatchObject({
      failedItems: 1,
      itemsBehind: 1,
      errors: { SYNC_FAILED: 1 },
    });
    await governor.close();
  });
});

describe('an OpenTelemetry meter (HAGovernorOptions.meter)', () => {
  it('gets the same counters (Counter.add) and gauges (ObservableGauge) as metrics()', async () => {
    const recording = recordingMeter();
    const { governor, clock } = await scenario(recording.meter);
    await clock.runUntilSettled(governor.start());
    const m = governor.metrics();
    const series = m.deputies.timeSeries;
    const events = m.deputies.events;
    expect(recording.total('edge_ha_points_applied', { mode: 'overwrite' })).toBe(
      series?.pointsApplied.overwrite,
    );
    expect(recording.total('edge_ha_events_applied', { mode: 'overwrite' })).toBe(
      events?.eventsApplied.overwrite,
    );
    expect(recording.total('edge_ha_pages_applied', { deputy: 'timeSeries' })).toBe(series?.pages);
    expect(recording.total('edge_ha_received_bytes', { deputy: 'events' })).toBe(
      events?.bytesReceived,
    );
    expect(
      recording.total('edge_ha_sync_runs_finished', { deputy: 'events', outcome: 'finished_ok' }),
    ).toBe(1);
    expect(recording.total('edge_ha_sync_runs_started')).toBe(2);
    expect(recording.adds.every((a) => a.value > 0)).toBe(true);
    // gauges are observed at collection time
    expect(recording.collect('edge_ha_caught_up')).toEqual([{ value: 1, attributes: {} }]);
    expect(recording.collect('edge_ha_gap_ledger_gaps')).toEqual([
      { value: 0, attributes: { deputy: 'timeSeries' } },
      { value: 0, attributes: { deputy: 'events' } },
    ]);
    expect(recording.collect('edge_ha_deputy_state')).toEqual([
      { value: 5, attributes: { deputy: 'timeSeries' } },
      { value: 5, attributes: { deputy: 'events' } },
    ]);
    // names without _total, units and descriptions set
    const counter = recording.created.find((c) => c.name === 'edge_ha_received_bytes');
    expect(counter).toMatchObject({ kind: 'counter', unit: 'By' });
    expect(counter?.description).toBeTruthy();
    expect(recording.created.find((c) => c.name === 'edge_ha_clock_skew_seconds')).toMatchObject({
      kind: 'gauge',
      unit: 's',
    });
    expect(recording.created.every((c) => !c.name.endsWith('_total'))).toBe(true);
    // close() unregisters the gauge callbacks
    expect(recording.registered()).toBeGreaterThan(0);
    await governor.close();
    expect(recording.registered()).toBe(0);
  });

  it('works with the real @opentelemetry/api no-op meter, and a throwing meter changes nothing', async () => {
    const noop = await scenario(createNoopMeter());
    await noop.clock.runUntilSettled(noop.governor.start());
    expect(noop.governor.metrics().caughtUp).toBe(true);
    await noop.governor.close();

    const broken: MeterLike = {
      createCounter: () => ({
        add: () => {
          throw new Error('meter down');
        },
      }),
      createObservableGauge: () => ({
        addCallback: () => undefined,
        removeCallback: () => undefined,
      }),
    };
    const { governor, clock, local } = await scenario(broken);
    const result = await clock.runUntilSettled(governor.start());
    expect(result.timeSeries?.state).toBe('finished_ok');
    expect(
      governor
        .status()
        .deputies.timeSeries?.syncState.some((m) => m.code === 'SYNC_LISTENER_FAILED'),
    ).toBe(false);
    expect((await local.readPoints('a', { from: 0, to: 3_000 }, { limit: 10 })).items).toHaveLength(
      3,
    );
    await governor.close();
  });

  it('rejects something that is not a meter with SYNC_INVALID_OPTION', async () => {
    const { peer } = linked(await memory());
    expect(
      () =>
        new HAGovernor({ storage: new (class {})() as never, peers: [peer], meter: {} as never }),
    ).toThrow(expect.objectContaining({ code: 'SYNC_INVALID_OPTION' }));
    expect(
      () =>
        new HAGovernor({
          storage: new (class {})() as never,
          peers: [peer],
          meter: { createCounter: () => ({ add() {} }) } as never,
        }),
    ).toThrow(/createObservableGauge/);
  });
});
