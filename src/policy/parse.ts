/**
 * `parsePolicies`: one tokenizer/parser for JSON, NDJSON and AnyLog's Python-literal text, plus
 * the safe deep copy of already-parsed JS values.
 */

import { PolicyError } from '../errors.js';
import {
  copyNumberMark,
  getNumberMark,
  isIndexLikeKey,
  type MarkContainer,
  orderedKeys,
  setKeyOrder,
  setNumberMark,
} from './marks.js';
import { HARD_MAX_DEPTH, pythonFloat } from './repr.js';
import type { Policy, PolicyObject, PolicyValue } from './types.js';

/**
 * Options of {@link parsePolicies}.
 *
 * @group Policies
 */
export interface ParsePoliciesOptions {
  /**
   * Largest accepted input in bytes (UTF-8 size of text; for JS values, an estimate of their JSON
   * size). Larger input is rejected with `POLICY_TOO_LARGE` before it is parsed.
   * @default 16777216 (16 MiB)
   */
  maxBytes?: number;
  /**
   * Deepest accepted nesting of objects and lists (a policy object is level 1, its body level 2;
   * a top-level list counts as one level). Deeper input is rejected with `POLICY_TOO_DEEP`
   * before recursion could exhaust the stack. At most 1000.
   * @default 64
   */
  maxDepth?: number;
  /**
   * How an integer outside the 64-bit range (above 2^64 − 1 or below −2^63) written in **JSON**
   * text is read:
   * - `'float'`: as AnyLog/EdgeLake reads it. EdgeLake parses JSON with orjson, which keeps
   *   integers from −2^63 to 2^64 − 1 exact and turns any other integer into a float, so the
   *   policy id hashes Python's print of that float (`18446744073709551616` →
   *   `1.8446744073709552e+19`);
   * - `'exact'`: keep the exact digits, as Python's `json` module does.
   *
   * Python-literal text (single quotes, `True`/`False`/`None`, trailing commas, Python escapes,
   * raw tabs in strings…) always keeps the exact digits: orjson refuses it and AnyLog then reads
   * it with Python's own parsers, whose integers have no size limit. The choice is made per
   * top-level value of the text (a policy, or the one array of policies). Integers inside the
   * 64-bit range always keep their digits.
   * @default 'float'
   * @example
   * ```ts
   * import { parsePolicies } from 'edge-ha';
   *
   * parsePolicies('{"operator": {"name": "x", "serial": 18446744073709551616}}', {
   *   jsonBigIntegers: 'exact',
   * });
   * ```
   */
  jsonBigIntegers?: 'float' | 'exact';
}

const DEFAULT_MAX_BYTES = 16 * 1024 * 1024;
const DEFAULT_MAX_DEPTH = 64;

interface Limits {
  readonly maxBytes: number;
  readonly maxDepth: number;
  readonly bigAsFloat: boolean;
}

function limitsOf(options: ParsePoliciesOptions | undefined): Limits {
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw new PolicyError('POLICY_INVALID_OPTION', 'parsePolicies options must be an object.');
  }
  const maxBytes = options?.maxBytes ?? DEFAULT_MAX_BYTES;
  const maxDepth = options?.maxDepth ?? DEFAULT_MAX_DEPTH;
  if (typeof maxBytes !== 'number' || !Number.isInteger(maxBytes) || maxBytes < 1) {
    throw new PolicyError(
      'POLICY_INVALID_OPTION',
      `maxBytes must be a positive integer, got ${String(maxBytes)}.`,
    );
  }
  if (
    typeof maxDepth !== 'number' ||
    !Number.isInteger(maxDepth) ||
    maxDepth < 1 ||
    maxDepth > HARD_MAX_DEPTH
  ) {
    throw new PolicyError(
      'POLICY_INVALID_OPTION',
      `maxDepth must be an integer 1..${HARD_MAX_DEPTH}, got ${String(maxDepth)}.`,
    );
  }
  const big = options?.jsonBigIntegers ?? 'float';
  if (big !== 'float' && big !== 'exact') {
    throw new PolicyError(
      'POLICY_INVALID_OPTION',
      `jsonBigIntegers must be 'float' or 'exact', got ${String(big)}.`,
    );
  }
  return { maxBytes, maxDepth, bigAsFloat: big === 'float' };
}

