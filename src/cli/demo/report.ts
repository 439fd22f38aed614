/** Output helpers of the demo: step headings, indented lines, small tables, times. */

import type { CliStream } from '../io.js';

/** Formats epoch ms as an ISO time of day with milliseconds (`12:34:56.789Z`). */
export function clockTime(t: number): string {
  return `${new Date(t).toISOString().slice(11, 23)}Z`;
}

/** Formats a window `[from, to)` with its length. */
export function formatWindow(window: { from: number; to: number }): string {
  return `[${clockTime(window.from)}, ${clockTime(window.to)})  ${((window.to - window.from) / 1000).toFixed(1)} s`;
}

/** Renders rows of strings as an aligned text table with a header and a dashed separator. */
export function textTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const render = (cells: readonly string[]): string =>
    cells
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join(' | ')
      .trimEnd();
  return [render(header), widths.map((width) => '-'.repeat(width)).join('-|-'), ...rows.map(render)]
    .map((line) => `${line}\n`)
    .join('');
}

/** Writes the demo's structured output. */
export class DemoReporter {
  readonly #out: CliStream;

  constructor(out: CliStream) {
    this.#out = out;
  }

  /** A step heading: `Step n/5: title` underlined. */
  step(n: number, title: string): void {
    const text = `Step ${n}/5: ${title}`;
    this.#out.write(`\n${text}\n${'='.repeat(text.length)}\n`);
  }

  /** An indented line. */
  line(text = ''): void {
    this.#out.write(text === '' ? '\n' : `  ${text}\n`);
  }

  /** A block of text (e.g. a table), indented. */
  block(text: string): void {
    for (const line of text.replace(/\n$/, '').split('\n')) this.#out.write(`  ${line}\n`);
  }
}
