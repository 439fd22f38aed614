import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runDemo } from '../../src/cli/demo/run.js';
import { MemoryStream } from '../../src/cli/io.js';

describe('the end-to-end demo', () => {
  it('fails over, catches A up from B with visible transitions, and verifies zero loss', async () => {
    const out = new MemoryStream();
    const result = await runDemo({
      out,
      tickMs: 20,
      uptimeMs: 600,
      downtimeMs: 1_200,
      afterSyncMs: 200,
      heartbeatIntervalMs: 100,
      overlapMs: 300,
    });

    // Step 3: queries moved from A to B, writes reported A's copy missing, B kept ingesting.
    expect(result.queryRouting).toEqual({ before: 'operator-a', during: 'operator-b' });
    expect(result.missingCopies).toContain('operator-a');
    expect(result.ticksWhileDown).toBeGreaterThan(0);
    // The write line comes from the distributor's result of a batch sent over HTTP after A stopped:
    // B acknowledged it, A missed it (its copy failed, or was not sent because A is down).
    const down = result.writeWhileDown;
    expect(down?.route.copies).toBe(2);
    expect(down?.delivered).toBe(1);
    expect(
      down?.copies.filter((copy) => copy.ok).map((copy) => copy.operator.operatorName),
    ).toEqual(['operator-b']);
    expect(down?.missed.map((operator) => operator.operatorName)).toEqual(['operator-a']);
    expect(down?.complete).toBe(false);
    expect(out.text).toMatch(
      /^ {2}write plant\.sensors -> 2 copies configured; delivered to: operator-b; missing: operator-a \((not_responding since \S+, not sent|PEER_\w+, reported not_responding)\)$/m,
    );
    // Before the stop every batch reached both copies over HTTP.
    expect(out.text).toMatch(
      /after 600 ms: (\d+) ticks, [1-9]\d* batches acknowledged by both copies/,
    );

    // Step 4: the first attempt fails on the injected fault (0 -> 1 -> 2 -> 6), the governor
    // retries by itself, and both deputies then go 0 -> 1 -> 2 -> 3 -> 4 -> 5.
    for (const kind of ['timeSeries', 'events'] as const) {
      const codes = result.transitions
        .filter((transition) => transition.kind === kind)
        .map((transition) => `${transition.fromCode}->${transition.toCode}`);
      expect(codes).toEqual([
        '0->1',
        '1->2',
        '2->6',
        '6->0',
        '0->1',
        '1->2',
        '2->3',
        '3->4',
        '4->5',
      ]);
    }
    expect(result.catchUpAttempts).toBe(2);
    expect(out.text).toMatch(/not caught up after attempt 1: retrying in 300 ms/);
    expect(out.text).toMatch(
      /first catch-up attempt: finished_with_error \(PEER_UNREACHABLE, PEER_UNREACHABLE\); caught up after 2 attempt\(s\)/,
    );
    expect(result.summaries.map((summary) => summary.state)).toEqual([
      'finished_ok',
      'finished_ok',
    ]);

    // The window covers the downtime and A pulled what it missed.
    expect(result.window).not.toBeNull();
    const window = result.window as { from: number; to: number };
    expect(window.to - window.from).toBeGreaterThan(1_200);
    const series = result.summaries.find((summary) => summary.kind === 'timeSeries');
    expect(series?.points).toBeGreaterThan(0);
    // B recorded events (a batch record every 10 ticks at least) that A missed and pulled.
    expect(result.ticksWhileDown).toBeGreaterThanOrEqual(10);
    const events = result.summaries.find((summary) => summary.kind === 'events');
    expect(events?.eventsInserted).toBeGreaterThan(0);

    // Step 5: identical replicas inside the window and over the whole run.
    expect(result.verification?.problems).toEqual([]);
    expect(result.verification?.ok).toBe(true);
    expect(result.verification?.points).toBeGreaterThan(0);
    expect(result.fullVerification?.ok).toBe(true);
    expect(result.ok).toBe(true);

    // The story is readable and the temp directory is gone.
    for (let step = 1; step <= 5; step++) expect(out.text).toContain(`Step ${step}/5:`);
    expect(out.text).toContain('PASS');
    expect(existsSync(result.directory)).toBe(false);
  });
});
