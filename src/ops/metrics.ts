/**
 * Metrics as plain data: what `HAGovernor.metrics()` and `Deputy.metrics()` return, the list of
 * every metric edge-ha exposes (one table, read by the Prometheus formatter, the OpenTelemetry
 * bridge and the documentation test), and the structural `MeterLike` type that lets a host pass
 * an OpenTelemetry `Meter` without edge-ha importing `@opentelemetry/api`.
 */

import type { DeputyStateCode, DeputyStateName } from '../deputy/states.js';
import type { DeputyKind } from '../deputy/types.js';

/**
 * The cumulative counters and current gauges of one deputy (`Deputy.metrics()`).
 *
 * @group Operations
 */
export interface DeputyMetrics {
  /** Which deputy. */
  readonly kind: DeputyKind;
  /** Current state. */
  readonly state: DeputyStateName;
  /** Its Apis `DeputyState` code (0–6). */
  readonly code: DeputyStateCode;
  /** Whether a run is in progress. */
  readonly running: boolean;
  /** The ledger holds no gap (follow-mode gaps aside) and the last run ended finished_ok. */
  readonly caughtUp: boolean;
  /** Runs since the deputy was created, by outcome. */
  readonly runs: {
    /** Runs started. */
    readonly started: number;
    /** Runs that ended `finished_ok`. */
    readonly finishedOk: number;
    /** Runs that ended `finished_with_error` (cancelled runs included). */
    readonly finishedWithError: number;
  };
  /** Points received from peers (time series). */
  readonly pointsReceived: number;
  /** Points written locally, by the mode of the gap they were applied in. */
  readonly pointsApplied: {
    /** In merge gaps (only where the local had no point). */
    readonly merge: number;
    /** In overwrite gaps (the remote won). */
    readonly overwrite: number;
  };
  /** Events received from peers. */
  readonly eventsReceived: number;
  /** Events inserted locally (new ids only), by the mode of the gap they were read in. */
  readonly eventsApplied: {
    /** In merge gaps. */
    readonly merge: number;
    /** In overwrite gaps (events are still only inserted if absent). */
    readonly overwrite: number;
  };
  /** Pages received and applied. */
  readonly pages: number;
  /** Approximate JSON size of the records received, bytes. */
  readonly bytesReceived: number;
  /** Retries: back-off waits before a new connection attempt, and reconnections after a lost connection. */
  readonly retries: number;
  /** Time-series items that failed in a run (each failure of each run counts). */
  readonly failedItems: number;
  /** Errors of runs by code (`PEER_UNREACHABLE`, `STORAGE_BACKEND`, `SYNC_CANCELLED`, …). */
  readonly errors: Readonly<Record<string, number>>;
  /** Gaps in the ledger now (follow-mode gaps included). */
  readonly gaps: number;
  /** How long the oldest gap of the ledger has been in it (now − its `addedAt`), ms; `null` when empty. */
  readonly oldestGapAgeMs: number | null;
  /** Windows recorded as not recoverable (older than `maxRecoveryMs`). */
  readonly unrecoverableWindows: number;
  /** Time-series items of the current or last run not synced yet: pending, running or failed. */
  readonly itemsBehind: number;
  /** Apis LastUpToDate: the time of the last transition to finished_ok (epoch ms), or `null`. */
  readonly lastUpToDate: number | null;
  /** Time since `lastUpToDate`, ms, or `null` when the deputy never finished ok. */
  readonly sinceLastFinishedOkMs: number | null;
  /** Remote clock minus local clock measured at the last `hello`, ms, or `null`. */
  readonly clockSkewMs: number | null;
}

/**
 * What `HAGovernor.metrics()` returns: plain, JSON-safe data (format it with `formatMetrics`).
 *
 * @group Operations
 */
