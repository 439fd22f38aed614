/**
 * The `Topology` class: routing map + liveness + round-robin state.
 */

import { type Clock, systemClock } from '../clock.js';
import { type PolicyIssue, TopologyError } from '../errors.js';
import type { Policy } from '../policy/types.js';
import { validatePolicies } from '../policy/validate.js';
import { rendezvousPickCluster } from './hash.js';
import { loadablePolicies } from './load.js';
import {
  buildRoutingMap,
  type ClusterNode,
  findRoute,
  findTable,
  type OperatorNode,
  type RoutePlan,
  type RoutingMap,
  setLiveness,
  type TableRoute,
} from './model.js';
import {
  type ClusterInfo,
  clusterInfoOf,
  type DataNodeRow,
  type DataNodesFilter,
  dataNodeRows,
  type HaStatusRow,
  haStatusRows,
  type VirtualTableRow,
  virtualTableRows,
} from './reports.js';
import type {
  InvalidPolicies,
  LivenessEntry,
  MissingCopy,
  OperatorLiveness,
  ProbeOptions,
  ProbeTarget,
  QueryRequest,
  QueryRoute,
  RoutedOperator,
  SkippedCluster,
  TopologyOptions,
  TopologyStats,
  WriteRequest,
  WriteRoute,
} from './types.js';

const NONE: readonly never[] = Object.freeze([]);

function invalid(message: string): TopologyError {
  return new TopologyError('TOPOLOGY_INVALID_ARGUMENT', message);
}

function checkName(value: unknown, what: string): asserts value is string {
  if (typeof value !== 'string' || value.length === 0) {
    throw invalid(`${what} must be a non-empty string, got ${describeValue(value)}.`);
  }
}

function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object';
  return `${typeof value} ${String(value)}`;
}

function checkOptions(value: unknown, what: string): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(`${what} must be an object, got ${describeValue(value)}.`);
  }
}

function checkRequestObject(request: unknown, method: string): void {
  if (typeof request !== 'object' || request === null) {
    throw invalid(
      `${method} expects an object like { dbms, table }, got ${describeValue(request)}.`,
    );
  }
}

/** Checks the names of a request (read once by the caller: a property read can be costly). */
function checkNames(
  dbms: unknown,
  table: unknown,
  company: unknown,
  method: string,
): asserts dbms is string {
  checkName(dbms, `${method}: dbms`);
  checkName(table, `${method}: table`);
  if (company !== undefined) checkName(company, `${method}: company`);
}

function iso(ms: number): string {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? String(ms) : date.toISOString();
}

function operatorsOf(cluster: ClusterNode): OperatorLiveness[] {
  return cluster.operators.map((operator) => ({
    operatorId: operator.id,
    operatorName: operator.name,
    address: operator.address,
    status: operator.status,
    since: operator.since,
  }));
}

function skippedOf(cluster: ClusterNode): SkippedCluster {
  return {
    clusterId: cluster.id,
    clusterName: cluster.name,
    company: cluster.company,
    operators: operatorsOf(cluster),
  };
}

/** "cluster lsl-cluster2 (id 1161…) — operators: a at 1.2.3.4:7848 not_responding since …" */
function describeCluster(cluster: ClusterNode): string {
  const operators =
    cluster.operators.length === 0
      ? 'it has no operator assigned'
      : `operators: ${cluster.operators
          .map(
            (operator) =>
              `${operator.name || operator.id} at ${operator.address} ${operator.status} since ${iso(operator.since)}${operator.dataSource ? ' (data source: never queried)' : ''}`,
          )
          .join(', ')}`;
  return `cluster "${cluster.name}" (id ${cluster.id}, company "${cluster.company}"): ${operators}`;
}

function tableName(dbms: string, table: string, company: string | undefined): string {
  return company === undefined ? `${dbms}.${table}` : `${dbms}.${table} of company "${company}"`;
}

