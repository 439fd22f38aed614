/**
 * docs/performance.md shows only figures a run produced: its results block is the rendering of
 * the committed record of a complete full-size run (`bench/results.json`), which covers every
 * benchmark `npm run bench` runs and every target with its value and pass/miss.
 */

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  currentBlock,
  DOC_FILE,
  readRecord,
  renderReport,
  replaceBlock,
} from '../../bench/report.js';
import { BENCHMARKS } from '../../bench/run.js';

describe('docs/performance.md and bench/results.json', () => {
  const record = readRecord();
  const doc = readFileSync(DOC_FILE, 'utf8');

  it('the record is a complete full-size run of every benchmark, without a crash', () => {
    expect(record.complete).toBe(true);
    expect(record.mode).toBe('full');
    expect(record.command).toBe('npm run bench');
    expect(record.failures).toEqual({});
    expect(Object.keys(record.benchmarks).sort()).toEqual(Object.keys(BENCHMARKS).sort());
  });

  it('every target has its measured value, its threshold and whether it was met', () => {
    let count = 0;
    for (const [name, benchmark] of Object.entries(record.benchmarks)) {
      expect(benchmark.targets.length, `${name} has targets`).toBeGreaterThan(0);
      for (const t of benchmark.targets) {
        count++;
        if (t.unavailable === undefined)
          expect(Number.isFinite(t.value), `${name}/${t.id}`).toBe(true);
        expect(Number.isFinite(t.threshold), `${name}/${t.id}`).toBe(true);
        expect(typeof t.pass, `${name}/${t.id}`).toBe('boolean');
      }
    }
    expect(record.summary.targets).toBe(count);
  });

  it('the results block of the page is the rendering of the record (npm run bench:report)', () => {
    expect(currentBlock(doc), 'run `npm run bench:report`').toBe(renderReport(record));
    expect(replaceBlock(doc, renderReport(record))).toBe(doc);
  });

  it('the rendering shows every target and every benchmark table', () => {
    const block = renderReport(record);
    for (const [name, benchmark] of Object.entries(record.benchmarks)) {
      expect(block).toContain(`### \`${name}\``);
      for (const t of benchmark.targets) expect(block).toContain(t.description);
    }
    const passed = Object.values(record.benchmarks)
      .flatMap((b) => b.targets)
      .filter((t) => t.pass).length;
    expect(block).toContain(`**${passed} of ${record.summary.targets} targets met.**`);
  });
});