/** orjson's integer range: int64 and uint64 (EdgeLake `generic/utils_json.py`, `str_to_json`). */
const INT64_MIN = -(2n ** 63n);
const UINT64_MAX = 2n ** 64n - 1n;

/** An integer beyond the 64-bit range, recorded with its exact digits until its value ends. */
interface BigInteger {
  readonly container: MarkContainer;
  readonly key: string | number;
  readonly value: number;
  readonly digits: string;
}

/** Own data property, also for `__proto__`, never touching a prototype. */
export function defineOwn(target: object, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(target, key, {
      value,
      writable: true,
      enumerable: true,
      configurable: true,
    });
  } else {
    (target as Record<string, unknown>)[key] = value;
  }
}

interface Position {
  readonly line: number;
  readonly column: number;
}

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const WORD = /[A-Za-z_][A-Za-z0-9_]*/y;
const WORDS: ReadonlyMap<string, PolicyValue> = new Map<string, PolicyValue>([
  ['true', true],
  ['True', true],
  ['false', false],
  ['False', false],
  ['null', null],
  ['None', null],
]);
const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  '\\': '\\',
  "'": "'",
  '"': '"',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  a: '\x07',
};

function describeChar(ch: string | undefined): string {
  if (ch === undefined) return 'end of input';
  const cp = ch.codePointAt(0) as number;
  return cp < 0x20 || cp === 0x7f ? `character U+${cp.toString(16).padStart(4, '0')}` : `'${ch}'`;
}

/** The tokenizer and recursive-descent parser shared by JSON, NDJSON and Python literals. */
class Parser {
  private pos = 0;
  private line = 1;
  private lineStart = 0;
  /** Python spelling of the number just parsed, when a JS number cannot carry it. */
  private numberMark: string | undefined;
  /** Whether the number just parsed is an integer outside orjson's 64-bit range. */
  private beyond64 = false;
  /** Whether the current top-level value is strict JSON so far (what orjson accepts). */
  private strictJson = true;
  /** The integers beyond 64 bits of the current top-level value. */
  private bigIntegers: BigInteger[] = [];

  constructor(
    private readonly text: string,
    private readonly maxDepth: number,
    private readonly bigAsFloat: boolean,
  ) {}

  position(at: number = this.pos): Position {
    if (at >= this.lineStart) return { line: this.line, column: at - this.lineStart + 1 };
    // An earlier line (e.g. the opening brace of an unterminated object): count again.
    let line = 1;
    let lineStart = 0;
    for (let i = 0; i < at; i++) {
      const c = this.text.charCodeAt(i);
      if (c === 0x0a || (c === 0x0d && this.text.charCodeAt(i + 1) !== 0x0a)) {
        line++;
        lineStart = i + 1;
      }
    }
    return { line, column: at - lineStart + 1 };
  }

  fail(message: string, at: number = this.pos): never {
    const { line, column } = this.position(at);
    throw new PolicyError('POLICY_SYNTAX', `${message} at line ${line}, column ${column}.`, {
      line,
      column,
    });
  }

  /** Skips whitespace; returns whether a line break was crossed. */
  skipSpace(): boolean {
    let newline = false;
    const { text } = this;
    while (this.pos < text.length) {
      const c = text.charCodeAt(this.pos);
      if (c === 0x20 || c === 0x09) {
        this.pos++;
      } else if (c === 0x0c) {
        this.strictJson = false; // a form feed: Python skips it, JSON does not
        this.pos++;
      } else if (c === 0x0a || c === 0x0d) {
        this.pos += c === 0x0d && text.charCodeAt(this.pos + 1) === 0x0a ? 2 : 1;
        this.line++;
        this.lineStart = this.pos;
        newline = true;
      } else {
        break;
      }
    }
    return newline;
  }

