/**
 * The immutable routing map built from a validated policy set (internal). Everything a route
 * needs is precomputed here so that routing is a few Map lookups plus a scan of one cluster's
 * operators: the cost never depends on the number of tables or clusters.
 *
 * The routing hot path does not walk the object graph (route → clusters array → cluster →
 * operators array → operator): on a large topology every one of those hops is a CPU cache miss.
 * The table index maps a name to a route number (a small integer stored in the Map entry itself),
 * and {@link RoutePlan} holds, in a few flat typed arrays indexed by route, cluster and operator
 * number, the routable clusters of each route, the operators and mains of each cluster, the
 * round-robin positions and the liveness bits. Those arrays are a few bytes per table/operator, so
 * they stay in the CPU caches where the objects would not.
 */

import { computePolicyId } from '../policy/id.js';
import type { ClusterStatus, Policy, PolicyObject } from '../policy/types.js';
import { isClusterPolicy, isOperatorPolicy } from '../policy/validate.js';
import { clusterSeed } from './hash.js';
import type { LivenessStatus, RoutedOperator } from './types.js';

/** An operator of the routing map. */
export interface OperatorNode {
  /** Position in {@link RoutingMap.operators} (the operator number of the {@link RoutePlan}). */
  readonly index: number;
  readonly id: string;
  readonly name: string;
  readonly company: string;
  readonly ip: string;
  readonly port: number;
  readonly localIp: string | undefined;
  readonly localPort: number | undefined;
  /** The operator's `member`: an operator without one is not loaded (EdgeLake). */
  readonly member: number;
  readonly main: boolean;
  /**
   * `type: "data source"` (case-insensitive): the operator keeps a copy but is never sent a
   * query (EdgeLake's `foreign_net` flag).
   */
  readonly dataSource: boolean;
  /** `ip:port`, the liveness key. */
  readonly address: string;
  /** Liveness of `address`; carried over to the next map by `reload`. Routing reads the mirror
   * bit {@link RoutePlan.live}: change both with {@link setLiveness}. */
  status: LivenessStatus;
  /** Epoch ms of the last liveness change. */
  since: number;
  /** The frozen object routes hand out for this operator. */
  readonly target: RoutedOperator;
  readonly cluster: ClusterNode;
}

/** A table as held by one routing cluster. */
export interface ClusterTable {
  readonly company: string;
  readonly dbms: string;
  readonly table: string;
  /** Worst of the root cluster's, the listing (child) cluster's and the table entry's status. */
  readonly status: ClusterStatus;
  /** Id of the cluster policy that lists the table (the root or one of its children). */
  readonly listedBy: string;
}

/** A routing cluster: a root cluster with its children merged in. */
export interface ClusterNode {
  /** Position in {@link RoutingMap.clusters} (the cluster number of the {@link RoutePlan}). */
  readonly index: number;
  readonly id: string;
  readonly name: string;
  readonly company: string;
  readonly status: ClusterStatus;
  /** Ids of the child clusters merged into this one, in ledger order. */
  readonly childIds: string[];
  readonly operators: OperatorNode[];
  /** The `main: true` operators in ledger order; the last one is the cluster's main. */
  readonly mains: OperatorNode[];
  readonly tables: ClusterTable[];
  /** Rendezvous-hash seed derived from the id. */
  readonly seed: number;
}

/** The clusters holding one `dbms.table` (of one company, or of every company). */
export interface TableRoute {
  /** Position in {@link RoutingMap.routes} (the route number of the {@link RoutePlan}). */
  readonly index: number;
  /**
   * The company, or `undefined` for a route combining several companies (the all-companies
   * index shares a company's route while only that company holds the table).
   */
  readonly company: string | undefined;
  readonly dbms: string;
  readonly table: string;
  /** Clusters that route this table (effective status `active`), in ledger order. */
  readonly clusters: ClusterNode[];
  /** Every cluster listing the table, whatever its status, in ledger order. */
  readonly known: ClusterNode[];
}

/** dbms → table → route number. */
type TableIndex = Map<string, Map<string, number>>;

/**
 * The routing state in flat arrays (see the module comment). "Route", "cluster" and "operator"
 * numbers are positions in {@link RoutingMap.routes}, {@link RoutingMap.clusters} and
 * {@link RoutingMap.operators}. A list `x` of item `i` is `xs[xStart[i]] … xs[xStart[i + 1] - 1]`.
 */
