// Type tests: a real OpenTelemetry Meter is a MeterLike, and the logger shape fits console.
import type { Meter } from '@opentelemetry/api';
import { describe, expectTypeOf, it } from 'vitest';
import type {
  HAGovernor,
  HAGovernorOptions,
  Logger,
  MeterLike,
  MetricsSnapshot,
} from '../../src/index.js';

describe('MeterLike', () => {
  it('accepts the Meter type of @opentelemetry/api', () => {
    expectTypeOf<Meter>().toExtend<MeterLike>();
    expectTypeOf<Meter>().toExtend<NonNullable<HAGovernorOptions['meter']>>();
  });

  it('does not accept an object without the instrument factories', () => {
    expectTypeOf<{ createCounter(name: string): void }>().not.toExtend<MeterLike>();
  });
});

describe('Logger', () => {
  it('accepts console and a pino-shaped logger', () => {
    expectTypeOf<Console>().toExtend<Logger>();
    interface PinoLike {
      info(obj: unknown, msg?: string, ...args: unknown[]): void;
      warn(obj: unknown, msg?: string, ...args: unknown[]): void;
      error(obj: unknown, msg?: string, ...args: unknown[]): void;
      debug(obj: unknown, msg?: string, ...args: unknown[]): void;
    }
    expectTypeOf<PinoLike>().toExtend<Logger>();
    expectTypeOf<{ info(): void }>().not.toExtend<Logger>();
  });
});

describe('metrics()', () => {
  it('returns a MetricsSnapshot', () => {
    expectTypeOf<HAGovernor['metrics']>().returns.toEqualTypeOf<MetricsSnapshot>();
  });
});