  /** The whole document: a sequence of values separated by commas or line breaks. */
  document(): { values: PolicyValue[]; starts: Position[]; arrayStarts: Position[] } {
    const values: PolicyValue[] = [];
    const starts: Position[] = [];
    const arrayStarts: Position[] = [];
    if (this.text.charCodeAt(0) === 0xfeff) this.pos = 1;
    this.skipSpace();
    while (this.pos < this.text.length) {
      starts.push(this.position());
      this.strictJson = true;
      values.push(this.value(0, values.length === 0 ? arrayStarts : undefined));
      this.settleBigIntegers();
      const newline = this.skipSpace();
      if (this.pos >= this.text.length) break;
      if (this.text[this.pos] === ',') {
        this.pos++;
        this.skipSpace();
      } else if (!newline) {
        this.fail(
          `Unexpected ${describeChar(this.text[this.pos])} after the end of a policy (expected a comma, a new line or the end of the input)`,
        );
      }
    }
    return { values, starts, arrayStarts };
  }

  /**
   * Ends a top-level value: in strict JSON read the EdgeLake way, its integers beyond 64 bits
   * become the floats orjson makes of them (marks still holding their number only).
   */
  settleBigIntegers(): void {
    if (this.bigAsFloat && this.strictJson) {
      for (const { container, key, value, digits } of this.bigIntegers) {
        if (getNumberMark(container, key, value) === digits) {
          setNumberMark(container, key, value, pythonFloat(value));
        }
      }
    }
    this.bigIntegers = [];
  }

  /** Records the mark of the number just parsed, now held at `container[key]`. */
  markNumber(container: MarkContainer, key: string | number, value: number): void {
    const text = this.numberMark as string;
    setNumberMark(container, key, value, text);
    if (this.beyond64) this.bigIntegers.push({ container, key, value, digits: text });
  }

  value(depth: number, record?: Position[]): PolicyValue {
    this.numberMark = undefined;
    this.beyond64 = false;
    const ch = this.text[this.pos];
    switch (ch) {
      case '{':
        return this.object(depth + 1);
      case '[':
        return this.array(depth + 1, record);
      case '"':
      case "'":
        return this.string(ch);
      default:
        break;
    }
    if (ch === '-' || (ch !== undefined && ch >= '0' && ch <= '9')) return this.number();
    WORD.lastIndex = this.pos;
    const word = WORD.exec(this.text)?.[0];
    if (word !== undefined) {
      const value = WORDS.get(word);
      if (value !== undefined) {
        // True, False, None are Python spellings
        if (word.charCodeAt(0) < 0x61) this.strictJson = false;
        this.pos += word.length;
        return value;
      }
      if (word === 'NaN' || word === 'Infinity' || word === 'inf' || word === 'nan') {
        this.fail(`${word} is not allowed: policies hold only finite numbers`);
      }
      this.fail(
        `Unknown word '${word.slice(0, 40)}' (expected a value: a string in quotes, a number, true/True, false/False, null/None, {...} or [...])`,
      );
    }
    this.fail(`Unexpected ${describeChar(ch)} (expected a value)`);
  }

  enter(depth: number): void {
    if (depth > this.maxDepth) {
      const { line, column } = this.position();
      throw new PolicyError(
        'POLICY_TOO_DEEP',
        `The input nests deeper than ${this.maxDepth} levels at line ${line}, column ${column}; flatten it or raise maxDepth.`,
        { line, column },
      );
    }
  }