export interface RoutePlan {
  /** Per route (length routes + 1): start of its routable clusters in `routeClusters`. */
  readonly routeStart: Int32Array;
  /** Cluster numbers of each route's routable clusters, in ledger order. */
  readonly routeClusters: Int32Array;
  /** Per route: 1 when its routable clusters belong to several companies (writes need one). */
  readonly routeMultiCompany: Uint8Array;
  /** Per route: round-robin position over its routable clusters for unkeyed writes. */
  readonly writeCursor: Int32Array;
  /** Per cluster (length clusters + 1): start of its operators in `clusterOperators`. */
  readonly operatorStart: Int32Array;
  /** Operator numbers of each cluster's operators, in ledger order. */
  readonly clusterOperators: Int32Array;
  /**
   * Per cluster: the main operator's number (the last `main: true` operator in ledger order, as
   * in EdgeLake, where each later main replaces the earlier one), or -1.
   */
  readonly main: Int32Array;
  /** Per cluster: round-robin position over its operators (next position to try). */
  readonly cursor: Int32Array;
  /** Per cluster: rendezvous-hash seed. */
  readonly seed: Float64Array;
  /** Per cluster: `[id, name, company]` at `3 * cluster` (what a write route hands out). */
  readonly clusterText: string[];
  /** Per operator: 1 while `active`, 0 while `not_responding` (mirror of `status`). */
  readonly live: Uint8Array;
  /** Per operator: 1 when it may be sent a query (it is not a `data source`). */
  readonly queryable: Uint8Array;
  /** Per operator: the frozen object routes hand out. */
  readonly targets: RoutedOperator[];
}

/** The whole map. */
export interface RoutingMap {
  /** Routing clusters (roots) in ledger order. */
  readonly clusters: ClusterNode[];
  /** Root and child cluster ids → routing cluster. */
  readonly clusterById: Map<string, ClusterNode>;
  /**
   * Operators loaded (both `cluster` and `member`, the cluster a known root cluster), in ledger
   * order.
   */
  readonly operators: OperatorNode[];
  readonly operatorById: Map<string, OperatorNode>;
  readonly operatorByName: Map<string, OperatorNode>;
  readonly operatorByAddress: Map<string, OperatorNode>;
  /**
   * Local connect addresses (`local_ip:local_port` of operators routed locally) → liveness key,
   * so a caller may report the address it actually connected to. Ambiguous ones are left out.
   */
  readonly aliases: Map<string, string>;
  /** company → dbms → table → route number. */
  readonly byCompany: Map<string, TableIndex>;
  /** dbms → table → route number, over every company. */
  readonly anyCompany: TableIndex;
  /** Every route (company-specific ones and all-companies combinations) by route number. */
  readonly routes: TableRoute[];
  /** Company-specific routes in order of first appearance (for reports). */
  readonly tables: TableRoute[];
  /** The flat routing state. */
  readonly plan: RoutePlan;
}

const STATUS_RANK: Record<ClusterStatus, number> = { active: 0, static: 1, down: 2 };

function statusOf(value: unknown): ClusterStatus {
  return value === 'static' || value === 'down' ? value : 'active';
}

function worst(a: ClusterStatus, b: ClusterStatus): ClusterStatus {
  return STATUS_RANK[a] >= STATUS_RANK[b] ? a : b;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function int(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) ? value : undefined;
}

function lookup(index: TableIndex, dbms: string, table: string): number {
  const tables = index.get(dbms);
  if (tables === undefined) return -1;
  const route = tables.get(table);
  return route === undefined ? -1 : route;
}

function insert(index: TableIndex, route: TableRoute): void {
  let tables = index.get(route.dbms);
  if (tables === undefined) {
    tables = new Map();
    index.set(route.dbms, tables);
  }
  tables.set(route.table, route.index);
}

/**
 * The route number of `dbms.table` for one company or (without `company`) every company, or -1.
 * The routing hot path uses this: it does not touch the {@link TableRoute} object.
 */
export function findRoute(
  map: RoutingMap,
  dbms: string,
  table: string,
  company: string | undefined,
): number {
  if (company === undefined) return lookup(map.anyCompany, dbms, table);
  const index = map.byCompany.get(company);
  return index === undefined ? -1 : lookup(index, dbms, table);
}

