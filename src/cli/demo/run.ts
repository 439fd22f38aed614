/**
 * The end-to-end demo (`edge-ha demo`): two operators A and B of one cluster, both serving their
 * SQLite storage over HTTP on loopback and ingesting a simulated sensor feed that a
 * `WriteDistributor` delivers over HTTP (the write routes, with the write token) to every live
 * copy; A goes down, queries fail over to B and the distributor reports A's copy missing; A comes
 * back, its governor pulls the downtime window from B; finally A and B are compared record by
 * record.
 */

import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SyncGap } from '../../deputy/ledger.js';
import type { DeputyKind, DeputyRunSummary, DeputyTransitionEvent } from '../../deputy/types.js';
import { isEdgeHaError, PeerError } from '../../errors.js';
import { readHeartbeat } from '../../governor/downtime.js';
import { type GovernorScheduledSync, HAGovernor } from '../../governor/governor.js';
import { type DistributedWrite, WriteDistributor } from '../../peer/distributor.js';
import { httpPeer } from '../../peer/http-client.js';
import type { RemotePeer } from '../../peer/types.js';
import { stampPolicy } from '../../policy/stamp.js';
import type { Policy } from '../../policy/types.js';
import { validatePolicies } from '../../policy/validate.js';
import { openSqliteStorage } from '../../sqlite/adapter.js';
import type { StorageAdapter, TimeWindow } from '../../storage/types.js';
import { formatTable } from '../../topology/format.js';
import { DATA_NODES_COLUMNS } from '../../topology/reports.js';
import { Topology } from '../../topology/topology.js';
import type { QueryRoute } from '../../topology/types.js';
import { CliError } from '../errors.js';
import type { CliStream } from '../io.js';
import { freePort, type PeerServer, startPeerServer } from '../server.js';
import { attachSyncOutput, formatSummary, runOutcome } from '../sync-output.js';
import { DEMO_SENSORS, sampleFeed } from './feed.js';
import { clockTime, DemoReporter, formatWindow, textTable } from './report.js';
import { type VerificationResult, verifyReplicas } from './verify.js';

/** Options of {@link runDemo}. Defaults give a run of roughly ten seconds. */
export interface DemoOptions {
  /** Where the demo writes its story. */
  readonly out: CliStream;
  /** Directory for the SQLite files; a fresh temp directory (removed at the end) by default. */
  readonly directory?: string;
  /** Feed period, ms. @default 50 */
  readonly tickMs?: number;
  /** How long both run before A is stopped, ms. @default 1500 */
  readonly uptimeMs?: number;
  /** How long A stays down while B keeps ingesting, ms. @default 3000 */
  readonly downtimeMs?: number;
  /** How long the feed keeps running after A's sync, ms. @default 500 */
  readonly afterSyncMs?: number;
  /** Governor heartbeat period, ms. @default 250 */
  readonly heartbeatIntervalMs?: number;
  /** Governor overlap subtracted from the window start (clock skew margin), ms. @default 500 */
  readonly overlapMs?: number;
  /** Aborts the demo (Ctrl-C): everything is shut down and the demo resolves unsuccessful. */
  readonly signal?: AbortSignal | undefined;
}

/** One deputy transition seen during A's catch-up. */
export interface DemoTransition {
  /** The deputy. */
  readonly kind: DeputyKind;
  /** Code left. */
  readonly fromCode: number;
  /** Code entered. */
  readonly toCode: number;
}