export interface MetricsSnapshot {
  /** When the snapshot was taken, epoch ms of the governor's clock. */
  readonly at: number;
  /** Start-up time, or `null` before `start()`. */
  readonly startedAt: number | null;
  /** Whether `close()` was called. */
  readonly closed: boolean;
  /** See `GovernorStatus.caughtUp`. */
  readonly caughtUp: boolean;
  /** The OPC UA ServiceLevel of the node (see `serviceLevel`). */
  readonly serviceLevel: number;
  /** Consecutive syncs that left the node behind (0 once caught up). */
  readonly failedAttempts: number;
  /** Last heartbeat written (epoch ms), or `null`. */
  readonly heartbeat: number | null;
  /** Per-deputy metrics (`null` when that deputy is disabled). */
  readonly deputies: {
    /** Time-series deputy. */
    readonly timeSeries: DeputyMetrics | null;
    /** Event deputy. */
    readonly events: DeputyMetrics | null;
  };
}

/**
 * Attributes of a measurement, as OpenTelemetry takes them.
 *
 * @group Operations
 */
export type MetricAttributesLike = Readonly<Record<string, string>>;

/**
 * Options of an instrument (the subset of OpenTelemetry's `MetricOptions` edge-ha passes).
 *
 * @group Operations
 */
export interface InstrumentOptionsLike {
  /** What the instrument measures. */
  description?: string;
  /** Its unit (UCUM: `s`, `By`, `1`, `{point}`). */
  unit?: string;
}

/**
 * A monotonic counter (OpenTelemetry's `Counter`).
 *
 * @group Operations
 */
export interface CounterLike {
  /** Adds a non-negative value. */
  add(value: number, attributes?: MetricAttributesLike): void;
}

/**
 * What an observable callback reports into (OpenTelemetry's `ObservableResult`).
 *
 * @group Operations
 */
export interface ObservableResultLike {
  /** Reports the current value for one set of attributes. */
  observe(value: number, attributes?: MetricAttributesLike): void;
}

/**
 * A callback of an observable instrument.
 *
 * @group Operations
 */
export type ObservableCallbackLike = (result: ObservableResultLike) => void;

/**
 * An asynchronous gauge (OpenTelemetry's `ObservableGauge`).
 *
 * @group Operations
 */
export interface ObservableGaugeLike {
  /** Registers a callback called at each collection. */
  addCallback(callback: ObservableCallbackLike): void;
  /** Unregisters it. */
  removeCallback(callback: ObservableCallbackLike): void;
}

/**
 * The part of an OpenTelemetry `Meter` (from `@opentelemetry/api`) edge-ha uses, as a structural
 * type: pass `metrics.getMeter('edge-ha')` as `HAGovernorOptions.meter`. edge-ha never imports
 * `@opentelemetry/api` itself, so a project without it compiles and runs unchanged.
 *
 * @example
 * ```ts
 * import { metrics } from '@opentelemetry/api';
 * import { HAGovernor, type RemotePeer, type StorageAdapter } from 'edge-ha';
 *
 * declare const storage: StorageAdapter;
 * declare const peers: RemotePeer[];
 *
 * const governor = new HAGovernor({ storage, peers, meter: metrics.getMeter('edge-ha') });
 * ```
 *
 * @group Operations
 */
export interface MeterLike {
  /** Creates a counter. */
  createCounter(name: string, options?: InstrumentOptionsLike): CounterLike;
  /** Creates an asynchronous gauge. */
  createObservableGauge(name: string, options?: InstrumentOptionsLike): ObservableGaugeLike;
}

/** A metric of edge-ha: its Prometheus name, type, labels, help text and OpenTelemetry unit. */
export interface MetricDefinition {
  /** The Prometheus family name (counters end in `_total`). */
  readonly name: string;
  /** `counter` (only goes up) or `gauge`. */
  readonly type: 'counter' | 'gauge';
  /** Label names. */
  readonly labels: readonly string[];
  /** One line: what it measures. */
  readonly help: string;
  /** UCUM unit of the OpenTelemetry instrument. */
  readonly unit: string;
}

function metric(
  name: string,
  type: 'counter' | 'gauge',
  labels: readonly string[],
  unit: string,
  help: string,
): MetricDefinition {
  return Object.freeze({ name, type, labels: Object.freeze([...labels]), help, unit });
}

