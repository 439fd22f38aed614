/**
 * Progress output: a live bar redrawn in place on a terminal, plain lines otherwise (logs, CI,
 * pipes), so the output of a sync stays readable in both.
 */

import type { CliStream } from './io.js';

/** What the progress bar shows. */
export interface ProgressView {
  /** Short label, e.g. `series` or `events`. */
  readonly label: string;
  /** Units done (items for time series, pages for events). */
  readonly done: number;
  /** Name of the unit counted by `done`. @default 'items' */
  readonly unit?: string;
  /** Units in total, or `undefined` while unknown. */
  readonly total: number | undefined;
  /** Points applied so far. */
  readonly points: number;
  /** Events inserted so far. */
  readonly events: number;
}

/** How long a piece of work has run and how fast it goes, for the bar on a terminal. */
export interface ProgressTiming {
  /** Milliseconds since the first view of this label. */
  readonly elapsedMs: number;
}

/** `m:ss` (or `h:mm:ss`) of a duration. */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = String(total % 60).padStart(2, '0');
  return hours > 0
    ? `${hours}:${String(minutes).padStart(2, '0')}:${seconds}`
    : `${minutes}:${seconds}`;
}

/** A rate with a k/M suffix: `850/s`, `12.5 k/s`, `2.1 M/s`. */
export function formatRate(perSecond: number): string {
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(1)} M/s`;
  if (perSecond >= 1e4) return `${(perSecond / 1e3).toFixed(1)} k/s`;
  return `${Math.round(perSecond)}/s`;
}

/**
 * Renders the bar text of one view (without control characters). With `timing`, the elapsed
 * time, the rate of records (points, or events for the events deputy) and, once some units are
 * done out of a known total, the estimated time left (`ETA`, by the units' rate so far).
 */
export function renderBar(view: ProgressView, width = 24, timing?: ProgressTiming): string {
  const total = view.total ?? 0;
  const ratio = total > 0 ? Math.min(1, view.done / total) : view.done > 0 ? 1 : 0;
  const filled = Math.round(ratio * width);
  const bar = `${'#'.repeat(filled)}${'-'.repeat(width - filled)}`;
  const count = view.total === undefined ? `${view.done}` : `${view.done}/${view.total}`;
  const text = `${view.label.padEnd(7)} [${bar}] ${count} ${view.unit ?? 'items'}  points ${view.points}  events ${view.events}`;
  if (timing === undefined) return text;
  const seconds = timing.elapsedMs / 1000;
  const records = view.points + view.events;
  const parts = [`elapsed ${formatDuration(timing.elapsedMs)}`];
  if (seconds > 0 && records > 0) parts.unshift(`${formatRate(records / seconds)}`);
  if (view.total !== undefined && view.done > 0 && view.done < view.total) {
    parts.push(`ETA ${formatDuration((timing.elapsedMs * (view.total - view.done)) / view.done)}`);
  }
  return `${text}  ${parts.join('  ')}`;
}

/**
 * Shows progress on `stream`. On a TTY the bar is redrawn in place and other lines are printed
 * above it; otherwise a plain line is printed each time the `done` count or the label changes.
 */
export class ProgressPrinter {
  readonly #stream: CliStream;
  readonly #tty: boolean;
  readonly #indent: string;
  readonly #now: () => number;
  readonly #started = new Map<string, number>();
  #bar: string | undefined;
  #lastPlain = '';

  /**
   * @param indent - Prefix of every line and of the bar.
   * @param now - The clock of the elapsed time and rates, in ms (default `performance.now`).
   */
  constructor(stream: CliStream, indent = '', now: () => number = () => performance.now()) {
    this.#stream = stream;
    this.#tty = stream.isTTY === true;
    this.#indent = indent;
    this.#now = now;
  }

  /** Shows the current progress (on a terminal with elapsed time, rate and ETA). */
  update(view: ProgressView): void {
    if (this.#tty) {
      const now = this.#now();
      const started = this.#started.get(view.label) ?? now;
      this.#started.set(view.label, started);
      const text = `${this.#indent}${renderBar(view, 24, { elapsedMs: now - started })}`;
      this.#bar = text;
      this.#stream.write(`\r\x1b[2K${text}`);
      return;
    }
    const key = `${view.label}:${view.done}:${view.total ?? ''}`;
    if (key === this.#lastPlain) return;
    this.#lastPlain = key;
    this.#stream.write(`${this.#indent}progress ${renderBar(view)}\n`);
  }

  /** Prints a line (a transition, a message) without breaking the bar. */
  line(text: string): void {
    if (this.#tty && this.#bar !== undefined) {
      this.#stream.write(`\r\x1b[2K${this.#indent}${text}\n${this.#bar}`);
    } else {
      this.#stream.write(`${this.#indent}${text}\n`);
    }
  }

  /** Ends the bar (leaves its last state on screen). */
  done(): void {
    if (this.#tty && this.#bar !== undefined) this.#stream.write('\n');
    this.#bar = undefined;
  }
}
