/**
 * Validation of a policy set (docs/policies.md, "Validation"): every rule has its own stable
 * issue code.
 */

import { isIP } from 'node:net';
import type { PolicyIssue } from '../errors.js';
import { computePolicyId } from './id.js';
import { HARD_MAX_DEPTH } from './repr.js';
import type { ClusterPolicy, OperatorPolicy, PolicyObject, TablePolicy } from './types.js';

/**
 * One entry of {@link POLICY_ISSUE_CODES}.
 *
 * @group Policies
 */
export interface PolicyIssueCodeInfo {
  /** The stable code, e.g. `OPERATOR_DUPLICATE_ADDRESS`. */
  readonly code: string;
  /** `error` makes the set invalid; `warning` is reported but allowed. */
  readonly severity: 'error' | 'warning';
  /**
   * `policy`: the policy is wrong by itself (its shape or an attribute); `set`: it conflicts
   * with, or refers to, another policy. A lenient load
   * (`Topology.fromPolicies(policies, { invalid: 'skip' })`) drops the policies with a `policy`
   * error first, then looks at the `set` errors of what is left.
   */
  readonly scope: 'policy' | 'set';
  /** What the code means. */
  readonly description: string;
}

/**
 * Every code {@link validatePolicies} can report, with its meaning. Codes are stable: they are
 * never renamed or reused. `severity` says whether the issue makes the set invalid.
 *
 * @group Policies
 */