function unknownTable(
  map: RoutingMap,
  dbms: string,
  table: string,
  company: string | undefined,
): TopologyError {
  const route = findTable(map, dbms, table, company);
  const name = tableName(dbms, table, company);
  if (route !== undefined && route.known.length > 0) {
    return new TopologyError(
      'TOPOLOGY_UNKNOWN_TABLE',
      `No routable cluster holds ${name}: the clusters listing it (${route.known
        .map((cluster) => `"${cluster.name}" ${cluster.id}`)
        .join(
          ', ',
        )}) are static or down, or list the table as static or down. Set a cluster (or the table entry) to status "active" to route it.`,
      { clusters: route.known.map((cluster) => cluster.id) },
    );
  }
  return new TopologyError(
    'TOPOLOGY_UNKNOWN_TABLE',
    `No cluster holds ${name}. Check the names (they are case-sensitive) or add the table to a cluster policy.`,
  );
}

/**
 * Round-robin over the live, queryable operators of cluster number `c`, starting at its cursor
 * (EdgeLake's `metadata.get_any_operator`: the position moves past every operator tried, so on
 * success it is the one after the chosen operator, and after a full turn without success it is
 * back where it was).
 * @returns The operator number, or -1 when no operator of the cluster can take a query.
 */
function pickLive(plan: RoutePlan, c: number): number {
  const { live, queryable, clusterOperators, cursor } = plan;
  const start = plan.operatorStart[c] as number;
  const n = (plan.operatorStart[c + 1] as number) - start;
  let index = cursor[c] as number;
  for (let tried = 0; tried < n; tried++) {
    if (index >= n) index = 0;
    const operator = clusterOperators[start + index] as number;
    if (live[operator] === 1 && queryable[operator] === 1) {
      cursor[c] = index + 1 >= n ? 0 : index + 1;
      return operator;
    }
    index++;
  }
  return -1;
}

/** The main operator of cluster `c` when it is live and queryable; -1 otherwise. */
function pickMain(plan: RoutePlan, c: number): number {
  const main = plan.main[c] as number;
  return main >= 0 && plan.live[main] === 1 && plan.queryable[main] === 1 ? main : -1;
}

/** Whether cluster `c` has a live operator (that can take a query, with `query`). */
function hasLive(plan: RoutePlan, c: number, query = false): boolean {
  const end = plan.operatorStart[c + 1] as number;
  for (let i = plan.operatorStart[c] as number; i < end; i++) {
    const operator = plan.clusterOperators[i] as number;
    if (plan.live[operator] === 1 && (!query || plan.queryable[operator] === 1)) return true;
  }
  return false;
}

/**
 * The cluster-to-operator resolver: which operators hold a table, where to send a
 * query or a write, which operators are live, and the HA reports. The
 * [routing guide](../../docs/routing.md) has a worked example and every rule.
 *
 * A topology is built from a validated policy set (or, with `invalid: 'skip'`, from the valid
 * part of a ledger). Child clusters are merged into their root parent: their tables belong to
 * the parent's routing entry. As in AnyLog (EdgeLake), operators count only with a `member` and
 * when they name a root cluster, a `type: "data source"` operator is never sent a query, and the
 * last `main: true` operator of a cluster is its main. `down` clusters are left out of routing; `static` clusters stay
 * known (they appear in the reports) but receive neither queries nor writes. A table listed by
 * several clusters is split between them: a query goes to one operator of each, a write to one
 * of them.
 *
 * Liveness is kept per operator address (`ip:port`). Routing never picks a `not_responding`
 * operator while a live one exists in the cluster. The class is pure: no I/O, no timers; time
 * comes from the injected clock only. Routing costs a few Map lookups plus a scan of one
 * cluster's operators, whatever the size of the topology.
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * import { parsePolicies, Topology } from 'edge-ha';
 *
 * declare function query(host: string, port: number): Promise<void>; // your AnyLog client
 *
 * const topology = Topology.fromPolicies(parsePolicies(readFileSync('policies.json', 'utf8')));
 * const route = topology.routeQuery({ dbms: 'litsanleandro', table: 'ping_sensor' });
 * for (const target of route.targets) {
 *   try {
 *     await query(target.host, target.port);
 *     topology.reportSuccess(target.address);
 *   } catch {
 *     topology.reportFailure(target.address); // the next route fails over
 *   }
 * }
 * ```
 *
 * @group Topology & routing
 */
export class Topology {
  #map: RoutingMap;
  #issues: readonly PolicyIssue[];
  #skipped: readonly number[];
  readonly #clock: Pick<Clock, 'now'>;
  readonly #localExternalIp: string | undefined;
  readonly #invalid: InvalidPolicies;