/** Every metric of a governor (the deputies' included), by key. */
export const SYNC_METRICS: {
  readonly runsStarted: MetricDefinition;
  readonly runsFinished: MetricDefinition;
  readonly pointsReceived: MetricDefinition;
  readonly pointsApplied: MetricDefinition;
  readonly eventsReceived: MetricDefinition;
  readonly eventsApplied: MetricDefinition;
  readonly pages: MetricDefinition;
  readonly bytesReceived: MetricDefinition;
  readonly retries: MetricDefinition;
  readonly failedItems: MetricDefinition;
  readonly errors: MetricDefinition;
  readonly caughtUp: MetricDefinition;
  readonly serviceLevel: MetricDefinition;
  readonly failedAttempts: MetricDefinition;
  readonly heartbeat: MetricDefinition;
  readonly state: MetricDefinition;
  readonly running: MetricDefinition;
  readonly gaps: MetricDefinition;
  readonly oldestGapAge: MetricDefinition;
  readonly unrecoverable: MetricDefinition;
  readonly itemsBehind: MetricDefinition;
  readonly lastFinishedOk: MetricDefinition;
  readonly sinceLastFinishedOk: MetricDefinition;
  readonly clockSkew: MetricDefinition;
} = Object.freeze({
  runsStarted: metric(
    'edge_ha_sync_runs_started_total',
    'counter',
    ['deputy'],
    '{run}',
    'Deputy runs started.',
  ),
  runsFinished: metric(
    'edge_ha_sync_runs_finished_total',
    'counter',
    ['deputy', 'outcome'],
    '{run}',
    'Deputy runs finished, by outcome (finished_ok, finished_with_error).',
  ),
  pointsReceived: metric(
    'edge_ha_points_received_total',
    'counter',
    [],
    '{point}',
    'Time-series points received from peers.',
  ),
  pointsApplied: metric(
    'edge_ha_points_applied_total',
    'counter',
    ['mode'],
    '{point}',
    'Time-series points written locally, by gap mode (merge, overwrite).',
  ),
  eventsReceived: metric(
    'edge_ha_events_received_total',
    'counter',
    [],
    '{event}',
    'Events received from peers.',
  ),
  eventsApplied: metric(
    'edge_ha_events_applied_total',
    'counter',
    ['mode'],
    '{event}',
    'Events inserted locally (new ids), by gap mode (merge, overwrite).',
  ),
  pages: metric(
    'edge_ha_pages_applied_total',
    'counter',
    ['deputy'],
    '{page}',
    'Pages received from peers and applied.',
  ),
  bytesReceived: metric(
    'edge_ha_received_bytes_total',
    'counter',
    ['deputy'],
    'By',
    'Approximate JSON size of the records received from peers.',
  ),
  retries: metric(
    'edge_ha_retries_total',
    'counter',
    ['deputy'],
    '{retry}',
    'Retries: back-off waits before a connection attempt and reconnections after a lost connection.',
  ),
  failedItems: metric(
    'edge_ha_failed_items_total',
    'counter',
    [],
    '{item}',
    'Time-series items that failed in a run.',
  ),
  errors: metric(
    'edge_ha_sync_errors_total',
    'counter',
    ['deputy', 'code'],
    '{error}',
    'Errors of deputy runs, by error code.',
  ),
  caughtUp: metric(
    'edge_ha_caught_up',
    'gauge',
    [],
    '1',
    '1 when every gap ledger is empty and the last runs finished ok, else 0.',
  ),
  serviceLevel: metric(
    'edge_ha_service_level',
    'gauge',
    [],
    '1',
    'OPC UA ServiceLevel of the node (0 closed, 1 not started, 2-199 behind, 255 caught up).',
  ),
  failedAttempts: metric(
    'edge_ha_consecutive_failed_syncs',
    'gauge',
    [],
    '{sync}',
    'Consecutive syncs that left the node behind (0 once caught up).',
  ),
  heartbeat: metric(
    'edge_ha_heartbeat_timestamp_seconds',
    'gauge',
    [],
    's',
    'Time of the last heartbeat written, Unix seconds.',
  ),
  state: metric(
    'edge_ha_deputy_state',
    'gauge',
    ['deputy'],
    '1',
    'Apis DeputyState code: 0 idle, 1 started, 2 waiting_for_connection, 3 sending_sync_request, 4 waiting_for_reply, 5 finished_ok, 6 finished_with_error.',
  ),
  running: metric(
    'edge_ha_deputy_running',
    'gauge',
    ['deputy'],
    '1',
    '1 while a deputy run is in progress, else 0.',
  ),
  gaps: metric(
    'edge_ha_gap_ledger_gaps',
    'gauge',
    ['deputy'],
    '{gap}',
    'Gaps in the gap ledger: windows this node is missing.',
  ),
  oldestGapAge: metric(
    'edge_ha_gap_ledger_oldest_gap_age_seconds',
    'gauge',
    ['deputy'],
    's',
    'How long the oldest gap has been in the ledger (0 when it is empty).',
  ),
  unrecoverable: metric(
    'edge_ha_unrecoverable_windows',
    'gauge',
    ['deputy'],
    '{window}',
    'Windows recorded as not recoverable (older than maxRecoveryMs).',
  ),
  itemsBehind: metric(
    'edge_ha_items_behind',
    'gauge',
    ['deputy'],
    '{item}',
    'Time-series items of the current or last run not synced yet (pending, running or failed).',
  ),
  lastFinishedOk: metric(
    'edge_ha_last_finished_ok_timestamp_seconds',
    'gauge',
    ['deputy'],
    's',
    'LastUpToDate: time of the last finished_ok, Unix seconds (absent before the first).',
  ),
  sinceLastFinishedOk: metric(
    'edge_ha_last_finished_ok_age_seconds',
    'gauge',
    ['deputy'],
    's',
    'Seconds since the last finished_ok (absent before the first).',
  ),
  clockSkew: metric(
    'edge_ha_clock_skew_seconds',
    'gauge',
    ['deputy'],
    's',
    'Remote clock minus local clock measured at the last hello (absent before the first).',
  ),
});

