/**
 * Responsiveness of a serving node under load: a node serves a SQLite file with
 * {@link createPeerHandler} over `node:http` on 127.0.0.1 (in this process) while four syncing
 * clients back-fill from it (a {@link TimeSeriesDeputy} and an {@link EventDeputy} each, over
 * {@link httpPeer}) and a live feed writes points through `/write/points`; a prober measures
 * the latency of `hello`, `/healthz` and `/readyz`. The clients, the feed and the prober run in
 * child processes, as remote peers would: only the node's own work runs on its event loop.
 *
 * Paired rounds: each round measures the node with page reads in one synchronous step
 * (`readChunkRows: 0`, the path before chunked reads) and with chunked reads (the default,
 * 1,000 rows per event-loop turn), in alternating order. Target: p99 < 50 ms for each probe with
 * chunked reads.
 *
 * Run alone: `npx tsx bench/responsiveness.ts [--quick]` or `npm run bench -- --only responsiveness`.
 */

import { spawn } from 'node:child_process';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { EventDeputy, TimeSeriesDeputy } from '../src/deputy/deputy.js';
import { httpPeer } from '../src/peer/http-client.js';
import { createPeerHandler } from '../src/peer/http-handler.js';
import { toNodeListener } from '../src/peer/node-listener.js';
import { openSqliteStorage, type SqliteStorageAdapter } from '../src/sqlite/adapter.js';
import { MemoryStorageAdapter } from '../src/storage/memory.js';
import type {
  EventRecord,
  Point,
  StorageAdapter,
  SyncWriteOptions,
  TimeWindow,
} from '../src/storage/types.js';
import {
  type BenchOptions,
  type BenchResult,
  fmt,
  isMain,
  median,
  printResult,
  RECENT_START,
  range,
  ratio,
  target,
  tempDir,
} from './lib.js';

const TOKEN = 'bench-read-token';
const WRITE_TOKEN = 'bench-write-token';
const CLIENTS = 4;
const ITEMS = 4;
const PROBES = ['hello', 'healthz', 'readyz'] as const;
type Probe = (typeof PROBES)[number];
/** The repository root, so `--import tsx` resolves from its node_modules. */
const REPO = fileURLToPath(new URL('..', import.meta.url));
const SELF = fileURLToPath(import.meta.url);

interface Sizes {
  readonly pointsPerItem: number;
  readonly events: number;
  /** How long the probes are measured under load, per phase, ms. */
  readonly measureMs: number;
  readonly rounds: number;
}

/** What the load child prints: the work the clients and the feed got done. */
interface LoadResult {
  readonly points: number;
  readonly events: number;
  readonly runs: number;
  readonly writes: number;
  readonly writeMs: readonly number[];
  readonly errors: readonly string[];
}

/** What the probe child prints: latencies per probe, ms. */
type ProbeResult = Record<Probe, number[]>;

// ---------------------------------------------------------------------------------------------
// Child roles
// ---------------------------------------------------------------------------------------------

/**
 * A storage that keeps only the sync-state records and counts what it is given: the clients
 * request pages as fast as a deputy applies them, without holding 800k points per client.
 */
class SinkStorage extends MemoryStorageAdapter {
  points = 0;
  events = 0;
  override async replacePoints(
    _item: string,
    _window: TimeWindow,
    points: readonly Point[],
    options?: SyncWriteOptions,
  ): Promise<void> {
    this.points += points.length;
    if (options?.syncState)
      await this.writeSyncState(options.syncState.key, options.syncState.value);
  }
  override async mergePoints(
    _item: string,
    _window: TimeWindow,
    points: readonly Point[],
    options?: SyncWriteOptions,
  ): Promise<number> {
    this.points += points.length;
    if (options?.syncState)
      await this.writeSyncState(options.syncState.key, options.syncState.value);
    return points.length;
  }
  override async insertEventsIfAbsent(
    events: readonly EventRecord[],
    options?: SyncWriteOptions,
  ): Promise<number> {
    this.events += events.length;
    if (options?.syncState)
      await this.writeSyncState(options.syncState.key, options.syncState.value);
    return events.length;
  }
}