  private constructor(
    loaded: Loaded,
    clock: Pick<Clock, 'now'>,
    ip: string | undefined,
    invalidPolicies: InvalidPolicies,
  ) {
    this.#map = loaded.map;
    this.#issues = loaded.issues;
    this.#skipped = loaded.skipped;
    this.#clock = clock;
    this.#localExternalIp = ip;
    this.#invalid = invalidPolicies;
  }

  /**
   * The issues of the last load ({@link Topology.fromPolicies} or {@link Topology.reload}),
   * ordered by policy index: the warnings of the policies loaded (e.g. `OPERATOR_NO_MEMBER`,
   * `OPERATOR_MULTIPLE_MAINS`) and, with `invalid: 'skip'`, the errors that made policies be
   * dropped. Indices are positions in the array that was loaded.
   */
  get issues(): readonly PolicyIssue[] {
    return this.#issues;
  }

  /**
   * Input indices of the policies the last load dropped (ascending); always empty with
   * `invalid: 'reject'`.
   */
  get skipped(): readonly number[] {
    return this.#skipped;
  }

  /**
   * Validates a policy set and builds its topology. Every operator address starts `active`.
   * Clusters of a table keep the ledger order (the order of `policies`). Policies of other types
   * (`table`, …) are accepted and ignored. As in AnyLog, an operator is routed only when it has
   * both `cluster` and `member` and its `cluster` is a root cluster's id (the others are loaded
   * with a warning in {@link Topology.issues} and left out of routes and reports).
   *
   * @param policies - Cluster and operator policies (typically from `parsePolicies`).
   * @param options - Clock, the caller's external IP (for `local_ip` selection) and what to do
   * with invalid policies (`invalid`).
   * @returns The topology.
   * @throws {@link TopologyError} `TOPOLOGY_INVALID_POLICIES` with every validation issue in
   * `issues` when the set is invalid and `invalid` is `'reject'` (warnings alone do not fail);
   * `TOPOLOGY_INVALID_ARGUMENT` for a bad option.
   *
   * @example
   * ```ts
   * import { type Policy, Topology } from 'edge-ha';
   *
   * declare const policies: Policy[];
   *
   * const topology = Topology.fromPolicies(policies, { localExternalIp: '24.23.250.144' });
   * ```
   */
  static fromPolicies(policies: readonly Policy[], options: TopologyOptions = {}): Topology {
    if (typeof options !== 'object' || options === null) {
      throw invalid(`Topology options must be an object, got ${describeValue(options)}.`);
    }
    const clock = options.clock ?? systemClock;
    if (typeof clock !== 'object' || clock === null || typeof clock.now !== 'function') {
      throw invalid('options.clock must be an object with a now() method (see Clock).');
    }
    const ip = options.localExternalIp;
    if (ip !== undefined) checkName(ip, 'options.localExternalIp');
    const mode = options.invalid ?? 'reject';
    if (mode !== 'reject' && mode !== 'skip') {
      throw invalid(`options.invalid must be 'reject' or 'skip', got ${describeValue(mode)}.`);
    }
    return new Topology(load(policies, mode, clock.now(), ip, undefined), clock, ip, mode);
  }

  /**
   * Replaces the policy set. Liveness is kept for every address still present (addresses that
   * left the set are forgotten and start `active` if they come back); round-robin positions are
   * kept for clusters and tables that still exist. Invalid policies are handled as chosen by
   * `invalid` when the topology was built: with `'reject'` an invalid set throws and the
   * topology keeps the previous set; with `'skip'` they are dropped and reported in
   * {@link Topology.issues}.
   *
   * @param policies - The new complete policy set.
   * @throws {@link TopologyError} `TOPOLOGY_INVALID_POLICIES` with `issues`.
   */
  reload(policies: readonly Policy[]): void {
    const loaded = load(
      policies,
      this.#invalid,
      this.#clock.now(),
      this.#localExternalIp,
      this.#map,
    );
    this.#map = loaded.map;
    this.#issues = loaded.issues;
    this.#skipped = loaded.skipped;
  }