/** The metrics of the peer handler itself (served even without a governor). */
export const HANDLER_METRICS: {
  readonly requests: MetricDefinition;
  readonly responseBytes: MetricDefinition;
  readonly info: MetricDefinition;
  readonly startTime: MetricDefinition;
  readonly residentMemory: MetricDefinition;
  readonly heapUsed: MetricDefinition;
} = Object.freeze({
  requests: metric(
    'edge_ha_peer_requests_total',
    'counter',
    ['route', 'status'],
    '{request}',
    'Requests answered by the peer handler, by route and HTTP status.',
  ),
  responseBytes: metric(
    'edge_ha_peer_response_bytes_total',
    'counter',
    ['route'],
    'By',
    'Bytes of reply bodies served by the peer handler, by route.',
  ),
  info: metric(
    'edge_ha_peer_info',
    'gauge',
    ['instance_id'],
    '1',
    'Always 1; the label names the instance id the handler announces in hello.',
  ),
  startTime: metric(
    'edge_ha_process_start_time_seconds',
    'gauge',
    [],
    's',
    'Start time of the process, Unix seconds.',
  ),
  residentMemory: metric(
    'edge_ha_process_resident_memory_bytes',
    'gauge',
    [],
    'By',
    'Resident memory of the process.',
  ),
  heapUsed: metric('edge_ha_process_heap_used_bytes', 'gauge', [], 'By', 'V8 heap in use.'),
});

/** The counters a deputy increments (keys of {@link SYNC_METRICS}). */
export type DeputyCounterKey =
  | 'runsStarted'
  | 'runsFinished'
  | 'pointsReceived'
  | 'pointsApplied'
  | 'eventsReceived'
  | 'eventsApplied'
  | 'pages'
  | 'bytesReceived'
  | 'retries'
  | 'failedItems'
  | 'errors';

/**
 * The OpenTelemetry name of a metric: the Prometheus name without `_total` (an OpenTelemetry
 * Prometheus exporter adds it back to counters).
 */
export function otelName(definition: MetricDefinition): string {
  return definition.name.replace(/_total$/, '');
}

/** One sample of a metric: its labels and value. */
export interface MetricSample {
  /** Label values by label name. */
  readonly labels: Readonly<Record<string, string>>;
  /** The value. */
  readonly value: number;
}

/** A metric and its samples. */
export interface MetricFamily {
  /** The metric. */
  readonly definition: MetricDefinition;
  /** Its samples (a family without samples is left out of the exposition). */
  readonly samples: readonly MetricSample[];
}

const MODES = ['merge', 'overwrite'] as const;

