/**
 * HA reports as plain rows (docs/routing.md, "Reports"), with column sets carrying AnyLog's
 * console headers.
 */

import type { ClusterStatus } from '../policy/types.js';
import { formatTable, type TableColumn } from './format.js';
import type { ClusterNode, ClusterTable, OperatorNode, RoutingMap } from './model.js';
import type { LivenessStatus } from './types.js';

/**
 * Filter of {@link Topology.dataNodes}: every given field must match.
 *
 * @group Topology & routing
 */
export interface DataNodesFilter {
  /** Only tables of this company. */
  company?: string;
  /** Only this logical database. */
  dbms?: string;
  /** Only this table. */
  table?: string;
  /** Only this cluster (a child cluster id selects its root). */
  clusterId?: string;
}

/**
 * One row of {@link Topology.dataNodes}: a table, a cluster holding it, one operator of it.
 *
 * @group Topology & routing
 */
export interface DataNodeRow {
  /** Company of the cluster (and table). */
  readonly company: string;
  /** Logical database name. */
  readonly dbms: string;
  /** Table name. */
  readonly table: string;
  /** Routing cluster id. */
  readonly clusterId: string;
  /** Routing cluster name. */
  readonly clusterName: string;
  /**
   * Status of the table in this cluster: the worst of the root cluster's, the listing child
   * cluster's and the table entry's status.
   */
  readonly clusterStatus: ClusterStatus;
  /** Operator id; `undefined` on the single row of a cluster that has no operator. */
  readonly operatorId: string | undefined;
  /** Operator name. */
  readonly nodeName: string | undefined;
  /** Operator `member`. */
  readonly memberId: number | undefined;
  /** External `ip:port`. */
  readonly externalAddress: string | undefined;
  /** `local_ip:local_port` (`local_port` defaults to `port`), or `undefined` without `local_ip`. */
  readonly localAddress: string | undefined;
  /** Whether the operator is `main`. */
  readonly main: boolean | undefined;
  /** Liveness of the operator. */
  readonly nodeStatus: LivenessStatus | undefined;
}

/**
 * AnyLog's columns for {@link Topology.dataNodes}.
 *
 * @group Topology & routing
 */
export const DATA_NODES_COLUMNS: readonly TableColumn<DataNodeRow>[] = [
  { key: 'company', header: 'Company' },
  { key: 'dbms', header: 'DBMS' },
  { key: 'table', header: 'Table' },
  { key: 'clusterId', header: 'Cluster ID' },
  { key: 'clusterStatus', header: 'Cluster Status' },
  { key: 'nodeName', header: 'Node Name' },
  { key: 'memberId', header: 'Member ID' },
  { key: 'externalAddress', header: 'External IP/Port' },
  { key: 'localAddress', header: 'Local IP/Port' },
  { key: 'main', header: 'Main' },
  { key: 'nodeStatus', header: 'Node Status' },
];

/**
 * An operator participating in a cluster, in {@link ClusterInfo}.
 *
 * @group Topology & routing
 */
export interface ClusterOperatorRow {
  /** Operator id. */
  readonly operatorId: string;
  /** Operator name. */
  readonly name: string;
  /** External IP. */
  readonly ip: string;
  /** External port. */
  readonly port: number;
  /** Member id inside the cluster. */
  readonly member: number | undefined;
  /** Whether the operator is `main`. */
  readonly main: boolean;
  /** Liveness of the operator. */
  readonly status: LivenessStatus;
}

/**
 * AnyLog's columns for {@link ClusterInfo.operators}.
 *
 * @group Topology & routing
 */
export const CLUSTER_OPERATORS_COLUMNS: readonly TableColumn<ClusterOperatorRow>[] = [
  { key: 'ip', header: 'IP' },
  { key: 'port', header: 'Port' },
  { key: 'member', header: 'Member' },
  { key: 'status', header: 'Status' },
];

/**
 * A table supported by a cluster, in {@link ClusterInfo}.
 *
 * @group Topology & routing
 */
export interface ClusterTableRow {
  /** Company. */
  readonly company: string;
  /** Logical database name. */
  readonly dbms: string;
  /** Table name. */
  readonly table: string;
  /** Status of the table in the cluster (see {@link DataNodeRow.clusterStatus}). */
  readonly status: ClusterStatus;
}

/**
 * AnyLog's columns for {@link ClusterInfo.tables}.
 *
 * @group Topology & routing
 */
export const CLUSTER_TABLES_COLUMNS: readonly TableColumn<ClusterTableRow>[] = [
  { key: 'company', header: 'Company' },
  { key: 'dbms', header: 'DBMS' },
  { key: 'table', header: 'Table' },
];

/**
 * The cluster of one operator, as returned by {@link Topology.clusterInfo}.
 *
 * @group Topology & routing
 */
