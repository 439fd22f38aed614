/**
 * Operations: what a host maps the HA state to (an OPC UA ServiceLevel), the metrics of a
 * governor as plain data, in the Prometheus text format and on an OpenTelemetry meter, and the
 * logger shape edge-ha writes to.
 *
 * @module
 */

export type {
  JsonLoggerOptions,
  LogFields,
  Logger,
  LogLevel,
  LogMethod,
} from './logger.js';
export { jsonLogger } from './logger.js';
export type {
  CounterLike,
  DeputyMetrics,
  InstrumentOptionsLike,
  MeterLike,
  MetricAttributesLike,
  MetricsSnapshot,
  ObservableCallbackLike,
  ObservableGaugeLike,
  ObservableResultLike,
} from './metrics.js';
export { formatMetrics, PROMETHEUS_CONTENT_TYPE } from './prometheus.js';
export { SERVICE_LEVEL, serviceLevel } from './service-level.js';