export const POLICY_ISSUE_CODES: readonly PolicyIssueCodeInfo[] = [
  {
    code: 'POLICY_NOT_OBJECT',
    severity: 'error',
    scope: 'policy',
    description: 'The element is not an object.',
  },
  {
    code: 'POLICY_ROOT_KEYS',
    severity: 'error',
    scope: 'policy',
    description: 'The policy does not have exactly one root key (its type).',
  },
  {
    code: 'POLICY_BODY_NOT_OBJECT',
    severity: 'error',
    scope: 'policy',
    description: 'The value of the root key (the body) is not an object.',
  },
  {
    code: 'VALUE_INVALID',
    severity: 'error',
    scope: 'policy',
    description:
      'A value inside the policy is not JSON-like (undefined, a function, NaN, Infinity, a class instance, an accessor, a cycle, or nesting beyond 1000 levels).',
  },
  {
    code: 'ID_UNCOMPUTABLE',
    severity: 'error',
    scope: 'policy',
    description: 'The policy has no id and none can be computed (a lone UTF-16 surrogate).',
  },
  {
    code: 'ATTRIBUTE_MISSING',
    severity: 'error',
    scope: 'policy',
    description:
      'A required attribute is missing: cluster company/name; operator company/name/ip/port/cluster; table company/name/dbms; table entry dbms/name.',
  },
  {
    code: 'ATTRIBUTE_TYPE',
    severity: 'error',
    scope: 'policy',
    description:
      'A known attribute has the wrong type (e.g. a number for a name, a string for a port, a non-list table).',
  },
  {
    code: 'STATUS_INVALID',
    severity: 'error',
    scope: 'policy',
    description: "A cluster's or table entry's status is not one of active, static, down.",
  },
  {
    code: 'PORT_RANGE',
    severity: 'error',
    scope: 'policy',
    description: 'port, local_port, rest_port or broker_port is not an integer in 1..65535.',
  },
  {
    code: 'MEMBER_RANGE',
    severity: 'error',
    scope: 'policy',
    description: "An operator's member is not an integer in 1..255.",
  },
  {
    code: 'IP_INVALID',
    severity: 'error',
    scope: 'policy',
    description: 'ip or local_ip is not an IPv4 address, an IPv6 address or a host name.',
  },
  {
    code: 'ID_DUPLICATE',
    severity: 'error',
    scope: 'set',
    description: 'Two policies have the same id.',
  },
  {
    code: 'CLUSTER_DUPLICATE_NAME',
    severity: 'error',
    scope: 'set',
    description: 'Two root clusters have the same company and name.',
  },
  {
    code: 'CLUSTER_PARENT_UNKNOWN',
    severity: 'error',
    scope: 'set',
    description: "A cluster's parent is not the id of a cluster in the set.",
  },
  {
    code: 'CLUSTER_PARENT_NOT_ROOT',
    severity: 'error',
    scope: 'set',
    description: "A cluster's parent is itself a child cluster (has a parent).",
  },
  {
    code: 'CLUSTER_PARENT_MISMATCH',
    severity: 'error',
    scope: 'set',
    description: 'A child cluster has a different company or name than its parent.',
  },
  {
    code: 'TABLE_DUPLICATE_IN_CLUSTER',
    severity: 'error',
    scope: 'set',
    description:
      'A table (dbms, name) is listed more than once in one cluster (the parent and its children together).',
  },
  {
    code: 'OPERATOR_CLUSTER_UNKNOWN',
    severity: 'error',
    scope: 'set',
    description: "An operator's cluster is not the id of a cluster in the set.",
  },
  {
    code: 'OPERATOR_CLUSTER_AMBIGUOUS',
    severity: 'error',
    scope: 'set',
    description: "An operator's cluster id matches more than one cluster policy.",
  },
  {
    code: 'OPERATOR_DUPLICATE_ADDRESS',
    severity: 'error',
    scope: 'set',
    description: 'Two operators have the same ip and port.',
  },
  {
    code: 'OPERATOR_DUPLICATE_COMPANY_NAME',
    severity: 'error',
    scope: 'set',
    description: 'Two operators have the same company and name.',
  },
  {
    code: 'OPERATOR_DUPLICATE_NAME',
    severity: 'error',
    scope: 'set',
    description:
      'Two operators of different companies have the same name (names are unique across operators).',
  },
  {
    code: 'OPERATOR_DUPLICATE_MEMBER',
    severity: 'error',
    scope: 'set',
    description: 'Two operators of the same cluster have the same member id.',
  },
  {
    code: 'OPERATOR_MULTIPLE_MAINS',
    severity: 'warning',
    scope: 'set',
    description:
      'More than one operator of the same cluster is main: true; the last one declared is the main (as in EdgeLake).',
  },
  {
    code: 'CLUSTER_DUPLICATE_NAME_ACROSS_COMPANIES',
    severity: 'error',
    scope: 'set',
    description:
      'A root cluster has the name of a root cluster of another company (AnyLog keeps root cluster names unique across companies).',
  },
  {
    code: 'TABLE_POLICY_DUPLICATE',
    severity: 'error',
    scope: 'set',
    description: 'Two table policies have the same dbms and name.',
  },
  {
    code: 'OPERATOR_NO_MEMBER',
    severity: 'warning',
    scope: 'policy',
    description:
      'An operator names a cluster but has no member: it is not an HA operator and is not routed (stamp it to get a member).',
  },
  {
    code: 'OPERATOR_CLUSTER_CHILD',
    severity: 'warning',
    scope: 'set',
    description:
      "An operator's cluster is a child cluster's id: AnyLog does not load it, so it is not routed (name the root cluster).",
  },
];

/**
 * Result of {@link validatePolicies}.
 *
 * @group Policies
 */
export interface PolicyValidationResult {
  /** `true` when there is no error (warnings allowed). */
  readonly valid: boolean;
  /** Issues of severity `error`, ordered by policy index. */
  readonly errors: readonly PolicyIssue[];
  /** Issues of severity `warning`, ordered by policy index. */
  readonly warnings: readonly PolicyIssue[];
  /** Every issue (errors and warnings), ordered by policy index. */
  readonly issues: readonly PolicyIssue[];
}

const STATUSES: ReadonlySet<string> = new Set(['active', 'static', 'down']);
const PORT_ATTRIBUTES = ['port', 'local_port', 'rest_port', 'broker_port'] as const;
const HOST_NAME =
  /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*\.?$/i;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function hasSingleRoot(value: unknown, type: string): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  if (keys.length !== 1 || keys[0] !== type) return false;
  const body = (value as Record<string, unknown>)[type];
  return typeof body === 'object' && body !== null && !Array.isArray(body);
}

