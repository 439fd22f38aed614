/**
 * The Prometheus text exposition format, version 0.0.4, as a pure function of metric families:
 * `# HELP` and `# TYPE` once per family, its samples next, label values escaped.
 */

import { type MetricFamily, type MetricsSnapshot, snapshotFamilies } from './metrics.js';

/**
 * The `content-type` of the Prometheus text exposition format 0.0.4.
 *
 * @group Operations
 */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** `# HELP` text: backslash and line feed escaped. */
function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** A label value: backslash, double quote and line feed escaped. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** A sample value as Prometheus reads it (`NaN`, `+Inf`, `-Inf` for the non-finite). */
function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return Object.is(value, -0) ? '0' : String(value);
}

/**
 * The text exposition (0.0.4) of `families`: for each family with samples, `# HELP`, `# TYPE`
 * and one line per sample, `name{label="value",…} value`; labels in the definition's order;
 * the text ends with a line feed (empty when there is nothing to expose).
 */
export function formatPrometheus(families: readonly MetricFamily[]): string {
  const lines: string[] = [];
  for (const { definition, samples } of families) {
    if (samples.length === 0) continue;
    lines.push(`# HELP ${definition.name} ${escapeHelp(definition.help)}`);
    lines.push(`# TYPE ${definition.name} ${definition.type}`);
    for (const sample of samples) {
      const labels = Object.entries(sample.labels)
        .map(([name, value]) => `${name}="${escapeLabelValue(value)}"`)
        .join(',');
      lines.push(
        `${definition.name}${labels === '' ? '' : `{${labels}}`} ${formatValue(sample.value)}`,
      );
    }
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

/**
 * A governor's metrics (`governor.metrics()`) in the Prometheus text exposition format 0.0.4,
 * for a host that serves `/metrics` itself (the peer handler does it with its `metrics` option).
 * Every metric is listed in the [operations guide](../../docs/operations.md#metrics).
 *
 * @example
 * ```ts
 * import express from 'express';
 * import { formatMetrics, type HAGovernor, PROMETHEUS_CONTENT_TYPE } from 'edge-ha';
 *
 * declare const governor: HAGovernor;
 *
 * const app = express();
 * app.get('/metrics', (_req, res) => {
 *   res.type(PROMETHEUS_CONTENT_TYPE).send(formatMetrics(governor.metrics()));
 * });
 * ```
 *
 * @group Operations
 */
export function formatMetrics(snapshot: MetricsSnapshot): string {
  return formatPrometheus(snapshotFamilies(snapshot));
}