/** Finds the route of `dbms.table` for one company or (without `company`) every company. */
export function findTable(
  map: RoutingMap,
  dbms: string,
  table: string,
  company: string | undefined,
): TableRoute | undefined {
  const route = findRoute(map, dbms, table, company);
  return route < 0 ? undefined : map.routes[route];
}

/** Sets an operator's liveness (the node's `status`/`since` and the plan's bit). */
export function setLiveness(
  map: RoutingMap,
  operator: OperatorNode,
  status: LivenessStatus,
  now: number,
): void {
  if (operator.status === status) return;
  operator.status = status;
  operator.since = now;
  map.plan.live[operator.index] = status === 'active' ? 1 : 0;
}

interface BuildContext {
  readonly now: number;
  readonly localExternalIp: string | undefined;
  /**
   * The previous map: liveness is carried over for addresses that still exist, round-robin
   * positions where they still apply.
   */
  readonly previous: RoutingMap | undefined;
}

interface ClusterSource {
  readonly id: string;
  readonly body: PolicyObject;
}

/**
 * Builds a routing map from an already validated policy set. Defensive about shapes (it never
 * throws on odd input) but it does not re-validate: policies it cannot use are ignored.
 */
export function buildRoutingMap(policies: readonly Policy[], context: BuildContext): RoutingMap {
  const clusterSources: ClusterSource[] = [];
  const operatorSources: { id: string; body: PolicyObject }[] = [];
  for (const policy of policies) {
    if (isClusterPolicy(policy)) {
      clusterSources.push({ id: computePolicyId(policy), body: policy.cluster });
    } else if (isOperatorPolicy(policy)) {
      operatorSources.push({ id: computePolicyId(policy), body: policy.operator });
    }
  }

  // Pass 1: routing clusters are the root clusters (no parent, or a parent that is not known).
  const sourceIds = new Set<string>();
  for (const source of clusterSources) sourceIds.add(source.id);
  const clusters: ClusterNode[] = [];
  const clusterById = new Map<string, ClusterNode>();
  for (const { id, body } of clusterSources) {
    const parent = str(body.parent);
    if (parent !== undefined && parent !== id && sourceIds.has(parent)) continue;
    if (clusterById.has(id)) continue;
    const node: ClusterNode = {
      index: clusters.length,
      id,
      name: str(body.name) ?? '',
      company: str(body.company) ?? '',
      status: statusOf(body.status),
      childIds: [],
      operators: [],
      mains: [],
      tables: [],
      seed: clusterSeed(id),
    };
    clusters.push(node);
    clusterById.set(id, node);
  }

  // Pass 2: tables, in ledger order of the policies listing them; children resolve to their root.
  // The all-companies index shares the company's route object while a single company holds the
  // table (the usual case); a second company forks a combined route.
  const byCompany = new Map<string, TableIndex>();
  const anyCompany: TableIndex = new Map();
  const tables: TableRoute[] = [];
  const routes: TableRoute[] = [];
  const previous = context.previous;
  const newRoute = (company: string | undefined, dbms: string, table: string): TableRoute => {
    const route: TableRoute = {
      index: routes.length,
      company,
      dbms,
      table,
      clusters: [],
      known: [],
    };
    routes.push(route);
    return route;
  };
  for (const { id, body } of clusterSources) {
    const root = resolveRoot(id, body, clusterById);
    if (root === undefined) continue;
    if (root.id !== id && !root.childIds.includes(id)) root.childIds.push(id);
    const listed = Array.isArray(body.table) ? body.table : [];
    const listingStatus = worst(root.status, statusOf(body.status));
    const company = root.company;
    let index = byCompany.get(company);
    if (index === undefined) {
      index = new Map();
      byCompany.set(company, index);
    }
    for (const entry of listed) {
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) continue;
      const dbms = str(entry.dbms);
      const table = str(entry.name);
      if (dbms === undefined || table === undefined) continue;
      const ownIndex = lookup(index, dbms, table);
      let own: TableRoute;
      let all: TableRoute | undefined;
      if (ownIndex < 0) {
        own = newRoute(company, dbms, table);
        insert(index, own);
        tables.push(own);
        const allIndex = lookup(anyCompany, dbms, table);
        all = allIndex < 0 ? undefined : routes[allIndex];
        if (all === undefined) {
          all = own;
          insert(anyCompany, own);
        } else if (all.company !== undefined) {
          const fork = newRoute(undefined, dbms, table);
          fork.known.push(...all.known);
          fork.clusters.push(...all.clusters);
          insert(anyCompany, fork);
          all = fork;
        }
      } else {
        own = routes[ownIndex] as TableRoute;
        if (own.known.includes(root)) continue; // listed twice in one cluster: invalid, ignore
        all = routes[lookup(anyCompany, dbms, table)] as TableRoute;
      }
      const status = worst(listingStatus, statusOf(entry.status));
      root.tables.push({ company, dbms, table, status, listedBy: id });
      own.known.push(root);
      if (status === 'active') own.clusters.push(root);
      if (all !== own) {
        all.known.push(root);
        if (status === 'active') all.clusters.push(root);
      }
    }
  }

  // Pass 3: operators, attached to the root cluster they name. Like EdgeLake's
  // `metadata.update_operators`, an operator counts only with both `cluster` and `member`, and
  // only when `cluster` is a root cluster's id (a child cluster's id is not loaded).
  const operators: OperatorNode[] = [];
  const operatorById = new Map<string, OperatorNode>();
  const operatorByName = new Map<string, OperatorNode>();
  const operatorByAddress = new Map<string, OperatorNode>();
  for (const { id, body } of operatorSources) {
    const clusterId = str(body.cluster);
    const ip = str(body.ip);
    const port = int(body.port);
    const member = int(body.member);
    if (clusterId === undefined || ip === undefined || port === undefined) continue;
    if (member === undefined) continue;
    const cluster = clusterById.get(clusterId);
    if (cluster === undefined || cluster.id !== clusterId || operatorById.has(id)) continue;
    const address = `${ip}:${port}`;
    const known = operatorByAddress.get(address) ?? previous?.operatorByAddress.get(address);
    const localIp = str(body.local_ip);
    const localPort = int(body.local_port);
    const main = body.main === true;
    const name = str(body.name) ?? '';
    const local = context.localExternalIp !== undefined && context.localExternalIp === ip;
    const useLocal = local && localIp !== undefined;
    const target: RoutedOperator = Object.freeze({
      operatorId: id,
      operatorName: name,
      clusterId: cluster.id,
      clusterName: cluster.name,
      company: cluster.company,
      member,
      main,
      address,
      host: useLocal ? localIp : ip,
      port: useLocal ? (localPort ?? port) : port,
      local: useLocal,
    });
    const node: OperatorNode = {
      index: operators.length,
      id,
      name,
      company: str(body.company) ?? '',
      ip,
      port,
      localIp,
      localPort,
      member,
      main,
      dataSource: isDataSource(body),
      address,
      status: known?.status ?? 'active',
      since: known?.since ?? context.now,
      target,
      cluster,
    };
    operators.push(node);
    operatorById.set(id, node);
    if (!operatorByName.has(name)) operatorByName.set(name, node);
    if (!operatorByAddress.has(address)) operatorByAddress.set(address, node);
    cluster.operators.push(node);
    if (main) cluster.mains.push(node);
  }
  const aliases = new Map<string, string>();
  const ambiguous = new Set<string>();
  for (const { target } of operators) {
    if (!target.local) continue;
    const connect = `${target.host}:${target.port}`;
    if (operatorByAddress.has(connect) || ambiguous.has(connect)) continue;
    if (aliases.has(connect)) {
      aliases.delete(connect);
      ambiguous.add(connect);
    } else aliases.set(connect, target.address);
  }

  return {
    clusters,
    clusterById,
    operators,
    operatorById,
    operatorByName,
    operatorByAddress,
    aliases,
    byCompany,
    anyCompany,
    routes,
    tables,
    plan: buildPlan(clusters, operators, routes, previous),
  };
}