/**
 * Whether `value` has the shape of a cluster policy: one root key `cluster` whose value is an
 * object. Attributes are not checked; use {@link validatePolicies} for that.
 *
 * @group Policies
 */
export function isClusterPolicy(value: unknown): value is ClusterPolicy {
  return hasSingleRoot(value, 'cluster');
}

/**
 * Whether `value` has the shape of an operator policy: one root key `operator` whose value is
 * an object. Attributes are not checked; use {@link validatePolicies} for that.
 *
 * @group Policies
 */
export function isOperatorPolicy(value: unknown): value is OperatorPolicy {
  return hasSingleRoot(value, 'operator');
}

/**
 * Whether `value` has the shape of a table policy: one root key `table` whose value is an
 * object. Attributes are not checked; use {@link validatePolicies} for that.
 *
 * @group Policies
 */
export function isTablePolicy(value: unknown): value is TablePolicy {
  return hasSingleRoot(value, 'table');
}

/** Why a value is not JSON-like (with the path to it), or `undefined` when it is. */
function jsonProblem(
  value: unknown,
  ancestors: Set<object>,
): { path: (string | number)[]; why: string } | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return undefined;
    case 'number':
      return Number.isFinite(value)
        ? undefined
        : { path: [], why: `${value} is not a finite number` };
    case 'object':
      break;
    default:
      return { path: [], why: `a ${typeof value} is not a JSON value` };
  }
  if (value === null) return undefined;
  if (ancestors.has(value)) return { path: [], why: 'the value contains a cycle' };
  if (ancestors.size >= HARD_MAX_DEPTH) {
    return { path: [], why: `the value nests deeper than ${HARD_MAX_DEPTH} levels` };
  }
  const isArray = Array.isArray(value);
  if (!isArray && !isPlainObject(value)) {
    return { path: [], why: 'a class instance is not a JSON value' };
  }
  ancestors.add(value);
  try {
    const keys = Object.keys(value);
    if (isArray && keys.length !== value.length) {
      return { path: [], why: 'a sparse array is not a JSON value' };
    }
    for (const key of keys) {
      const descriptor = Object.getOwnPropertyDescriptor(value, key);
      const problem =
        descriptor === undefined || !('value' in descriptor)
          ? { path: [], why: 'an accessor property is not a JSON value' }
          : jsonProblem(descriptor.value, ancestors);
      if (problem !== undefined) {
        problem.path.unshift(isArray ? Number(key) : key);
        return problem;
      }
    }
  } finally {
    ancestors.delete(value);
  }
  return undefined;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}

interface Entry {
  readonly index: number;
  readonly type: string;
  readonly body: PolicyObject;
  readonly id: string | undefined;
}

class Collector {
  readonly issues: PolicyIssue[] = [];

  add(
    code: string,
    index: number,
    policyId: string | undefined,
    path: readonly (string | number)[],
    message: string,
    severity: 'error' | 'warning' = 'error',
  ): void {
    this.issues.push({ code, severity, index, policyId, path, message });
  }
}

function checkString(
  out: Collector,
  entry: Entry,
  body: PolicyObject,
  key: string,
  required: boolean,
  path: readonly (string | number)[],
): boolean {
  if (!Object.hasOwn(body, key)) {
    if (required) {
      out.add(
        'ATTRIBUTE_MISSING',
        entry.index,
        entry.id,
        [...path, key],
        `The ${path.length > 1 ? 'table entry' : `'${entry.type}' policy`} has no '${key}'; add it (a string).`,
      );
    }
    return false;
  }
  if (typeof body[key] !== 'string') {
    out.add(
      'ATTRIBUTE_TYPE',
      entry.index,
      entry.id,
      [...path, key],
      `'${key}' must be a string, not ${describe(body[key])}.`,
    );
    return false;
  }
  return true;
}

