/**
 * The windows a peer is missing, listed in hello: `createPeerHandler({ gaps })` and
 * `localPeer(storage, { gaps })` list them, `httpPeer` validates them (over real HTTP on
 * 127.0.0.1), an absent field means none (older peers of the same protocol).
 */

import { afterEach, describe, expect, it } from 'vitest';
import { isEdgeHaError } from '../../src/errors.js';
import { MAX_HELLO_GAPS } from '../../src/peer/gaps.js';
import { httpPeer } from '../../src/peer/http-client.js';
import { createPeerHandler, type PeerHandlerOptions } from '../../src/peer/http-handler.js';
import { localPeer } from '../../src/peer/local.js';
import { toNodeListener } from '../../src/peer/node-listener.js';
import { PEER_PROTOCOL_VERSION } from '../../src/peer/types.js';
import { MemoryStorageAdapter } from '../../src/storage/memory.js';
import type { TimeWindow } from '../../src/storage/types.js';
import { rawReply, ServerPool } from './helpers.js';

const TOKEN = 'hello-gaps-token-0123';
const pool = new ServerPool();
afterEach(() => pool.closeAll());

const clock = { now: () => 5_000, setTimeout: () => ({ cancel: () => undefined }) };

async function serve(options: Partial<PeerHandlerOptions> = {}): Promise<string> {
  const handler = createPeerHandler({
    storage: new MemoryStorageAdapter(),
    token: TOKEN,
    instanceId: 'node-a',
    clock,
    ...options,
  });
  const server = await pool.listen(toNodeListener(handler));
  return `${server.origin}/edge-ha/v1`;
}

async function rawHello(url: string): Promise<unknown> {
  const response = await fetch(`${url}/hello`, { headers: { authorization: `Bearer ${TOKEN}` } });
  expect(response.status).toBe(200);
  return response.json();
}

describe('createPeerHandler({ gaps }) and httpPeer.hello()', () => {
  it('lists the hook windows (joined and sorted), and httpPeer returns them', async () => {
    let calls = 0;
    const url = await serve({
      gaps: () => {
        calls++;
        return [
          { from: 300, to: 400 },
          { from: 100, to: 150 },
          { from: 140, to: 200 },
        ];
      },
    });
    const peer = httpPeer({ url, token: TOKEN });
    await expect(peer.hello()).resolves.toEqual({
      instanceId: 'node-a',
      protocolVersion: PEER_PROTOCOL_VERSION,
      now: 5_000,
      gaps: [
        { from: 100, to: 200 },
        { from: 300, to: 400 },
      ],
    });
    await peer.hello();
    expect(calls).toBe(2);
  });

  it('without the hook, hello has no gaps field (as an older peer of protocol v1)', async () => {
    const url = await serve();
    expect(await rawHello(url)).toEqual({
      instanceId: 'node-a',
      protocolVersion: PEER_PROTOCOL_VERSION,
      now: 5_000,
    });
    const hello = await httpPeer({ url, token: TOKEN }).hello();
    expect('gaps' in hello).toBe(false);
  });

  it('a throwing hook is answered as no gaps; the hello still succeeds', async () => {
    const url = await serve({
      gaps: () => {
        throw new Error('ledger unavailable');
      },
    });
    await expect(httpPeer({ url, token: TOKEN }).hello()).resolves.toMatchObject({
      instanceId: 'node-a',
      gaps: [],
    });
  });

  it('refuses a gaps option that is not a function (PEER_INVALID_OPTION)', () => {
    expect(() =>
      createPeerHandler({
        storage: new MemoryStorageAdapter(),
        token: TOKEN,
        instanceId: 'a',
        gaps: [{ from: 1, to: 2 }] as never,
      }),
    ).toThrow(expect.objectContaining({ code: 'PEER_INVALID_OPTION' }));
  });

  const base = { instanceId: 'x', protocolVersion: PEER_PROTOCOL_VERSION, now: 1 };
  const malformed: [string, unknown][] = [
    ['not an array', { ...base, gaps: { from: 1, to: 2 } }],
    ['from > to', { ...base, gaps: [{ from: 5, to: 4 }] }],
    ['a fractional bound', { ...base, gaps: [{ from: 1.5, to: 4 }] }],
    ['an unsafe integer', { ...base, gaps: [{ from: 0, to: 2 ** 60 }] }],
    ['a missing bound', { ...base, gaps: [{ from: 1 }] }],
    ['a string bound', { ...base, gaps: [{ from: '1', to: 2 }] }],
    [
      `more than ${MAX_HELLO_GAPS} windows`,
      { ...base, gaps: Array.from({ length: MAX_HELLO_GAPS + 1 }, (_, i) => ({ from: i, to: i })) },
    ],
  ];
  for (const [name, body] of malformed) {
    it(`a hello reply whose gaps have ${name} is PEER_BAD_REPLY`, async () => {
      const server = await pool.listen(rawReply(200, JSON.stringify(body)));
      const error = await httpPeer({ url: server.origin, token: TOKEN })
        .hello()
        .catch((e: unknown) => e);
      expect(isEdgeHaError(error, 'PEER_BAD_REPLY')).toBe(true);
    });
  }

  it(`accepts exactly ${MAX_HELLO_GAPS} windows and an empty list`, async () => {
    const gaps: TimeWindow[] = Array.from({ length: MAX_HELLO_GAPS }, (_, i) => ({
      from: i * 2,
      to: i * 2 + 1,
    }));
    const full = await pool.listen(rawReply(200, JSON.stringify({ ...base, gaps })));
    expect((await httpPeer({ url: full.origin, token: TOKEN }).hello()).gaps).toEqual(gaps);
    const none = await pool.listen(rawReply(200, JSON.stringify({ ...base, gaps: [] })));
    expect((await httpPeer({ url: none.origin, token: TOKEN }).hello()).gaps).toEqual([]);
  });
});

describe('localPeer(storage, { gaps })', () => {
  it('lists the hook windows in every hello; without the hook, none', async () => {
    let missing: TimeWindow[] = [{ from: 10, to: 20 }];
    const peer = localPeer(new MemoryStorageAdapter(), { clock, gaps: () => missing });
    expect((await peer.hello()).gaps).toEqual([{ from: 10, to: 20 }]);
    missing = [];
    expect((await peer.hello()).gaps).toEqual([]);
    const plain = await localPeer(new MemoryStorageAdapter(), { clock }).hello();
    expect('gaps' in plain).toBe(false);
  });
});
