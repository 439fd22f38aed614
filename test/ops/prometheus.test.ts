import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  HANDLER_METRICS,
  type MetricDefinition,
  type MetricsSnapshot,
  SYNC_METRICS,
  snapshotFamilies,
} from '../../src/ops/metrics.js';
import {
  escapeLabelValue,
  formatMetrics,
  formatPrometheus,
  PROMETHEUS_CONTENT_TYPE,
} from '../../src/ops/prometheus.js';
import { parseExposition } from './exposition.js';

const DEF: MetricDefinition = {
  name: 'edge_ha_test_total',
  type: 'counter',
  labels: ['route', 'status'],
  help: 'A test counter with a backslash \\ and a\nline feed.',
  unit: '1',
};

/** A snapshot with every field set (both deputies, every optional value known). */
function fullSnapshot(): MetricsSnapshot {
  const deputy = (kind: 'timeSeries' | 'events') => ({
    kind,
    state: 'finished_with_error' as const,
    code: 6 as const,
    running: false,
    caughtUp: false,
    runs: { started: 3, finishedOk: 1, finishedWithError: 2 },
    pointsReceived: kind === 'timeSeries' ? 120 : 0,
    pointsApplied: {
      merge: kind === 'timeSeries' ? 20 : 0,
      overwrite: kind === 'timeSeries' ? 90 : 0,
    },
    eventsReceived: kind === 'events' ? 12 : 0,
    eventsApplied: { merge: kind === 'events' ? 4 : 0, overwrite: kind === 'events' ? 7 : 0 },
    pages: 9,
    bytesReceived: 4096,
    retries: 5,
    failedItems: kind === 'timeSeries' ? 2 : 0,
    errors: { PEER_UNREACHABLE: 2, 'weird"code\\': 1 },
    gaps: 2,
    oldestGapAgeMs: 90_500,
    unrecoverableWindows: 1,
    itemsBehind: kind === 'timeSeries' ? 3 : 0,
    lastUpToDate: 1_700_000_000_000,
    sinceLastFinishedOkMs: 61_000,
    clockSkewMs: -1_250,
  });
  return {
    at: 1_700_000_061_000,
    startedAt: 1_700_000_000_000,
    closed: false,
    caughtUp: false,
    serviceLevel: 174,
    failedAttempts: 1,
    heartbeat: 1_700_000_060_000,
    deputies: { timeSeries: deputy('timeSeries'), events: deputy('events') },
  };
}