function checkIntegerRange(
  out: Collector,
  entry: Entry,
  key: string,
  code: 'PORT_RANGE' | 'MEMBER_RANGE',
  max: number,
  required: boolean,
): void {
  const { body, type } = entry;
  if (!Object.hasOwn(body, key)) {
    if (required) {
      out.add(
        'ATTRIBUTE_MISSING',
        entry.index,
        entry.id,
        [type, key],
        `The '${type}' policy has no '${key}'; add it (an integer 1..${max}).`,
      );
    }
    return;
  }
  const value = body[key];
  if (typeof value !== 'number') {
    out.add(
      'ATTRIBUTE_TYPE',
      entry.index,
      entry.id,
      [type, key],
      `'${key}' must be an integer 1..${max}, not ${describe(value)}.`,
    );
  } else if (!Number.isInteger(value) || value < 1 || value > max) {
    out.add(
      code,
      entry.index,
      entry.id,
      [type, key],
      `'${key}' is ${value}; it must be an integer 1..${max}.`,
    );
  }
}

function checkAddress(out: Collector, entry: Entry, key: string, required: boolean): void {
  if (!checkString(out, entry, entry.body, key, required, [entry.type])) return;
  const value = entry.body[key] as string;
  if (isIP(value) === 0 && !HOST_NAME.test(value)) {
    out.add(
      'IP_INVALID',
      entry.index,
      entry.id,
      [entry.type, key],
      `'${key}' is ${JSON.stringify(value)}, which is neither an IPv4/IPv6 address nor a host name.`,
    );
  }
}

function checkStatus(
  out: Collector,
  entry: Entry,
  body: PolicyObject,
  path: readonly (string | number)[],
): void {
  if (!Object.hasOwn(body, 'status')) return;
  const status = body.status;
  if (typeof status !== 'string') {
    out.add(
      'ATTRIBUTE_TYPE',
      entry.index,
      entry.id,
      [...path, 'status'],
      `'status' must be one of active, static, down, not ${describe(status)}.`,
    );
  } else if (!STATUSES.has(status)) {
    out.add(
      'STATUS_INVALID',
      entry.index,
      entry.id,
      [...path, 'status'],
      `'status' is ${JSON.stringify(status)}; it must be one of active, static, down.`,
    );
  }
}

function checkOptionalStrings(out: Collector, entry: Entry, keys: readonly string[]): void {
  for (const key of keys) checkString(out, entry, entry.body, key, false, [entry.type]);
}

function checkCluster(out: Collector, entry: Entry): void {
  const { body } = entry;
  checkString(out, entry, body, 'company', true, ['cluster']);
  checkString(out, entry, body, 'name', true, ['cluster']);
  checkOptionalStrings(out, entry, ['parent', 'master', 'source', 'id', 'date', 'ledger']);
  checkStatus(out, entry, body, ['cluster']);
  if (!Object.hasOwn(body, 'table')) return;
  const table = body.table;
  if (!Array.isArray(table)) {
    out.add(
      'ATTRIBUTE_TYPE',
      entry.index,
      entry.id,
      ['cluster', 'table'],
      `'table' must be a list of {dbms, name} objects, not ${describe(table)}.`,
    );
    return;
  }
  table.forEach((item, i) => {
    const path = ['cluster', 'table', i];
    if (!isPlainObject(item)) {
      out.add(
        'ATTRIBUTE_TYPE',
        entry.index,
        entry.id,
        path,
        `Each table entry must be a {dbms, name} object, not ${describe(item)}.`,
      );
      return;
    }
    const tableEntry = item as PolicyObject;
    checkString(out, entry, tableEntry, 'dbms', true, path);
    checkString(out, entry, tableEntry, 'name', true, path);
    checkStatus(out, entry, tableEntry, path);
  });
}

function checkOperator(out: Collector, entry: Entry): void {
  const { body } = entry;
  checkString(out, entry, body, 'company', true, ['operator']);
  checkString(out, entry, body, 'name', true, ['operator']);
  checkString(out, entry, body, 'cluster', true, ['operator']);
  checkAddress(out, entry, 'ip', true);
  checkAddress(out, entry, 'local_ip', false);
  checkOptionalStrings(out, entry, ['hostname', 'id', 'date', 'ledger']);
  for (const key of PORT_ATTRIBUTES)
    checkIntegerRange(out, entry, key, 'PORT_RANGE', 65535, key === 'port');
  checkIntegerRange(out, entry, 'member', 'MEMBER_RANGE', 255, false);
  if (Object.hasOwn(body, 'main') && typeof body.main !== 'boolean') {
    out.add(
      'ATTRIBUTE_TYPE',
      entry.index,
      entry.id,
      ['operator', 'main'],
      `'main' must be true or false, not ${describe(body.main)}.`,
    );
  }
}

