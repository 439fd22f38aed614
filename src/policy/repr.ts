/** Python 3 `repr()` emulation for policy values (the text AnyLog hashes into policy ids). */

import { PolicyError } from '../errors.js';
import { getNumberMark, type MarkContainer, orderedKeys } from './marks.js';
import type { PolicyValue } from './types.js';
import { NON_PRINTABLE_RANGES } from './unicode-printable.js';

/**
 * Hard ceiling on nesting for every recursive walk of the policy module, whatever the options
 * say: deep enough for any real policy, shallow enough never to exhaust the JS stack.
 */
export const HARD_MAX_DEPTH = 1000;

/**
 * Whether Python 3.11's `str.isprintable()` rejects the code point (`cp >= 0x7f`): a binary
 * search of the frozen Unicode 14.0 table (not the JS engine's Unicode tables, which follow the
 * ICU of the Node version and would change ids with a Node upgrade).
 */
function nonPrintable(cp: number): boolean {
  const ranges = NON_PRINTABLE_RANGES;
  let lo = 0;
  let hi = ranges.length / 2 - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (cp < (ranges[2 * mid] as number)) hi = mid - 1;
    else if (cp > (ranges[2 * mid + 1] as number)) lo = mid + 1;
    else return true;
  }
  return false;
}
/** Strings needing no escape at all: printable ASCII without quote or backslash. */
const PLAIN_ASCII = /^[\x20-\x26\x28-\x5b\x5d-\x7e]*$/;

function hex(codePoint: number, width: number): string {
  return codePoint.toString(16).padStart(width, '0');
}

/** Python's `repr(str)`. */
export function pythonStr(text: string): string {
  if (PLAIN_ASCII.test(text)) return `'${text}'`;
  const quoteCode = text.includes("'") && !text.includes('"') ? 0x22 : 0x27;
  const quote = quoteCode === 0x22 ? '"' : "'";
  // One scan by UTF-16 unit; runs of characters printed as they are are copied with one slice.
  let out = quote;
  let run = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x20 && c < 0x7f) {
      if (c === quoteCode || c === 0x5c) {
        out += `${text.slice(run, i)}\\${text[i]}`;
        run = i + 1;
      }
      continue;
    }
    let cp = c;
    let width = 1;
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
      const low = text.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        cp = (c - 0xd800) * 0x400 + (low - 0xdc00) + 0x10000;
        width = 2;
      }
    }
    let printed: string;
    if (c === 0x09) printed = '\\t';
    else if (c === 0x0a) printed = '\\n';
    else if (c === 0x0d) printed = '\\r';
    else if (cp < 0x20 || cp === 0x7f) printed = `\\x${hex(cp, 2)}`;
    else if (!nonPrintable(cp)) {
      i += width - 1;
      continue;
    } else if (cp <= 0xff) printed = `\\x${hex(cp, 2)}`;
    else if (cp <= 0xffff) printed = `\\u${hex(cp, 4)}`;
    else printed = `\\U${hex(cp, 8)}`;
    out += text.slice(run, i) + printed;
    i += width - 1;
    run = i + 1;
  }
  return out + text.slice(run) + quote;
}

/**
 * Python's `repr(float)` of a finite number: the shortest digits that round-trip, positional
 * notation for decimal exponents -4..15 (always with a fractional part, `5.0`), exponent notation
 * otherwise (`1e-07`, `1e+16`, `1.5e+300`).
 */
export function pythonFloat(value: number): string {
  if (!Number.isFinite(value)) {
    throw new PolicyError(
      'POLICY_UNHASHABLE',
      `The number ${value} cannot be part of a policy: AnyLog policies are JSON, which has no NaN or Infinity. Use a finite number or a string.`,
    );
  }
  if (value === 0) return Object.is(value, -0) ? '-0.0' : '0.0';
  // Fast paths: JS prints the same shortest round-trip digits as Python, and in the same
  // notation for 1e-4 <= |x| < 1e16 (positional) and |x| >= 1e21 (exponent, `1.5e+300`).
  const abs = Math.abs(value);
  if (abs >= 1e-4 && abs < 1e16) {
    const text = String(value);
    return Number.isInteger(value) ? `${text}.0` : text;
  }
  if (abs >= 1e21) return String(value);
  if (abs < 1e-6) {
    // `1e-7` in JS, `1e-07` in Python: the exponent has at least two digits.
    const text = String(value);
    const e = text.indexOf('e');
    return text.length - e === 3 ? `${text.slice(0, e + 2)}0${text.slice(e + 2)}` : text;
  }
  const sign = value < 0 ? '-' : '';
  const [mantissa = '', exponentText = '0'] = Math.abs(value).toExponential().split('e');
  const exponent = Number(exponentText);
  const digits = mantissa.replace('.', '');
  if (exponent < -4 || exponent >= 16) {
    const head = digits.length === 1 ? digits : `${digits[0]}.${digits.slice(1)}`;
    const magnitude = String(Math.abs(exponent)).padStart(2, '0');
    return `${sign}${head}e${exponent < 0 ? '-' : '+'}${magnitude}`;
  }
  if (exponent < 0) return `${sign}0.${'0'.repeat(-exponent - 1)}${digits}`;
  if (digits.length <= exponent + 1) {
    return `${sign}${digits}${'0'.repeat(exponent + 1 - digits.length)}.0`;
  }
  return `${sign}${digits.slice(0, exponent + 1)}.${digits.slice(exponent + 1)}`;
}