  /**
   * Routes a query on `dbms.table`: exactly one live operator per routable cluster holding the
   * table, in ledger order of the clusters. With `nodes: 'main'` (default) a live `main: true`
   * operator is preferred, otherwise the cluster's live operators are used round-robin;
   * `nodes: 'all'` round-robins over all live operators. Without `company`, the clusters of every
   * company having `dbms.table` are included.
   *
   * @param request - Table, optional company, node preference and `subset`.
   * @returns The targets (merge their results), and with `subset: true` the clusters left out.
   * @throws {@link TopologyError} `TOPOLOGY_UNKNOWN_TABLE` when no routable cluster holds the
   * table; `TOPOLOGY_NO_LIVE_OPERATOR` (naming each cluster and its operators, ids in
   * `clusters`) when a cluster has no live operator and `subset` is not set;
   * `TOPOLOGY_INVALID_ARGUMENT` for a malformed request.
   *
   * @example
   * ```ts
   * import type { Topology } from 'edge-ha';
   *
   * declare const topology: Topology;
   *
   * const { targets, skipped } = topology.routeQuery({
   *   dbms: 'litsanleandro',
   *   table: 'ping_sensor',
   *   subset: true,
   * });
   * ```
   */
  routeQuery(request: QueryRequest): QueryRoute {
    checkRequestObject(request, 'routeQuery');
    const { dbms, table, company, nodes, subset } = request;
    checkNames(dbms, table, company, 'routeQuery');
    if (nodes !== undefined && nodes !== 'main' && nodes !== 'all') {
      throw invalid(`routeQuery: nodes must be 'main' or 'all', got ${describeValue(nodes)}.`);
    }
    if (subset !== undefined && typeof subset !== 'boolean') {
      throw invalid(`routeQuery: subset must be a boolean, got ${describeValue(subset)}.`);
    }
    const map = this.#map;
    const plan = map.plan;
    const { start, end } = this.#routeRange(dbms, table, company);
    const preferMain = nodes !== 'all';
    const targets: RoutedOperator[] = [];
    let dead: ClusterNode[] | undefined;
    for (let i = start; i < end; i++) {
      const c = plan.routeClusters[i] as number;
      let operator = preferMain ? pickMain(plan, c) : -1;
      if (operator < 0) operator = pickLive(plan, c);
      if (operator >= 0) {
        targets.push(plan.targets[operator] as RoutedOperator);
        continue;
      }
      const cluster = map.clusters[c] as ClusterNode;
      if (dead === undefined) dead = [cluster];
      else dead.push(cluster);
      if (subset === true) continue;
      // Like EdgeLake's `metadata.get_operators_by_keys`, the route stops at the first cluster
      // without a live operator: the later clusters' round-robin positions do not move. They
      // are only looked at (read-only) so that the error names every cluster that is down.
      for (let j = i + 1; j < end; j++) {
        const later = plan.routeClusters[j] as number;
        if (!hasLive(plan, later, true)) dead.push(map.clusters[later] as ClusterNode);
      }
      break;
    }
    if (dead !== undefined && subset !== true) {
      throw new TopologyError(
        'TOPOLOGY_NO_LIVE_OPERATOR',
        `Cannot query ${tableName(dbms, table, company)}: no live operator in ${dead
          .map(describeCluster)
          .join(
            '; ',
          )}. Call reportSuccess(address) when an operator is back, or pass subset: true to query the other clusters.`,
        { clusters: dead.map((cluster) => cluster.id) },
      );
    }
    return {
      dbms,
      table,
      company,
      targets,
      skipped: dead === undefined ? NONE : dead.map(skippedOf),
      complete: dead === undefined,
    };
  }