/** Child: four clients back-filling in a loop, and the live feed, for `ms`. */
async function loadRole(url: string, ms: number, from: number, to: number): Promise<LoadResult> {
  const deadline = performance.now() + ms;
  const window: TimeWindow = { from, to };
  const errors: string[] = [];
  const sinks: SinkStorage[] = [];
  let runs = 0;
  const client = async (): Promise<void> => {
    const storage = new SinkStorage();
    sinks.push(storage);
    const peer = httpPeer({ url, token: TOKEN });
    await storage.registerItems(await peer.listItems());
    while (performance.now() < deadline) {
      const series = await new TimeSeriesDeputy({ storage, peer }).run(window, {
        mode: 'overwrite',
      });
      const events = await new EventDeputy({ storage, peer }).run(window);
      for (const summary of [series, events]) {
        if (summary.state !== 'finished_ok') errors.push(JSON.stringify(summary.errors));
      }
      runs++;
    }
  };
  const writer = httpPeer({ url, token: WRITE_TOKEN });
  const writeMs: number[] = [];
  const feed = async (): Promise<void> => {
    let k = 0;
    while (performance.now() < deadline) {
      const now = Date.now();
      const points = Array.from({ length: 10 }, (_, i) => ({ t: now + i, v: k + i }));
      const start = performance.now();
      await writer.writePoints('live/feed', points);
      writeMs.push(performance.now() - start);
      k += 10;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  // Stop at the deadline even in the middle of a back-fill: the figures are per time.
  const stop = new Promise<void>((resolve) => setTimeout(resolve, ms));
  await Promise.race([Promise.all([...Array.from({ length: CLIENTS }, client), feed()]), stop]);
  return {
    points: sinks.reduce((sum, sink) => sum + sink.points, 0),
    events: sinks.reduce((sum, sink) => sum + sink.events, 0),
    runs,
    writes: writeMs.length,
    writeMs,
    errors,
  };
}

/** Child: probes `hello`, `/healthz` and `/readyz` in turn, one every ~5 ms, for `ms`. */
async function probeRole(origin: string, ms: number): Promise<ProbeResult> {
  const result: ProbeResult = { hello: [], healthz: [], readyz: [] };
  const paths: Record<Probe, string> = {
    hello: '/edge-ha/v1/hello',
    healthz: '/healthz',
    readyz: '/readyz',
  };
  const call = async (probe: Probe): Promise<number> => {
    const start = performance.now();
    const response = await fetch(`${origin}${paths[probe]}`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`${probe} answered ${response.status}`);
    return performance.now() - start;
  };
  // Not measured: the first calls open the connection and compile the client's code paths.
  for (const probe of [...PROBES, ...PROBES]) await call(probe);
  const deadline = performance.now() + ms;
  for (let i = 0; performance.now() < deadline; i++) {
    const probe = PROBES[i % PROBES.length] as Probe;
    result[probe].push(await call(probe));
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return result;
}

/** Runs this file as a child in `role`; resolves with the JSON line it prints last. */
function child<T>(role: string, args: readonly string[]): Promise<T> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', SELF, '--role', role, ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
      cwd: REPO,
    });
    let out = '';
    proc.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
    });
    proc.on('error', reject);
    proc.on('close', (code) => {
      const line = out.trim().split('\n').at(-1) ?? '';
      if (code !== 0 || line === '') reject(new Error(`${role} child exited ${code}: ${out}`));
      else resolve(JSON.parse(line) as T);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// The serving node and the phases
// ---------------------------------------------------------------------------------------------

async function populate(file: string, sizes: Sizes): Promise<TimeWindow> {
  const storage = openSqliteStorage(file);
  const batch = 50_000;
  for (let i = 0; i < ITEMS; i++) {
    for (let first = 0; first < sizes.pointsPerItem; first += batch) {
      const points: Point[] = [];
      for (let k = first; k < Math.min(sizes.pointsPerItem, first + batch); k++) {
        points.push({ t: RECENT_START + k * 1000, v: ((i * 7919 + k * 31) % 10_000) / 10 });
      }
      await storage.appendPoints(`plant/line-${i}/temperature`, points);
    }
  }
  const step = Math.max(1, Math.floor((sizes.pointsPerItem * 1000) / sizes.events));
  for (let first = 0; first < sizes.events; first += 10_000) {
    const events: EventRecord[] = [];
    for (let e = first; e < Math.min(sizes.events, first + 10_000); e++) {
      events.push({
        id: `evt-${String(e).padStart(8, '0')}`,
        t: RECENT_START + e * step,
        body: { alarm: e % 3 === 0 ? 'high' : 'low', value: e % 997 },
      });
    }
    await storage.insertEventsIfAbsent(events);
  }
  await storage.close();
  return { from: RECENT_START, to: RECENT_START + sizes.pointsPerItem * 1000 };
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    });
  });
}

/** The `p`-th percentile (0–100) of `values` (nearest rank). */
function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

