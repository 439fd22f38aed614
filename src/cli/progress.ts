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

/** Renders the bar text of one view (without control characters). */
export function renderBar(view: ProgressView, width = 24): string {
  const total = view.total ?? 0;
  const ratio = total > 0 ? Math.min(1, view.done / total) : view.done > 0 ? 1 : 0;
  const filled = Math.round(ratio * width);
  const bar = `${'#'.repeat(filled)}${'-'.repeat(width - filled)}`;
  const count = view.total === undefined ? `${view.done}` : `${view.done}/${view.total}`;
  return `${view.label.padEnd(7)} [${bar}] ${count} ${view.unit ?? 'items'}  points ${view.points}  events ${view.events}`;
}

/**
 * Shows progress on `stream`. On a TTY the bar is redrawn in place and other lines are printed
 * above it; otherwise a plain line is printed each time the `done` count or the label changes.
 */
export class ProgressPrinter {
  readonly #stream: CliStream;
  readonly #tty: boolean;
  readonly #indent: string;
  #bar: string | undefined;
  #lastPlain = '';

  /** @param indent - Prefix of every line and of the bar. */
  constructor(stream: CliStream, indent = '') {
    this.#stream = stream;
    this.#tty = stream.isTTY === true;
    this.#indent = indent;
  }

  /** Shows the current progress. */
  update(view: ProgressView): void {
    const text = `${this.#indent}${renderBar(view)}`;
    if (this.#tty) {
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