  /**
   * Routes a write to `dbms.table`: chooses one routable cluster and returns every live operator
   * of it as a copy target, plus the copies that are missing because their operator is
   * `not_responding`. Without `key`, clusters are used round-robin, skipping clusters that have
   * no live operator. With `key`, the cluster is chosen by rendezvous hashing (deterministic;
   * adding a cluster only moves keys onto the new cluster) and is never replaced by another one.
   *
   * A write never returns zero targets: when the chosen cluster (keyed) or every cluster
   * (round-robin) has no live operator, it throws `TOPOLOGY_NO_LIVE_OPERATOR`; buffer the data
   * and retry once an operator is reported back.
   *
   * @param request - Table, company (required when several companies hold the table) and key.
   * @returns The cluster, its live copy targets and the missing copies.
   * @throws {@link TopologyError} `TOPOLOGY_UNKNOWN_TABLE`, `TOPOLOGY_NO_LIVE_OPERATOR`,
   * `TOPOLOGY_INVALID_ARGUMENT` (also when `company` is missing but needed).
   *
   * @example
   * ```ts
   * import type { Topology } from 'edge-ha';
   *
   * declare const topology: Topology;
   * declare const rows: unknown[];
   * declare function send(host: string, port: number, rows: unknown[]): Promise<void>; // your client
   *
   * const write = topology.routeWrite({ dbms: 'litsanleandro', table: 'ping_sensor', key: 'sensor-7' });
   * await Promise.all(write.targets.map((target) => send(target.host, target.port, rows)));
   * if (!write.complete) console.warn('copies missing', write.missing);
   * ```
   */
  routeWrite(request: WriteRequest): WriteRoute {
    checkRequestObject(request, 'routeWrite');
    const { dbms, table, company, key } = request;
    checkNames(dbms, table, company, 'routeWrite');
    if (
      key !== undefined &&
      typeof key !== 'string' &&
      !(typeof key === 'number' && Number.isFinite(key))
    ) {
      throw invalid(
        `routeWrite: key must be a string or a finite number, got ${describeValue(key)}.`,
      );
    }
    const map = this.#map;
    const plan = map.plan;
    const { route, start, end } = this.#routeRange(dbms, table, company);
    if (plan.routeMultiCompany[route] === 1) {
      const companies = new Set(
        (map.routes[route] as TableRoute).clusters.map((cluster) => cluster.company),
      );
      throw invalid(
        `routeWrite: ${dbms}.${table} is held by clusters of several companies (${[...companies]
          .map((name) => `"${name}"`)
          .join(', ')}); pass company to say whose data it is.`,
      );
    }
    const c =
      key === undefined
        ? this.#nextWritable(map, route, start, end)
        : this.#keyed(map, route, start, end, key);
    const targets: RoutedOperator[] = [];
    let missing: MissingCopy[] | undefined;
    const operatorEnd = plan.operatorStart[c + 1] as number;
    const operatorStart = plan.operatorStart[c] as number;
    for (let i = operatorStart; i < operatorEnd; i++) {
      const operator = plan.clusterOperators[i] as number;
      const target = plan.targets[operator] as RoutedOperator;
      if (plan.live[operator] === 1) {
        targets.push(target);
      } else {
        const copy = { operator: target, since: (map.operators[operator] as OperatorNode).since };
        if (missing === undefined) missing = [copy];
        else missing.push(copy);
      }
    }
    const text = plan.clusterText;
    return {
      dbms,
      table,
      company: text[3 * c + 2] as string,
      clusterId: text[3 * c] as string,
      clusterName: text[3 * c + 1] as string,
      copies: operatorEnd - operatorStart,
      targets,
      missing: missing ?? NONE,
      complete: missing === undefined,
    };
  }

