/** `serializePolicies`: JSON, NDJSON or Python-literal text that `parsePolicies` reads back. */

import { PolicyError } from '../errors.js';
import { getNumberMark, type MarkContainer, orderedKeys } from './marks.js';
import { HARD_MAX_DEPTH, pythonInt, reprAt } from './repr.js';
import type { Policy } from './types.js';

/**
 * Text formats of {@link serializePolicies}.
 *
 * @group Policies
 */
export type PolicyTextFormat = 'json' | 'ndjson' | 'python';

function jsonNumber(value: number, container: MarkContainer, key: string | number): string {
  const mark = getNumberMark(container, key, value);
  if (mark !== undefined) return mark;
  if (!Number.isFinite(value)) {
    throw new PolicyError(
      'POLICY_VALUE',
      `The number ${value} cannot be written as JSON; use a finite number or a string.`,
    );
  }
  // Integers as exact digits (never `1e+21`), so that they read back as integers.
  return Number.isInteger(value) ? pythonInt(value) : JSON.stringify(value);
}

function jsonAt(
  value: unknown,
  container: MarkContainer,
  key: string | number,
  depth: number,
  indent: string | undefined,
): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return jsonNumber(value, container, key);
    case 'boolean':
      return value ? 'true' : 'false';
    default:
      break;
  }
  if (value === null) return 'null';
  if (typeof value !== 'object') {
    throw new PolicyError('POLICY_VALUE', `A ${typeof value} cannot be written as JSON.`);
  }
  if (depth >= HARD_MAX_DEPTH) {
    throw new PolicyError(
      'POLICY_TOO_DEEP',
      `A policy nests deeper than ${HARD_MAX_DEPTH} levels (or contains a cycle).`,
    );
  }
  const inner = indent === undefined ? '' : `\n${indent.repeat(depth + 1)}`;
  const outer = indent === undefined ? '' : `\n${indent.repeat(depth)}`;
  const colon = indent === undefined ? ':' : ': ';
  const parts: string[] = [];
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++)
      parts.push(jsonAt(value[i], value, i, depth + 1, indent));
    return parts.length === 0 ? '[]' : `[${inner}${parts.join(`,${inner}`)}${outer}]`;
  }
  for (const name of orderedKeys(value)) {
    const item = (value as Record<string, unknown>)[name];
    parts.push(`${JSON.stringify(name)}${colon}${jsonAt(item, value, name, depth + 1, indent)}`);
  }
  return parts.length === 0 ? '{}' : `{${inner}${parts.join(`,${inner}`)}${outer}}`;
}

/**
 * Writes policies as text that {@link parsePolicies} reads back to equal policies, keys in
 * their order, whole-number floats still floats:
 * - `json` (default): a JSON array, indented with two spaces;
 * - `ndjson`: one compact JSON policy per line (a ledger file);
 * - `python`: a Python list literal in AnyLog's repr style, one policy per line
 *   (`[{'cluster': {...}},\n {'operator': {...}}]`).
 *
 * Integers are written as exact digits; a whole-number float parsed from `5.0` is written
 * `5.0` in every format (JSON allows it, and Python's JSON reader keeps it a float).
 *
 * @throws {@link PolicyError} `POLICY_VALUE` for a value that has no JSON form (NaN, a
 * function…), `POLICY_UNHASHABLE` for the same in the Python form, `POLICY_TOO_DEEP` past 1000
 * levels, `POLICY_INVALID_OPTION` for an unknown format.
 *
 * @example
 * ```ts
 * import { writeFile } from 'node:fs/promises';
 * import { type Policy, serializePolicies } from 'edge-ha';
 *
 * declare const policies: Policy[];
 *
 * const text = serializePolicies(policies, 'ndjson');
 * await writeFile('ledger.ndjson', text);
 * ```
 *
 * @group Policies
 */
export function serializePolicies(
  policies: readonly Policy[],
  format: PolicyTextFormat = 'json',
): string {
  if (!Array.isArray(policies)) {
    throw new PolicyError(
      'POLICY_INVALID_OPTION',
      'serializePolicies expects an array of policies.',
    );
  }
  const list = policies as Policy[];
  switch (format) {
    case 'json':
      return `${jsonAt(list, [], 0, 0, '  ')}\n`;
    case 'ndjson':
      return list.map((policy, i) => `${jsonAt(policy, list, i, 0, undefined)}\n`).join('');
    case 'python':
      return `[${list.map((policy, i) => reprAt(policy, list, i, 1)).join(',\n ')}]\n`;
    default:
      throw new PolicyError(
        'POLICY_INVALID_OPTION',
        `Unknown policy text format ${JSON.stringify(format)}; use 'json', 'ndjson' or 'python'.`,
      );
  }
}