/**
 * The metric families of a snapshot (pure): the counters and gauges of {@link SYNC_METRICS},
 * seconds and Unix seconds from the snapshot's milliseconds. A gauge whose value is unknown (no
 * heartbeat yet, never finished ok, skew never measured) has no sample.
 */
export function snapshotFamilies(snapshot: MetricsSnapshot): MetricFamily[] {
  const deputies = [snapshot.deputies.timeSeries, snapshot.deputies.events].filter(
    (deputy): deputy is DeputyMetrics => deputy !== null,
  );
  const perDeputy = (
    value: (deputy: DeputyMetrics) => number | null,
  ): { labels: Record<string, string>; value: number }[] =>
    deputies.flatMap((deputy) => {
      const v = value(deputy);
      return v === null ? [] : [{ labels: { deputy: deputy.kind }, value: v }];
    });
  const sum = (value: (deputy: DeputyMetrics) => number): number =>
    deputies.reduce((total, deputy) => total + value(deputy), 0);
  const seconds = (ms: number | null): number | null => (ms === null ? null : ms / 1000);
  const M = SYNC_METRICS;
  const family = (definition: MetricDefinition, samples: MetricSample[]): MetricFamily => ({
    definition,
    samples,
  });
  return [
    family(
      M.runsStarted,
      perDeputy((d) => d.runs.started),
    ),
    family(
      M.runsFinished,
      deputies.flatMap((d) => [
        { labels: { deputy: d.kind, outcome: 'finished_ok' }, value: d.runs.finishedOk },
        {
          labels: { deputy: d.kind, outcome: 'finished_with_error' },
          value: d.runs.finishedWithError,
        },
      ]),
    ),
    family(M.pointsReceived, [{ labels: {}, value: sum((d) => d.pointsReceived) }]),
    family(
      M.pointsApplied,
      MODES.map((mode) => ({ labels: { mode }, value: sum((d) => d.pointsApplied[mode]) })),
    ),
    family(M.eventsReceived, [{ labels: {}, value: sum((d) => d.eventsReceived) }]),
    family(
      M.eventsApplied,
      MODES.map((mode) => ({ labels: { mode }, value: sum((d) => d.eventsApplied[mode]) })),
    ),
    family(
      M.pages,
      perDeputy((d) => d.pages),
    ),
    family(
      M.bytesReceived,
      perDeputy((d) => d.bytesReceived),
    ),
    family(
      M.retries,
      perDeputy((d) => d.retries),
    ),
    family(M.failedItems, [{ labels: {}, value: sum((d) => d.failedItems) }]),
    family(
      M.errors,
      deputies.flatMap((d) =>
        Object.entries(d.errors)
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
          .map(([code, value]) => ({ labels: { deputy: d.kind, code }, value })),
      ),
    ),
    family(M.caughtUp, [{ labels: {}, value: snapshot.caughtUp ? 1 : 0 }]),
    family(M.serviceLevel, [{ labels: {}, value: snapshot.serviceLevel }]),
    family(M.failedAttempts, [{ labels: {}, value: snapshot.failedAttempts }]),
    family(
      M.heartbeat,
      snapshot.heartbeat === null ? [] : [{ labels: {}, value: snapshot.heartbeat / 1000 }],
    ),
    family(
      M.state,
      perDeputy((d) => d.code),
    ),
    family(
      M.running,
      perDeputy((d) => (d.running ? 1 : 0)),
    ),
    family(
      M.gaps,
      perDeputy((d) => d.gaps),
    ),
    family(
      M.oldestGapAge,
      perDeputy((d) => seconds(d.oldestGapAgeMs) ?? 0),
    ),
    family(
      M.unrecoverable,
      perDeputy((d) => d.unrecoverableWindows),
    ),
    family(
      M.itemsBehind,
      perDeputy((d) => d.itemsBehind),
    ),
    family(
      M.lastFinishedOk,
      perDeputy((d) => seconds(d.lastUpToDate)),
    ),
    family(
      M.sinceLastFinishedOk,
      perDeputy((d) => seconds(d.sinceLastFinishedOkMs)),
    ),
    family(
      M.clockSkew,
      perDeputy((d) => seconds(d.clockSkewMs)),
    ),
  ];
}