function checkTable(out: Collector, entry: Entry): void {
  for (const key of ['company', 'name', 'dbms']) {
    checkString(out, entry, entry.body, key, true, ['table']);
  }
  checkOptionalStrings(out, entry, ['id', 'date', 'ledger']);
}

/** Reports every later entry whose key was already seen, naming the first one. */
function checkUnique(
  out: Collector,
  entries: readonly Entry[],
  keyOf: (entry: Entry) => string | undefined,
  code: string,
  path: (entry: Entry) => readonly (string | number)[],
  message: (entry: Entry, first: Entry) => string,
  severity: 'error' | 'warning' = 'error',
): void {
  const seen = new Map<string, Entry>();
  for (const entry of entries) {
    const key = keyOf(entry);
    if (key === undefined) continue;
    const first = seen.get(key);
    if (first === undefined) seen.set(key, entry);
    else out.add(code, entry.index, entry.id, path(entry), message(entry, first), severity);
  }
}

function str(body: PolicyObject, key: string): string | undefined {
  const value = Object.hasOwn(body, key) ? body[key] : undefined;
  return typeof value === 'string' ? value : undefined;
}

function pair(a: string | undefined, b: string | number | undefined): string | undefined {
  return a === undefined || b === undefined ? undefined : JSON.stringify([a, b]);
}

function ref(entry: Entry): string {
  return `policy #${entry.index}${entry.id === undefined ? '' : ` (${entry.id})`}`;
}

function checkClusters(
  out: Collector,
  clusters: readonly Entry[],
  byId: ReadonlyMap<string, readonly Entry[]>,
): void {
  const roots = clusters.filter((cluster) => !Object.hasOwn(cluster.body, 'parent'));
  checkUnique(
    out,
    roots,
    (c) => pair(str(c.body, 'company'), str(c.body, 'name')),
    'CLUSTER_DUPLICATE_NAME',
    () => ['cluster', 'name'],
    (c, first) =>
      `Root cluster ${JSON.stringify(str(c.body, 'name'))} of ${JSON.stringify(str(c.body, 'company'))} is already declared by ${ref(first)}; give it another name or make it a child (parent).`,
  );
  // Same name, other company (EdgeLake `policies.new_cluster_policy` refuses a new root cluster
  // whose name any cluster already has, whatever its company).
  const rootsByName = new Map<string, Entry[]>();
  for (const root of roots) {
    const name = str(root.body, 'name');
    if (name === undefined) continue;
    const company = str(root.body, 'company');
    const earlier = rootsByName.get(name) ?? [];
    const clash = earlier.find((other) => str(other.body, 'company') !== company);
    if (clash !== undefined && !earlier.some((other) => str(other.body, 'company') === company)) {
      out.add(
        'CLUSTER_DUPLICATE_NAME_ACROSS_COMPANIES',
        root.index,
        root.id,
        ['cluster', 'name'],
        `The root cluster name ${JSON.stringify(name)} is already used by ${ref(clash)} of company ${JSON.stringify(str(clash.body, 'company'))}; AnyLog keeps root cluster names unique across companies, so rename one.`,
      );
    }
    earlier.push(root);
    rootsByName.set(name, earlier);
  }
  // Table groups: a root cluster with its children; a child with an unusable parent alone.
  const groups = new Map<string, Entry[]>();
  for (const cluster of clusters) {
    let group = `#${cluster.index}`;
    const parent = str(cluster.body, 'parent');
    if (parent !== undefined) {
      const targets = byId.get(parent);
      const target = targets?.[0];
      if (target === undefined) {
        out.add(
          'CLUSTER_PARENT_UNKNOWN',
          cluster.index,
          cluster.id,
          ['cluster', 'parent'],
          `The parent ${JSON.stringify(parent)} is not the id of any cluster in the set; declare the root cluster first or fix the id.`,
        );
      } else if (Object.hasOwn(target.body, 'parent')) {
        out.add(
          'CLUSTER_PARENT_NOT_ROOT',
          cluster.index,
          cluster.id,
          ['cluster', 'parent'],
          `The parent ${JSON.stringify(parent)} is itself a child cluster (${ref(target)}); reference its root cluster instead.`,
        );
      } else {
        group = `#${target.index}`;
        if (
          str(target.body, 'company') !== str(cluster.body, 'company') ||
          str(target.body, 'name') !== str(cluster.body, 'name')
        ) {
          out.add(
            'CLUSTER_PARENT_MISMATCH',
            cluster.index,
            cluster.id,
            ['cluster', 'parent'],
            `A child cluster must have the company and name of its parent (${ref(target)}: ${JSON.stringify(str(target.body, 'company'))}, ${JSON.stringify(str(target.body, 'name'))}).`,
          );
        }
      }
    }
    const list = groups.get(group) ?? [];
    list.push(cluster);
    groups.set(group, list);
  }
  for (const members of groups.values()) {
    const seen = new Map<string, Entry>();
    for (const cluster of [...members].sort((a, b) => a.index - b.index)) {
      const table = Object.hasOwn(cluster.body, 'table') ? cluster.body.table : undefined;
      if (!Array.isArray(table)) continue;
      table.forEach((item, i) => {
        if (!isPlainObject(item)) return;
        const dbms = typeof item.dbms === 'string' ? item.dbms : undefined;
        const name = typeof item.name === 'string' ? item.name : undefined;
        const key = pair(dbms, name);
        if (key === undefined) return;
        const first = seen.get(key);
        if (first === undefined) {
          seen.set(key, cluster);
          return;
        }
        out.add(
          'TABLE_DUPLICATE_IN_CLUSTER',
          cluster.index,
          cluster.id,
          ['cluster', 'table', i],
          `The table ${dbms}.${name} is already listed in this cluster (${first === cluster ? 'same policy' : ref(first)}); list it once.`,
        );
      });
    }
  }
}

