/** `stampPolicy`: what AnyLog's network protocol adds to a new policy. */

import { PolicyError } from '../errors.js';
import { computePolicyId, policyParts } from './id.js';
import { copyPolicyValue, defineOwn } from './parse.js';
import { HARD_MAX_DEPTH } from './repr.js';
import type { Policy, PolicyObject } from './types.js';
import { isOperatorPolicy } from './validate.js';

/**
 * Options of {@link stampPolicy}.
 *
 * @group Policies
 */
export interface StampOptions {
  /**
   * The clock: current time in epoch milliseconds (fractions give the microseconds of `date`).
   * @default Date.now
   */
  now?: () => number;
  /**
   * Random source in [0, 1) used to pick an operator's `member`.
   * @default Math.random
   */
  random?: () => number;
  /**
   * The policy set the new policy joins: the members of other operators of the same cluster
   * found here are not reused.
   * @default []
   */
  existing?: readonly unknown[];
  /** `'local'` adds `ledger: 'local'` (when the policy has no `ledger` yet). */
  ledger?: 'local';
}

/** Largest epoch ms that still formats as a four-digit year (9999-12-31T23:59:59.999Z). */
const MAX_DATE_MS = 253402300799999;
const MEMBER_MAX = 255;

/**
 * Formats epoch milliseconds as AnyLog's policy date, `YYYY-MM-DDTHH:MM:SS.ffffffZ` (UTC,
 * microseconds). Internal.
 */
export function formatPolicyDate(ms: number): string {
  const whole = Math.floor(ms);
  const micros = Math.min(999, Math.round((ms - whole) * 1000));
  return `${new Date(whole).toISOString().slice(0, 23)}${String(micros).padStart(3, '0')}Z`;
}

function callOption(name: string, fn: unknown, fallback: () => number): number {
  if (fn !== undefined && typeof fn !== 'function') {
    throw new PolicyError(
      'POLICY_INVALID_OPTION',
      `stampPolicy option '${name}' must be a function.`,
    );
  }
  return ((fn as (() => number) | undefined) ?? fallback)();
}

function pickMember(body: PolicyObject, id: string, options: StampOptions): number {
  const existing = options.existing ?? [];
  if (!Array.isArray(existing)) {
    throw new PolicyError(
      'POLICY_INVALID_OPTION',
      "stampPolicy option 'existing' must be an array of policies.",
    );
  }
  const taken = new Set<number>();
  for (const other of existing) {
    if (!isOperatorPolicy(other)) continue;
    const otherBody = other.operator;
    if (otherBody.cluster !== body.cluster || otherBody.id === id) continue;
    const member = otherBody.member;
    if (typeof member === 'number' && Number.isInteger(member)) taken.add(member);
  }
  const free: number[] = [];
  for (let member = 1; member <= MEMBER_MAX; member++) if (!taken.has(member)) free.push(member);
  if (free.length === 0) {
    throw new PolicyError(
      'POLICY_MEMBERS_EXHAUSTED',
      `All ${MEMBER_MAX} member ids of cluster ${String(body.cluster)} are taken; assign the operator to another cluster.`,
      { path: ['operator', 'member'] },
    );
  }
  const random = callOption('random', options.random, Math.random);
  if (typeof random !== 'number' || !(random >= 0 && random < 1)) {
    throw new PolicyError(
      'POLICY_INVALID_OPTION',
      `stampPolicy option 'random' must return a number in [0, 1), got ${String(random)}.`,
    );
  }
  return free[Math.floor(random * free.length)] as number;
}

/**
 * Returns a stamped copy of `policy` (the input is not changed), as AnyLog's network protocol
 * stamps a new policy:
 * 1. `id`: the {@link computePolicyId} of the policy as given, when it has none;
 * 2. `date`: `options.now()` as `YYYY-MM-DDTHH:MM:SS.ffffffZ` (UTC), when it has none;
 * 3. defaults added after the id (so never hashed): `status: 'active'` on a cluster and on each
 *    of its table entries that lack one; on an operator that names a `cluster` and has no
 *    `member`, a random member in 1..255 not used by another operator of that cluster in
 *    `options.existing`;
 * 4. `ledger: 'local'` when `options.ledger` is `'local'` and the policy has no `ledger`.
 *
 * Attributes already present are never changed; new ones are appended in that order.
 *
 * @throws {@link PolicyError} `POLICY_SHAPE`/`POLICY_VALUE`/`POLICY_UNHASHABLE` for a policy
 * that cannot be stamped, `POLICY_MEMBERS_EXHAUSTED` when all 255 members of the cluster are
 * taken, `POLICY_INVALID_OPTION` for a bad option (e.g. `random()` outside [0, 1)).
 *
 * @example
 * ```ts
 * import { type Policy, stampPolicy } from 'edge-ha';
 *
 * declare const policies: Policy[]; // the ledger, the cluster's policy among them
 * declare const clusterId: string; // that cluster policy's id
 *
 * const operator = stampPolicy(
 *   { operator: { company: 'Acme', name: 'op-1', ip: '10.0.0.5', port: 32148, cluster: clusterId } },
 *   { existing: policies, ledger: 'local' },
 * );
 * // operator.operator has id, date, member (1..255, unique in the cluster) and ledger: 'local'
 * ```
 *
 * @group Policies
 */
export function stampPolicy(policy: Policy, options: StampOptions = {}): Policy {
  if (typeof options !== 'object' || options === null) {
    throw new PolicyError('POLICY_INVALID_OPTION', 'stampPolicy options must be an object.');
  }
  if (options.ledger !== undefined && options.ledger !== 'local') {
    throw new PolicyError(
      'POLICY_INVALID_OPTION',
      `stampPolicy option 'ledger' must be 'local' or absent, got ${JSON.stringify(options.ledger)}.`,
    );
  }
  const copy = copyPolicyValue(policy, HARD_MAX_DEPTH, Number.POSITIVE_INFINITY) as Policy;
  const { type, body } = policyParts(copy);
  const id = computePolicyId(copy);
  if (!Object.hasOwn(body, 'id')) defineOwn(body, 'id', id);
  if (!Object.hasOwn(body, 'date')) {
    const now = callOption('now', options.now, Date.now);
    if (typeof now !== 'number' || !(now >= 0 && now <= MAX_DATE_MS)) {
      throw new PolicyError(
        'POLICY_INVALID_OPTION',
        `stampPolicy option 'now' must return epoch milliseconds between 1970 and 9999, got ${String(now)}.`,
      );
    }
    defineOwn(body, 'date', formatPolicyDate(now));
  }
  if (type === 'cluster') {
    if (!Object.hasOwn(body, 'status')) defineOwn(body, 'status', 'active');
    const table = body.table;
    if (Array.isArray(table)) {
      for (const entry of table) {
        if (typeof entry === 'object' && entry !== null && !Array.isArray(entry)) {
          if (!Object.hasOwn(entry, 'status')) defineOwn(entry, 'status', 'active');
        }
      }
    }
  } else if (type === 'operator') {
    if (typeof body.cluster === 'string' && !Object.hasOwn(body, 'member')) {
      defineOwn(body, 'member', pickMember(body, id, options));
    }
  }
  if (options.ledger === 'local' && !Object.hasOwn(body, 'ledger'))
    defineOwn(body, 'ledger', 'local');
  return copy;
}
