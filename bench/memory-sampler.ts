/**
 * The memory probe every memory-bound child process uses, so that the edge-ha runs and the raw
 * copies are measured the same way: the RSS sampled on a 5 ms timer and at every call of
 * {@link MemorySampler.sample} (a synchronous copy loop calls it between batches, since the
 * timer cannot fire while it runs), the `process.memoryUsage()` breakdown at the highest
 * sample, and at the end the kernel's high-water mark (`process.resourceUsage().maxRSS`), which
 * also catches a peak between two samples.
 */

import { existsSync, readFileSync } from 'node:fs';
import { getHeapSpaceStatistics } from 'node:v8';
import { collectGarbage } from './lib.js';

/** Where the memory of a process is, bytes (`process.memoryUsage()` at one instant). */
export interface MemoryBreakdown {
  /** Resident set size. */
  readonly rss: number;
  /** V8 heap reserved (all spaces, including the young generation's semi-spaces). */
  readonly heapTotal: number;
  /** V8 heap in use by objects. */
  readonly heapUsed: number;
  /** Memory of C++ objects bound to JS objects that V8 knows of (includes `arrayBuffers`). */
  readonly external: number;
  /** `ArrayBuffer`s and `SharedArrayBuffer`s, `Buffer`s included. */
  readonly arrayBuffers: number;
  /**
   * Linux only (`/proc/self/status`): the RSS split into anonymous memory (heaps: V8, malloc),
   * file-backed pages (code, mapped files) and shared memory (e.g. SQLite's WAL index), bytes.
   */
  readonly rssAnon?: number;
  readonly rssFile?: number;
  readonly rssShmem?: number;
}

/** What a child process reports about its memory. */
export interface MemoryFigures {
  /** RSS before the copy (after setup and two GCs), bytes. */
  readonly baselineRss: number;
  /** Highest RSS seen (samples and `maxRSS`), bytes. */
  readonly peakRss: number;
  /** `peakRss - baselineRss`. */
  readonly growth: number;
  /** Highest V8 heap used seen, bytes. */
  readonly peakHeapUsed: number;
  /** Highest V8 heap reserved seen, bytes. */
  readonly peakHeapTotal: number;
  /** Highest `external` seen, bytes. */
  readonly peakExternal: number;
  /** The breakdown at the sample with the highest RSS. */
  readonly atPeak: MemoryBreakdown;
  /**
   * V8's heap spaces at the sample with the highest RSS: bytes reserved (`size`) and in use
   * (`used`) per space (`new_space`, `old_space`, `large_object_space`, `new_large_object_space`,
   * `code_space`, …).
   */
  readonly spacesAtPeak: Readonly<Record<string, { readonly size: number; readonly used: number }>>;
  /** The breakdown at the baseline. */
  readonly atBaseline: MemoryBreakdown;
  /** Samples taken. */
  readonly samples: number;
}

/** A running probe. */
export interface MemorySampler {
  /** Takes one sample now (cheap: one `process.memoryUsage()`). */
  sample(): void;
  /** Stops the timer, takes a last sample and returns the figures. */
  stop(): MemoryFigures;
}

const PROC_STATUS = '/proc/self/status';
const hasProcStatus = process.platform === 'linux' && existsSync(PROC_STATUS);

/** `RssAnon`, `RssFile` and `RssShmem` of `/proc/self/status`, bytes. */
function procRss(): { rssAnon: number; rssFile: number; rssShmem: number } | undefined {
  if (!hasProcStatus) return undefined;
  const text = readFileSync(PROC_STATUS, 'utf8');
  const kib = (field: string): number => {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
    return match === null ? 0 : Number(match[1]) * 1024;
  };
  return { rssAnon: kib('RssAnon'), rssFile: kib('RssFile'), rssShmem: kib('RssShmem') };
}

function spaces(): Record<string, { size: number; used: number }> {
  return Object.fromEntries(
    getHeapSpaceStatistics().map((space) => [
      space.space_name,
      { size: space.space_size, used: space.space_used_size },
    ]),
  );
}

function breakdown(): MemoryBreakdown {
  const m = process.memoryUsage();
  return {
    rss: m.rss,
    heapTotal: m.heapTotal,
    heapUsed: m.heapUsed,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
    ...procRss(),
  };
}

/**
 * Collects garbage twice (with `--expose-gc`), takes the baseline and starts sampling. Call it
 * when the setup is done, right before the copy.
 */
export async function startSampling(): Promise<MemorySampler> {
  collectGarbage();
  await new Promise((resolve) => setTimeout(resolve, 50));
  collectGarbage();
  const atBaseline = breakdown();
  let atPeak = atBaseline;
  let spacesAtPeak = spaces();
  let peakHeapUsed = atBaseline.heapUsed;
  let peakHeapTotal = atBaseline.heapTotal;
  let peakExternal = atBaseline.external;
  let samples = 0;
  const sample = (): void => {
    const now = breakdown();
    samples++;
    if (now.rss > atPeak.rss) {
      atPeak = now;
      spacesAtPeak = spaces();
    }
    if (now.heapUsed > peakHeapUsed) peakHeapUsed = now.heapUsed;
    if (now.heapTotal > peakHeapTotal) peakHeapTotal = now.heapTotal;
    if (now.external > peakExternal) peakExternal = now.external;
  };
  const timer = setInterval(sample, 5);
  return {
    sample,
    stop: () => {
      clearInterval(timer);
      sample();
      // maxRSS (KiB) covers the whole process life, so it also catches a peak between samples.
      const peakRss = Math.max(atPeak.rss, process.resourceUsage().maxRSS * 1024);
      return {
        baselineRss: atBaseline.rss,
        peakRss,
        growth: peakRss - atBaseline.rss,
        peakHeapUsed,
        peakHeapTotal,
        peakExternal,
        atPeak,
        spacesAtPeak,
        atBaseline,
        samples,
      };
    },
  };
}

/** Writes `result` as the one JSON line the parent reads. */
export function report(result: object): void {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
