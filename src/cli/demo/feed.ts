/**
 * The demo's simulated sensor feed: a few plant items sampled on a fixed tick, with alarms (as
 * events) when a value crosses its limit and a batch record every few ticks. Deterministic values from the tick number, real time
 * stamps from the clock.
 */

import type { EventRecord, Point } from '../../storage/types.js';

/** A simulated sensor. */
export interface DemoSensor {
  /** Stable item id. */
  readonly item: string;
  /** Engineering unit, for display. */
  readonly unit: string;
  /** Centre of the signal. */
  readonly base: number;
  /** Amplitude of the oscillation. */
  readonly amplitude: number;
  /** Alarm limit: a sample crossing above it raises an alarm event. */
  readonly limit: number;
}

/** The sensors of the demo plant. */
export const DEMO_SENSORS: readonly DemoSensor[] = [
  { item: 'plant/boiler-1/temperature', unit: '°C', base: 82, amplitude: 6, limit: 87 },
  { item: 'plant/boiler-1/pressure', unit: 'bar', base: 4.2, amplitude: 0.5, limit: 4.6 },
  { item: 'plant/pump-1/flow', unit: 'm³/h', base: 120, amplitude: 15, limit: 133 },
  { item: 'plant/pump-1/vibration', unit: 'mm/s', base: 2.5, amplitude: 1.5, limit: 3.8 },
  { item: 'plant/tank-1/level', unit: '%', base: 55, amplitude: 20, limit: 73 },
];

/** Every this many ticks, a `BatchComplete` event is recorded too. */
export const BATCH_TICKS = 10;

/** One tick of the feed: a point per sensor and the events recorded. */
export interface FeedSample {
  /** Tick number, from 0. */
  readonly tick: number;
  /** Time stamp of every point of the tick, epoch ms. */
  readonly t: number;
  /** One point per sensor item. */
  readonly points: readonly { readonly item: string; readonly point: Point }[];
  /**
   * Events of this tick: an alarm per value crossing above its limit (`alarm-<tick>-<sensor>`),
   * and every {@link BATCH_TICKS} ticks a `BatchComplete` record (`batch-<n>`).
   */
  readonly events: readonly EventRecord[];
}

/** The value of `sensor` at `tick` (a slow wave per sensor plus a deterministic ripple). */
export function sensorValue(sensor: DemoSensor, index: number, tick: number): number {
  const wave = Math.sin(tick / (7 + index * 3) + index);
  const ripple = Math.sin(tick * 1.7 + index * 11) * 0.15;
  return Math.round((sensor.base + sensor.amplitude * (wave + ripple)) * 1000) / 1000;
}

/** The sample of one tick. */
export function sampleFeed(
  tick: number,
  t: number,
  sensors: readonly DemoSensor[] = DEMO_SENSORS,
): FeedSample {
  const points: { item: string; point: Point }[] = [];
  const events: EventRecord[] = [];
  sensors.forEach((sensor, index) => {
    const v = sensorValue(sensor, index, tick);
    points.push({ item: sensor.item, point: { t, v, q: 192 } });
    const previous = tick === 0 ? sensor.base : sensorValue(sensor, index, tick - 1);
    if (v > sensor.limit && previous <= sensor.limit) {
      events.push({
        id: `alarm-${tick}-${index}`,
        t,
        body: {
          item: sensor.item,
          kind: 'HighLimit',
          severity: 700,
          value: v,
          limit: sensor.limit,
          message: `${sensor.item} above ${sensor.limit} ${sensor.unit}`,
        },
      });
    }
  });
  if (tick % BATCH_TICKS === BATCH_TICKS - 1) {
    events.push({
      id: `batch-${(tick + 1) / BATCH_TICKS}`,
      t,
      body: { kind: 'BatchComplete', batch: (tick + 1) / BATCH_TICKS, ticks: BATCH_TICKS },
    });
  }
  return { tick, t, points, events };
}
