import { EventEmitter } from 'eventemitter3';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/testing/manual-clock.js';
import { recordEvents } from '../../src/testing/record-events.js';

describe('ManualClock', () => {
  it('runs due timers in order of due time then creation, with now() at each due time', () => {
    const clock = new ManualClock(100);
    const log: string[] = [];
    clock.setTimeout(() => log.push(`b@${clock.now()}`), 20);
    clock.setTimeout(() => log.push(`a@${clock.now()}`), 10);
    clock.setTimeout(() => log.push(`c@${clock.now()}`), 20);
    const cancelled = clock.setTimeout(() => log.push('never'), 5);
    cancelled.cancel();
    cancelled.cancel();
    clock.advance(15);
    expect(log).toEqual(['a@110']);
    expect(clock.now()).toBe(115);
    clock.advance(100);
    expect(log).toEqual(['a@110', 'b@120', 'c@120']);
    expect(clock.now()).toBe(215);
    expect(clock.pendingTimers).toBe(0);
  });

  it('runs timers scheduled by timers when they fall due within the same advance', () => {
    const clock = new ManualClock(0);
    const ticks: number[] = [];
    const tick = (): void => {
      ticks.push(clock.now());
      clock.setTimeout(tick, 10);
    };
    clock.setTimeout(tick, 10);
    clock.advance(35);
    expect(ticks).toEqual([10, 20, 30]);
    expect(clock.nextTimerAt()).toBe(40);
  });

  it('set() moves forward running timers, or backward running none', () => {
    const clock = new ManualClock(0);
    let fired = 0;
    clock.setTimeout(() => fired++, 50);
    clock.set(-10);
    expect(fired).toBe(0);
    clock.set(100);
    expect(fired).toBe(1);
    expect(() => clock.set(Number.NaN)).toThrow(
      expect.objectContaining({ code: 'SYNC_INVALID_OPTION' }),
    );
  });

  it('advanceAsync() lets async code continue between timers', async () => {
    const clock = new ManualClock(0);
    const wait = (ms: number) => new Promise<void>((resolve) => clock.setTimeout(resolve, ms));
    const seen: number[] = [];
    const task = (async () => {
      await wait(10);
      seen.push(clock.now());
      await wait(10);
      seen.push(clock.now());
    })();
    await clock.advanceAsync(25);
    await task;
    expect(seen).toEqual([10, 20]);
  });

  it('runUntilSettled() drives timers until the promise settles', async () => {
    const clock = new ManualClock(0);
    const wait = (ms: number) => new Promise<void>((resolve) => clock.setTimeout(resolve, ms));
    const value = await clock.runUntilSettled(
      (async () => {
        for (let i = 0; i < 5; i++) await wait(1_000);
        return clock.now();
      })(),
    );
    expect(value).toBe(5_000);
  });
});

describe('recordEvents', () => {
  it('records named events in order and stops cleanly', () => {
    const emitter = new EventEmitter<{ a: [number]; b: [string]; c: [] }>();
    const recording = recordEvents(emitter, ['a', 'b']);
    emitter.emit('a', 1);
    emitter.emit('c');
    emitter.emit('b', 'x');
    expect(recording.events).toEqual([
      { name: 'a', payload: 1 },
      { name: 'b', payload: 'x' },
    ]);
    expect(recording.of('a')).toEqual([1]);
    recording.stop();
    recording.stop();
    emitter.emit('a', 2);
    expect(recording.events).toHaveLength(2);
    expect(emitter.listenerCount('a')).toBe(0);
  });

  it('without names records every emission until stopped, then restores emit', () => {
    const emitter = new EventEmitter();
    const original = emitter.emit;
    let delivered = 0;
    emitter.on('z', () => delivered++);
    const recording = recordEvents(emitter);
    emitter.emit('y', { n: 1 });
    emitter.emit('z');
    expect(recording.events.map((e) => e.name)).toEqual(['y', 'z']);
    expect(delivered).toBe(1);
    recording.stop();
    expect(emitter.emit).toBe(original);
    emitter.emit('y');
    expect(recording.events).toHaveLength(2);
  });

  it('refuses something that is not an emitter', () => {
    expect(() => recordEvents({}, ['a'])).toThrow(
      expect.objectContaining({ code: 'SYNC_INVALID_OPTION' }),
    );
    expect(() => recordEvents({})).toThrow(
      expect.objectContaining({ code: 'SYNC_INVALID_OPTION' }),
    );
  });
});
