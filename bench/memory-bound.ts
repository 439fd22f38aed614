/**
 * Memory: what a back-fill costs the process that runs it, against a raw copy of the same
 * points, and that it does not grow with the window (SPEC I7: memory follows the page size).
 *
 * **The syncing process** is the node that was down: a {@link TimeSeriesDeputy} pulling with
 * `httpPeer` over loopback HTTP from the peer handler of *another* process (`memory-server.ts`:
 * a SQLite file of 1,000,000 points over 100 items, quick 150,000, served through
 * `createPeerHandler` and `toNodeListener` on `node:http`), writing into a fresh SQLite file.
 * That is the path a production back-fill takes; the server's memory is in neither figure.
 *
 * **The raw copy** is what an integrator writes by hand without edge-ha: better-sqlite3,
 * prepared statements, 10,000-row transactions, reading the same source rows straight from the
 * remote's SQLite file (one streaming `SELECT`) into a fresh file with the same schema: the
 * issue's "raw better-sqlite3 copy", the least a copy of these rows can hold. A second
 * reference, **raw HTTP pull**, is a hand-written `fetch` + `response.json()` client of the same
 * peer handler (one 5,000-point page at a time): the same bytes over the same path as edge-ha,
 * without the deputy; it shows how much of the difference any HTTP + JSON pull pays. The target
 * is taken against the file copy, the stricter reference: what the rows cost without edge-ha.
 *
 * Every run is a fresh child process running compiled JavaScript (`memory-bundle.ts`: under
 * `--import tsx` each process would carry ~48 MiB of loader, the same on both sides, pulling the
 * ratios towards 1), measured the same way (`memory-sampler.ts`): peak RSS is the higher of 5 ms
 * samples (plus one per page or batch) and `process.resourceUsage().maxRSS`. Rounds are paired
 * (raw file copy, edge-ha, raw HTTP pull; the raw order flips every round) and ratios are taken
 * per round: median (range).
 *
 * Targets: peak RSS of the syncing process ≤ 1.2× the raw copy's (median of paired rounds);
 * peak RSS growth ≤ 64 MiB at the large size, and the peak RSS at 5,000,000 points within 20% of
 * the peak at 1,000,000, both with a peer that generates its points in the same process (so the
 * growth is the sync machinery alone).
 *
 * Run alone, `npx tsx bench/memory-bound.ts [--quick] [--child-flags=<node flags>]`: the flags go
 * to every measured child, both sides alike, to measure a mitigation (e.g. `--optimize-for-size`).
 */

import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import {
  type BenchOptions,
  type BenchResult,
  fmt,
  isMain,
  median,
  medianRange,
  printResult,
  RECENT_START,
  ratio,
  target,
  tempDir,
} from './lib.js';
import { bundleChildren, type MemoryChildren } from './memory-bundle.js';
import type { RawWorkerResult, RawWorkerSpec } from './memory-raw-worker.js';
import type { MemoryFigures } from './memory-sampler.js';
import type { MemoryServerReady, MemoryServerSpec } from './memory-server.js';
import type { MemoryWorkerResult, MemoryWorkerSpec } from './memory-worker.js';

const MiB = 1024 * 1024;
const ITEMS = 100;
const TOKEN = 'bench-token';
/** Node flags of every measured child: `--expose-gc` for the GCs before the baseline. */
const NODE_FLAGS = ['--expose-gc'];

/** Options of {@link runMemoryBoundBench} beyond the common ones. */
export interface MemoryBenchOptions extends BenchOptions {
  /**
   * Extra node flags for every measured child, both sides alike (e.g. `--optimize-for-size`),
   * to measure a mitigation: `npx tsx bench/memory-bound.ts --child-flags=--optimize-for-size`.
   * @default []
   */
  readonly childFlags?: readonly string[];
}

/** Runs `script` with `spec` in a fresh process and parses the JSON line it prints last. */
function runChild<T>(script: string, spec: object, flags: readonly string[]): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...NODE_FLAGS, ...flags, script, JSON.stringify(spec)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.trim().split('\n').at(-1) ?? '';
      if (code !== 0 || line === '') {
        reject(new Error(`${script} exited with ${code}: ${out}`));
        return;
      }
      resolve(JSON.parse(line) as T);
    });
  });
}

