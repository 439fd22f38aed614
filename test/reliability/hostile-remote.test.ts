/**
 * Hostile remote over real HTTP (SPEC §6 I6): a fake node:http server on 127.0.0.1 serves crafted
 * replies to a deputy that pulls a gap through `httpPeer` (merge, the default of `run(window)`).
 * Every malformed or malicious reply ends the run finished_with_error (retried first when the
 * failure is transient) with a clear SyncState message, LastUpToDate does not move, the gap stays
 * in the ledger, and the local data committed before stays intact. A remote that repeats an event
 * id, or trickles one record per reply forever, is stopped too (bounded).
 */

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventDeputy, TimeSeriesDeputy } from '../../src/deputy/deputy.js';
import { httpPeer } from '../../src/peer/http-client.js';
import { MemoryStorageAdapter } from '../../src/storage/memory.js';
import type { EventRecord, Point } from '../../src/storage/types.js';
import { byEvent, byTime, dump, ledgerRecord, readLedger } from './helpers.js';

const WINDOW = { from: 100, to: 400 };
const PAGE = 5;
const MAX_REPLY_BYTES = 64 * 1024;

type Route = 'hello' | 'items' | 'points' | 'events';
interface Request {
  readonly route: Route;
  readonly body: { cursor?: string; limit?: number } | null;
  /** How many requests this route got in this case, 1-based. */
  readonly n: number;
}
type Reply =
  | { status?: number; headers?: Record<string, string>; json?: unknown; raw?: string | Buffer }
  | 'hang'
  | 'reset';

interface HostileCase {
  readonly name: string;
  readonly kind: 'timeSeries' | 'events';
  /** Overrides of the honest server, per route. */
  readonly reply: Partial<Record<Route, (request: Request) => Reply | undefined>>;
  readonly code: string;
  readonly message: RegExp;
  /** Transient failures are retried before the run gives up. */
  readonly retried?: boolean;
  /** Records of valid pages committed (merged) before the hostile one. */
  readonly committed?: { readonly points?: Point[]; readonly events?: EventRecord[] };
  /** At most this many requests of the route that misbehaves (a bounded run). */
  readonly maxRequests?: { readonly route: Route; readonly count: number };
}

const honest: Record<Route, (request: Request) => Reply> = {
  hello: () => ({ json: { instanceId: 'evil', protocolVersion: 1, now: Date.now() } }),
  items: () => ({ json: { items: ['temp'] } }),
  points: () => ({ json: { items: [{ t: 150, v: 1 }], next: null } }),
  events: () => ({ json: { items: [{ id: 'remote-1', t: 150, body: 'r' }], next: null } }),
};

const page = (items: unknown[], next: string | null = null): Reply => ({ json: { items, next } });
const raw = (text: string | Buffer): Reply => ({
  raw: text,
  headers: { 'content-type': 'application/json' },
});
const BAD = 'PEER_BAD_REPLY';