  object(depth: number): PolicyObject {
    this.enter(depth);
    const open = this.pos;
    this.pos++;
    const result: PolicyObject = {};
    this.skipSpace();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return result;
    }
    // Text order of the keys, kept only when JS would reorder them (integer-like keys).
    let order: string[] | undefined;
    const seen = new Set<string>();
    for (;;) {
      const quote = this.text[this.pos];
      if (quote !== '"' && quote !== "'") {
        if (quote === undefined) this.fail('Unterminated object (missing })', open);
        this.fail(`Expected a quoted key, found ${describeChar(quote)}`);
      }
      const key = this.string(quote);
      this.skipSpace();
      if (this.text[this.pos] !== ':') {
        this.fail(
          `Expected ':' after the key '${key.slice(0, 40)}', found ${describeChar(this.text[this.pos])}`,
        );
      }
      this.pos++;
      this.skipSpace();
      const item = this.value(depth);
      if (!seen.has(key)) {
        seen.add(key);
        if (order === undefined && isIndexLikeKey(key)) order = Object.keys(result);
        order?.push(key);
      }
      defineOwn(result, key, item);
      if (order !== undefined) setKeyOrder(result, order);
      if (this.numberMark !== undefined && typeof item === 'number') {
        this.markNumber(result, key, item);
      }
      this.skipSpace();
      const next = this.text[this.pos];
      if (next === ',') {
        this.pos++;
        this.skipSpace();
        if (this.text[this.pos] === '}') {
          this.strictJson = false; // a trailing comma
          this.pos++;
          return result;
        }
      } else if (next === '}') {
        this.pos++;
        return result;
      } else if (next === undefined) {
        this.fail('Unterminated object (missing })', open);
      } else {
        this.fail(`Expected ',' or '}' in an object, found ${describeChar(next)}`);
      }
    }
  }

  array(depth: number, record?: Position[]): PolicyValue[] {
    this.enter(depth);
    const open = this.pos;
    this.pos++;
    const result: PolicyValue[] = [];
    this.skipSpace();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return result;
    }
    for (;;) {
      if (this.pos >= this.text.length) this.fail('Unterminated list (missing ])', open);
      record?.push(this.position());
      const item = this.value(depth);
      if (this.numberMark !== undefined && typeof item === 'number') {
        this.markNumber(result, result.length, item);
      }
      result.push(item);
      this.skipSpace();
      const next = this.text[this.pos];
      if (next === ',') {
        this.pos++;
        this.skipSpace();
        if (this.text[this.pos] === ']') {
          this.strictJson = false; // a trailing comma
          this.pos++;
          return result;
        }
      } else if (next === ']') {
        this.pos++;
        return result;
      } else if (next === undefined) {
        this.fail('Unterminated list (missing ])', open);
      } else {
        this.fail(`Expected ',' or ']' in a list, found ${describeChar(next)}`);
      }
    }
  }

  string(quote: string): string {
    const { text } = this;
    const open = this.pos;
    const quoteCode = quote.charCodeAt(0);
    if (quoteCode === 0x27) this.strictJson = false;
    this.pos++;
    let out = '';
    let chunk = this.pos;
    for (;;) {
      if (this.pos >= text.length) this.fail('Unterminated string', open);
      const c = text.charCodeAt(this.pos);
      if (c === quoteCode) {
        out += text.slice(chunk, this.pos);
        this.pos++;
        return out;
      }
      if (c === 0x5c) {
        out += text.slice(chunk, this.pos);
        out += this.escape();
        chunk = this.pos;
      } else if (c < 0x20) {
        if (c === 0x0a || c === 0x0d)
          this.fail('Unterminated string (line break inside a string)', open);
        if (c !== 0x09) {
          this.fail(`Unescaped ${describeChar(text[this.pos])} in a string; write it as an escape`);
        }
        this.strictJson = false; // a raw tab: Python's json (strict=False) takes it, orjson not
        this.pos++;
      } else {
        this.pos++;
      }
    }
  }

  /** One backslash escape (JSON and Python); `pos` is on the backslash. */
  escape(): string {
    const at = this.pos;
    const ch = this.text[this.pos + 1];
    if (ch === undefined) this.fail('Unterminated string', at);
    const simple = Object.hasOwn(SIMPLE_ESCAPES, ch) ? SIMPLE_ESCAPES[ch] : undefined;
    if (simple !== undefined) {
      if (ch === "'" || ch === 'v' || ch === 'a') this.strictJson = false;
      this.pos += 2;
      return simple;
    }
    if (ch !== 'u') this.strictJson = false; // octal, \x, \U: Python escapes
    if (ch >= '0' && ch <= '7') {
      let end = this.pos + 2;
      while (end < this.pos + 4 && /[0-7]/.test(this.text[end] ?? '')) end++;
      const code = Number.parseInt(this.text.slice(this.pos + 1, end), 8);
      this.pos = end;
      return String.fromCodePoint(code);
    }
    const width = ch === 'x' ? 2 : ch === 'u' ? 4 : ch === 'U' ? 8 : 0;
    if (width === 0) {
      this.fail(`Unknown escape '\\${ch}' in a string (write a backslash as \\\\)`, at);
    }
    const digits = this.text.slice(this.pos + 2, this.pos + 2 + width);
    if (digits.length !== width || !/^[0-9a-fA-F]+$/.test(digits)) {
      this.fail(`The escape '\\${ch}' needs ${width} hexadecimal digits`, at);
    }
    const code = Number.parseInt(digits, 16);
    if (code > 0x10ffff) this.fail(`The escape '\\${ch}${digits}' is beyond U+10FFFF`, at);
    this.pos += 2 + width;
    return String.fromCodePoint(code);
  }

  number(): number {
    const start = this.pos;
    NUMBER.lastIndex = start;
    const literal = NUMBER.exec(this.text)?.[0];
    if (literal === undefined) this.fail('Invalid number');
    const after = this.text[start + literal.length];
    if (after !== undefined && /[0-9A-Za-z_.]/.test(after)) {
      this.fail(
        `Invalid number '${this.text.slice(start, start + literal.length + 1)}' (no leading zeros, digits after a '.', no '_' or suffixes)`,
        start,
      );
    }
    this.pos += literal.length;
    const value = Number(literal);
    if (!Number.isFinite(value)) {
      this.fail(`The number ${literal.slice(0, 40)} is too large for a policy`, start);
    }
    const isFloat = /[.eE]/.test(literal);
    if (isFloat) {
      // Python keeps 5.0 a float; remember how to spell it.
      if (Number.isInteger(value)) this.numberMark = pythonFloat(value);
      return value;
    }
    if (value === 0) return 0; // the int -0 is 0
    if (!Number.isSafeInteger(value)) {
      this.numberMark = literal;
      const big = BigInt(literal);
      this.beyond64 = big < INT64_MIN || big > UINT64_MAX;
    }
    return value;
  }
}

function shapeProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return `is ${Array.isArray(value) ? 'a list' : value === null ? 'null' : `a ${typeof value}`}, not a policy object`;
  }
  const keys = Object.keys(value);
  const type = keys[0];
  if (keys.length !== 1 || type === undefined) {
    return `has ${keys.length} root keys${keys.length > 0 ? ` (${keys.slice(0, 5).join(', ')})` : ''}; a policy has exactly one, its type`;
  }
  const body = (value as Record<string, unknown>)[type];
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return `has a '${type}' body that is ${Array.isArray(body) ? 'a list' : body === null ? 'null' : `a ${typeof body}`}, not an object`;
  }
  return undefined;
}

function checkShapes(values: readonly PolicyValue[], starts: readonly Position[]): Policy[] {
  values.forEach((value, index) => {
    const problem = shapeProblem(value);
    if (problem === undefined) return;
    const start = starts[index];
    const where = start === undefined ? '' : ` (line ${start.line}, column ${start.column})`;
    throw new PolicyError('POLICY_SHAPE', `Policy #${index}${where} ${problem}.`, {
      index,
      ...(start === undefined ? {} : { line: start.line, column: start.column }),
    });
  });
  return values as Policy[];
}

function parseText(text: string, limits: Limits): Policy[] {
  if (text.length > limits.maxBytes || Buffer.byteLength(text, 'utf8') > limits.maxBytes) {
    throw new PolicyError(
      'POLICY_TOO_LARGE',
      `The policy text is larger than ${limits.maxBytes} bytes; split it or raise maxBytes.`,
    );
  }
  const { values, starts, arrayStarts } = new Parser(
    text,
    limits.maxDepth,
    limits.bigAsFloat,
  ).document();
  const only = values[0];
  if (values.length === 1 && Array.isArray(only)) return checkShapes(only, arrayStarts);
  return checkShapes(values, starts);
}

