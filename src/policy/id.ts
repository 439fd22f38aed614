/** AnyLog policy ids: MD5 of a field string (cluster, table) or of the policy's Python repr. */

import { hash } from 'node:crypto';
import { PolicyError } from '../errors.js';
import { pythonStr, reprAt } from './repr.js';
import type { Policy, PolicyObject } from './types.js';

/** Attributes left out of the hashed body: added by the network, never part of the identity. */
const NOT_HASHED: ReadonlySet<string> = new Set(['date', 'ledger']);

/** The fields a cluster or table id is made of, in AnyLog's fixed order. */
const FIELD_HASHED: Readonly<Record<string, readonly string[]>> = {
  cluster: ['company', 'name', 'parent', 'table'],
  table: ['company', 'name', 'dbms'],
};

function isObjectBody(value: unknown): value is PolicyObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The type (single root key) and body of a policy, or a `POLICY_SHAPE` error.
 * @internal
 */
export function policyParts(policy: unknown): { type: string; body: PolicyObject } {
  if (!isObjectBody(policy)) {
    throw new PolicyError(
      'POLICY_SHAPE',
      'A policy must be an object with exactly one root key (its type) whose value is an object.',
    );
  }
  const keys = Object.keys(policy);
  const type = keys[0];
  if (keys.length !== 1 || type === undefined) {
    throw new PolicyError(
      'POLICY_SHAPE',
      `A policy must have exactly one root key (its type), this one has ${keys.length}${
        keys.length > 0 ? ` (${keys.slice(0, 5).join(', ')})` : ''
      }.`,
    );
  }
  const body = (policy as Record<string, unknown>)[type];
  if (!isObjectBody(body)) {
    throw new PolicyError(
      'POLICY_SHAPE',
      `The body of the '${type}' policy must be an object, not ${Array.isArray(body) ? 'a list' : body === null ? 'null' : `a ${typeof body}`}.`,
      { path: [type] },
    );
  }
  return { type, body };
}

/**
 * The exact text AnyLog hashes into the id of `policy` (which has no `id` yet): the field
 * string for `cluster` and `table` policies, the Python repr of the whole policy otherwise.
 * @internal
 */
export function policyHashText(type: string, body: PolicyObject): string {
  const fields = Object.hasOwn(FIELD_HASHED, type) ? FIELD_HASHED[type] : undefined;
  if (fields !== undefined) {
    let text = `${type}:`;
    for (const field of fields) {
      if (!Object.hasOwn(body, field)) continue;
      const value = body[field];
      if (value === undefined) continue;
      // Python's str(): raw text for a string, repr for anything else.
      text += `${field}:${typeof value === 'string' ? value : reprAt(value, body, field, 1)}:`;
    }
    return text;
  }
  return `{${pythonStr(type)}: ${reprAt(body, undefined, undefined, 1, NOT_HASHED)}}`;
}

/**
 * The AnyLog id of a policy: the body's `id` when it has one, otherwise the MD5
 * (lowercase hex, over UTF-8) of
 * - for `cluster` policies: `cluster:` followed by `field:value:` for `company`, `name`,
 *   `parent`, `table` in that fixed order, only those present (a string is its raw text, the
 *   `table` list its Python repr);
 * - for `table` policies: the same with `company`, `name`, `dbms`;
 * - for every other type: the Python repr of the whole `{type: body}` dict, keys in order.
 *
 * `date` and `ledger` are never hashed. Whole-number floats count as floats (`5.0`) only when
 * the policy came from {@link parsePolicies} text; see the
 * [policies guide](../../docs/policies.md#the-intfloat-caveat).
 *
 * @throws {@link PolicyError} `POLICY_SHAPE` if `policy` is not a policy or its `id` is not a
 * string; `POLICY_UNHASHABLE` if a value has no Python/JSON form (NaN, Infinity, a lone UTF-16
 * surrogate).
 *
 * @example
 * ```ts
 * import { computePolicyId } from 'edge-ha';
 *
 * computePolicyId({ cluster: { company: 'Smart City', name: 'power-plant' } });
 * // => '2a5f83e1f2e63c16bbf5339988bf7489'
 * ```
 *
 * @group Policies
 */
export function computePolicyId(policy: Policy): string {
  const { type, body } = policyParts(policy);
  if (Object.hasOwn(body, 'id')) {
    const id = body.id;
    if (typeof id === 'string') return id;
    throw new PolicyError('POLICY_SHAPE', `The 'id' of the '${type}' policy must be a string.`, {
      path: [type, 'id'],
    });
  }
  const text = policyHashText(type, body);
  // Native check (Node >= 20): much cheaper than a regular expression over the whole text.
  if (!text.isWellFormed()) {
    throw new PolicyError(
      'POLICY_UNHASHABLE',
      `The '${type}' policy contains a lone UTF-16 surrogate, which has no UTF-8 form; fix the text.`,
    );
  }
  return hash('md5', text, 'hex');
}