interface Phase {
  readonly probes: ProbeResult;
  /** The node's event-loop delay while the probes ran: p99 and max, ms. */
  readonly loopDelay: { readonly p99: number; readonly max: number };
  readonly load: LoadResult | null;
  readonly measureMs: number;
}

/** Which page reads the node uses in a phase. */
type Mode = 'one-step' | 'chunked';

/**
 * One phase: the node serves `file` with `mode`; with `load`, the clients and the feed run from
 * 500 ms before the probes start until the probes end.
 */
async function phase(
  server: { origin: string; mount(listener: RequestListener): void },
  file: string,
  mode: Mode,
  window: TimeWindow,
  measureMs: number,
  load: boolean,
): Promise<Phase> {
  const storage: SqliteStorageAdapter = openSqliteStorage(file, {
    integrityCheck: 'off',
    ...(mode === 'one-step' ? { readChunkRows: 0 } : {}),
  });
  server.mount(
    toNodeListener(
      createPeerHandler({
        storage: storage as StorageAdapter,
        token: TOKEN,
        writeToken: WRITE_TOKEN,
        instanceId: 'serving-node',
        readiness: () => ({ ready: true }),
      }),
    ),
  );
  try {
    const warmUp = 500;
    const loading = load
      ? child<LoadResult>('load', [
          `${server.origin}/edge-ha/v1`,
          String(measureMs + warmUp),
          String(window.from),
          String(window.to),
        ])
      : Promise.resolve(null);
    if (load) await new Promise((resolve) => setTimeout(resolve, warmUp));
    const delay = monitorEventLoopDelay({ resolution: 5 });
    delay.enable();
    const probes = await child<ProbeResult>('probe', [server.origin, String(measureMs)]);
    delay.disable();
    const loopDelay = { p99: delay.percentile(99) / 1e6, max: delay.max / 1e6 };
    const result = await loading;
    if (result !== null && result.errors.length > 0) {
      throw new Error(`a back-fill failed: ${result.errors.slice(0, 3).join('; ')}`);
    }
    return { probes, loopDelay, load: result, measureMs: measureMs + (load ? warmUp : 0) };
  } finally {
    await storage.close();
  }
}

/**
 * Runs the responsiveness benchmark: 4 items × 200,000 points and 100,000 events served to
 * four clients, 3 paired rounds of 8 s (quick: 4 × 25,000 points, 10,000 events, 1 round of 3 s).
 */
