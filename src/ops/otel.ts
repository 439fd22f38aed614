/**
 * The OpenTelemetry bridge: records a governor's metrics on a host's `Meter` (any object of the
 * {@link MeterLike} shape; `@opentelemetry/api` is never imported). Counters are pushed as they
 * grow (`Counter.add`), gauges are observed at collection (`ObservableGauge`).
 */

import { SyncError } from '../errors.js';
import {
  type CounterLike,
  type DeputyCounterKey,
  type MeterLike,
  type MetricDefinition,
  type MetricsSnapshot,
  type ObservableCallbackLike,
  type ObservableGaugeLike,
  otelName,
  SYNC_METRICS,
  snapshotFamilies,
} from './metrics.js';

/** What {@link bindMeter} returns. */
export interface MeterBinding {
  /** Records one counter increment (from a deputy) on the meter. */
  readonly count: (
    key: DeputyCounterKey,
    value: number,
    labels: Readonly<Record<string, string>>,
  ) => void;
  /** Unregisters the gauge callbacks (after `close()`). */
  readonly detach: () => void;
}

const COUNTER_KEYS: readonly DeputyCounterKey[] = [
  'runsStarted',
  'runsFinished',
  'pointsReceived',
  'pointsApplied',
  'eventsReceived',
  'eventsApplied',
  'pages',
  'bytesReceived',
  'retries',
  'failedItems',
  'errors',
];

function options(definition: MetricDefinition): { description: string; unit: string } {
  return { description: definition.help, unit: definition.unit };
}

/**
 * Creates edge-ha's instruments on `meter`: one `Counter` per counter of {@link SYNC_METRICS}
 * and one `ObservableGauge` per gauge, named as in Prometheus without `_total`.
 *
 * @throws {SyncError} `SYNC_INVALID_OPTION` when `meter` does not look like a Meter.
 */
export function bindMeter(meter: MeterLike, snapshot: () => MetricsSnapshot): MeterBinding {
  if (
    typeof meter !== 'object' ||
    meter === null ||
    typeof meter.createCounter !== 'function' ||
    typeof meter.createObservableGauge !== 'function'
  ) {
    throw new SyncError(
      'SYNC_INVALID_OPTION',
      'HAGovernor option meter must be an OpenTelemetry Meter (with createCounter and createObservableGauge), e.g. metrics.getMeter("edge-ha").',
    );
  }
  const counters = new Map<DeputyCounterKey, CounterLike>();
  for (const key of COUNTER_KEYS) {
    const definition = SYNC_METRICS[key];
    counters.set(key, meter.createCounter(otelName(definition), options(definition)));
  }
  const gauges: { gauge: ObservableGaugeLike; callback: ObservableCallbackLike }[] = [];
  for (const definition of Object.values(SYNC_METRICS)) {
    if (definition.type !== 'gauge') continue;
    const gauge = meter.createObservableGauge(otelName(definition), options(definition));
    const callback: ObservableCallbackLike = (result) => {
      const family = snapshotFamilies(snapshot()).find((f) => f.definition === definition);
      for (const sample of family?.samples ?? []) result.observe(sample.value, sample.labels);
    };
    gauge.addCallback(callback);
    gauges.push({ gauge, callback });
  }
  return {
    count(key, value, labels) {
      counters.get(key)?.add(value, labels);
    },
    detach() {
      for (const { gauge, callback } of gauges.splice(0)) {
        try {
          gauge.removeCallback(callback);
        } catch {
          // a failing meter never stops close()
        }
      }
    },
  };
}