describe('formatPrometheus (text exposition 0.0.4)', () => {
  it('writes HELP and TYPE once per family, then its samples, and ends with a line feed', () => {
    const text = formatPrometheus([
      {
        definition: DEF,
        samples: [
          { labels: { route: '/hello', status: '200' }, value: 3 },
          { labels: { route: '/points', status: '500' }, value: 1 },
        ],
      },
      { definition: { ...DEF, name: 'edge_ha_empty', type: 'gauge' }, samples: [] },
    ]);
    expect(text).toBe(
      [
        '# HELP edge_ha_test_total A test counter with a backslash \\\\ and a\\nline feed.',
        '# TYPE edge_ha_test_total counter',
        'edge_ha_test_total{route="/hello",status="200"} 3',
        'edge_ha_test_total{route="/points",status="500"} 1',
        '',
      ].join('\n'),
    );
    expect(formatPrometheus([])).toBe('');
  });

  it('escapes label values so that they parse back exactly', () => {
    const nasty = ['back\\slash', 'quo"te', 'line\nfeed', '\\"\\n', 'ünïcødé ✓', '', '} 1\n#'];
    expect(escapeLabelValue('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd');
    const text = formatPrometheus([
      {
        definition: DEF,
        samples: nasty.map((value, i) => ({
          labels: { route: value, status: String(i) },
          value: i,
        })),
      },
    ]);
    const parsed = parseExposition(text).get('edge_ha_test_total');
    expect(parsed?.help).toBe(DEF.help);
    expect(parsed?.samples.map((s) => s.labels.route)).toEqual(nasty);
    expect(text.split('\n').filter((l) => l.startsWith('edge_ha_test_total'))).toHaveLength(
      nasty.length,
    );
  });

  it('writes NaN, +Inf, -Inf, fractions, big and negative numbers as Prometheus reads them', () => {
    const values = [
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      0.001,
      -1.25,
      1e21,
      -0,
    ];
    const text = formatPrometheus([
      {
        definition: { ...DEF, name: 'edge_ha_values', type: 'gauge', labels: ['i'] },
        samples: values.map((value, i) => ({ labels: { i: String(i) }, value })),
      },
    ]);
    expect(text).toContain('edge_ha_values{i="0"} NaN\n');
    expect(text).toContain('edge_ha_values{i="1"} +Inf\n');
    expect(text).toContain('edge_ha_values{i="2"} -Inf\n');
    expect(text).toContain('edge_ha_values{i="6"} 0\n');
    const parsed = parseExposition(text)
      .get('edge_ha_values')
      ?.samples.map((s) => s.value);
    expect(parsed).toEqual([
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      0.001,
      -1.25,
      1e21,
      0,
    ]);
  });

  it('the parse-back check itself rejects broken expositions', () => {
    const bad = [
      'edge_ha_x 1', // no final line feed
      'edge_ha_x{a="1} 1\n',
      'edge_ha_x{a="\\t"} 1\n',
      'edge-ha 1\n',
      '# TYPE edge_ha_x counter\n# TYPE edge_ha_x counter\n',
      'edge_ha_x 1\nedge_ha_y 1\nedge_ha_x 2\n',
      'edge_ha_x{a="1"} 1\nedge_ha_x{a="1"} 2\n',
      'edge_ha_x one\n',
    ];
    for (const text of bad) expect(() => parseExposition(text), text).toThrow();
  });
});

describe('formatMetrics (a governor snapshot)', () => {
  it('parses back, follows the naming conventions and converts ms to seconds', () => {
    const text = formatMetrics(fullSnapshot());
    const families = parseExposition(text);
    for (const family of families.values()) {
      expect(family.name).toMatch(/^edge_ha_[a-z0-9_]+$/);
      expect(family.help).toBeTruthy();
      if (family.type === 'counter') expect(family.name).toMatch(/_total$/);
      else expect(family.name).not.toMatch(/_total$/);
      expect(family.name).not.toMatch(/_(ms|milliseconds)\b/);
      for (const sample of family.samples) {
        for (const label of Object.keys(sample.labels)) expect(label).toMatch(/^[a-z][a-z0-9_]*$/);
      }
    }
    const value = (name: string, labels: Record<string, string> = {}) =>
      families.get(name)?.samples.find((s) => JSON.stringify(s.labels) === JSON.stringify(labels))
        ?.value;
    expect(value('edge_ha_caught_up')).toBe(0);
    expect(value('edge_ha_gap_ledger_gaps', { deputy: 'timeSeries' })).toBe(2);
    expect(value('edge_ha_gap_ledger_oldest_gap_age_seconds', { deputy: 'events' })).toBe(90.5);
    expect(value('edge_ha_clock_skew_seconds', { deputy: 'timeSeries' })).toBe(-1.25);
    expect(value('edge_ha_last_finished_ok_age_seconds', { deputy: 'events' })).toBe(61);
    expect(value('edge_ha_last_finished_ok_timestamp_seconds', { deputy: 'events' })).toBe(
      1_700_000_000,
    );
    expect(value('edge_ha_heartbeat_timestamp_seconds')).toBe(1_700_000_060);
    expect(value('edge_ha_points_applied_total', { mode: 'overwrite' })).toBe(90);
    expect(value('edge_ha_events_applied_total', { mode: 'merge' })).toBe(4);
    expect(
      value('edge_ha_sync_runs_finished_total', {
        deputy: 'timeSeries',
        outcome: 'finished_with_error',
      }),
    ).toBe(2);
    expect(value('edge_ha_sync_errors_total', { deputy: 'events', code: 'weird"code\\' })).toBe(1);
    expect(value('edge_ha_deputy_state', { deputy: 'timeSeries' })).toBe(6);
    expect(value('edge_ha_service_level')).toBe(174);
    expect(value('edge_ha_items_behind', { deputy: 'timeSeries' })).toBe(3);
  });

  it('leaves out the samples of unknown values, and the deputies that are disabled', () => {
    const full = fullSnapshot();
    const events = full.deputies.events;
    if (events === null) throw new Error('fixture');
    const text = formatMetrics({
      ...full,
      heartbeat: null,
      deputies: {
        timeSeries: null,
        events: {
          ...events,
          lastUpToDate: null,
          sinceLastFinishedOkMs: null,
          clockSkewMs: null,
          oldestGapAgeMs: null,
          gaps: 0,
        },
      },
    });
    const families = parseExposition(text);
    expect(families.has('edge_ha_heartbeat_timestamp_seconds')).toBe(false);
    expect(families.has('edge_ha_clock_skew_seconds')).toBe(false);
    expect(families.has('edge_ha_last_finished_ok_age_seconds')).toBe(false);
    expect(families.get('edge_ha_gap_ledger_oldest_gap_age_seconds')?.samples).toEqual([
      { name: 'edge_ha_gap_ledger_oldest_gap_age_seconds', labels: { deputy: 'events' }, value: 0 },
    ]);
    expect(text).not.toContain('timeSeries');
  });

  it('every metric is a valid, prefixed, documented name in docs/operations.md', () => {
    const docs = readFileSync(new URL('../../docs/operations.md', import.meta.url), 'utf8');
    const all = [...Object.values(SYNC_METRICS), ...Object.values(HANDLER_METRICS)];
    expect(new Set(all.map((m) => m.name)).size).toBe(all.length);
    for (const metric of all) {
      expect(metric.name).toMatch(/^edge_ha_[a-z0-9_]+$/);
      expect(metric.name.endsWith('_total')).toBe(metric.type === 'counter');
      const row = docs.split('\n').find((line) => line.startsWith(`| \`${metric.name}\``));
      expect(row, `docs/operations.md lists ${metric.name}`).toBeDefined();
      expect(row).toContain(metric.type);
      for (const label of metric.labels) expect(row).toContain(`\`${label}\``);
    }
    // and the snapshot formatter writes exactly the sync metrics
    expect(snapshotFamilies(fullSnapshot()).map((f) => f.definition)).toEqual(
      Object.values(SYNC_METRICS),
    );
  });

  it('has the content type of the 0.0.4 text format', () => {
    expect(PROMETHEUS_CONTENT_TYPE).toBe('text/plain; version=0.0.4; charset=utf-8');
  });
});