export async function runResponsivenessBench(options: BenchOptions): Promise<BenchResult> {
  const { quick } = options;
  const sizes: Sizes = quick
    ? { pointsPerItem: 25_000, events: 10_000, measureMs: 3000, rounds: 1 }
    : { pointsPerItem: 200_000, events: 100_000, measureMs: 8000, rounds: 3 };
  const temp = tempDir('responsiveness');
  let listener: RequestListener = (_req, res) => res.writeHead(503).end();
  const http = createServer((req, res) => listener(req, res));
  http.keepAliveTimeout = 1000;
  try {
    const file = join(temp.dir, 'serving.db');
    const window = await populate(file, sizes);
    const origin = await listen(http);
    const server = {
      origin,
      mount(next: RequestListener) {
        listener = next;
      },
    };
    const idle = await phase(
      server,
      file,
      'chunked',
      window,
      Math.min(2000, sizes.measureMs),
      false,
    );
    const phases: Record<Mode, Phase[]> = { 'one-step': [], chunked: [] };
    for (let round = 0; round < sizes.rounds; round++) {
      const order: Mode[] = round % 2 === 0 ? ['one-step', 'chunked'] : ['chunked', 'one-step'];
      for (const mode of order) {
        phases[mode].push(await phase(server, file, mode, window, sizes.measureMs, true));
      }
    }
    const p = (mode: Mode, probe: Probe, q: number): number[] =>
      phases[mode].map((ph) => percentile(ph.probes[probe], q));
    const throughput = (mode: Mode): number[] =>
      phases[mode].map(
        (ph) => ((ph.load?.points ?? 0) + (ph.load?.events ?? 0)) / (ph.measureMs / 1000),
      );
    const writeP99 = (mode: Mode): number[] =>
      phases[mode].map((ph) => percentile(ph.load?.writeMs ?? [], 99));
    const ms = (values: readonly number[]): string => {
      const { min, max } = range(values);
      const one = (v: number): string => v.toFixed(1);
      return values.length === 1
        ? one(values[0] as number)
        : `${one(median(values))} (${one(min)}–${one(max)})`;
    };
    const table: string[][] = [['', 'idle', 'one step (before)', 'chunked (after)']];
    const figures: Record<string, number> = {
      pointsPerItem: sizes.pointsPerItem,
      items: ITEMS,
      events: sizes.events,
      clients: CLIENTS,
      rounds: sizes.rounds,
      measureMs: sizes.measureMs,
    };
    for (const probe of PROBES) {
      for (const q of [50, 99]) {
        table.push([
          `${probe} p${q}, ms`,
          percentile(idle.probes[probe], q).toFixed(1),
          ms(p('one-step', probe, q)),
          ms(p('chunked', probe, q)),
        ]);
        figures[`${probe}P${q}OneStepMs`] = median(p('one-step', probe, q));
        figures[`${probe}P${q}ChunkedMs`] = median(p('chunked', probe, q));
      }
      figures[`${probe}P50IdleMs`] = percentile(idle.probes[probe], 50);
    }
    for (const key of ['p99', 'max'] as const) {
      const values = (mode: Mode): number[] => phases[mode].map((ph) => ph.loopDelay[key]);
      const name = key === 'p99' ? 'P99' : 'Max';
      table.push([
        `node event-loop delay ${key}, ms`,
        idle.loopDelay[key].toFixed(1),
        ms(values('one-step')),
        ms(values('chunked')),
      ]);
      figures[`loopDelay${name}OneStepMs`] = median(values('one-step'));
      figures[`loopDelay${name}ChunkedMs`] = median(values('chunked'));
    }
    table.push(['live write p99, ms', '–', ms(writeP99('one-step')), ms(writeP99('chunked'))]);
    const before = median(throughput('one-step'));
    const after = median(throughput('chunked'));
    table.push([
      'records served/s (4 clients)',
      '–',
      fmt(before),
      `${fmt(after)} (${ratio(after / before)})`,
    ]);
    figures.liveWriteP99OneStepMs = median(writeP99('one-step'));
    figures.liveWriteP99ChunkedMs = median(writeP99('chunked'));
    figures.recordsPerSecOneStep = before;
    figures.recordsPerSecChunked = after;
    figures.throughputRatio = after / before;
    const samples = phases.chunked.reduce((sum, ph) => sum + ph.probes.hello.length, 0);
    return {
      name: 'responsiveness',
      title: `Responsiveness of a serving node: ${fmt(ITEMS * sizes.pointsPerItem)} points / ${ITEMS} items + ${fmt(sizes.events)} events in SQLite, ${CLIENTS} back-fills + a live feed`,
      quick,
      table,
      figures,
      targets: PROBES.map((probe) =>
        target(
          `${probe}-p99`,
          `${probe} p99 under load, chunked reads (median of rounds)`,
          median(p('chunked', probe, 99)),
          '<',
          50,
          'ms',
        ),
      ),
      notes: [
        `${sizes.rounds} paired round(s) of ${sizes.measureMs / 1000} s per mode, order alternating; a cell is the median (min–max) of the rounds' percentiles; ~${Math.round(samples / Math.max(1, sizes.rounds))} samples per probe per round`,
        'one step = readChunkRows: 0 (every page read in one synchronous step, as before); chunked = the default (1,000 rows per event-loop turn, on a read-only connection, one snapshot per page)',
        'the node runs in this process; the 4 clients (TimeSeriesDeputy + EventDeputy, pageSize 5000, into a sink) and the feed (10 points every 50 ms) share one child process, the prober another',
        'records served/s counts the points and events the 4 clients received; the ratio is chunked ÷ one step in the same run',
      ],
    };
  } finally {
    await new Promise<void>((resolve) => {
      http.close(() => resolve());
      http.closeAllConnections();
    });
    temp.cleanup();
  }
}

async function childMain(argv: readonly string[]): Promise<void> {
  const role = argv[argv.indexOf('--role') + 1];
  const args = argv.slice(argv.indexOf('--role') + 2);
  if (role === 'load') {
    const [url, ms, from, to] = args;
    const result = await loadRole(url as string, Number(ms), Number(from), Number(to));
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } else if (role === 'probe') {
    const [origin, ms] = args;
    process.stdout.write(`${JSON.stringify(await probeRole(origin as string, Number(ms)))}\n`);
  } else {
    throw new Error(`unknown role ${String(role)}`);
  }
  // The clients may be mid-request at the deadline: do not wait for them.
  process.exit(0);
}

if (isMain(import.meta.url)) {
  if (process.argv.includes('--role')) {
    childMain(process.argv).catch((error: unknown) => {
      console.error(error);
      process.exit(1);
    });
  } else {
    runResponsivenessBench({ quick: process.argv.includes('--quick') }).then(
      printResult,
      (error) => {
        console.error(error);
        process.exitCode = 1;
      },
    );
  }
}