/** Python's `repr(int)` of an integral JS number (exact digits of the double, `-0` → `0`). */
export function pythonInt(value: number): string {
  if (value === 0) return '0';
  return Number.isSafeInteger(value) ? String(value) : BigInt(value).toString();
}

/**
 * The Python spelling of a number held at `container[key]`: its recorded mark (a whole float
 * such as `5.0`, or the exact digits of a huge integer) when there is one, else an int for
 * integral values and a float otherwise.
 */
export function pythonNumber(
  value: number,
  container?: MarkContainer,
  key?: string | number,
): string {
  if (container !== undefined && key !== undefined) {
    const mark = getNumberMark(container, key, value);
    if (mark !== undefined) return mark;
  }
  if (!Number.isFinite(value)) return pythonFloat(value);
  return Number.isInteger(value) ? pythonInt(value) : pythonFloat(value);
}

function tooDeep(): PolicyError {
  return new PolicyError(
    'POLICY_TOO_DEEP',
    `A policy value nests deeper than ${HARD_MAX_DEPTH} levels (or contains a cycle); flatten it.`,
  );
}

/**
 * Repr of `value`, which sits at `container[key]` (for number marks). Keys in `omit` are
 * skipped when `value` is an object (used to leave `date`/`ledger` out of the hashed body).
 */
export function reprAt(
  value: unknown,
  container: MarkContainer | undefined,
  key: string | number | undefined,
  depth: number,
  omit?: ReadonlySet<string>,
): string {
  switch (typeof value) {
    case 'string':
      return pythonStr(value);
    case 'number':
      return pythonNumber(value, container, key);
    case 'boolean':
      return value ? 'True' : 'False';
    default:
      break;
  }
  if (value === null) return 'None';
  if (typeof value !== 'object') {
    throw new PolicyError(
      'POLICY_UNHASHABLE',
      `A ${typeof value} cannot be part of a policy; policies hold only strings, numbers, booleans, null, lists and objects.`,
    );
  }
  if (depth >= HARD_MAX_DEPTH) throw tooDeep();
  // Plain concatenation: this is the hot path of computing ids for large policy sets.
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ', ';
      out += reprAt(value[i], value, i, depth + 1);
    }
    return `${out}]`;
  }
  let out = '{';
  for (const name of orderedKeys(value)) {
    if (omit?.has(name)) continue;
    if (out.length > 1) out += ', ';
    out += keyRepr(name);
    out += ': ';
    out += reprAt((value as Record<string, unknown>)[name], value, name, depth + 1);
  }
  return `${out}}`;
}

/** Reprs of recently seen object keys: policies repeat the same few keys. Bounded. */
const KEY_REPRS: Map<string, string> = new Map();

function keyRepr(name: string): string {
  let repr = KEY_REPRS.get(name);
  if (repr === undefined) {
    repr = pythonStr(name);
    if (KEY_REPRS.size < 1024) KEY_REPRS.set(name, repr);
  }
  return repr;
}

/**
 * Python 3 `repr()` of a policy value, exactly as AnyLog prints it and hashes it into policy
 * ids: strings in single quotes (double quotes when the string holds a `'` and no `"`) with
 * Python's backslash escapes, `True`/`False`/`None`, integers as digits, floats as Python prints
 * them (`0.1`, `1e-07`, `1e+16`, `-0.0`), lists `[a, b]`, dicts `{'k': v}` in key order.
 *
 * A JS number that is a whole number is printed as a Python int, unless the value came from
 * {@link parsePolicies} text that wrote it as a float (`5.0`): the parser remembers that per
 * object key or array index, and `pythonRepr` uses it. A top-level number has no such memory.
 *
 * @throws {@link PolicyError} `POLICY_UNHASHABLE` for NaN, Infinity or a value that is not
 * JSON-like; `POLICY_TOO_DEEP` beyond 1000 levels of nesting.
 *
 * @example
 * ```ts
 * import { pythonRepr } from 'edge-ha';
 *
 * pythonRepr({ operator: { name: "O'Brien", port: 32148, main: true, loc: null } });
 * // => `{'operator': {'name': "O'Brien", 'port': 32148, 'main': True, 'loc': None}}`
 * ```
 *
 * @group Policies
 */
export function pythonRepr(value: PolicyValue): string {
  return reprAt(value, undefined, undefined, 0);
}