/** The remote in its own process; `stop()` closes its stdin, and it exits. */
interface RunningServer extends MemoryServerReady {
  stop(): Promise<void>;
}

function startServer(script: string, spec: MemoryServerSpec): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, JSON.stringify(spec)], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const exited = new Promise<void>((done) => child.once('exit', () => done()));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`memory server exited early with ${code}`)));
    const lines = createInterface({ input: child.stdout });
    lines.once('line', (line) => {
      lines.close();
      const ready = JSON.parse(line) as MemoryServerReady;
      resolve({
        ...ready,
        stop: async () => {
          child.stdin.end();
          await exited;
        },
      });
    });
  });
}

/** `rssAnon − heapTotal − external`: SQLite's page caches, malloc, V8's own bookkeeping. */
function otherAnon(m: MemoryFigures['atPeak']): number {
  return (m.rssAnon ?? m.rss) - m.heapTotal - m.external;
}

interface Pairs {
  readonly rawFile: RawWorkerResult[];
  readonly rawHttp: RawWorkerResult[];
  readonly edge: MemoryWorkerResult[];
}

async function runPairs(
  children: MemoryChildren,
  dir: string,
  pointsPerItem: number,
  rounds: number,
  flags: readonly string[],
): Promise<Pairs> {
  const total = ITEMS * pointsPerItem;
  const sourceFile = join(dir, 'remote.db');
  const server = await startServer(children.server, {
    file: sourceFile,
    items: ITEMS,
    pointsPerItem,
    start: RECENT_START,
    token: TOKEN,
  });
  const pairs: Pairs = { rawFile: [], rawHttp: [], edge: [] };
  let run = 0;
  const check = (what: string, points: number): void => {
    // A run that copied nothing would "pass" with a flat, tiny RSS: insist on every point.
    if (points !== total) throw new Error(`${what} copied ${points} of ${total} points`);
  };
  try {
    if (server.points !== total) throw new Error(`the server holds ${server.points} points`);
    const rawFile = async (): Promise<void> => {
      const spec: RawWorkerSpec = {
        mode: 'file',
        source: sourceFile,
        dest: join(dir, `raw-${run++}.db`),
      };
      const r = await runChild<RawWorkerResult>(children.raw, spec, flags);
      check('the raw file copy', r.points);
      pairs.rawFile.push(r);
    };
    const rawHttp = async (): Promise<void> => {
      const spec: RawWorkerSpec = {
        mode: 'http',
        url: server.url,
        token: TOKEN,
        items: server.items,
        window: server.window,
        dest: join(dir, `pull-${run++}.db`),
      };
      const r = await runChild<RawWorkerResult>(children.raw, spec, flags);
      check('the raw HTTP pull', r.points);
      pairs.rawHttp.push(r);
    };
    for (let round = 0; round < rounds; round++) {
      const spec: MemoryWorkerSpec = {
        mode: 'http',
        url: server.url,
        token: TOKEN,
        items: server.items,
        window: server.window,
        dest: join(dir, `edge-${run++}.db`),
      };
      await (round % 2 === 0 ? rawFile() : rawHttp());
      const r = await runChild<MemoryWorkerResult>(children.edge, spec, flags);
      if (r.state !== 'finished_ok') throw new Error(`the edge-ha back-fill ended ${r.state}`);
      check('the edge-ha back-fill', r.points);
      pairs.edge.push(r);
      await (round % 2 === 0 ? rawHttp() : rawFile());
    }
  } finally {
    await server.stop();
  }
  return pairs;
}

async function runSynthetic(
  children: MemoryChildren,
  dir: string,
  points: number,
  flags: readonly string[],
): Promise<MemoryWorkerResult> {
  const spec: MemoryWorkerSpec = {
    mode: 'synthetic',
    points,
    dest: join(dir, `local-${points}.db`),
  };
  const r = await runChild<MemoryWorkerResult>(children.edge, spec, flags);
  if (r.state !== 'finished_ok') throw new Error(`memory worker run ended ${r.state}`);
  if (r.points !== points) throw new Error(`memory worker synced ${r.points} of ${points} points`);
  return r;
}

/**
 * Runs the memory benchmark: 3 paired rounds of 1,000,000 points over HTTP, and synthetic
 * back-fills of 1,000,000 and 5,000,000 points (quick: 150,000 points over HTTP; 500,000 and
 * 1,500,000 synthetic).
 */