const CASES: HostileCase[] = [
  {
    name: 'a timestamp of the wrong type',
    kind: 'timeSeries',
    reply: { points: () => page([{ t: '150', v: 1 }]) },
    code: BAD,
    message: /does not match protocol v1: items\.0\.t/,
  },
  {
    name: 'a value of the wrong type (object)',
    kind: 'timeSeries',
    reply: { points: () => page([{ t: 150, v: { nested: true } }]) },
    code: BAD,
    message: /items\.0\.v/,
  },
  {
    name: 'a NaN literal',
    kind: 'timeSeries',
    reply: { points: () => raw('{"items":[{"t":150,"v":NaN}],"next":null}') },
    code: BAD,
    message: /not valid \(complete, UTF-8\) JSON/,
  },
  {
    name: 'an Infinity literal',
    kind: 'timeSeries',
    reply: { points: () => raw('{"items":[{"t":150,"v":Infinity}],"next":null}') },
    code: BAD,
    message: /not valid \(complete, UTF-8\) JSON/,
  },
  {
    name: 'a huge number that parses to Infinity',
    kind: 'timeSeries',
    reply: { points: () => raw('{"items":[{"t":150,"v":1e400}],"next":null}') },
    code: BAD,
    message: /items\.0\.v/,
  },
  {
    name: 'a timestamp beyond the safe integers',
    kind: 'timeSeries',
    reply: { points: () => raw('{"items":[{"t":1152921504606846976,"v":1}],"next":null}') },
    code: BAD,
    message: /items\.0\.t/,
  },
  {
    name: 'a fractional timestamp',
    kind: 'timeSeries',
    reply: { points: () => page([{ t: 150.5, v: 1 }]) },
    code: BAD,
    message: /items\.0\.t/,
  },
  {
    name: 'a negative timestamp',
    kind: 'timeSeries',
    reply: { points: () => page([{ t: -5, v: 1 }]) },
    code: BAD,
    message: /outside the requested window/,
  },
  {
    name: 'a timestamp after the window',
    kind: 'timeSeries',
    reply: { points: () => page([{ t: 450, v: 1 }]) },
    code: BAD,
    message: /outside the requested window/,
  },
  {
    name: 'an unsorted page',
    kind: 'timeSeries',
    reply: {
      points: () =>
        page([
          { t: 200, v: 1 },
          { t: 150, v: 2 },
        ]),
    },
    code: BAD,
    message: /not strictly after the one before/,
  },
  {
    name: 'duplicate timestamps',
    kind: 'timeSeries',
    reply: {
      points: () =>
        page([
          { t: 150, v: 1 },
          { t: 150, v: 2 },
        ]),
    },
    code: BAD,
    message: /not strictly after the one before/,
  },
  {
    name: 'more records than the page limit',
    kind: 'timeSeries',
    reply: {
      points: () => page(Array.from({ length: PAGE + 1 }, (_, i) => ({ t: 101 + i, v: i }))),
    },
    code: BAD,
    message: /holds 6 records but the limit was 5/,
  },
  {
    name: 'a cursor loop (next equals the request cursor)',
    kind: 'timeSeries',
    reply: {
      points: ({ n }) => (n === 1 ? page([{ t: 160, v: 9 }], 'c1') : page([], 'c1')),
    },
    code: BAD,
    message: /next cursor equals the request cursor/,
    committed: { points: [{ t: 160, v: 9 }] },
  },
  {
    name: 'endless empty pages with fresh cursors',
    kind: 'timeSeries',
    reply: { points: ({ n }) => page([], `c${n}`) },
    code: BAD,
    message: /empty pages in a row/,
  },
  {
    name: 'a page that goes backwards',
    kind: 'timeSeries',
    reply: {
      points: ({ n }) =>
        n === 1
          ? page(
              [
                { t: 160, v: 7 },
                { t: 200, v: 8 },
              ],
              'c1',
            )
          : page([{ t: 170, v: 0 }]),
    },
    code: BAD,
    message: /starts at or before the end of the previous page/,
    committed: {
      points: [
        { t: 160, v: 7 },
        { t: 200, v: 8 },
      ],
    },
  },
  {
    name: 'an oversized body',
    kind: 'timeSeries',
    reply: {
      points: () =>
        raw(`{"items":[{"t":150,"v":"${'x'.repeat(MAX_REPLY_BYTES * 2)}"}],"next":null}`),
    },
    code: BAD,
    message: /larger than maxReplyBytes/,
  },
  {
    name: 'an oversized declared content-length',
    kind: 'timeSeries',
    reply: {
      points: () => ({
        headers: { 'content-type': 'application/json', 'content-length': '999999999' },
        raw: '{"items":[',
      }),
    },
    code: BAD,
    message: /larger than maxReplyBytes/,
  },
  {
    name: 'truncated JSON',
    kind: 'timeSeries',
    reply: { points: () => raw('{"items":[{"t":150,') },
    code: BAD,
    message: /not valid \(complete, UTF-8\) JSON/,
  },
  {
    name: 'invalid UTF-8',
    kind: 'timeSeries',
    reply: { points: () => raw(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d])) },
    code: BAD,
    message: /not valid \(complete, UTF-8\) JSON/,
  },
  {
    name: 'a __proto__ key in a point',
    kind: 'timeSeries',
    reply: {
      points: () => raw('{"items":[{"t":150,"v":1,"__proto__":{"polluted":true}}],"next":null}'),
    },
    code: BAD,
    message: /does not match protocol v1/,
  },
  {
    name: 'a constructor.prototype key in a point',
    kind: 'timeSeries',
    reply: {
      points: () =>
        raw(
          '{"items":[{"t":150,"v":1,"constructor":{"prototype":{"polluted":true}}}],"next":null}',
        ),
    },
    code: BAD,
    message: /does not match protocol v1/,
  },
  {
    name: 'a quality code out of range',
    kind: 'timeSeries',
    reply: { points: () => page([{ t: 150, v: 1, q: -1 }]) },
    code: BAD,
    message: /items\.0\.q/,
  },
  {
    name: 'an overlong cursor',
    kind: 'timeSeries',
    reply: { points: () => page([{ t: 150, v: 1 }], 'c'.repeat(5000)) },
    code: BAD,
    message: /next/,
  },
  {
    name: 'the wrong content-type (text/html)',
    kind: 'timeSeries',
    reply: {
      points: () => ({
        headers: { 'content-type': 'text/html' },
        raw: '{"items":[],"next":null}',
      }),
    },
    code: BAD,
    message: /not JSON \(content-type "text\/html"\)/,
  },
  {
    name: 'no content-type',
    kind: 'timeSeries',
    reply: { points: () => ({ raw: '{"items":[],"next":null}' }) },
    code: BAD,
    message: /not JSON \(content-type null\)/,
  },
  {
    name: 'a redirect',
    kind: 'timeSeries',
    reply: { points: () => ({ status: 302, headers: { location: 'http://example.com/' } }) },
    code: BAD,
    message: /redirected \(HTTP 302\)/,
  },
  {
    name: '401 on hello',
    kind: 'timeSeries',
    reply: {
      hello: () => ({ status: 401, json: { error: { code: 'PEER_AUTH', message: 'no' } } }),
    },
    code: 'PEER_AUTH',
    message: /refused our token \(HTTP 401\).*permanent, not retried/,
  },
  {
    name: '403 on points',
    kind: 'timeSeries',
    reply: {
      points: () => ({ status: 403, json: { error: { code: 'X', message: 'forbidden' } } }),
    },
    code: 'PEER_AUTH',
    message: /refused our token \(HTTP 403\)/,
  },
  {
    name: '404 (no such route)',
    kind: 'events',
    reply: { events: () => ({ status: 404, raw: 'Not Found' }) },
    code: 'PEER_BAD_REQUEST',
    message: /no such route \(HTTP 404\)/,
  },
  {
    name: '500 on points',
    kind: 'timeSeries',
    reply: { points: () => ({ status: 500, raw: 'Internal Server Error' }) },
    code: 'PEER_UNAVAILABLE',
    message: /unavailable \(HTTP 500\)/,
    retried: true,
  },
  {
    name: '503 on hello',
    kind: 'events',
    reply: { hello: () => ({ status: 503, json: { error: { code: 'BUSY', message: 'later' } } }) },
    code: 'PEER_UNAVAILABLE',
    message: /unavailable \(HTTP 503\).*retries exhausted/,
    retried: true,
  },
  {
    name: 'a server that never answers',
    kind: 'timeSeries',
    reply: { points: () => 'hang' },
    code: 'PEER_TIMEOUT',
    message: /no complete reply within 300 ms/,
    retried: true,
  },
  {
    name: 'a connection reset',
    kind: 'events',
    reply: { events: () => 'reset' },
    code: 'PEER_UNREACHABLE',
    message: /could not be reached/,
    retried: true,
  },
  {
    name: 'another protocol version',
    kind: 'timeSeries',
    reply: { hello: () => ({ json: { instanceId: 'evil', protocolVersion: 2, now: 1 } }) },
    code: 'PEER_PROTOCOL',
    message: /speaks peer protocol v2/,
  },
  {
    name: 'a hello whose clock is not a number',
    kind: 'events',
    reply: { hello: () => ({ json: { instanceId: 'evil', protocolVersion: 1, now: 'noon' } }) },
    code: BAD,
    message: /now/,
  },
  {
    name: 'an item list that is not a list',
    kind: 'timeSeries',
    reply: { items: () => ({ json: { items: 'temp' } }) },
    code: BAD,
    message: /items/,
  },
  {
    name: 'an item list that repeats an item',
    kind: 'timeSeries',
    reply: { items: () => ({ json: { items: ['temp', 'temp'] } }) },
    code: BAD,
    message: /repeats an item/,
  },
  {
    name: 'events out of (t, id) order',
    kind: 'events',
    reply: {
      events: () =>
        page([
          { id: 'b', t: 150, body: 1 },
          { id: 'a', t: 150, body: 2 },
        ]),
    },
    code: BAD,
    message: /not strictly after the one before/,
  },
  {
    name: 'a repeated event',
    kind: 'events',
    reply: {
      events: () =>
        page([
          { id: 'a', t: 150, body: 1 },
          { id: 'a', t: 150, body: 1 },
        ]),
    },
    code: BAD,
    message: /not strictly after the one before/,
  },
  {
    name: 'an event body nested too deep',
    kind: 'events',
    reply: {
      events: () =>
        raw(
          `{"items":[{"id":"deep","t":150,"body":${'['.repeat(200)}${']'.repeat(200)}}],"next":null}`,
        ),
    },
    code: BAD,
    message: /items\.0\.body/,
  },
  {
    name: 'an event with an empty id',
    kind: 'events',
    reply: { events: () => page([{ id: '', t: 150, body: 1 }]) },
    code: BAD,
    message: /items\.0\.id/,
  },
  {
    name: 'an event id repeated on a later page at another time',
    kind: 'events',
    reply: {
      events: ({ n }) =>
        n === 1
          ? page([{ id: 'dup', t: 150, body: 'first' }], 'c1')
          : page([{ id: 'dup', t: 200, body: 'second' }]),
    },
    code: BAD,
    message: /event id "dup" twice \(t=150 and t=200\)/,
    committed: { events: [{ id: 'dup', t: 150, body: 'first' }] },
  },
  {
    name: 'an event id repeated within one page at another time',
    kind: 'events',
    reply: {
      events: () =>
        page([
          { id: 'dup', t: 150, body: 'first' },
          { id: 'other', t: 160, body: 'fine' },
          { id: 'dup', t: 200, body: 'second' },
        ]),
    },
    code: BAD,
    message: /event id "dup" twice \(t=150 and t=200\)/,
  },
  {
    name: 'a remote that trickles one point per reply forever',
    kind: 'timeSeries',
    reply: { points: ({ n }) => page([{ t: 100 + n, v: n }], `c${n}`) },
    code: BAD,
    message: /101 short pages .*maxShortPages 100/,
    // Each page is committed before the next one is asked for: 101 pages, then the run stops.
    committed: { points: Array.from({ length: 101 }, (_, i) => ({ t: 101 + i, v: i + 1 })) },
    maxRequests: { route: 'points', count: 101 },
  },
  {
    name: 'a remote that trickles one event per reply forever',
    kind: 'events',
    reply: { events: ({ n }) => page([{ id: `drip-${n}`, t: 100 + n, body: n }], `c${n}`) },
    code: BAD,
    message: /101 short pages .*maxShortPages 100/,
    committed: {
      events: Array.from({ length: 101 }, (_, i) => ({
        id: `drip-${i + 1}`,
        t: 101 + i,
        body: i + 1,
      })),
    },
    maxRequests: { route: 'events', count: 101 },
  },
];