export interface ClusterInfo {
  /** Routing cluster id (the root cluster). */
  readonly clusterId: string;
  /** Cluster name. */
  readonly clusterName: string;
  /** Company of the cluster. */
  readonly company: string;
  /** Status of the root cluster. */
  readonly clusterStatus: ClusterStatus;
  /** Ids of the child clusters merged into it. */
  readonly childClusterIds: readonly string[];
  /** The operator asked about. */
  readonly operatorId: string;
  /** Its name. */
  readonly operatorName: string;
  /** Its member id. */
  readonly memberId: number | undefined;
  /** Every operator of the cluster, including the one asked about. */
  readonly operators: readonly ClusterOperatorRow[];
  /** Every table the cluster supports. */
  readonly tables: readonly ClusterTableRow[];
}

/**
 * One row of {@link Topology.virtualTables}: a table and one cluster holding (part of) it.
 *
 * @group Topology & routing
 */
export interface VirtualTableRow {
  /** Company. */
  readonly company: string;
  /** Logical database name. */
  readonly dbms: string;
  /** Table name. */
  readonly table: string;
  /** Routing cluster id. */
  readonly clusterId: string;
  /** Status of the table in that cluster. */
  readonly clusterStatus: ClusterStatus;
  /** Copies configured: the number of operators of the cluster. */
  readonly copies: number;
}

/**
 * AnyLog's columns for {@link Topology.virtualTables}.
 *
 * @group Topology & routing
 */
export const VIRTUAL_TABLES_COLUMNS: readonly TableColumn<VirtualTableRow>[] = [
  { key: 'company', header: 'Company' },
  { key: 'dbms', header: 'DBMS' },
  { key: 'table', header: 'Table' },
  { key: 'clusterId', header: 'Cluster ID' },
  { key: 'copies', header: 'Copies' },
];

/**
 * Health of a cluster in {@link HaStatusRow}: `ok` (every copy live), `under_replicated` (some
 * copies live), `unavailable` (no live copy, or no operator at all), `not_routed` (the cluster
 * is `static` or `down`).
 *
 * @group Topology & routing
 */
export type HaState = 'ok' | 'under_replicated' | 'unavailable' | 'not_routed';

/**
 * One row of {@link Topology.haStatus}: the replication state of one routing cluster.
 *
 * @group Topology & routing
 */
export interface HaStatusRow {
  /** Company. */
  readonly company: string;
  /** Routing cluster id. */
  readonly clusterId: string;
  /** Cluster name. */
  readonly clusterName: string;
  /** Status of the root cluster. */
  readonly clusterStatus: ClusterStatus;
  /** Copies configured: the number of operators. */
  readonly copiesConfigured: number;
  /** Copies live: operators whose liveness is `active`. */
  readonly copiesLive: number;
  /** Number of tables the cluster routes (table status `active`). */
  readonly tables: number;
  /** Overall health. */
  readonly state: HaState;
  /** `dbms.table` of the routed tables having fewer live copies than configured (but some). */
  readonly underReplicated: readonly string[];
  /** `dbms.table` of the routed tables having no live copy. */
  readonly unavailable: readonly string[];
}

/**
 * Columns for {@link Topology.haStatus}.
 *
 * @group Topology & routing
 */
export const HA_STATUS_COLUMNS: readonly TableColumn<HaStatusRow>[] = [
  { key: 'company', header: 'Company' },
  { key: 'clusterName', header: 'Cluster' },
  { key: 'clusterId', header: 'Cluster ID' },
  { key: 'clusterStatus', header: 'Cluster Status' },
  { key: 'copiesConfigured', header: 'Copies Configured' },
  { key: 'copiesLive', header: 'Copies Live' },
  { key: 'state', header: 'State' },
  { key: 'underReplicated', header: 'Under-Replicated Tables' },
  { key: 'unavailable', header: 'Unavailable Tables' },
];

function tableIn(cluster: ClusterNode, dbms: string, table: string): ClusterTable | undefined {
  return cluster.tables.find((entry) => entry.dbms === dbms && entry.table === table);
}

function localAddress(operator: OperatorNode): string | undefined {
  return operator.localIp === undefined
    ? undefined
    : `${operator.localIp}:${operator.localPort ?? operator.port}`;
}

