import { describe, expect, it } from 'vitest';
import { HAGovernor } from '../../src/governor/governor.js';
import { SERVICE_LEVEL, serviceLevel } from '../../src/ops/service-level.js';
import { faultPeer, linked, memory, pts, unreachable } from '../deputy/helpers.js';

describe('serviceLevel (OPC UA Part 4 sub-ranges)', () => {
  it('follows a governor through not started, degraded, healthy and closed', async () => {
    const remote = await memory({ a: pts([500, 1]) });
    const { clock, peer: inner } = linked(remote, 1_000);
    let down = true;
    const peer = faultPeer(inner, (call) =>
      down && call.op === 'hello' ? unreachable() : undefined,
    );
    const governor = new HAGovernor({
      storage: await memory({}, [], ['a']),
      peers: [peer],
      clock,
      events: false,
      retry: { retries: 0 },
      retryEveryMs: { min: 1_000, max: 1_000 },
      firstStartLookbackMs: 1_000,
    });
    expect(serviceLevel(governor.status())).toBe(SERVICE_LEVEL.noData);
    await clock.runUntilSettled(governor.start());
    // one failed attempt: degraded, 25 below the top of the range
    expect(serviceLevel(governor.status())).toBe(174);
    await clock.advanceAsync(1_000);
    await clock.advanceAsync(1_000);
    expect(serviceLevel(governor.status())).toBe(124);
    down = false;
    await clock.advanceAsync(1_000);
    await governor.whenCaughtUp();
    expect(serviceLevel(governor.status())).toBe(SERVICE_LEVEL.healthy);
    await governor.close();
    expect(serviceLevel(governor.status())).toBe(SERVICE_LEVEL.maintenance);
  });

  it('never leaves the degraded range while behind, however many attempts failed', () => {
    const base = {
      closed: false,
      startedAt: 1,
      caughtUp: false,
    } as Parameters<typeof serviceLevel>[0];
    for (const failedAttempts of [0, 1, 7, 8, 100]) {
      const level = serviceLevel({ ...base, failedAttempts });
      expect(level).toBeGreaterThanOrEqual(SERVICE_LEVEL.degradedMin);
      expect(level).toBeLessThanOrEqual(SERVICE_LEVEL.degradedMax);
    }
    expect(serviceLevel({ ...base, failedAttempts: 0 })).toBe(199);
    expect(serviceLevel({ ...base, failedAttempts: 100 })).toBe(2);
  });
});