/** What {@link runDemo} found. */
export interface DemoResult {
  /** Whether the whole story held: failover seen, sync finished ok, replicas identical. */
  readonly ok: boolean;
  /** The downtime window A's governor synced, or `null` if it never started. */
  readonly window: TimeWindow | null;
  /** Comparison of A and B inside the sync window. */
  readonly verification: VerificationResult | null;
  /** Comparison of A and B over the whole demo (before, during and after the downtime). */
  readonly fullVerification: VerificationResult | null;
  /** Deputy transitions of A's catch-up run, in order. */
  readonly transitions: readonly DemoTransition[];
  /** Final summaries of A's deputies (of the attempt that caught A up). */
  readonly summaries: readonly DeputyRunSummary[];
  /** Catch-up attempts of A until it was caught up (the first fails on an injected fault). */
  readonly catchUpAttempts: number;
  /** Operator chosen by query routing before and after A stopped (node names). */
  readonly queryRouting: { readonly before: string | null; readonly during: string | null };
  /** Operators the write distributor reported as missing a batch (node names). */
  readonly missingCopies: readonly string[];
  /**
   * A `plant.sensors` write the feed sent after A stopped, as the distributor reported it (the
   * line printed in step 3), or `null` if none was sent.
   */
  readonly writeWhileDown: DistributedWrite | null;
  /** Feed ticks delivered to B while A was down. */
  readonly ticksWhileDown: number;
  /** Wall-clock duration of the demo, ms. */
  readonly durationMs: number;
  /** Directory of the SQLite files (already removed unless `options.directory` was given). */
  readonly directory: string;
}

const COMPANY = 'Edge HA Demo';
const DBMS = 'plant';
const SENSOR_TABLE = 'sensors';
const ALARM_TABLE = 'alarms';

function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new CliError('CLI_ABORTED', 'The demo was interrupted.');
}

function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** One operator of the demo: a SQLite file, an HTTP peer server and a governor. */
class DemoNode {
  storage: StorageAdapter | undefined;
  server: PeerServer | undefined;
  governor: HAGovernor | undefined;

