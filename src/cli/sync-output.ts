/** Printing a governor's deputies as they work: transitions, progress, messages, summaries. */

import type { SyncGap } from '../deputy/ledger.js';
import type {
  DeputyKind,
  DeputyProgress,
  DeputyRunSummary,
  DeputyTransitionEvent,
  SyncStateMessage,
} from '../deputy/types.js';
import type { GovernorRunResult, GovernorStatus, HAGovernor } from '../governor/governor.js';
import type { TimeWindow } from '../storage/types.js';
import { clockTime } from './demo/report.js';
import type { CliStream } from './io.js';
import { ProgressPrinter } from './progress.js';

/** Short display name of a deputy kind. */
export function kindLabel(kind: DeputyKind): string {
  return kind === 'timeSeries' ? 'series' : 'events';
}

/** One transition as a line: `[series] 2 waiting_for_connection -> 3 sending_sync_request (…)`. */
export function formatTransition(event: DeputyTransitionEvent): string {
  return `[${kindLabel(event.kind)}] ${event.fromCode} ${event.from} -> ${event.toCode} ${event.to}${
    event.reason ? `  (${event.reason})` : ''
  }`;
}

/** One summary as a line. */
export function formatSummary(summary: DeputyRunSummary): string {
  const work =
    summary.kind === 'timeSeries'
      ? `${summary.items.ok}/${summary.items.total} items, ${summary.points} points`
      : `${summary.eventsInserted} of ${summary.events} events inserted`;
  const failed =
    (summary.items.skipped > 0 ? `, ${summary.items.skipped} items unknown to the peer` : '') +
    (summary.items.failed > 0 ? `, ${summary.items.failed} items failed` : '');
  const peer = summary.peer ? `, from ${summary.peer}` : '';
  return `[${kindLabel(summary.kind)}] ${summary.state} (${summary.code}) in ${summary.durationMs} ms: ${work}${failed}, ${summary.pages} pages, ${summary.retries} retries${peer}`;
}

/** A `DeputyProgress` as the progress bar's view. */
export function progressView(progress: DeputyProgress): {
  label: string;
  done: number;
  unit: string;
  total: number | undefined;
  points: number;
  events: number;
} {
  const series = progress.kind === 'timeSeries';
  return {
    label: kindLabel(progress.kind),
    done: series ? progress.itemsDone + progress.itemsFailed : progress.pages,
    unit: series ? 'items' : 'pages',
    total: series ? progress.itemsTotal : undefined,
    points: progress.points,
    events: progress.eventsInserted,
  };
}

/**
 * Prints the governor's transitions, warnings/errors and progress on `stream` (the progress bar
 * only on a terminal; plain lines otherwise). Returns a function that detaches the listeners.
 */
export function attachSyncOutput(
  governor: HAGovernor,
  stream: CliStream,
  options: { indent?: string; timestamps?: boolean } = {},
): { progress: ProgressPrinter; detach(): void } {
  const indent = options.indent ?? '';
  const stamp = (t: number): string => (options.timestamps ? `${clockTime(t)} ` : '');
  const progress = new ProgressPrinter(stream, indent);
  const onTransition = (event: DeputyTransitionEvent): void =>
    progress.line(`${stamp(event.at)}${formatTransition(event)}`);
  const onProgress = (event: DeputyProgress): void => progress.update(progressView(event));
  const onMessage = (message: SyncStateMessage): void => {
    if (message.level === 'info') return;
    progress.line(
      `${stamp(message.at)}[${message.kind === 'governor' ? 'governor' : kindLabel(message.kind)}] ${
        message.level
      }${message.code ? ` ${message.code}` : ''}${message.item ? ` ${message.item}` : ''}: ${message.message}`,
    );
  };
  governor.on('transition', onTransition);
  governor.on('progress', onProgress);
  governor.on('syncState', onMessage);
  return {
    progress,
    detach() {
      governor.off('transition', onTransition);
      governor.off('progress', onProgress);
      governor.off('syncState', onMessage);
      progress.done();
    },
  };
}

/**
 * One gap as a line, with ISO 8601 UTC times:
 * `gap 3 [2023-11-14T22:13:20.000Z, 2023-11-14T22:14:20.000Z) 60 s overwrite (downtime)`.
 * (`--format json` keeps epoch milliseconds.)
 */
export function formatGap(gap: SyncGap): string {
  const seconds = (gap.to - gap.from) / 1000;
  const pending = gap.pendingMargins === null ? '' : ', clock-skew margins pending';
  const iso = (t: number): string => new Date(t).toISOString();
  return `gap ${gap.id} [${iso(gap.from)}, ${iso(gap.to)}) ${seconds} s ${gap.mode} (${gap.reason}${pending})`;
}

/** The gaps of a run, one line each (`nothing to sync` for none). */
export function formatGaps(gaps: readonly SyncGap[]): string[] {
  return gaps.length === 0 ? ['gaps: nothing to sync'] : gaps.map(formatGap);
}

/**
 * The gaps left in a governor's ledgers after a run, per deputy (`series 1, events 1`), or
 * `null` when both are empty (caught up).
 */
export function formatGapsLeft(gaps: GovernorStatus['gaps']): string | null {
  const parts: string[] = [];
  if ((gaps.timeSeries?.length ?? 0) > 0) parts.push(`series ${gaps.timeSeries?.length}`);
  if ((gaps.events?.length ?? 0) > 0) parts.push(`events ${gaps.events?.length}`);
  return parts.length === 0 ? null : parts.join(', ');
}

/** The summaries of a governor run (enabled deputies only) and the gaps they synced. */
export function runOutcome(result: GovernorRunResult): {
  summaries: DeputyRunSummary[];
  gaps: readonly SyncGap[];
  window: TimeWindow | null;
  ok: boolean;
} {
  const summaries = [result.timeSeries, result.events].filter(
    (summary): summary is DeputyRunSummary => summary !== null,
  );
  const first = summaries[0];
  const ok = summaries.length > 0 && summaries.every((summary) => summary.state === 'finished_ok');
  return { summaries, gaps: first?.gaps ?? [], window: first?.window ?? null, ok };
}