/** State of one deep copy of JS values. */
interface CopyState {
  readonly maxDepth: number;
  readonly maxBytes: number;
  bytes: number;
  readonly ancestors: Set<object>;
}

function valueError(path: readonly (string | number)[], why: string): PolicyError {
  const where = path.length === 0 ? 'the input' : `'${path.join('.')}'`;
  return new PolicyError(
    'POLICY_VALUE',
    `The value at ${where} ${why}; policies hold only JSON values.`,
    {
      path: [...path],
    },
  );
}

function charge(state: CopyState, bytes: number): void {
  state.bytes += bytes;
  if (state.bytes > state.maxBytes) {
    throw new PolicyError(
      'POLICY_TOO_LARGE',
      `The policy values are larger than ${state.maxBytes} bytes (as JSON); split them or raise maxBytes.`,
    );
  }
}

/**
 * Deep copy of a JS value into a fresh policy value: only strings, finite numbers, booleans,
 * null, arrays and plain objects are accepted; own data properties only; `__proto__` and friends
 * become own properties; number marks are carried over.
 */
function copyValue(
  value: unknown,
  depth: number,
  path: (string | number)[],
  state: CopyState,
): PolicyValue {
  switch (typeof value) {
    case 'string':
      charge(state, value.length + 2);
      return value;
    case 'boolean':
      charge(state, 5);
      return value;
    case 'number':
      if (!Number.isFinite(value)) throw valueError(path, `is ${value}, not a finite number`);
      charge(state, 8);
      return value;
    case 'object':
      break;
    default:
      throw valueError(path, `is a ${typeof value}`);
  }
  if (value === null) {
    charge(state, 4);
    return null;
  }
  if (state.ancestors.has(value)) throw valueError(path, 'contains itself (a cycle)');
  if (depth + 1 > state.maxDepth) {
    throw new PolicyError(
      'POLICY_TOO_DEEP',
      `The value at '${path.join('.')}' nests deeper than ${state.maxDepth} levels; flatten it or raise maxDepth.`,
      { path: [...path] },
    );
  }
  const isArray = Array.isArray(value);
  if (!isArray) {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      throw valueError(
        path,
        `is a ${value.constructor?.name ?? 'class'} instance, not a plain object`,
      );
    }
  }
  state.ancestors.add(value);
  const descriptors = Object.getOwnPropertyDescriptors(value) as Record<string, PropertyDescriptor>;
  const keys = isArray ? Object.keys(value) : orderedKeys(value);
  charge(state, 2);
  let result: PolicyObject | PolicyValue[];
  if (isArray) {
    if (keys.length !== value.length) throw valueError(path, 'is a sparse list');
    const list: PolicyValue[] = [];
    for (let i = 0; i < value.length; i++) {
      const descriptor = descriptors[String(i)];
      if (descriptor === undefined || !('value' in descriptor)) {
        throw valueError([...path, i], 'is an accessor, not a data property');
      }
      const item = copyValue(descriptor.value, depth + 1, [...path, i], state);
      list.push(item);
      if (typeof item === 'number') copyNumberMark(value, i, list, i, item);
      charge(state, 1);
    }
    result = list;
  } else {
    const object: PolicyObject = {};
    for (const key of keys) {
      const descriptor = descriptors[key];
      if (descriptor === undefined || !('value' in descriptor)) {
        throw valueError([...path, key], 'is an accessor, not a data property');
      }
      charge(state, key.length + 4);
      const item = copyValue(descriptor.value, depth + 1, [...path, key], state);
      defineOwn(object, key, item);
      if (typeof item === 'number') copyNumberMark(value as MarkContainer, key, object, key, item);
    }
    setKeyOrder(object, keys);
    result = object;
  }
  state.ancestors.delete(value);
  return result;
}