  /**
   * The route of `dbms.table` and its range `[start, end)` in `plan.routeClusters`.
   * @throws {TopologyError} `TOPOLOGY_UNKNOWN_TABLE` when no routable cluster holds the table.
   */
  #routeRange(
    dbms: string,
    table: string,
    company: string | undefined,
  ): { route: number; start: number; end: number } {
    const map = this.#map;
    const route = findRoute(map, dbms, table, company);
    const start = route < 0 ? 0 : (map.plan.routeStart[route] as number);
    const end = route < 0 ? 0 : (map.plan.routeStart[route + 1] as number);
    if (start === end) throw unknownTable(map, dbms, table, company);
    return { route, start, end };
  }

  /** Round-robin over the route's clusters that have a live operator; returns a cluster number. */
  #nextWritable(map: RoutingMap, route: number, start: number, end: number): number {
    const plan = map.plan;
    const n = end - start;
    let index = plan.writeCursor[route] as number;
    for (let tried = 0; tried < n; tried++) {
      if (index >= n) index = 0;
      const c = plan.routeClusters[start + index] as number;
      if (hasLive(plan, c)) {
        plan.writeCursor[route] = index + 1 >= n ? 0 : index + 1;
        return c;
      }
      index++;
    }
    const { clusters, dbms, table, company } = map.routes[route] as TableRoute;
    throw new TopologyError(
      'TOPOLOGY_NO_LIVE_OPERATOR',
      `Cannot write ${tableName(dbms, table, company)}: no cluster holding it has a live operator (${clusters
        .map(describeCluster)
        .join('; ')}). Buffer the data and retry after reportSuccess(address).`,
      { clusters: clusters.map((cluster) => cluster.id) },
    );
  }

  /** The rendezvous cluster of `key` among the route's clusters; returns a cluster number. */
  #keyed(map: RoutingMap, route: number, start: number, end: number, key: string | number): number {
    const plan = map.plan;
    const text = typeof key === 'number' ? String(key) : key;
    const c = rendezvousPickCluster(
      text,
      plan.routeClusters,
      start,
      end,
      plan.seed,
      plan.clusterText,
    );
    if (!hasLive(plan, c)) {
      const cluster = map.clusters[c] as ClusterNode;
      const { dbms, table, company } = map.routes[route] as TableRoute;
      throw new TopologyError(
        'TOPOLOGY_NO_LIVE_OPERATOR',
        `Cannot write key ${JSON.stringify(text)} of ${tableName(dbms, table, company)}: the key belongs to ${describeCluster(cluster)}, and none is live. A keyed write never moves to another cluster; buffer it and retry after reportSuccess(address).`,
        { clusters: [cluster.id] },
      );
    }
    return c;
  }

  /**
   * Marks an operator address `not_responding` (a send to it failed). The time of the change is
   * recorded; reporting an address that is already `not_responding` changes nothing.
   *
   * @param address - The target's `address` (external `ip:port`), or the local `host:port` a
   * route handed out.
   * @returns The new liveness entry, or `undefined` when no operator of the topology has that
   * address (e.g. it was removed by a reload): nothing is recorded for unknown addresses.
   * @throws {@link TopologyError} `TOPOLOGY_INVALID_ARGUMENT` when `address` is not a string.
   */
  reportFailure(address: string): LivenessEntry | undefined {
    return this.#report(address, 'not_responding', 'reportFailure');
  }

  /**
   * Marks an operator address `active` again (a send to it succeeded, or a probe answered).
   *
   * @param address - As for {@link Topology.reportFailure}.
   * @returns The new liveness entry, or `undefined` for an unknown address.
   * @throws {@link TopologyError} `TOPOLOGY_INVALID_ARGUMENT` when `address` is not a string.
   */
  reportSuccess(address: string): LivenessEntry | undefined {
    return this.#report(address, 'active', 'reportSuccess');
  }

  #report(
    address: string,
    status: 'active' | 'not_responding',
    method: string,
  ): LivenessEntry | undefined {
    checkName(address, `${method}: address`);
    const map = this.#map;
    let operator = map.operatorByAddress.get(address);
    if (operator === undefined) {
      const external = map.aliases.get(address);
      if (external !== undefined) operator = map.operatorByAddress.get(external);
    }
    if (operator === undefined) return undefined;
    if (operator.status !== status) setLiveness(map, operator, status, this.#clock.now());
    return entryOf(operator);
  }

  /**
   * Liveness of every operator address of the topology, in ledger order of the operators.
   *
   * @returns One entry per address: status and the time of the last change.
   */
  liveness(): LivenessEntry[] {
    return this.#map.operators.map(entryOf);
  }

  /**
   * The addresses a prober should try: the `not_responding` ones (call `reportSuccess` when one
   * answers), or with `all: true` every address. Each comes with the host and port to connect to.
   *
   * @param options - `all` to list every address.
   * @returns The probe targets, in ledger order of the operators.
   */
  probeTargets(options: ProbeOptions = {}): ProbeTarget[] {
    checkOptions(options, 'probeTargets: options');
    const all = options.all === true;
    const targets: ProbeTarget[] = [];
    for (const operator of this.#map.operators) {
      if (!all && operator.status === 'active') continue;
      targets.push({
        ...entryOf(operator),
        host: operator.target.host,
        port: operator.target.port,
      });
    }
    return targets;
  }

  /**
   * Report: one row per table, cluster holding it and operator of that cluster (a cluster
   * without operator gets one row with empty node columns). Static and down clusters are
   * included with their status. Print with `formatTable(rows, DATA_NODES_COLUMNS)`.
   *
   * @param filter - Company, dbms, table and/or cluster to keep.
   * @returns The rows, tables in order of first appearance, clusters in ledger order.
   */
  dataNodes(filter: DataNodesFilter = {}): DataNodeRow[] {
    checkOptions(filter, 'dataNodes: filter');
    for (const key of ['company', 'dbms', 'table', 'clusterId'] as const) {
      if (filter[key] !== undefined && typeof filter[key] !== 'string') {
        throw invalid(
          `dataNodes: filter.${key} must be a string, got ${describeValue(filter[key])}.`,
        );
      }
    }
    return dataNodeRows(this.#map, filter);
  }

  /**
   * Report: the cluster of one operator, its member id, the participating operators and the
   * tables supported. Print with {@link formatClusterInfo}.
   *
   * @param operatorId - Policy id of the operator (its name is accepted too).
   * @returns The cluster info.
   * @throws {@link TopologyError} `TOPOLOGY_UNKNOWN_OPERATOR` when no routed operator has that id
   * or name.
   */
  clusterInfo(operatorId: string): ClusterInfo {
    checkName(operatorId, 'clusterInfo: operatorId');
    const map = this.#map;
    const operator = map.operatorById.get(operatorId) ?? map.operatorByName.get(operatorId);
    if (operator === undefined) {
      throw new TopologyError(
        'TOPOLOGY_UNKNOWN_OPERATOR',
        `No operator with id or name ${JSON.stringify(operatorId)} is assigned to a cluster of this topology.`,
      );
    }
    return clusterInfoOf(operator);
  }

  /**
   * Report: one row per table and cluster holding it, with the number of copies (operators) of
   * that cluster. Print with `formatTable(rows, VIRTUAL_TABLES_COLUMNS)`.
   *
   * @returns The rows, tables in order of first appearance, clusters in ledger order.
   */
  virtualTables(): VirtualTableRow[] {
    return virtualTableRows(this.#map);
  }

  /**
   * Report: per routing cluster, copies configured vs live, and the tables that are
   * under-replicated (some copies down) or unavailable (no live copy). Print with
   * `formatTable(rows, HA_STATUS_COLUMNS)`.
   *
   * @returns One row per routing cluster, in ledger order.
   */
  haStatus(): HaStatusRow[] {
    return haStatusRows(this.#map);
  }

  /**
   * Counts of clusters, operators and tables.
   *
   * @returns The counts.
   */
  stats(): TopologyStats {
    const map = this.#map;
    let routableClusters = 0;
    for (const cluster of map.clusters) if (cluster.status === 'active') routableClusters++;
    return {
      clusters: map.clusters.length,
      routableClusters,
      operators: map.operators.length,
      tables: map.tables.length,
    };
  }
}

function entryOf(operator: OperatorNode): LivenessEntry {
  return {
    address: operator.address,
    status: operator.status,
    since: operator.since,
    operatorId: operator.id,
    operatorName: operator.name,
    clusterId: operator.cluster.id,
  };
}

interface Loaded {
  readonly map: RoutingMap;
  readonly issues: readonly PolicyIssue[];
  readonly skipped: readonly number[];
}

function load(
  policies: readonly Policy[],
  mode: InvalidPolicies,
  now: number,
  localExternalIp: string | undefined,
  previous: RoutingMap | undefined,
): Loaded {
  if (!Array.isArray(policies)) {
    throw invalid(`Expected an array of policies, got ${describeValue(policies)}.`);
  }
  if (mode === 'skip') {
    const usable = loadablePolicies(policies);
    const map = buildRoutingMap(usable.policies, { now, localExternalIp, previous });
    return {
      map,
      issues: Object.freeze(usable.issues),
      skipped: Object.freeze(usable.skipped),
    };
  }
  const result = validatePolicies(policies);
  if (!result.valid) {
    const errors = result.issues.filter((issue) => issue.severity === 'error');
    const first = errors[0];
    throw new TopologyError(
      'TOPOLOGY_INVALID_POLICIES',
      `The policy set is invalid (${errors.length} error${errors.length === 1 ? '' : 's'})${
        first === undefined ? '' : `; first: policy #${first.index}: ${first.message}`
      }. Fix the policies (every issue is in error.issues) and build the topology again.`,
      { issues: result.issues },
    );
  }
  const map = buildRoutingMap(policies, { now, localExternalIp, previous });
  return { map, issues: Object.freeze([...result.warnings]), skipped: NONE };
}
