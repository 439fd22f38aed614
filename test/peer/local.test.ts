import { describe, expect, it } from 'vitest';
import { PeerError, StorageError } from '../../src/errors.js';
import { localPeer } from '../../src/peer/local.js';
import { PEER_PROTOCOL_VERSION } from '../../src/peer/types.js';
import { MemoryStorageAdapter } from '../../src/storage/memory.js';
import { ManualClock } from '../../src/testing/manual-clock.js';

async function rejection(promise: Promise<unknown>): Promise<PeerError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(PeerError);
    return error as PeerError;
  }
  throw new Error('expected a rejection');
}

describe('localPeer', () => {
  it('says hello with its id, protocol version and clock', async () => {
    const peer = localPeer(new MemoryStorageAdapter(), {
      instanceId: 'b',
      clock: new ManualClock(1234),
    });
    expect(peer.label).toBe('local:b');
    expect(await peer.hello()).toEqual({
      instanceId: 'b',
      protocolVersion: PEER_PROTOCOL_VERSION,
      now: 1234,
    });
  });

  it('serves items, paged points and paged events from the storage', async () => {
    const storage = new MemoryStorageAdapter({
      points: {
        a: [
          { t: 1, v: 1 },
          { t: 2, v: 2 },
          { t: 3, v: 3 },
        ],
      },
      events: [{ id: 'e', t: 1, body: { x: 1 } }],
    });
    const peer = localPeer(storage);
    expect(await peer.listItems()).toEqual(['a']);
    const first = await peer.readPoints('a', { from: 0, to: 10 }, { limit: 2 });
    expect(first.items).toEqual([
      { t: 1, v: 1 },
      { t: 2, v: 2 },
    ]);
    const second = await peer.readPoints(
      'a',
      { from: 0, to: 10 },
      { limit: 2, cursor: first.next ?? '' },
    );
    expect(second).toEqual({ items: [{ t: 3, v: 3 }], next: null });
    expect((await peer.readEvents({ from: 0, to: 10 }, { limit: 10 })).items).toEqual([
      { id: 'e', t: 1, body: { x: 1 } },
    ]);
  });

  it('rejects an item it does not trend with PEER_UNKNOWN_ITEM (permanent)', async () => {
    const error = await rejection(
      localPeer(new MemoryStorageAdapter()).readPoints('nope', { from: 0, to: 1 }, { limit: 1 }),
    );
    expect(error.code).toBe('PEER_UNKNOWN_ITEM');
    expect(error.transient).toBe(false);
  });

  it('maps storage errors: invalid arguments to PEER_BAD_REQUEST, a closed store to PEER_UNAVAILABLE', async () => {
    const storage = new MemoryStorageAdapter({ points: { a: [{ t: 1, v: 1 }] } });
    const peer = localPeer(storage);
    const bad = await rejection(peer.readPoints('a', { from: 5, to: 1 }, { limit: 1 }));
    expect(bad.code).toBe('PEER_BAD_REQUEST');
    expect(bad.cause).toBeInstanceOf(StorageError);
    await storage.close();
    const closed = await rejection(peer.readEvents({ from: 0, to: 1 }, { limit: 1 }));
    expect(closed.code).toBe('PEER_UNAVAILABLE');
    expect(closed.transient).toBe(false);
  });

  it('marks a backend failure transient', async () => {
    const storage = new MemoryStorageAdapter();
    storage.listItems = async () => {
      throw new StorageError('STORAGE_BACKEND', 'I/O error');
    };
    const error = await rejection(localPeer(storage).listItems());
    expect(error).toMatchObject({ code: 'PEER_UNAVAILABLE', transient: true });
  });

  it('refuses a call whose signal is already aborted', async () => {
    const error = await rejection(
      localPeer(new MemoryStorageAdapter()).hello({ signal: AbortSignal.abort() }),
    );
    expect(error.code).toBe('PEER_ABORTED');
  });

  it('writes points with appendPoints, replacing a point at an existing timestamp', async () => {
    const storage = new MemoryStorageAdapter({ points: { a: [{ t: 1, v: 1 }] } });
    const peer = localPeer(storage);
    await peer.writePoints('a', [
      { t: 1, v: 10 },
      { t: 2, v: 'two', q: 1 },
    ]);
    await peer.writePoints('b', [{ t: 3, v: null }]);
    expect((await storage.readPoints('a', { from: 0, to: 10 }, { limit: 10 })).items).toEqual([
      { t: 1, v: 10 },
      { t: 2, v: 'two', q: 1 },
    ]);
    expect(await storage.listItems()).toEqual(['a', 'b']);
  });

  it('writes events if absent and resolves with how many were new', async () => {
    const storage = new MemoryStorageAdapter({ events: [{ id: 'e', t: 1, body: 'kept' }] });
    const peer = localPeer(storage);
    expect(
      await peer.writeEvents([
        { id: 'e', t: 1, body: 'changed' },
        { id: 'f', t: 2, body: { x: 1 } },
      ]),
    ).toBe(1);
    expect((await storage.readEvents({ from: 0, to: 10 }, { limit: 10 })).items).toEqual([
      { id: 'e', t: 1, body: 'kept' },
      { id: 'f', t: 2, body: { x: 1 } },
    ]);
  });

  it('rejects an invalid batch with PEER_BAD_REQUEST and stores none of it', async () => {
    const storage = new MemoryStorageAdapter();
    const peer = localPeer(storage);
    const points = await rejection(
      peer.writePoints('a', [
        { t: 1, v: 1 },
        { t: 2, v: Number.POSITIVE_INFINITY },
      ]),
    );
    expect(points.code).toBe('PEER_BAD_REQUEST');
    const events = await rejection(
      peer.writeEvents([
        { id: 'ok', t: 1, body: null },
        { id: '', t: 1, body: null },
      ]),
    );
    expect(events.code).toBe('PEER_BAD_REQUEST');
    expect(await storage.listItems()).toEqual([]);
    expect((await storage.readEvents({ from: 0, to: 10 }, { limit: 10 })).items).toEqual([]);
  });

  it('refuses writes with an aborted signal or a closed storage, storing nothing', async () => {
    const storage = new MemoryStorageAdapter();
    const peer = localPeer(storage);
    const aborted = await rejection(
      peer.writePoints('a', [{ t: 1, v: 1 }], { signal: AbortSignal.abort() }),
    );
    expect(aborted.code).toBe('PEER_ABORTED');
    expect(await storage.listItems()).toEqual([]);
    await storage.close();
    const closed = await rejection(peer.writeEvents([{ id: 'e', t: 1, body: null }]));
    expect(closed).toMatchObject({ code: 'PEER_UNAVAILABLE', transient: false });
  });
});