/**
 * Deep, safe copy of JS values as policy values (internal; used by parse and stamp).
 * @internal
 */
export function copyPolicyValue(value: unknown, maxDepth: number, maxBytes: number): PolicyValue {
  const state: CopyState = { maxDepth, maxBytes, bytes: 0, ancestors: new Set() };
  try {
    return copyValue(value, 0, [], state);
  } catch (error) {
    if (error instanceof PolicyError) throw error;
    // A Proxy trap or exotic object threw while being read.
    throw new PolicyError(
      'POLICY_VALUE',
      `The value could not be read as JSON: ${error instanceof Error ? error.message : String(error)}.`,
      { cause: error },
    );
  }
}

/**
 * Parses policies from any of the forms AnyLog and its users write them in:
 * - JSON text: one policy object, an array of policies, or newline-delimited JSON (a ledger
 *   file), also several policies separated by commas;
 * - the Python-literal text AnyLog prints (`{'cluster': {'name': 'a', 'main': True}},`):
 *   single- or double-quoted strings with Python escapes, `True`/`False`/`None`, trailing
 *   commas;
 * - already-parsed JS values (a policy object or an array of them), checked to be JSON-like and
 *   deep-copied;
 * - a `Uint8Array` of UTF-8 text.
 *
 * Text goes through one real tokenizer (never `eval`, never `JSON.parse`): a syntax error is a
 * `POLICY_SYNTAX` {@link PolicyError} with 1-based `line` and `column`. Key order is preserved;
 * unknown attributes are kept; keys `__proto__`, `constructor`, `prototype` become ordinary own
 * properties. Duplicate keys keep the last value (in the first key's position), as in Python.
 * Whole-number floats written `5.0` (or `1e16`) stay floats for {@link computePolicyId} and
 * {@link serializePolicies}. Integers beyond 2^53 keep their exact digits, except that in JSON
 * text an integer outside −2^63..2^64 − 1 is read as the float AnyLog makes of it (see
 * {@link ParsePoliciesOptions.jsonBigIntegers}). Empty text gives `[]`.
 *
 * @throws {@link PolicyError} `POLICY_SYNTAX`, `POLICY_TOO_LARGE`, `POLICY_TOO_DEEP`,
 * `POLICY_SHAPE` (an element is not an object with exactly one root key and an object body;
 * `index` says which), `POLICY_VALUE` (a JS value is not JSON-like), `POLICY_INVALID_OPTION`.
 *
 * @example
 * ```ts
 * import { computePolicyId, parsePolicies } from 'edge-ha';
 *
 * const policies = parsePolicies(`{'cluster' : {'company' : 'Lit San Leandro',
 *                                               'name' : 'lsl-cluster2'}},`);
 * computePolicyId(policies[0]!);
 * ```
 *
 * @group Policies
 */
export function parsePolicies(input: unknown, options?: ParsePoliciesOptions): Policy[] {
  const limits = limitsOf(options);
  if (typeof input === 'string') return parseText(input, limits);
  if (input instanceof Uint8Array) {
    if (input.byteLength > limits.maxBytes) {
      throw new PolicyError(
        'POLICY_TOO_LARGE',
        `The policy text is larger than ${limits.maxBytes} bytes; split it or raise maxBytes.`,
      );
    }
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(input);
    } catch (error) {
      throw new PolicyError('POLICY_SYNTAX', 'The policy bytes are not valid UTF-8.', {
        cause: error,
      });
    }
    return parseText(text, limits);
  }
  if (typeof input !== 'object' || input === null) {
    throw new PolicyError(
      'POLICY_SHAPE',
      `parsePolicies expects text, a policy object or an array of policies, not ${input === null ? 'null' : `a ${typeof input}`}.`,
    );
  }
  const copy = copyPolicyValue(input, limits.maxDepth, limits.maxBytes);
  const values = Array.isArray(copy) ? copy : [copy];
  return checkShapes(values, []);
}
