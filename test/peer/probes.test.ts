/**
 * `GET /healthz` and `GET /readyz` (SPEC §5 "Operations"): unauthenticated, over real HTTP on
 * 127.0.0.1, at the root and under the base path.
 */

import { afterEach, describe, expect, it } from 'vitest';
import { createPeerHandler, type PeerHandlerOptions } from '../../src/peer/http-handler.js';
import { toNodeListener } from '../../src/peer/node-listener.js';
import { MemoryStorageAdapter } from '../../src/storage/memory.js';
import { ServerPool } from './helpers.js';

const TOKEN = 'probe-token-abcdef';
const pool = new ServerPool();
afterEach(() => pool.closeAll());

async function start(options: Partial<PeerHandlerOptions> = {}) {
  const storage = options.storage ?? new MemoryStorageAdapter();
  const handler = createPeerHandler({ token: TOKEN, instanceId: 'srv', ...options, storage });
  const server = await pool.listen(toNodeListener(handler));
  return { origin: server.origin, storage };
}

describe('health and readiness probes', () => {
  it('/healthz answers 200 without a token, at the root and under the base path', async () => {
    const { origin } = await start();
    for (const path of ['/healthz', '/edge-ha/v1/healthz']) {
      const response = await fetch(`${origin}${path}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('cache-control')).toBe('no-store');
      expect(await response.json()).toEqual({ status: 'ok', ready: true, instanceId: 'srv' });
    }
    // the protocol routes still need the token
    expect((await fetch(`${origin}/edge-ha/v1/hello`, { method: 'POST' })).status).toBe(401);
  });

  it('/healthz and /readyz answer 503 once the storage is closed', async () => {
    const { origin, storage } = await start();
    await storage.close();
    for (const path of ['/healthz', '/readyz']) {
      const response = await fetch(`${origin}${path}`);
      expect(response.status).toBe(503);
      expect(await response.json()).toMatchObject({
        status: 'unavailable',
        ready: false,
        reason: 'the storage does not answer (STORAGE_CLOSED)',
      });
    }
  });

  it('/readyz follows the readiness hook: 503 with the reason, then 200', async () => {
    let ready = false;
    const { origin } = await start({
      readiness: () =>
        ready ? { ready: true } : { ready: false, reason: 'not caught up: gaps left series 1' },
    });
    const before = await fetch(`${origin}/readyz`);
    expect(before.status).toBe(503);
    expect(await before.json()).toEqual({
      status: 'not_ready',
      ready: false,
      instanceId: 'srv',
      reason: 'not caught up: gaps left series 1',
    });
    // /healthz says the process serves, whatever the readiness
    expect((await fetch(`${origin}/healthz`)).status).toBe(200);
    ready = true;
    const after = await fetch(`${origin}/edge-ha/v1/readyz`);
    expect(after.status).toBe(200);
    expect(await after.json()).toMatchObject({ ready: true });
  });

  it('a throwing readiness hook counts as not ready; a POST is not a probe', async () => {
    const { origin } = await start({
      readiness: () => {
        throw new Error('boom');
      },
    });
    const response = await fetch(`${origin}/readyz`);
    expect(response.status).toBe(503);
    expect(((await response.json()) as { reason: string }).reason).toContain('boom');
    expect((await fetch(`${origin}/readyz`, { method: 'POST' })).status).toBe(404);
  });
});