/** Builds the data-nodes rows (internal; see `Topology.dataNodes`). */
export function dataNodeRows(map: RoutingMap, filter: DataNodesFilter): DataNodeRow[] {
  const onlyCluster =
    filter.clusterId === undefined ? undefined : map.clusterById.get(filter.clusterId);
  if (filter.clusterId !== undefined && onlyCluster === undefined) return [];
  const rows: DataNodeRow[] = [];
  for (const route of map.tables) {
    if (filter.company !== undefined && route.company !== filter.company) continue;
    if (filter.dbms !== undefined && route.dbms !== filter.dbms) continue;
    if (filter.table !== undefined && route.table !== filter.table) continue;
    for (const cluster of route.known) {
      if (onlyCluster !== undefined && cluster !== onlyCluster) continue;
      const status = tableIn(cluster, route.dbms, route.table)?.status ?? cluster.status;
      const base = {
        company: cluster.company,
        dbms: route.dbms,
        table: route.table,
        clusterId: cluster.id,
        clusterName: cluster.name,
        clusterStatus: status,
      };
      if (cluster.operators.length === 0) {
        rows.push({
          ...base,
          operatorId: undefined,
          nodeName: undefined,
          memberId: undefined,
          externalAddress: undefined,
          localAddress: undefined,
          main: undefined,
          nodeStatus: undefined,
        });
      }
      for (const operator of cluster.operators) {
        rows.push({
          ...base,
          operatorId: operator.id,
          nodeName: operator.name,
          memberId: operator.member,
          externalAddress: operator.address,
          localAddress: localAddress(operator),
          main: operator.main,
          nodeStatus: operator.status,
        });
      }
    }
  }
  return rows;
}

/** Builds the cluster info of one operator (internal; see `Topology.clusterInfo`). */
export function clusterInfoOf(operator: OperatorNode): ClusterInfo {
  const cluster = operator.cluster;
  return {
    clusterId: cluster.id,
    clusterName: cluster.name,
    company: cluster.company,
    clusterStatus: cluster.status,
    childClusterIds: [...cluster.childIds],
    operatorId: operator.id,
    operatorName: operator.name,
    memberId: operator.member,
    operators: cluster.operators.map((peer) => ({
      operatorId: peer.id,
      name: peer.name,
      ip: peer.ip,
      port: peer.port,
      member: peer.member,
      main: peer.main,
      status: peer.status,
    })),
    tables: cluster.tables.map((entry) => ({
      company: entry.company,
      dbms: entry.dbms,
      table: entry.table,
      status: entry.status,
    })),
  };
}

/**
 * Formats a {@link ClusterInfo} the way AnyLog's `get cluster info` does: the cluster and member
 * lines, then the participating operators and the supported tables as text tables.
 *
 * @example
 * ```ts
 * import { formatClusterInfo, type Topology } from 'edge-ha';
 *
 * declare const topology: Topology;
 *
 * console.log(formatClusterInfo(topology.clusterInfo('52612f21b18cf29f7d2e511e3ca56ca6')));
 * ```
 *
 * @group Topology & routing
 */
export function formatClusterInfo(info: ClusterInfo): string {
  return [
    `Cluster ID : ${info.clusterId}`,
    `Cluster Name : ${info.clusterName}`,
    `Member ID : ${info.memberId ?? ''}`,
    '',
    'Participating Operators:',
    formatTable(info.operators, CLUSTER_OPERATORS_COLUMNS),
    '',
    'Tables Supported:',
    formatTable(info.tables, CLUSTER_TABLES_COLUMNS),
  ].join('\n');
}

/** Builds the virtual-table rows (internal; see `Topology.virtualTables`). */
export function virtualTableRows(map: RoutingMap): VirtualTableRow[] {
  const rows: VirtualTableRow[] = [];
  for (const route of map.tables) {
    for (const cluster of route.known) {
      rows.push({
        company: cluster.company,
        dbms: route.dbms,
        table: route.table,
        clusterId: cluster.id,
        clusterStatus: tableIn(cluster, route.dbms, route.table)?.status ?? cluster.status,
        copies: cluster.operators.length,
      });
    }
  }
  return rows;
}

/** Builds the HA status rows (internal; see `Topology.haStatus`). */
export function haStatusRows(map: RoutingMap): HaStatusRow[] {
  return map.clusters.map((cluster) => {
    const copiesConfigured = cluster.operators.length;
    let copiesLive = 0;
    for (const operator of cluster.operators) {
      if (operator.status === 'active') copiesLive++;
    }
    const routed = cluster.tables
      .filter((entry) => entry.status === 'active')
      .map((entry) => `${entry.dbms}.${entry.table}`);
    const state: HaState =
      cluster.status !== 'active'
        ? 'not_routed'
        : copiesLive === 0
          ? 'unavailable'
          : copiesLive < copiesConfigured
            ? 'under_replicated'
            : 'ok';
    return {
      company: cluster.company,
      clusterId: cluster.id,
      clusterName: cluster.name,
      clusterStatus: cluster.status,
      copiesConfigured,
      copiesLive,
      tables: routed.length,
      state,
      underReplicated: state === 'under_replicated' ? routed : [],
      unavailable: state === 'unavailable' ? routed : [],
    };
  });
}
