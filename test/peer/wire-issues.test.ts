import { describe, expect, it } from 'vitest';
import {
  describeIssues,
  helloReplySchema,
  pointsRequestSchema,
  writePointsRequestSchema,
} from '../../src/peer/wire.js';

/** The sentence `describeIssues` makes of one failed parse. */
function describe1(
  schema: { safeParse(value: unknown): { success: boolean; error?: unknown } },
  value: unknown,
): string {
  const parsed = schema.safeParse(value);
  expect(parsed.success).toBe(false);
  return describeIssues(parsed.error as Parameters<typeof describeIssues>[0]);
}

describe('describeIssues: what a peer is told about a bad body', () => {
  it('names the path and the rule of every built-in check, never "Invalid input"', () => {
    const text = describe1(pointsRequestSchema, {
      item: '',
      window: { from: 0, to: 10 },
      limit: 0,
      extra: true,
    });
    expect(text).toBe(
      'item: must have at least 1 characters; limit: must be >= 1; (root): unknown key "extra"',
    );
    expect(text).not.toContain('Invalid input');
  });

  it('says which type was expected', () => {
    expect(
      describe1(pointsRequestSchema, { item: 'a', window: { from: 0, to: 1 }, limit: 1.5 }),
    ).toBe('limit: expected int');
    expect(
      describe1(pointsRequestSchema, { item: 'a', window: { from: 0, to: 'x' }, limit: 1 }),
    ).toBe('window.to: expected number');
  });

  it('keeps the message of the project’s own refinements', () => {
    expect(
      describe1(pointsRequestSchema, { item: 'a', window: { from: 5, to: 1 }, limit: 1 }),
    ).toBe('window: window.from must be <= window.to');
    expect(
      describe1(pointsRequestSchema, { item: 'a\uD800', window: { from: 0, to: 1 }, limit: 1 }),
    ).toBe('item: must not contain a lone UTF-16 surrogate');
  });

  it('describes a value of no allowed type and caps the list at three problems', () => {
    const text = describe1(writePointsRequestSchema, {
      item: 'a',
      points: [
        { t: 1, v: {} },
        { t: 2, v: [] },
        { t: 3, v: { a: 1 } },
        { t: 4, v: [1] },
      ],
    });
    expect(text).toBe(
      'points.0.v: matches none of the allowed types; points.1.v: matches none of the allowed types; points.2.v: matches none of the allowed types; and 1 more',
    );
  });

  it('describes bounds of arrays and numbers in a reply', () => {
    const gaps = Array.from({ length: 10_000 }, () => ({ from: 0, to: 1 }));
    expect(
      describe1(helloReplySchema, { instanceId: 'b', protocolVersion: -1, now: 1, gaps }),
    ).toMatch(/^protocolVersion: must be >= 0; gaps: must have at most \d+ entries$/);
  });
});