function checkOperators(
  out: Collector,
  operators: readonly Entry[],
  clustersById: ReadonlyMap<string, readonly Entry[]>,
): void {
  for (const op of operators) {
    const cluster = str(op.body, 'cluster');
    if (cluster === undefined) continue;
    // EdgeLake `metadata.update_operators` loads an operator only with both `cluster` and
    // `member`; its cluster map is keyed by root cluster ids, so a child's id finds nothing.
    if (!Object.hasOwn(op.body, 'member')) {
      out.add(
        'OPERATOR_NO_MEMBER',
        op.index,
        op.id,
        ['operator', 'member'],
        `The operator names cluster ${JSON.stringify(cluster)} but has no 'member', so it is not an HA operator and is not routed; stamp the policy (stampPolicy) or add a member 1..255.`,
        'warning',
      );
    }
    const targets = clustersById.get(cluster) ?? [];
    const count = targets.length;
    const target = targets[0];
    if (count === 1 && target !== undefined && Object.hasOwn(target.body, 'parent')) {
      out.add(
        'OPERATOR_CLUSTER_CHILD',
        op.index,
        op.id,
        ['operator', 'cluster'],
        `The cluster ${JSON.stringify(cluster)} is a child cluster (${ref(target)}); AnyLog does not load an operator that names a child, so it is not routed. Name the root cluster ${JSON.stringify(str(target.body, 'parent'))} instead.`,
        'warning',
      );
    }
    if (count === 0) {
      out.add(
        'OPERATOR_CLUSTER_UNKNOWN',
        op.index,
        op.id,
        ['operator', 'cluster'],
        `The cluster ${JSON.stringify(cluster)} is not the id of any cluster policy in the set; declare the cluster or fix the id.`,
      );
    } else if (count > 1) {
      out.add(
        'OPERATOR_CLUSTER_AMBIGUOUS',
        op.index,
        op.id,
        ['operator', 'cluster'],
        `The cluster id ${JSON.stringify(cluster)} matches ${count} cluster policies; an operator must reference exactly one.`,
      );
    }
  }
  const port = (op: Entry): number | undefined =>
    typeof op.body.port === 'number' ? op.body.port : undefined;
  checkUnique(
    out,
    operators,
    (op) => pair(str(op.body, 'ip'), port(op)),
    'OPERATOR_DUPLICATE_ADDRESS',
    () => ['operator', 'ip'],
    (op, first) =>
      `The address ${str(op.body, 'ip')}:${port(op)} is already used by operator ${ref(first)}; each operator needs its own ip:port.`,
  );
  checkUnique(
    out,
    operators,
    (op) => pair(str(op.body, 'company'), str(op.body, 'name')),
    'OPERATOR_DUPLICATE_COMPANY_NAME',
    () => ['operator', 'name'],
    (op, first) =>
      `Operator ${JSON.stringify(str(op.body, 'name'))} of ${JSON.stringify(str(op.body, 'company'))} is already declared by ${ref(first)}; rename one.`,
  );
  // Same name, different company (same company is OPERATOR_DUPLICATE_COMPANY_NAME).
  const byName = new Map<string, Entry[]>();
  for (const op of operators) {
    const name = str(op.body, 'name');
    if (name === undefined) continue;
    const company = str(op.body, 'company');
    const earlier = byName.get(name) ?? [];
    const clash = earlier.find((other) => str(other.body, 'company') !== company);
    if (clash !== undefined && !earlier.some((other) => str(other.body, 'company') === company)) {
      out.add(
        'OPERATOR_DUPLICATE_NAME',
        op.index,
        op.id,
        ['operator', 'name'],
        `The operator name ${JSON.stringify(name)} is already used by ${ref(clash)} of another company; operator names are unique across the network.`,
      );
    }
    earlier.push(op);
    byName.set(name, earlier);
  }
  const member = (op: Entry): number | undefined =>
    typeof op.body.member === 'number' ? op.body.member : undefined;
  checkUnique(
    out,
    operators,
    (op) => pair(str(op.body, 'cluster'), member(op)),
    'OPERATOR_DUPLICATE_MEMBER',
    () => ['operator', 'member'],
    (op, first) =>
      `Member ${member(op)} of cluster ${str(op.body, 'cluster')} is already taken by ${ref(first)}; members are unique within a cluster.`,
  );
  checkUnique(
    out,
    operators.filter((op) => op.body.main === true),
    (op) => str(op.body, 'cluster'),
    'OPERATOR_MULTIPLE_MAINS',
    () => ['operator', 'main'],
    (op, first) =>
      `Operator ${ref(op)} and ${ref(first)} of cluster ${str(op.body, 'cluster')} are both main; the last one declared is the main (queries go to it while it is live), as in AnyLog.`,
    'warning',
  );
}

