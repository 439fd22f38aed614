/**
 * pythonRepr's printability is Python 3.11's (Unicode 14.0), frozen in
 * src/policy/unicode-printable.ts; test/fixtures/policy/make-printable-table.py generates both
 * that table and the fixture below from a real Python, so neither follows Node's ICU.
 */

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { computePolicyId } from '../../src/policy/id.js';
import { pythonRepr } from '../../src/policy/repr.js';
import { PYTHON_UNICODE_VERSION } from '../../src/policy/unicode-printable.js';

const fixture = JSON.parse(
  readFileSync(new URL('../fixtures/policy/python-printable.json', import.meta.url), 'utf8'),
) as { python: string; unicode: string; cases: [number, string][] };

describe('pythonRepr printability (Python 3.11, Unicode 14.0)', () => {
  it('was generated for the Unicode version AnyLog runs', () => {
    expect(fixture.unicode).toBe('14.0.0');
    expect(PYTHON_UNICODE_VERSION).toBe(fixture.unicode);
  });

  it("matches Python's repr() of every character at and around each range boundary", () => {
    const wrong = fixture.cases.filter(
      ([cp, repr]) => pythonRepr(String.fromCodePoint(cp)) !== repr,
    );
    expect(wrong.slice(0, 5)).toEqual([]);
    expect(fixture.cases.length).toBeGreaterThan(2000);
  });

  it('escapes characters assigned after Unicode 14 (U+1F6DC) into the id, as AnyLog does', () => {
    expect(pythonRepr('\u{1F6DC}')).toBe("'\\U0001f6dc'");
    // md5("{'sensor': {'name': '\\U0001f6dc'}}") computed by Python 3.11
    expect(computePolicyId({ sensor: { name: '\u{1F6DC}' } })).toBe(
      'eeac0d41e0b9879fbfbc9d12dd5a1b9a',
    );
  });
});