export async function runMemoryBoundBench(options: MemoryBenchOptions): Promise<BenchResult> {
  const { quick } = options;
  const flags = options.childFlags ?? [];
  const [small, large] = quick ? [500_000, 1_500_000] : [1_000_000, 5_000_000];
  const pointsPerItem = quick ? 1_500 : 10_000;
  const pairPoints = ITEMS * pointsPerItem;
  const rounds = 3;
  const temp = tempDir('memory');
  try {
    const bin = join(temp.dir, 'bin');
    mkdirSync(bin);
    const children = await bundleChildren(bin);
    const pairs = await runPairs(children, temp.dir, pointsPerItem, rounds, flags);
    const a = await runSynthetic(children, temp.dir, small, flags);
    const b = await runSynthetic(children, temp.dir, large, flags);

    const { rawFile, rawHttp, edge } = pairs;
    const kinds = { rawFile, rawHttp, edge } as const;
    /** Per-round ratios of the peak RSS, `x[i] ÷ y[i]`. */
    const per = (x: readonly MemoryFigures[], y: readonly MemoryFigures[]): number[] =>
      x.map((r, i) => r.peakRss / (y[i] as MemoryFigures).peakRss);
    const vsFile = per(edge, rawFile);
    const vsHttp = per(edge, rawHttp);
    const perSecond = (r: { points: number; ms: number }): number => r.points / (r.ms / 1000);
    /** What each paired run reports, by figure name (bytes unless named otherwise). */
    const measures: Readonly<Record<string, (r: RawWorkerResult | MemoryWorkerResult) => number>> =
      {
        PeakRssBytes: (r) => r.peakRss,
        BaselineRssBytes: (r) => r.baselineRss,
        GrowthBytes: (r) => r.growth,
        HeapTotalAtPeakBytes: (r) => r.atPeak.heapTotal,
        HeapUsedAtPeakBytes: (r) => r.atPeak.heapUsed,
        YoungAtPeakBytes: (r) => r.spacesAtPeak.new_space?.size ?? 0,
        OldSpaceAtPeakBytes: (r) => r.spacesAtPeak.old_space?.size ?? 0,
        ExternalAtPeakBytes: (r) => r.atPeak.external,
        ArrayBuffersAtPeakBytes: (r) => r.atPeak.arrayBuffers,
        OtherAnonAtPeakBytes: (r) => otherAnon(r.atPeak),
        PointsPerSec: perSecond,
      };
    const figures: Record<string, number | string> = {
      pairPoints,
      rounds,
      childFlags: flags.join(' '),
      peakRssVsRawFile: median(vsFile),
      peakRssVsRawHttp: median(vsHttp),
    };
    for (const [kind, runs] of Object.entries(kinds)) {
      for (const [name, f] of Object.entries(measures)) {
        figures[`${kind}${name}`] = median(runs.map(f));
      }
    }
    const peakRatio = b.peakRss / a.peakRss;
    Object.assign(figures, {
      smallPoints: small,
      largePoints: large,
      smallBaselineRssBytes: a.baselineRss,
      largeBaselineRssBytes: b.baselineRss,
      smallPeakRssBytes: a.peakRss,
      largePeakRssBytes: b.peakRss,
      smallGrowthBytes: a.growth,
      largeGrowthBytes: b.growth,
      smallPeakHeapUsedBytes: a.peakHeapUsed,
      largePeakHeapUsedBytes: b.peakHeapUsed,
      smallMs: a.ms,
      largeMs: b.ms,
      peakRssRatio: peakRatio,
    });
    const inMiB = (bytes: number): string => (bytes / MiB).toFixed(1);
    /** One cell per kind: median (range) of `f` over the rounds. */
    const cells = (name: string, show: (value: number) => string = inMiB): string[] =>
      Object.values(kinds).map((runs) =>
        medianRange(runs.map(measures[name] ?? (() => NaN)), show),
      );
    const ratios = (values: readonly number[]): string => medianRange(values, ratio);
    return {
      name: 'memory-bound',
      title: `Memory: peak RSS of the syncing process vs a raw copy (${fmt(pairPoints)} points over HTTP, ${rounds} paired rounds), and flat in the window`,
      quick,
      table: [
        ['MiB unless noted; median (range)', 'raw file copy', 'raw HTTP pull', 'edge-ha over HTTP'],
        ['peak RSS', ...cells('PeakRssBytes')],
        ['peak RSS ÷ raw file copy', ratio(1), ratios(per(rawHttp, rawFile)), ratios(vsFile)],
        ['peak RSS ÷ raw HTTP pull', ratios(per(rawFile, rawHttp)), ratio(1), ratios(vsHttp)],
        ['RSS before the copy', ...cells('BaselineRssBytes')],
        ['peak RSS growth', ...cells('GrowthBytes')],
        ['at peak: V8 heap reserved', ...cells('HeapTotalAtPeakBytes')],
        ['  of which young generation', ...cells('YoungAtPeakBytes')],
        ['  of which old space', ...cells('OldSpaceAtPeakBytes')],
        ['at peak: V8 heap used', ...cells('HeapUsedAtPeakBytes')],
        ['at peak: external', ...cells('ExternalAtPeakBytes')],
        ['  of which array buffers', ...cells('ArrayBuffersAtPeakBytes')],
        ['at peak: other anonymous', ...cells('OtherAnonAtPeakBytes')],
        ['points/s', ...cells('PointsPerSec', fmt)],
        [
          'edge-ha, synthetic peer in-process',
          `${fmt(small)} points`,
          `${fmt(large)} points`,
          'large ÷ small',
        ],
        ['peak RSS', inMiB(a.peakRss), inMiB(b.peakRss), ratio(peakRatio)],
        ['RSS before the back-fill', inMiB(a.baselineRss), inMiB(b.baselineRss), ''],
        ['peak RSS growth', inMiB(a.growth), inMiB(b.growth), ''],
        ['peak V8 heap used', inMiB(a.peakHeapUsed), inMiB(b.peakHeapUsed), ''],
        ['points/s', fmt(perSecond(a)), fmt(perSecond(b)), ''],
      ],
      figures,
      targets: [
        target(
          'rss-vs-raw',
          'peak RSS of the syncing process (edge-ha over HTTP) ÷ raw file copy (median of paired rounds)',
          median(vsFile),
          '<=',
          1.2,
          '×',
        ),
        target(
          'rss-growth',
          `peak RSS growth during the ${fmt(large)}-point synthetic back-fill`,
          b.growth / MiB,
          '<=',
          64,
          'MiB',
        ),
        target(
          'rss-flat',
          `peak RSS at ${fmt(large)} ÷ at ${fmt(small)} points (within 20%)`,
          peakRatio,
          '<=',
          1.2,
          '×',
        ),
      ],
      notes: [
        'syncing process: a TimeSeriesDeputy pulling with httpPeer over loopback HTTP from a peer handler (createPeerHandler + toNodeListener on node:http) in another process, which serves a SQLite file; it writes into a fresh SQLite file; the server is not measured',
        "raw file copy (the target's reference): better-sqlite3 reading the same source file with one streaming SELECT, prepared single-row INSERTs in 10,000-row transactions, same schema; raw HTTP pull: fetch + response.json() of the same handler, one 5,000-point page at a time, one transaction per page",
        `every run is a fresh process running compiled JS (no tsx loader)${flags.length > 0 ? ` with ${flags.join(' ')}` : ''}; ${rounds} paired rounds (raw file copy, edge-ha, raw HTTP pull; the raw order flips each round), ratios per round; peak RSS is the higher of 5 ms samples and process.resourceUsage().maxRSS`,
        'at peak: process.memoryUsage(), v8.getHeapSpaceStatistics() and /proc/self/status at the highest RSS sample; other anonymous = RssAnon − V8 heap reserved − external (SQLite page caches, up to 16 MiB per connection, malloc, V8 internals)',
        'synthetic rows: the peer generates its points in the same process, so the growth is the sync machinery alone (deputy, pages, SQLite page cache)',
      ],
    };
  } finally {
    temp.cleanup();
  }
}

if (isMain(import.meta.url)) {
  const childFlags = process.argv
    .filter((arg) => arg.startsWith('--child-flags='))
    .flatMap((arg) => arg.slice('--child-flags='.length).split(/\s+/).filter(Boolean));
  runMemoryBoundBench({ quick: process.argv.includes('--quick'), childFlags }).then(
    printResult,
    (error) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
