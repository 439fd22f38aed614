/**
 * The immutable routing map built from a validated policy set (internal). Everything a route
 * needs is precomputed here so that routing is a few Map lookups plus a scan of one cluster's
 * operators: the cost never depends on the number of tables or clusters.
 */

import { computePolicyId } from '../policy/id.js';
import type { ClusterStatus, Policy, PolicyObject } from '../policy/types.js';
import { isClusterPolicy, isOperatorPolicy } from '../policy/validate.js';
import { clusterSeed } from './hash.js';
import type { LivenessStatus, RoutedOperator } from './types.js';

/** An operator of the routing map. */
export interface OperatorNode {
  readonly id: string;
  readonly name: string;
  readonly company: string;
  readonly ip: string;
  readonly port: number;
  readonly localIp: string | undefined;
  readonly localPort: number | undefined;
  readonly member: number | undefined;
  readonly main: boolean;
  /** The cluster id the policy names (a child cluster's id when it points at a child). */
  readonly declaredClusterId: string;
  /** `ip:port`, the liveness key. */
  readonly address: string;
  /** Liveness of `address`; carried over to the next map by `reload`. Kept on the node itself so
   * that routing reads it without another pointer hop. */
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
  readonly id: string;
  readonly name: string;
  readonly company: string;
  readonly status: ClusterStatus;
  /** Ids of the child clusters merged into this one, in ledger order. */
  readonly childIds: string[];
  readonly operators: OperatorNode[];
  readonly mains: OperatorNode[];
  /** The only `main: true` operator when there is exactly one (the common case), else undefined. */
  soleMain: OperatorNode | undefined;
  readonly tables: ClusterTable[];
  /** Rendezvous-hash seed derived from the id. */
  readonly seed: number;
  /** Round-robin position over `operators` (next index to try). */
  cursor: number;
  /** Round-robin position over `mains`. */
  mainCursor: number;
}

/** The clusters holding one `dbms.table` (of one company, or of every company). */
export interface TableRoute {
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
  /** Round-robin position over `clusters` for writes. */
  writeCursor: number;
}

type TableIndex = Map<string, Map<string, TableRoute>>;

/** The whole map. */
export interface RoutingMap {
  /** Routing clusters (roots) in ledger order. */
  readonly clusters: ClusterNode[];
  /** Root and child cluster ids → routing cluster. */
  readonly clusterById: Map<string, ClusterNode>;
  /** Operators assigned to a known cluster, in ledger order. */
  readonly operators: OperatorNode[];
  readonly operatorById: Map<string, OperatorNode>;
  readonly operatorByName: Map<string, OperatorNode>;
  readonly operatorByAddress: Map<string, OperatorNode>;
  /**
   * Local connect addresses (`local_ip:local_port` of operators routed locally) → liveness key,
   * so a caller may report the address it actually connected to. Ambiguous ones are left out.
   */
  readonly aliases: Map<string, string>;
  /** company → dbms → table. */
  readonly byCompany: Map<string, TableIndex>;
  /** dbms → table, over every company. */
  readonly anyCompany: TableIndex;
  /** Company-specific routes in order of first appearance (for reports). */
  readonly tables: TableRoute[];
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

function lookup(index: TableIndex, dbms: string, table: string): TableRoute | undefined {
  return index.get(dbms)?.get(table);
}

function insert(index: TableIndex, route: TableRoute): void {
  let tables = index.get(route.dbms);
  if (tables === undefined) {
    tables = new Map();
    index.set(route.dbms, tables);
  }
  tables.set(route.table, route);
}

/** Finds the route of `dbms.table` for one company or (without `company`) every company. */
export function findTable(
  map: RoutingMap,
  dbms: string,
  table: string,
  company: string | undefined,
): TableRoute | undefined {
  if (company === undefined) return lookup(map.anyCompany, dbms, table);
  const index = map.byCompany.get(company);
  return index === undefined ? undefined : lookup(index, dbms, table);
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
    const before = context.previous?.clusterById.get(id);
    const node: ClusterNode = {
      id,
      name: str(body.name) ?? '',
      company: str(body.company) ?? '',
      status: statusOf(body.status),
      childIds: [],
      operators: [],
      mains: [],
      soleMain: undefined,
      tables: [],
      seed: clusterSeed(id),
      cursor: before !== undefined && before.id === id ? before.cursor : 0,
      mainCursor: before !== undefined && before.id === id ? before.mainCursor : 0,
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
  const previous = context.previous;
  const newRoute = (company: string | undefined, dbms: string, table: string): TableRoute => ({
    company,
    dbms,
    table,
    clusters: [],
    known: [],
    writeCursor:
      previous === undefined ? 0 : (findTable(previous, dbms, table, company)?.writeCursor ?? 0),
  });
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
      let own = lookup(index, dbms, table);
      let all: TableRoute | undefined;
      if (own === undefined) {
        own = newRoute(company, dbms, table);
        insert(index, own);
        tables.push(own);
        all = lookup(anyCompany, dbms, table);
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
        if (own.known.includes(root)) continue; // listed twice in one cluster: invalid, ignore
        all = lookup(anyCompany, dbms, table) as TableRoute;
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

  // Pass 3: operators, attached to the routing cluster of the cluster they name.
  const operators: OperatorNode[] = [];
  const operatorById = new Map<string, OperatorNode>();
  const operatorByName = new Map<string, OperatorNode>();
  const operatorByAddress = new Map<string, OperatorNode>();
  for (const { id, body } of operatorSources) {
    const declaredClusterId = str(body.cluster);
    const ip = str(body.ip);
    const port = int(body.port);
    if (declaredClusterId === undefined || ip === undefined || port === undefined) continue;
    const cluster = clusterById.get(declaredClusterId);
    if (cluster === undefined || operatorById.has(id)) continue;
    const address = `${ip}:${port}`;
    const known = operatorByAddress.get(address) ?? previous?.operatorByAddress.get(address);
    const localIp = str(body.local_ip);
    const localPort = int(body.local_port);
    const member = int(body.member);
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
      id,
      name,
      company: str(body.company) ?? '',
      ip,
      port,
      localIp,
      localPort,
      member,
      main,
      declaredClusterId,
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
  for (const cluster of clusters) {
    if (cluster.mains.length === 1) cluster.soleMain = cluster.mains[0];
    if (cluster.cursor >= cluster.operators.length) cluster.cursor = 0;
    if (cluster.mainCursor >= cluster.mains.length) cluster.mainCursor = 0;
  }
  for (const route of tables) {
    if (route.writeCursor >= route.clusters.length) route.writeCursor = 0;
  }
  for (const dbmsTables of anyCompany.values()) {
    for (const route of dbmsTables.values()) {
      if (route.company === undefined && route.writeCursor >= route.clusters.length) {
        route.writeCursor = 0;
      }
    }
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
    tables,
  };
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
