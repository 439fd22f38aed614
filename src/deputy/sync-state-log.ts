/**
 * SyncState (Apis' state item, as data): the bounded list of info, warning and error messages of
 * a deputy's current run, and the messages reported between runs, which open the next one.
 *
 * @internal
 */

import type { Clock } from '../clock.js';
import type { DeputyKind, SyncStateLevel, SyncStateMessage } from './types.js';

/** The messages of one deputy: the current (or last) run's, bounded; older ones are counted. */
export class SyncStateLog {
  readonly #kind: DeputyKind;
  readonly #clock: Clock;
  readonly #limit: number;
  #messages: SyncStateMessage[] = [];
  #dropped = 0;
  #inRun = false;
  #between: SyncStateMessage[] = [];

  constructor(kind: DeputyKind, clock: Clock, limit: number) {
    this.#kind = kind;
    this.#clock = clock;
    this.#limit = limit;
  }

  /** Adds a message (kept in the run's list; between runs, also carried into the next run). */
  add(
    level: SyncStateLevel,
    code: string | null,
    message: string,
    item: string | null,
  ): SyncStateMessage {
    const entry: SyncStateMessage = {
      kind: this.#kind,
      at: this.#clock.now(),
      level,
      code,
      item,
      message,
    };
    if (!this.#inRun) {
      this.#between.push(entry);
      if (this.#between.length > this.#limit) this.#between.shift();
    }
    this.#messages.push(entry);
    if (this.#messages.length > this.#limit) {
      this.#messages.shift();
      this.#dropped++;
    }
    return entry;
  }

  /** A run starts: its list opens with the messages reported since the last run. */
  startRun(): void {
    this.#inRun = true;
    this.#messages = this.#between;
    this.#between = [];
    this.#dropped = 0;
  }

  /** The run ended: later messages are carried into the next run. */
  endRun(): void {
    this.#inRun = false;
  }

  /** The messages, oldest first (a copy). */
  get messages(): SyncStateMessage[] {
    return [...this.#messages];
  }

  /** Messages dropped from the run's list because of its bound. */
  get dropped(): number {
    return this.#dropped;
  }
}
