/** Shared pieces of the end-to-end tests: SQLite nodes served over real HTTP on 127.0.0.1. */

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type PeerServer, startPeerServer } from '../../src/cli/server.js';
import type { Clock } from '../../src/clock.js';
import type { HAGovernor, HAGovernorOptions } from '../../src/governor/governor.js';
import { httpPeer } from '../../src/peer/http-client.js';
import type { RemotePeer } from '../../src/peer/types.js';
import { openSqliteStorage } from '../../src/sqlite/adapter.js';
import type {
  EventRecord,
  JsonObject,
  Point,
  StorageAdapter,
  TimeWindow,
} from '../../src/storage/types.js';

export const TOKEN = 'e2e-shared-token';

/** Everything, for reading a whole store back. */
export const ALL: TimeWindow = { from: 0, to: Number.MAX_SAFE_INTEGER };

/** Governor options every e2e test uses: no retries (a ManualClock would wait for ever). */
export const QUIET: Pick<HAGovernorOptions, 'retry' | 'replyTimeoutMs'> = {
  retry: { retries: 0 },
  replyTimeoutMs: 10_000,
};

export async function tempDir(): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'edge-ha-e2e-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** A clock `offsetMs` ahead of `base` (behind when negative): a peer whose clock is skewed. */
export function skewedClock(base: Clock, offsetMs: number): Clock {
  return {
    now: () => base.now() + offsetMs,
    setTimeout: (callback, ms) => base.setTimeout(callback, ms),
  };
}

/**
 * One instance: a SQLite file served over HTTP on 127.0.0.1. `open()` (re)opens the file and
 * serves it on the same port as before, so peers keep their URL across a restart.
 */
export class E2ENode {
  storage: StorageAdapter | undefined;
  server: PeerServer | undefined;
  governor: HAGovernor | undefined;
  #port = 0;

  constructor(
    readonly name: string,
    readonly file: string,
    /** The clock `hello` reports (the node's own clock, possibly skewed). */
    readonly clock: Clock,
  ) {}

  static in(dir: string, name: string, clock: Clock): E2ENode {
    return new E2ENode(name, join(dir, `${name}.sqlite`), clock);
  }

  get url(): string {
    if (this.#port === 0) throw new Error(`${this.name} was never opened`);
    return `http://127.0.0.1:${this.#port}/edge-ha/v1`;
  }

  /** The peer other nodes use to reach this one. */
  peer(): RemotePeer {
    return httpPeer({ url: this.url, token: TOKEN, timeoutMs: 10_000 });
  }

  get db(): StorageAdapter {
    if (!this.storage) throw new Error(`${this.name} is down`);
    return this.storage;
  }

  async open(): Promise<StorageAdapter> {
    const storage = openSqliteStorage(this.file);
    this.storage = storage;
    this.server = await startPeerServer({
      storage,
      token: TOKEN,
      instanceId: this.name,
      port: this.#port,
      clock: this.clock,
    });
    this.#port = this.server.port;
    return storage;
  }

  /** A clean stop: the governor's close() (clean heartbeat), then the server, then the file. */
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

export async function readAllPoints(
  storage: StorageAdapter,
  item: string,
  window: TimeWindow = ALL,
): Promise<Point[]> {
  const out: Point[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 1_000; pages++) {
    const page = await storage.readPoints(
      item,
      window,
      cursor ? { limit: 1_000, cursor } : { limit: 1_000 },
    );
    out.push(...page.items);
    if (page.next === null) return out;
    cursor = page.next;
  }
  throw new Error(`readAllPoints(${item}) did not end after 1000 pages`);
}

export async function readAllEvents(
  storage: StorageAdapter,
  window: TimeWindow = ALL,
): Promise<EventRecord[]> {
  const out: EventRecord[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 1_000; pages++) {
    const page = await storage.readEvents(
      window,
      cursor ? { limit: 1_000, cursor } : { limit: 1_000 },
    );
    out.push(...page.items);
    if (page.next === null) return out;
    cursor = page.next;
  }
  throw new Error('readAllEvents did not end after 1000 pages');
}

/** Every point of every item, keyed by item: a store's time-series content. */
export async function dumpPoints(
  storage: StorageAdapter,
  items: readonly string[],
): Promise<Record<string, Point[]>> {
  const out: Record<string, Point[]> = {};
  for (const item of items) out[item] = await readAllPoints(storage, item);
  return out;
}

/** The point of `item` at `t` in `points`, or undefined. */
export function at(points: readonly Point[], t: number): Point | undefined {
  return points.find((point) => point.t === t);
}

/** A deputy record as stored (`edge-ha:timeSeries`, `edge-ha:events`). */
export interface StoredLedger {
  format: string;
  version: number;
  lastUpToDate: number | null;
  gaps: { id: number; from: number; to: number; mode: string; reason: string }[];
  unrecoverable: TimeWindow[];
}

export async function storedLedger(
  storage: StorageAdapter,
  key: 'edge-ha:timeSeries' | 'edge-ha:events',
): Promise<StoredLedger | undefined> {
  return (await storage.readSyncState(key)) as (JsonObject & StoredLedger) | undefined;
}