// ---- the fake remote ---------------------------------------------------------------------

let server: Server;
let url: string;
let current: HostileCase | undefined;
const counts = new Map<Route, number>();

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function send(res: ServerResponse, reply: Exclude<Reply, 'hang' | 'reset'>): void {
  const headers: Record<string, string> = { ...(reply.headers ?? {}) };
  let body: string | Buffer = '';
  if (reply.json !== undefined) {
    body = JSON.stringify(reply.json);
    headers['content-type'] ??= 'application/json';
  } else if (reply.raw !== undefined) {
    body = reply.raw;
  }
  res.writeHead(reply.status ?? 200, headers);
  res.end(body);
}

beforeAll(async () => {
  server = createServer((req, res) => {
    void (async () => {
      const text = await readBody(req);
      const route = (req.url ?? '').split('/').pop() as Route;
      const n = (counts.get(route) ?? 0) + 1;
      counts.set(route, n);
      let body: Request['body'] = null;
      try {
        body = text === '' ? null : (JSON.parse(text) as Request['body']);
      } catch {
        body = null;
      }
      const request = { route, body, n };
      const reply = current?.reply[route]?.(request) ?? honest[route]?.(request);
      if (reply === undefined) {
        send(res, { status: 404, raw: 'no' });
      } else if (reply === 'hang') {
        // never answer
      } else if (reply === 'reset') {
        req.socket.destroy();
      } else {
        send(res, reply);
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/edge-ha/v1`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

// ---- the local side ----------------------------------------------------------------------

const LOCAL_POINTS: Point[] = [
  { t: 50, v: 'before the window' },
  { t: 150, v: 'local in the window' },
  { t: 250, v: 'local in the window too' },
  { t: 500, v: 'after the window' },
];
const LOCAL_EVENTS: EventRecord[] = [{ id: 'local-1', t: 120, body: 'mine' }];

async function localStore(): Promise<MemoryStorageAdapter> {
  const storage = new MemoryStorageAdapter({
    points: { temp: LOCAL_POINTS },
    events: LOCAL_EVENTS,
  });
  await storage.writeSyncState('edge-ha:timeSeries', ledgerRecord(90));
  await storage.writeSyncState('edge-ha:events', ledgerRecord(90));
  return storage;
}

function deputy(kind: 'timeSeries' | 'events', storage: MemoryStorageAdapter) {
  const peer = httpPeer({
    url,
    token: 'shared-secret',
    timeoutMs: 300,
    maxReplyBytes: MAX_REPLY_BYTES,
  });
  const options = {
    storage,
    peer,
    pageSize: PAGE,
    retry: { retries: 1, backoff: () => 5 },
    // The window lies in 1970: keep it recoverable (the default bound is 7 days before now).
    maxRecoveryMs: Number.MAX_SAFE_INTEGER,
  };
  return kind === 'timeSeries' ? new TimeSeriesDeputy(options) : new EventDeputy(options);
}

describe('hostile remote over real HTTP (SPEC §6 I6)', () => {
  it('covers at least 25 distinct hostile replies', () => {
    expect(new Set(CASES.map((c) => c.name)).size).toBe(CASES.length);
    expect(CASES.length).toBeGreaterThanOrEqual(25);
  });

  it('the honest fake remote syncs fine (the cases below fail because of their reply only)', async () => {
    for (const kind of ['timeSeries', 'events'] as const) {
      current = undefined;
      counts.clear();
      const storage = await localStore();
      const summary = await deputy(kind, storage).run(WINDOW);
      expect(summary.state).toBe('finished_ok');
    }
  });

  it.each(CASES)('$name → finished_with_error, local data intact', async (c) => {
    current = c;
    counts.clear();
    const storage = await localStore();
    const before = await dump(storage);
    const d = deputy(c.kind, storage);
    const summary = await d.run(WINDOW);

    expect(summary.state).toBe('finished_with_error');
    expect(summary.code).toBe(6);
    expect(summary.errors.map((e) => e.code)).toContain(c.code);
    const errors = d.snapshot().syncState.filter((m) => m.level === 'error' && m.code === c.code);
    expect(
      errors.some((m) => c.message.test(m.message)),
      JSON.stringify(d.snapshot().syncState, null, 1),
    ).toBe(true);
    // Retried only when transient.
    if (c.retried) expect(summary.retries).toBeGreaterThanOrEqual(1);
    else expect(summary.retries).toBe(0);
    if (c.maxRequests !== undefined) {
      expect(counts.get(c.maxRequests.route)).toBeLessThanOrEqual(c.maxRequests.count);
    }
    // I4: LastUpToDate does not move on a failed run; the gap stays for the next run.
    expect(summary.lastUpToDate).toBe(90);
    const ledger = await readLedger(storage, `edge-ha:${c.kind}`);
    expect(ledger.lastUpToDate).toBe(90);
    expect(ledger.gaps.map((g) => [g.from, g.to, g.mode])).toEqual([
      [WINDOW.from, WINDOW.to, 'merge'],
    ]);
    // I6: what was committed stays (merged: local points win); nothing of the hostile reply is
    // applied.
    const after = await dump(storage);
    const localTimes = new Set((before.points.temp ?? []).map((p) => p.t));
    expect(after.points.temp).toEqual(
      [
        ...(before.points.temp ?? []),
        ...(c.committed?.points ?? []).filter((p) => !localTimes.has(p.t)),
      ].sort(byTime),
    );
    expect(after.events).toEqual([...before.events, ...(c.committed?.events ?? [])].sort(byEvent));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it('a __proto__ key inside an event body is stored as plain data, never as a prototype', async () => {
    current = {
      name: 'proto body',
      kind: 'events',
      reply: {
        events: () =>
          raw(
            '{"items":[{"id":"p","t":150,"body":{"__proto__":{"polluted":true},"x":1}}],"next":null}',
          ),
      },
      code: '',
      message: /./,
    };
    counts.clear();
    const storage = await localStore();
    const summary = await deputy('events', storage).run(WINDOW);
    expect(summary.state).toBe('finished_ok');
    const stored = (await dump(storage)).events.find((e) => e.id === 'p');
    const body = stored?.body as Record<string, unknown>;
    expect(Object.getPrototypeOf(body)).toBe(Object.prototype);
    expect(Object.keys(body).sort()).toEqual(['__proto__', 'x']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
