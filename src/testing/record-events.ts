/**
 * Records what an emitter emits, so tests can assert exact event sequences.
 */

import { SyncError } from '../errors.js';

/** One recorded emission. */
export interface RecordedEvent {
  /** The event name. */
  readonly name: string;
  /** The first argument of the emission (edge-ha events carry exactly one). */
  readonly payload: unknown;
}

/** What {@link recordEvents} returns. */
export interface EventRecording {
  /** The emissions so far, in order (a live array). */
  readonly events: RecordedEvent[];
  /** Payloads of the emissions named `name`, in order. */
  of(name: string): unknown[];
  /** Stops recording (removes the listeners or restores `emit`). Idempotent. */
  stop(): void;
}

type Listener = (...args: unknown[]) => void;

interface ListeningEmitter {
  on(event: string, listener: Listener): unknown;
  off(event: string, listener: Listener): unknown;
}

interface EmittingEmitter {
  emit(event: string, ...args: unknown[]): boolean;
}

/**
 * Starts recording the events of `emitter` (any deputy, the governor, or another emitter with
 * `on`/`off`/`emit`). With `names`, only those events are recorded, through ordinary listeners;
 * without, every emission is recorded by wrapping the emitter's `emit` until `stop()`.
 *
 * @throws {SyncError} `SYNC_INVALID_OPTION` when `emitter` has no `on`/`off` (with names) or no
 * `emit` (without).
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from 'node:assert';
 * import type { DeputyTransitionEvent, TimeSeriesDeputy, TimeWindow } from 'edge-ha';
 * import { recordEvents } from 'edge-ha/testing';
 *
 * declare const deputy: TimeSeriesDeputy;
 * declare const window: TimeWindow;
 * const recording = recordEvents(deputy, ['transition']);
 * await deputy.run(window);
 * const transitions = recording.of('transition') as DeputyTransitionEvent[];
 * deepStrictEqual(transitions.map((e) => e.toCode), [1, 2, 3, 4, 5]);
 * recording.stop();
 * ```
 */
export function recordEvents(emitter: object, names?: readonly string[]): EventRecording {
  const events: RecordedEvent[] = [];
  let stop: () => void;
  if (names !== undefined) {
    const target = emitter as Partial<ListeningEmitter>;
    if (typeof target.on !== 'function' || typeof target.off !== 'function') {
      throw new SyncError(
        'SYNC_INVALID_OPTION',
        'recordEvents needs an emitter with on() and off().',
      );
    }
    const listening = target as ListeningEmitter;
    const listeners = names.map((name) => {
      const listener: Listener = (...args) => {
        events.push({ name, payload: args[0] });
      };
      listening.on(name, listener);
      return [name, listener] as const;
    });
    stop = () => {
      for (const [name, listener] of listeners) listening.off(name, listener);
    };
  } else {
    const target = emitter as Partial<EmittingEmitter>;
    const original = target.emit;
    if (typeof original !== 'function') {
      throw new SyncError('SYNC_INVALID_OPTION', 'recordEvents needs an emitter with emit().');
    }
    const hadOwn = Object.hasOwn(target, 'emit');
    const wrapped = function (this: unknown, event: string, ...args: unknown[]): boolean {
      events.push({ name: String(event), payload: args[0] });
      return original.call(this, event, ...args);
    };
    (target as EmittingEmitter).emit = wrapped;
    stop = () => {
      if ((target as EmittingEmitter).emit !== wrapped) return;
      if (hadOwn) (target as EmittingEmitter).emit = original;
      else delete (target as { emit?: unknown }).emit;
    };
  }
  let stopped = false;
  return {
    events,
    of: (name) => events.filter((event) => event.name === name).map((event) => event.payload),
    stop: () => {
      if (stopped) return;
      stopped = true;
      stop();
    },
  };
}