/**
 * Validates a policy set against every rule below and returns all issues, not just the
 * first: shape (one root key, object body, JSON-like values), required attributes and types,
 * `status`, port and member ranges, `ip` syntax, unique ids, root cluster names, child cluster
 * parents, tables listed once per cluster, and operator references and uniqueness (address,
 * company+name, name, member per cluster), root cluster names across companies and table
 * policies unique by dbms + name. Warnings (the set stays valid): two `main` operators of a
 * cluster, an operator without `member`, an operator naming a child cluster (AnyLog routes
 * neither of the last two).
 *
 * Policies without an `id` take their computed id ({@link computePolicyId}) for the uniqueness
 * and reference checks. Types other than cluster/operator/table are only shape-checked. Codes
 * and meanings: {@link POLICY_ISSUE_CODES}.
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * import { parsePolicies, validatePolicies } from 'edge-ha';
 *
 * const result = validatePolicies(parsePolicies(readFileSync('policies.json', 'utf8')));
 * if (!result.valid) for (const issue of result.errors) console.error(issue.code, issue.message);
 * ```
 *
 * @group Policies
 */
export function validatePolicies(policies: readonly unknown[]): PolicyValidationResult {
  const out = new Collector();
  const entries: Entry[] = [];
  policies.forEach((policy, index) => {
    try {
      if (typeof policy !== 'object' || policy === null || Array.isArray(policy)) {
        out.add(
          'POLICY_NOT_OBJECT',
          index,
          undefined,
          [],
          `A policy must be an object like {"operator": {...}}, not ${describe(policy)}.`,
        );
        return;
      }
      const keys = Object.keys(policy);
      const type = keys[0];
      if (keys.length !== 1 || type === undefined) {
        out.add(
          'POLICY_ROOT_KEYS',
          index,
          undefined,
          [],
          `A policy must have exactly one root key (its type); this one has ${keys.length}${keys.length > 0 ? `: ${keys.slice(0, 5).join(', ')}` : ''}.`,
        );
        return;
      }
      const problem = jsonProblem(policy, new Set());
      const body = (policy as Record<string, unknown>)[type];
      if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        out.add(
          'POLICY_BODY_NOT_OBJECT',
          index,
          undefined,
          [type],
          `The body of the '${type}' policy must be an object, not ${describe(body)}.`,
        );
        return;
      }
      if (problem !== undefined) {
        out.add(
          'VALUE_INVALID',
          index,
          undefined,
          problem.path,
          `Policies hold only JSON values, but ${problem.why}.`,
        );
        return;
      }
      const policyBody = body as PolicyObject;
      let id: string | undefined;
      if (Object.hasOwn(policyBody, 'id')) {
        id = typeof policyBody.id === 'string' ? policyBody.id : undefined;
      } else {
        try {
          id = computePolicyId({ [type]: policyBody });
        } catch (error) {
          out.add(
            'ID_UNCOMPUTABLE',
            index,
            undefined,
            [type],
            `The policy has no id and none can be computed: ${(error as Error).message}`,
          );
        }
      }
      const entry: Entry = { index, type, body: policyBody, id };
      if (type === 'cluster') checkCluster(out, entry);
      else if (type === 'operator') checkOperator(out, entry);
      else if (type === 'table') checkTable(out, entry);
      entries.push(entry);
    } catch (error) {
      // A hostile value (e.g. a Proxy whose traps throw): report, never throw.
      out.add(
        'VALUE_INVALID',
        index,
        undefined,
        [],
        `The policy could not be read: ${error instanceof Error ? error.message : String(error)}.`,
      );
    }
  });
  checkUnique(
    out,
    entries,
    (entry) => entry.id,
    'ID_DUPLICATE',
    (entry) => [entry.type, 'id'],
    (entry, first) =>
      `The id ${entry.id} is already used by ${ref(first)}; policy ids must be unique.`,
  );
  const clusters = entries.filter((entry) => entry.type === 'cluster');
  const clustersById = new Map<string, Entry[]>();
  for (const cluster of clusters) {
    if (cluster.id === undefined) continue;
    const list = clustersById.get(cluster.id);
    if (list === undefined) clustersById.set(cluster.id, [cluster]);
    else list.push(cluster);
  }
  checkClusters(out, clusters, clustersById);
  // EdgeLake `policies.unique_keys`: a table policy's (dbms, name) is unique, whatever the company.
  checkUnique(
    out,
    entries.filter((entry) => entry.type === 'table'),
    (t) => pair(str(t.body, 'dbms'), str(t.body, 'name')),
    'TABLE_POLICY_DUPLICATE',
    () => ['table', 'name'],
    (t, first) =>
      `The table ${str(t.body, 'dbms')}.${str(t.body, 'name')} is already declared by ${ref(first)}; a table policy is unique by dbms and name, so remove one.`,
  );
  checkOperators(
    out,
    entries.filter((entry) => entry.type === 'operator'),
    clustersById,
  );
  const issues = out.issues
    .map((issue, order) => ({ issue, order }))
    .sort((a, b) => a.issue.index - b.issue.index || a.order - b.order)
    .map(({ issue }) => issue);
  const errors = issues.filter((issue) => issue.severity === 'error');
  const warnings = issues.filter((issue) => issue.severity === 'warning');
  return { valid: errors.length === 0, errors, warnings, issues };
}
