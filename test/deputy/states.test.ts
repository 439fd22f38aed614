import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { exponentialBackoff } from '../../src/deputy/retry.js';
import {
  DEPUTY_STATES,
  DEPUTY_TRANSITIONS,
  type DeputyEventType,
  type DeputyStateName,
  deputyStateDiagram,
  step,
  stepOrThrow,
} from '../../src/deputy/states.js';
import { isEdgeHaError } from '../../src/errors.js';

const STATES = Object.keys(DEPUTY_STATES) as DeputyStateName[];
const EVENTS: DeputyEventType[] = [
  'RESET',
  'START',
  'CONNECT',
  'CONNECTED',
  'REQUEST_SENT',
  'SUCCEED',
  'NOTHING_TO_DO',
  'FAIL',
];

describe('deputy states', () => {
  it('keeps the Apis DeputyState codes', () => {
    expect(DEPUTY_STATES).toEqual({
      idle: 0,
      started: 1,
      waiting_for_connection: 2,
      sending_sync_request: 3,
      waiting_for_reply: 4,
      finished_ok: 5,
      finished_with_error: 6,
    });
    expect(Object.isFrozen(DEPUTY_STATES)).toBe(true);
    expect(Object.isFrozen(DEPUTY_TRANSITIONS)).toBe(true);
  });

  it('step() follows the table and returns null for everything else', () => {
    for (const state of STATES) {
      for (const event of EVENTS) {
        const row = DEPUTY_TRANSITIONS.find((r) => r.from === state && r.event === event);
        expect(step(state, event)).toBe(row?.to ?? null);
      }
    }
    expect(step('idle', 'SUCCEED')).toBeNull();
    expect(step('finished_ok', 'START')).toBeNull();
  });

  it('the table is deterministic, every run reaches a finished state, and finished states only reset', () => {
    const keys = DEPUTY_TRANSITIONS.map((r) => `${r.from}|${r.event}`);
    expect(new Set(keys).size).toBe(keys.length);
    for (const state of [
      'started',
      'waiting_for_connection',
      'sending_sync_request',
      'waiting_for_reply',
    ] as const) {
      expect(step(state, 'FAIL')).toBe('finished_with_error');
    }
    for (const state of ['finished_ok', 'finished_with_error'] as const) {
      expect(
        DEPUTY_TRANSITIONS.filter((r) => r.from === state).map((r) => [r.event, r.to]),
      ).toEqual([['RESET', 'idle']]);
    }
    expect(DEPUTY_TRANSITIONS.filter((r) => r.from === 'idle').map((r) => r.to)).toEqual([
      'started',
    ]);
  });

  it('stepOrThrow() refuses an illegal transition with a coded error', () => {
    expect(stepOrThrow('idle', 'START')).toBe('started');
    let caught: unknown;
    try {
      stepOrThrow('idle', 'SUCCEED');
    } catch (error) {
      caught = error;
    }
    expect(isEdgeHaError(caught, 'SYNC_ILLEGAL_TRANSITION')).toBe(true);
  });

  it('the Mermaid diagram lists every state with its code and every transition', () => {
    const diagram = deputyStateDiagram();
    expect(diagram.startsWith('stateDiagram-v2\n')).toBe(true);
    for (const [name, code] of Object.entries(DEPUTY_STATES)) {
      expect(diagram).toContain(`${name}: ${name} (${code})`);
    }
    for (const row of DEPUTY_TRANSITIONS) {
      expect(diagram).toContain(`${row.from} --> ${row.to}: ${row.event}`);
    }
  });

  it('docs/sync.md contains the current generated diagram', () => {
    const doc = readFileSync(new URL('../../docs/sync.md', import.meta.url), 'utf8');
    expect(doc).toContain(`\`\`\`mermaid\n${deputyStateDiagram()}\`\`\``);
  });
});

describe('exponentialBackoff', () => {
  it('grows exponentially up to the ceiling', () => {
    const backoff = exponentialBackoff({
      initialDelayMs: 100,
      factor: 3,
      maxDelayMs: 1_000,
      jitter: 0,
    });
    expect([1, 2, 3, 4, 5].map(backoff)).toEqual([100, 300, 900, 1_000, 1_000]);
  });

  it('applies jitter within ±jitter, deterministically with an injected random source', () => {
    const low = exponentialBackoff({ initialDelayMs: 1_000, jitter: 0.5, random: () => 0 });
    const high = exponentialBackoff({ initialDelayMs: 1_000, jitter: 0.5, random: () => 0.999999 });
    expect(low(1)).toBe(500);
    expect(high(1)).toBe(1_500);
    const real = exponentialBackoff({ initialDelayMs: 1_000, jitter: 0.2 });
    for (let i = 0; i < 50; i++) {
      const delay = real(2);
      expect(delay).toBeGreaterThanOrEqual(1_600);
      expect(delay).toBeLessThanOrEqual(2_400);
    }
  });

  it('rejects invalid settings', () => {
    for (const bad of [
      { factor: 0.5 },
      { jitter: 2 },
      { initialDelayMs: -1 },
      { maxDelayMs: Number.NaN },
    ]) {
      expect(() => exponentialBackoff(bad)).toThrow(
        expect.objectContaining({ code: 'SYNC_INVALID_OPTION' }),
      );
    }
  });
});