/**
 * Lays the routing state out in flat arrays. Round-robin positions are carried over from the
 * previous map for clusters (by id) and routes (by company, dbms and table) that still exist, and
 * restart at 0 when they no longer fit.
 */
function buildPlan(
  clusters: readonly ClusterNode[],
  operators: readonly OperatorNode[],
  routes: readonly TableRoute[],
  previous: RoutingMap | undefined,
): RoutePlan {
  const clusterCount = clusters.length;
  const operatorStart = new Int32Array(clusterCount + 1);
  let operatorTotal = 0;
  for (let c = 0; c < clusterCount; c++) {
    operatorStart[c] = operatorTotal;
    operatorTotal += (clusters[c] as ClusterNode).operators.length;
  }
  operatorStart[clusterCount] = operatorTotal;
  const clusterOperators = new Int32Array(operatorTotal);
  const main = new Int32Array(clusterCount);
  const cursor = new Int32Array(clusterCount);
  const seed = new Float64Array(clusterCount);
  const clusterText: string[] = new Array<string>(clusterCount * 3);
  const before = previous?.plan;
  for (let c = 0; c < clusterCount; c++) {
    const cluster = clusters[c] as ClusterNode;
    const { operators: own, mains } = cluster;
    let at = operatorStart[c] as number;
    for (const operator of own) clusterOperators[at++] = operator.index;
    main[c] = mains.length === 0 ? -1 : (mains[mains.length - 1] as OperatorNode).index;
    seed[c] = cluster.seed;
    clusterText[3 * c] = cluster.id;
    clusterText[3 * c + 1] = cluster.name;
    clusterText[3 * c + 2] = cluster.company;
    const old = previous?.clusterById.get(cluster.id);
    if (before !== undefined && old !== undefined && old.id === cluster.id) {
      const oldCursor = before.cursor[old.index] as number;
      cursor[c] = oldCursor < own.length ? oldCursor : 0;
    }
  }

  const routeCount = routes.length;
  const routeStart = new Int32Array(routeCount + 1);
  let routeTotal = 0;
  for (let r = 0; r < routeCount; r++) {
    routeStart[r] = routeTotal;
    routeTotal += (routes[r] as TableRoute).clusters.length;
  }
  routeStart[routeCount] = routeTotal;
  const routeClusters = new Int32Array(routeTotal);
  const routeMultiCompany = new Uint8Array(routeCount);
  const writeCursor = new Int32Array(routeCount);
  for (let r = 0; r < routeCount; r++) {
    const route = routes[r] as TableRoute;
    const held = route.clusters;
    let at = routeStart[r] as number;
    for (const cluster of held) routeClusters[at++] = cluster.index;
    if (route.company === undefined) {
      const first = held[0]?.company;
      for (const cluster of held) {
        if (cluster.company !== first) {
          routeMultiCompany[r] = 1;
          break;
        }
      }
    }
    if (before !== undefined && previous !== undefined) {
      const old = findRoute(previous, route.dbms, route.table, route.company);
      const position = old < 0 ? 0 : (before.writeCursor[old] as number);
      writeCursor[r] = position < held.length ? position : 0;
    }
  }

  const operatorCount = operators.length;
  const live = new Uint8Array(operatorCount);
  const queryable = new Uint8Array(operatorCount);
  const targets: RoutedOperator[] = new Array<RoutedOperator>(operatorCount);
  for (let o = 0; o < operatorCount; o++) {
    const operator = operators[o] as OperatorNode;
    live[o] = operator.status === 'active' ? 1 : 0;
    queryable[o] = operator.dataSource ? 0 : 1;
    targets[o] = operator.target;
  }
  return {
    routeStart,
    routeClusters,
    routeMultiCompany,
    writeCursor,
    operatorStart,
    clusterOperators,
    main,
    cursor,
    seed,
    clusterText,
    live,
    queryable,
    targets,
  };
}

/**
 * Whether an operator body says `type: "data source"` (EdgeLake compares `type.lower()`): such an
 * operator is on a foreign network and only provides data, so queries never go to it.
 */
export function isDataSource(body: PolicyObject): boolean {
  const type = body.type;
  return typeof type === 'string' && type.toLowerCase() === 'data source';
}

function resolveRoot(
  id: string,
  body: PolicyObject,
  clusterById: Map<string, ClusterNode>,
): ClusterNode | undefined {
  const own = clusterById.get(id);
  if (own !== undefined) return own;
  const parent = str(body.parent);
  const root = parent === undefined ? undefined : clusterById.get(parent);
  if (root !== undefined) clusterById.set(id, root);
  return root;
}
