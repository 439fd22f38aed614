/**
 * Shared pieces of the benchmarks: the result shape written to `bench/results.json`, target
 * checks, table printing and small timing helpers.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Options every benchmark takes. */
export interface BenchOptions {
  /** Small sizes (CI); otherwise the full sizes of the issue. */
  readonly quick: boolean;
}

/** A figure: a number, a text, or a flag. */
export type Figure = number | string | boolean | null;

/** One target of the issue, checked against a measured value. */
export interface BenchTarget {
  /** Short id, e.g. `points-ratio`. */
  readonly id: string;
  /** What is compared, in words. */
  readonly description: string;
  /** The measured value. */
  readonly value: number;
  /** How the value must compare with the threshold. */
  readonly comparator: '>=' | '<=' | '<' | '>' | '==';
  /** The threshold. */
  readonly threshold: number;
  /** Unit of value and threshold (`×`, `points/s`, `MiB`, `ms`, `%`). */
  readonly unit: string;
  /** Whether the value meets the threshold. */
  readonly pass: boolean;
  /** The stretch goal, when the issue names one. */
  readonly stretch?: { readonly threshold: number; readonly pass: boolean };
  /** Why the target could not be measured (e.g. python3 missing); `pass` is then false. */
  readonly unavailable?: string;
}

/** What one benchmark returns. */
export interface BenchResult {
  /** Benchmark name (`--only <name>`). */
  readonly name: string;
  /** Title printed above the table. */
  readonly title: string;
  /** Whether the reduced sizes were used. */
  readonly quick: boolean;
  /** The table printed: first row is the header. */
  readonly table: readonly (readonly string[])[];
  /** Every measured figure, for `results.json`. */
  readonly figures: Readonly<Record<string, Figure>>;
  /** The targets and whether they were met. */
  readonly targets: readonly BenchTarget[];
  /** Remarks printed under the table (conditions, caveats). */
  readonly notes: readonly string[];
}

/** The record of one run of `bench/run.ts`, as written to `bench/results.json`. */
export interface BenchRecord {
  /** When the run started (ISO 8601). */
  readonly date: string;
  readonly durationMs: number;
  readonly mode: 'quick' | 'full';
  /** Whether every benchmark ran, at full size, without a crash. */
  readonly complete: boolean;
  /** The command that reproduces the run. */
  readonly command: string;
  readonly node: string;
  readonly machine: {
    readonly cpu: string;
    readonly cores: number;
    readonly memoryMiB: number;
    readonly platform: string;
    readonly loadAverageAtStart: readonly number[];
  };
  readonly benchmarks: Readonly<
    Record<
      string,
      {
        readonly title: string;
        readonly quick: boolean;
        /** The 1-minute load average when the benchmark started. */
        readonly loadAverage: number;
        readonly durationMs: number;
        readonly table: readonly (readonly string[])[];
        readonly figures: Readonly<Record<string, Figure>>;
        readonly targets: readonly BenchTarget[];
        readonly notes: readonly string[];
      }
    >
  >;
  /** Benchmarks that crashed, with their stack. */
  readonly failures: Readonly<Record<string, string>>;
  readonly summary: { readonly targets: number; readonly passed: number; readonly missed: number };
}

/** Builds a {@link BenchTarget} and evaluates it. */
export function target(
  id: string,
  description: string,
  value: number,
  comparator: BenchTarget['comparator'],
  threshold: number,
  unit: string,
  stretch?: number,
): BenchTarget {
  const meets = (limit: number): boolean => {
    if (!Number.isFinite(value)) return false;
    switch (comparator) {
      case '>=':
        return value >= limit;
      case '<=':
        return value <= limit;
      case '<':
        return value < limit;
      case '>':
        return value > limit;
      case '==':
        return value === limit;
    }
  };
  return {
    id,
    description,
    value,
    comparator,
    threshold,
    unit,
    pass: meets(threshold),
    ...(stretch === undefined ? {} : { stretch: { threshold: stretch, pass: meets(stretch) } }),
  };
}

/** Integer with thousands separators. */
export function fmt(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : String(value);
}

/** A ratio as `0.53×`. */
export function ratio(value: number): string {
  return `${value.toFixed(2)}×`;
}

/** Bytes as MiB with one decimal. */
export function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** Formats a table: first column left-aligned, the others right-aligned. */
export function formatTable(rows: readonly (readonly string[])[]): string {
  const columns = Math.max(...rows.map((row) => row.length));
  const widths = Array.from({ length: columns }, (_, i) =>
    Math.max(...rows.map((row) => row[i]?.length ?? 0)),
  );
  return rows
    .map((row, r) => {
      const line = row
        .map((cell, i) => (i === 0 ? cell.padEnd(widths[0] ?? 0) : cell.padStart(widths[i] ?? 0)))
        .join('  ');
      return r === 0 ? `${line}\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : line;
    })
    .join('\n');
}

/** Formats a target check as one line. */
export function formatTarget(t: BenchTarget): string {
  if (t.unavailable !== undefined) return `  n/a   ${t.description}: ${t.unavailable}`;
  const shown = (v: number): string =>
    t.unit === '×' ? v.toFixed(2) : Math.abs(v) >= 100 ? fmt(v) : v.toFixed(2);
  const stretch =
    t.stretch === undefined
      ? ''
      : ` (stretch ${t.comparator} ${shown(t.stretch.threshold)}: ${t.stretch.pass ? 'met' : 'not met'})`;
  return `  ${t.pass ? 'PASS' : 'MISS'}  ${t.description}: ${shown(t.value)} ${t.unit} (target ${t.comparator} ${shown(t.threshold)} ${t.unit})${stretch}`;
}

/** Prints a benchmark's table, targets and notes. */
export function printResult(result: BenchResult): void {
  console.log(`\n== ${result.title}${result.quick ? ' [quick]' : ''}`);
  console.log(formatTable(result.table));
  for (const t of result.targets) console.log(formatTarget(t));
  for (const note of result.notes) console.log(`  note: ${note}`);
}

/** The median of `values` (the mean of the middle two for an even count); `NaN` for none. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Smallest and largest of `values`. */
export function range(values: readonly number[]): { min: number; max: number } {
  return { min: Math.min(...values), max: Math.max(...values) };
}

/** `median (min–max)` of `values`, each shown by `show`. */
export function medianRange(values: readonly number[], show: (value: number) => string): string {
  const { min, max } = range(values);
  return `${show(median(values))} (${show(min)}–${show(max)})`;
}

const DAY_MS = 86_400_000;

/**
 * A recent start for generated series: UTC midnight three days before this process started
 * (fixed for the process, so every benchmark and every round uses the same timestamps). The
 * deputies recover at most `maxRecoveryMs` (7 days by default) back, so benchmark data must be
 * recent, not a fixed date.
 */
export const RECENT_START: number = Math.floor(Date.now() / DAY_MS) * DAY_MS - 3 * DAY_MS;

/** Milliseconds taken by `fn`. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await fn();
  return { ms: performance.now() - start, value };
}

/** A temporary directory removed by the returned `cleanup`. */
export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `edge-ha-bench-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Runs the garbage collector when node runs with `--expose-gc`. */
export function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
}

/** Whether the module with this `import.meta.url` is the script node was started with. */
export function isMain(moduleUrl: string): boolean {
  const entry = process.argv[1];
  return entry !== undefined && moduleUrl === pathToFileURL(entry).href;
}