  constructor(
    readonly name: string,
    readonly file: string,
    readonly port: number,
    readonly token: string,
    readonly writeToken: string,
  ) {}

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/edge-ha/v1`;
  }

  get up(): boolean {
    return this.storage !== undefined;
  }

  async open(): Promise<StorageAdapter> {
    this.storage = openSqliteStorage(this.file);
    this.server = await startPeerServer({
      storage: this.storage,
      token: this.token,
      writeToken: this.writeToken,
      instanceId: this.name,
      port: this.port,
    });
    return this.storage;
  }

  async stop(): Promise<void> {
    const { governor, server, storage } = this;
    this.governor = undefined;
    this.server = undefined;
    this.storage = undefined;
    await governor?.close();
    await server?.close();
    await storage?.close();
  }
}

/**
 * The running feed: ticks on a timer and delivers each sample over HTTP with a
 * `WriteDistributor`, which routes every batch, sends it to each live copy and reports the copies
 * that failed to the topology (so the next routes list them as missing).
 */
class Feed {
  tick = 0;
  ticksWhileADown = 0;
  /** Batches every configured copy acknowledged. */
  complete = 0;
  /** Operators that missed a batch: a failed copy, or one not sent because not_responding. */
  readonly missing = new Set<string>();
  /** What should not happen: a routing error, or a running operator that failed a copy. */
  readonly errors: string[] = [];
  /** The last `plant.sensors` write and when it was sent. */
  lastSensorWrite: { readonly sentAt: number; readonly result: DistributedWrite } | undefined;
  #running = false;
  #loop: Promise<void> | undefined;

  constructor(
    readonly distributor: WriteDistributor,
    readonly nodes: ReadonlyMap<string, DemoNode>,
    readonly tickMs: number,
    readonly aNode: DemoNode,
  ) {}

  start(): void {
    this.#running = true;
    this.#loop = (async () => {
      // One tick every tickMs, however long the writes of a tick take (no burst after a slow one).
      let next = Date.now();
      while (this.#running) {
        next += this.tickMs;
        try {
          await this.once();
        } catch (error) {
          // Routing itself failed (e.g. no live copy at all): the demo's checks will show it.
          this.errors.push(error instanceof Error ? error.message : String(error));
        }
        next = Math.max(next, Date.now());
        await delay(next - Date.now());
      }
    })();
  }

  async stop(): Promise<void> {
    this.#running = false;
    await this.#loop;
  }

  /** Delivers one sample: a batch per sensor item to `sensors`, the events to `alarms`. */
  async once(): Promise<void> {
    const sample = sampleFeed(this.tick++, Date.now());
    if (!this.aNode.up) this.ticksWhileADown++;
    const sentAt = Date.now();
    const sensors = { dbms: DBMS, table: SENSOR_TABLE };
    const writes = sample.points.map(({ item, point }) =>
      this.distributor.writePoints(sensors, item, [point]),
    );
    if (sample.events.length > 0) {
      writes.push(this.distributor.writeEvents({ dbms: DBMS, table: ALARM_TABLE }, sample.events));
    }
    const results = await Promise.all(writes);
    for (const result of results) this.#account(result);
    const first = results[0];
    if (first) this.lastSensorWrite = { sentAt, result: first };
  }

  #account(result: DistributedWrite): void {
    if (result.complete) this.complete++;
    for (const operator of result.missed) this.missing.add(operator.operatorName);
    for (const copy of result.copies) {
      // A copy may fail while its operator is down (or going down); not while it runs.
      if (!copy.ok && this.nodes.get(copy.address)?.up === true) {
        this.errors.push(
          `write to ${copy.operator.operatorName} failed: ${copy.error.code}: ${copy.error.message}`,
        );
      }
    }
  }
}

/** A distributed write as one line: copies configured, delivered, and missing with the reason. */
function describeWrite(table: string, result: DistributedWrite): string {
  const delivered = result.copies.flatMap((copy) => (copy.ok ? [copy.operator.operatorName] : []));
  const missed = [
    ...result.copies.flatMap((copy) =>
      copy.ok
        ? []
        : [
            `${copy.operator.operatorName} (${copy.error.code}${
              copy.reported ? ', reported not_responding' : ''
            })`,
          ],
    ),
    ...result.missing.map(
      (copy) =>
        `${copy.operator.operatorName} (not_responding since ${clockTime(copy.since)}, not sent)`,
    ),
  ];
  return `write ${DBMS}.${table} -> ${result.route.copies} copies configured; delivered to: ${
    delivered.join(', ') || 'none'
  }; missing: ${missed.join(', ') || 'none'}`;
}

function operatorName(route: QueryRoute): string | null {
  return route.targets[0]?.operatorName ?? null;
}

/**
 * Runs the demo and resolves with what it found (it never throws for a failed check: `ok` says).
 *
 * @example
 * ```ts
 * const result = await runDemo({ out: process.stdout });
 * process.exitCode = result.ok ? 0 : 1;
 * ```
 */
export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const started = Date.now();
  const tickMs = options.tickMs ?? 50;
  const uptimeMs = options.uptimeMs ?? 1_500;
  const downtimeMs = options.downtimeMs ?? 3_000;
  const afterSyncMs = options.afterSyncMs ?? 500;
  const heartbeatIntervalMs = options.heartbeatIntervalMs ?? 250;
  const overlapMs = options.overlapMs ?? 500;
  const retryMs = 300;
  const signal = options.signal;
  const report = new DemoReporter(options.out);
  const directory = options.directory ?? (await mkdtemp(join(tmpdir(), 'edge-ha-demo-')));
  const token = randomBytes(24).toString('base64url');
  const writeToken = randomBytes(24).toString('base64url');
  const transitions: DemoTransition[] = [];
  let summaries: DeputyRunSummary[] = [];
  let window: TimeWindow | null = null;
  let attempts = 0;
  let verification: VerificationResult | null = null;
  let fullVerification: VerificationResult | null = null;
  const queryRouting: { before: string | null; during: string | null } = {
    before: null,
    during: null,
  };
  let feed: Feed | undefined;
  let writeWhileDown: DistributedWrite | null = null;
  const nodes: DemoNode[] = [];

  try {
    // ── Step 1 ───────────────────────────────────────────────────────────────────────────────
    report.step(1, 'Declare the cluster: two operators, A and B, holding the same tables');
    const [portA, portB] = [await freePort(), await freePort()];
    const now = (): number => Date.now();
    const cluster = stampPolicy(
      {
        cluster: {
          company: COMPANY,
          name: 'plant-cluster',
          table: [
            { dbms: DBMS, name: SENSOR_TABLE },
            { dbms: DBMS, name: ALARM_TABLE },
          ],
        },
      },
      { now, ledger: 'local' },
    );
    const clusterId = (cluster.cluster as { id: string }).id;
    const operator = (
      name: string,
      port: number,
      main: boolean,
      existing: readonly Policy[],
    ): Policy =>
      stampPolicy(
        {
          operator: {
            company: COMPANY,
            name,
            ip: '127.0.0.1',
            port,
            rest_port: port,
            cluster: clusterId,
            main,
          },
        },
        { now, ledger: 'local', existing },
      );
    const operatorA = operator('operator-a', portA, true, [cluster]);
    const operatorB = operator('operator-b', portB, false, [cluster, operatorA]);
    const policies = [cluster, operatorA, operatorB];
    for (const policy of policies) {
      const type = Object.keys(policy)[0] as string;
      const body = policy[type] as { id?: unknown; name?: unknown; member?: unknown };
      report.line(
        `${type.padEnd(8)} ${String(body.name).padEnd(14)} id ${String(body.id)}${
          body.member === undefined ? '' : `  member ${String(body.member)}`
        }`,
      );
    }
    const validation = validatePolicies(policies);
    report.line(
      `validation: ${validation.errors.length} errors, ${validation.warnings.length} warnings -> ${
        validation.valid ? 'valid' : 'INVALID'
      }`,
    );
    if (!validation.valid) {
      for (const issue of validation.issues) report.line(`  ${issue.code}: ${issue.message}`);
      throw new Error('The demo policies do not validate.');
    }
    const topology = Topology.fromPolicies(policies);
    report.line();
    report.block(formatTable(topology.dataNodes(), DATA_NODES_COLUMNS));

    // ── Step 2 ───────────────────────────────────────────────────────────────────────────────
    report.step(2, 'Start A and B as HTTP peers on loopback and ingest a sensor feed');
    const a = new DemoNode(
      'operator-a',
      join(directory, 'operator-a.sqlite'),
      portA,
      token,
      writeToken,
    );
    const b = new DemoNode(
      'operator-b',
      join(directory, 'operator-b.sqlite'),
      portB,
      token,
      writeToken,
    );
    nodes.push(a, b);
    const byAddress = new Map(nodes.map((node) => [node.address, node]));
    for (const node of nodes) {
      const storage = await node.open();
      const other = node === a ? b : a;
      node.governor = new HAGovernor({
        storage,
        peers: [httpPeer({ url: other.url, token, timeoutMs: 2_000 })],
        heartbeatIntervalMs,
        overlapMs,
      });
      await node.governor.start();
      report.line(`${node.name} serving ${node.url} (SQLite ${node.file})`);
    }
    // Both operators accept writes with the write token; the distributor sends each batch to
    // every live copy of its route over HTTP (POST /edge-ha/v1/write/points, /write/events).
    const distributor = new WriteDistributor({ topology, token: writeToken, timeoutMs: 5_000 });
    feed = new Feed(distributor, byAddress, tickMs, a);
    feed.start();
    report.line(
      `feed: ${DEMO_SENSORS.length} items every ${tickMs} ms (${DEMO_SENSORS.map((s) => s.item).join(', ')}), alarms and batch records as events`,
    );
    report.line(
      'each batch goes over HTTP to every live copy (WriteDistributor, write token; the read token cannot write)',
    );
    await delay(uptimeMs, signal);
    checkAborted(signal);
    const before = topology.routeQuery({ dbms: DBMS, table: SENSOR_TABLE });
    queryRouting.before = operatorName(before);
    report.line(
      `after ${uptimeMs} ms: ${feed.tick} ticks, ${feed.complete} batches acknowledged by both copies`,
    );
    report.line(`query plant.sensors -> ${queryRouting.before ?? '?'} (main operator)`);

    // ── Step 3 ───────────────────────────────────────────────────────────────────────────────
    report.step(3, 'Stop A: queries fail over to B, writes report the missing copy');
    const stoppedAt = Date.now();
    await a.stop();
    report.line(`${clockTime(stoppedAt)} operator-a stopped (server closed, storage closed)`);
    // A query client tries the routed operator, fails, reports it, and asks the topology again.
    const routed = topology.routeQuery({ dbms: DBMS, table: SENSOR_TABLE });
    const first = routed.targets[0];
    if (first) {
      try {
        await httpPeer({
          url: `http://${first.host}:${first.port}/edge-ha/v1`,
          token,
          timeoutMs: 1_000,
        }).hello();
      } catch (error) {
        report.line(
          `query to ${first.operatorName} failed: ${isEdgeHaError(error) ? error.code : String(error)} -> reportFailure(${first.address})`,
        );
        topology.reportFailure(first.address);
      }
    }
    const during = topology.routeQuery({ dbms: DBMS, table: SENSOR_TABLE });
    queryRouting.during = operatorName(during);
    report.line(`query plant.sensors -> ${queryRouting.during ?? '?'} (failover)`);
    const survivor = during.targets[0] ? byAddress.get(during.targets[0].address) : undefined;
    if (survivor) {
      const item = DEMO_SENSORS[0]?.item as string;
      const page = await httpPeer({ url: survivor.url, token }).readPoints(
        item,
        { from: stoppedAt - 1_000, to: Date.now() + 1 },
        { limit: 1_000 },
      );
      const last = page.items.at(-1);
      report.line(
        `  ${item}: ${page.items.length} points in the last second from ${survivor.name}${
          last ? `, latest ${String(last.v)} at ${clockTime(last.t)}` : ''
        }`,
      );
    }
    // A sensor batch the feed sent after the stop, as the distributor reported it.
    for (let i = 0; i < 200 && !signal?.aborted; i++) {
      const last = feed.lastSensorWrite;
      if (last !== undefined && last.sentAt >= stoppedAt) {
        writeWhileDown = last.result;
        break;
      }
      await delay(tickMs, signal);
    }
    checkAborted(signal);
    report.line(
      writeWhileDown === null
        ? `write ${DBMS}.${SENSOR_TABLE} -> no batch was sent after A stopped`
        : describeWrite(SENSOR_TABLE, writeWhileDown),
    );
    await delay(downtimeMs, signal);
    checkAborted(signal);
    report.line(
      `B kept ingesting: ${feed.ticksWhileADown} ticks while A was down (${downtimeMs} ms)`,
    );

    // ── Step 4 ───────────────────────────────────────────────────────────────────────────────
    report.step(
      4,
      'Restart A: its governor adds the downtime to its gap ledger and pulls it from B',
    );
    const storageA = await a.open();
    topology.reportSuccess(a.address); // live writes reach A again from now on
    await delay(tickMs * 2, signal); // let an in-flight tick finish before the window closes
    // A network fault at A's restart (injected by the demo): the first hello of each deputy to B
    // fails, so the first catch-up ends finished_with_error and the governor retries by itself.
    const toB = httpPeer({ url: b.url, token, timeoutMs: 5_000 });
    let faults = 2;
    const flakyB: RemotePeer = {
      label: toB.label,
      hello: (callOptions) =>
        faults-- > 0
          ? Promise.reject(
              new PeerError(
                'PEER_UNREACHABLE',
                "the link to operator-b is down (a fault the demo injects at A's restart)",
                { transient: true },
              ),
            )
          : toB.hello(callOptions),
      listItems: (callOptions) => toB.listItems(callOptions),
      readPoints: (item, range, page, callOptions) =>
        toB.readPoints(item, range, page, callOptions),
      readEvents: (range, page, callOptions) => toB.readEvents(range, page, callOptions),
    };
    const governor = new HAGovernor({
      storage: storageA,
      peers: [flakyB],
      heartbeatIntervalMs,
      overlapMs,
      retry: { retries: 0 },
      retryEveryMs: { min: retryMs, max: 4 * retryMs },
    });
    a.governor = governor;
    const restartedAt = Date.now();
    const lastBeat =
      readHeartbeat(await storageA.readSyncState(governor.heartbeatKey), governor.heartbeatKey)
        ?.at ?? null;
    report.line(
      `${clockTime(restartedAt)} operator-a restarted on the same SQLite file and port; last heartbeat ${
        lastBeat === null
          ? 'none'
          : `${clockTime(lastBeat)} (down ${((restartedAt - lastBeat) / 1000).toFixed(1)} s)`
      }`,
    );
    // The ledger as start() left it, before B is contacted: the downtime, margins still pending.
    let atStartup: readonly SyncGap[] = [];
    governor.on('transition', (event: DeputyTransitionEvent) => {
      transitions.push({ kind: event.kind, fromCode: event.fromCode, toCode: event.toCode });
      if (event.kind === 'timeSeries' && event.toCode === 1) {
        atStartup = governor.status().gaps.timeSeries ?? [];
      }
    });
    const output = attachSyncOutput(governor, options.out, { indent: '  ' });
    const onScheduled = (next: GovernorScheduledSync): void => {
      if (next.reason === 'retry') {
        attempts = next.attempt + 1;
        output.progress.line(
          `  [governor] not caught up after attempt ${next.attempt}: retrying in ${next.delayMs} ms`,
        );
      }
    };
    governor.on('scheduled', onScheduled);
    let firstAttempt: ReturnType<typeof runOutcome>;
    try {
      firstAttempt = runOutcome(await governor.start(signal ? { signal } : {}));
      await governor.whenCaughtUp(signal ? { signal } : {});
    } catch (error) {
      // Ctrl-C during the catch-up: both calls reject with an AbortError.
      if (error instanceof Error && error.name === 'AbortError') {
        throw new CliError('CLI_ABORTED', 'The demo was interrupted.', { cause: error });
      }
      throw error;
    } finally {
      governor.off('scheduled', onScheduled);
      output.detach();
    }
    const last = governor.status().deputies;
    const outcome = runOutcome({
      timeSeries: last.timeSeries?.lastRun ?? null,
      events: last.events?.lastRun ?? null,
    });
    summaries = outcome.summaries;
    window = outcome.window;
    attempts = Math.max(attempts, 1);
    const firstCodes = firstAttempt.summaries.map((summary) => summary.errors[0]?.code ?? '?');
    report.line(
      `first catch-up attempt: ${firstAttempt.ok ? 'finished_ok' : `finished_with_error (${firstCodes.join(', ')})`}; caught up after ${attempts} attempt(s)`,
    );
    report.line('gap ledger of A at start-up (before contacting B):');
    for (const gap of atStartup) {
      const pending = gap.pendingMargins === null ? '' : '  (clock-skew margins pending)';
      report.line(
        `  ${formatWindow(gap)}  ${gap.mode.padEnd(9)} ${gap.reason.padEnd(8)}${pending}`,
      );
    }
    if (atStartup.length === 0) report.line('  (empty)');
    report.line(
      `gaps synced (clock skew to B ${String(summaries[0]?.clockSkewMs ?? '?')} ms, margins max(${overlapMs} ms, |skew| + 1 s)):`,
    );
    for (const gap of outcome.gaps) {
      const what =
        gap.mode === 'overwrite'
          ? 'A was down: B wins'
          : 'A was running around its downtime: merged, A keeps its points';
      report.line(`  ${formatWindow(gap)}  ${gap.mode.padEnd(9)} ${gap.reason.padEnd(8)} ${what}`);
    }
    if (outcome.gaps.length === 0) report.line('  (empty: nothing to sync)');
    report.line(
      `ledger after the sync: ${governor.status().gaps.timeSeries?.length ?? 0} gap(s) left`,
    );
    for (const summary of summaries) {
      report.line(formatSummary(summary));
      for (const error of summary.errors) report.line(`  ${error.code}: ${error.message}`);
    }
    await delay(afterSyncMs, signal);
    await feed.stop();

    // ── Step 5 ───────────────────────────────────────────────────────────────────────────────
    report.step(5, 'Verify: A and B hold identical data');
    const items = DEMO_SENSORS.map((sensor) => sensor.item);
    const storageB = b.storage as StorageAdapter;
    if (window) {
      verification = await verifyReplicas(storageA, storageB, window, items, {
        local: 'operator-a',
        reference: 'operator-b',
      });
    }
    fullVerification = await verifyReplicas(
      storageA,
      storageB,
      { from: started - 60_000, to: Date.now() + 60_000 },
      items,
      { local: 'operator-a', reference: 'operator-b' },
    );
    const allOk =
      summaries.length > 0 && summaries.every((summary) => summary.state === 'finished_ok');
    const ok =
      allOk &&
      verification?.ok === true &&
      fullVerification.ok &&
      queryRouting.before === 'operator-a' &&
      queryRouting.during === 'operator-b' &&
      feed.missing.has('operator-a') &&
      writeWhileDown?.missed.some((operator) => operator.operatorName === 'operator-a') === true &&
      feed.errors.length === 0;
    const series = summaries.find((summary) => summary.kind === 'timeSeries');
    const events = summaries.find((summary) => summary.kind === 'events');
    report.block(
      textTable(
        ['check', 'result'],
        [
          ['items', String(items.length)],
          ['window', window ? formatWindow(window) : 'none'],
          ['points in window (A = B)', String(verification?.points ?? 0)],
          ['events in window (A = B)', String(verification?.events ?? 0)],
          ['points pulled by A', String(series?.points ?? 0)],
          ['events inserted by A', String(events?.eventsInserted ?? 0)],
          ['sync duration', `${Math.max(0, ...summaries.map((s) => s.durationMs))} ms`],
          [
            'catch-up attempts',
            `${attempts} (the first failed on an injected fault, then retried)`,
          ],
          ['window identical', verification?.ok ? 'yes' : 'NO'],
          [
            'whole history identical',
            fullVerification.ok
              ? `yes (${fullVerification.points} points, ${fullVerification.events} events)`
              : 'NO',
          ],
          [
            'duplicate events',
            verification?.problems.some((p) => p.includes('duplicate')) ? 'FOUND' : 'none',
          ],
          ['query failover', `${queryRouting.before ?? '?'} -> ${queryRouting.during ?? '?'}`],
          ['demo duration', `${((Date.now() - started) / 1000).toFixed(1)} s`],
        ],
      ),
    );
    for (const problem of [
      ...(verification?.problems ?? []),
      ...fullVerification.problems,
      ...feed.errors.slice(0, 5).map((error) => `feed: ${error}`),
      ...(feed.missing.has('operator-a')
        ? []
        : ['feed: no write reported the copy of operator-a missing while it was down']),
    ]) {
      report.line(`problem: ${problem}`);
    }
    report.line();
    report.line(
      ok ? 'PASS: zero loss, no duplicates, A caught up from B.' : 'FAIL: see the problems above.',
    );
    return {
      ok,
      window,
      verification,
      fullVerification,
      transitions,
      summaries,
      catchUpAttempts: attempts,
      queryRouting,
      missingCopies: [...feed.missing],
      writeWhileDown,
      ticksWhileDown: feed.ticksWhileADown,
      durationMs: Date.now() - started,
      directory,
    };
  } finally {
    await feed?.stop();
    for (const node of nodes) await node.stop().catch(() => undefined);
    if (options.directory === undefined) await rm(directory, { recursive: true, force: true });
  }
}
