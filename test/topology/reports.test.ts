import { describe, expect, it } from 'vitest';
import { TopologyError } from '../../src/errors.js';
import {
  CLUSTER_OPERATORS_COLUMNS,
  DATA_NODES_COLUMNS,
  formatClusterInfo,
  formatTable,
  HA_STATUS_COLUMNS,
  Topology,
  VIRTUAL_TABLES_COLUMNS,
} from '../../src/topology/index.js';
import { cluster, operator, splitNetwork } from './fixtures.js';

describe('formatTable', () => {
  it('prints an AnyLog-style table: header, dashes with |, left-aligned padded cells', () => {
    const text = formatTable(
      [
        { name: 'op-a1', port: 7848, main: true },
        { name: 'operator-b', port: 32148, main: false },
      ],
      [
        { key: 'name', header: 'Node Name' },
        { key: 'port', header: 'Port' },
        { key: 'main', header: 'Main' },
      ],
    );
    expect(text.split('\n')).toEqual([
      'Node Name  Port  Main',
      '----------|-----|-----|',
      'op-a1     |7848 |true |',
      'operator-b|32148|false|',
    ]);
  });

  it('derives headers from keys when no columns are given, joins arrays, blanks missing cells', () => {
    const text = formatTable([
      { clusterId: 'c1', dbms: 'd', tables: ['d.t1', 'd.t2'], note: undefined },
      { clusterId: 'c2', dbms: 'd', tables: [], note: 'line1\nline2' },
    ]);
    expect(text.split('\n')).toEqual([
      'Cluster ID DBMS Tables     Note',
      '----------|----|----------|-----------|',
      'c1        |d   |d.t1, d.t2|           |',
      'c2        |d   |          |line1 line2|',
    ]);
  });

  it('prints only the header and separator for no rows, and nothing without columns', () => {
    expect(formatTable([], [{ key: 'a', header: 'A' }])).toBe('A\n-|');
    expect(formatTable([])).toBe('');
  });
});

describe('reports', () => {
  it('dataNodes lists table × cluster × operator with AnyLog columns and a filter', () => {
    const topology = Topology.fromPolicies([
      cluster({ id: 'c1', name: 'lsl-cluster2', tables: [['litsanleandro', 'ping_sensor']] }),
      operator({
        id: 'o1',
        name: 'lsl-op1',
        cluster: 'c1',
        ip: '24.23.250.144',
        localIp: '10.0.0.78',
        port: 7848,
        member: 145,
        main: true,
      }),
      operator({
        id: 'o2',
        name: 'lsl-op2',
        cluster: 'c1',
        ip: '45.33.41.185',
        port: 7848,
        member: 7,
      }),
    ]);
    topology.reportFailure('45.33.41.185:7848');
    const rows = topology.dataNodes({ dbms: 'litsanleandro' });
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({
      company: 'Lit San Leandro',
      table: 'ping_sensor',
      clusterId: 'c1',
      clusterStatus: 'active',
      nodeName: 'lsl-op1',
      memberId: 145,
      externalAddress: '24.23.250.144:7848',
      localAddress: '10.0.0.78:7848',
      main: true,
      nodeStatus: 'active',
    });
    expect(rows[1]).toMatchObject({
      nodeName: 'lsl-op2',
      localAddress: undefined,
      nodeStatus: 'not_responding',
    });
    const lines = formatTable(rows, DATA_NODES_COLUMNS).split('\n');
    expect(lines[0]).toBe(
      'Company         DBMS          Table       Cluster ID Cluster Status Node Name Member ID External IP/Port   Local IP/Port  Main  Node Status',
    );
    expect(lines[3]).toBe(
      'Lit San Leandro|litsanleandro|ping_sensor|c1        |active        |lsl-op2  |7        |45.33.41.185:7848 |              |false|not_responding|',
    );
    expect(topology.dataNodes({ table: 'other' })).toEqual([]);
    expect(topology.dataNodes({ clusterId: 'unknown' })).toEqual([]);
    expect(topology.dataNodes({ clusterId: 'c1', company: 'Lit San Leandro' })).toHaveLength(2);
    expect(() => topology.dataNodes({ dbms: 5 } as never)).toThrow(
      expect.objectContaining({ code: 'TOPOLOGY_INVALID_ARGUMENT' }),
    );
    expect(() => topology.dataNodes(null as never)).toThrow(
      expect.objectContaining({ code: 'TOPOLOGY_INVALID_ARGUMENT' }),
    );
  });

  it('dataNodes shows a cluster without operators as one row with empty node columns', () => {
    const rows = Topology.fromPolicies([
      cluster({ id: 'c', name: 'c', tables: [['d', 't']] }),
    ]).dataNodes();
    expect(rows).toEqual([
      expect.objectContaining({ clusterId: 'c', nodeName: undefined, nodeStatus: undefined }),
    ]);
  });

  it('clusterInfo gives the cluster, member, participating operators and tables', () => {
    const topology = Topology.fromPolicies(splitNetwork());
    topology.reportFailure('10.1.0.3:7848');
    const info = topology.clusterInfo('a2');
    expect(info).toMatchObject({
      clusterId: 'ca',
      clusterName: 'cluster-a',
      memberId: 2,
      operatorName: 'op-a2',
    });
    expect(info.operators.map((op) => [op.ip, op.port, op.member, op.status])).toEqual([
      ['10.1.0.1', 7848, 1, 'active'],
      ['10.1.0.2', 7848, 2, 'active'],
      ['10.1.0.3', 7848, 3, 'not_responding'],
    ]);
    expect(info.tables.map((t) => [t.company, t.dbms, t.table])).toEqual([
      ['Lit San Leandro', 'litsanleandro', 'ping_sensor'],
      ['Lit San Leandro', 'litsanleandro', 'cpu_sensor'],
    ]);
    expect(topology.clusterInfo('op-a2').operatorId).toBe('a2'); // by name too
    const text = formatClusterInfo(info);
    expect(text).toContain('Cluster ID : ca');
    expect(text).toContain('Member ID : 2');
    expect(text).toContain(formatTable(info.operators, CLUSTER_OPERATORS_COLUMNS));
    expect(() => topology.clusterInfo('nobody')).toThrow(
      expect.objectContaining({ code: 'TOPOLOGY_UNKNOWN_OPERATOR' }),
    );
    expect(() => topology.clusterInfo(undefined as never)).toThrow(TopologyError);
  });

  it('virtualTables lists each table per cluster with its copies', () => {
    const rows = Topology.fromPolicies(splitNetwork()).virtualTables();
    expect(rows.map((row) => [row.table, row.clusterId, row.copies])).toEqual([
      ['ping_sensor', 'ca', 3],
      ['ping_sensor', 'cb', 2],
      ['cpu_sensor', 'ca', 3],
    ]);
    expect(formatTable(rows, VIRTUAL_TABLES_COLUMNS).split('\n')[0]).toBe(
      'Company         DBMS          Table       Cluster ID Copies',
    );
  });

  it('haStatus compares copies configured with live copies per cluster', () => {
    const topology = Topology.fromPolicies([
      ...splitNetwork(),
      cluster({ id: 'cs', name: 'frozen', status: 'static', tables: [['litsanleandro', 'old']] }),
    ]);
    const healthy = topology.haStatus();
    expect(healthy.map((row) => [row.clusterId, row.state])).toEqual([
      ['ca', 'ok'],
      ['cb', 'ok'],
      ['cs', 'not_routed'],
    ]);
    topology.reportFailure('10.1.0.2:7848');
    topology.reportFailure('10.2.0.1:7848');
    topology.reportFailure('10.2.0.2:7848');
    const [a, b] = topology.haStatus();
    expect(a).toMatchObject({
      copiesConfigured: 3,
      copiesLive: 2,
      state: 'under_replicated',
      underReplicated: ['litsanleandro.ping_sensor', 'litsanleandro.cpu_sensor'],
      unavailable: [],
    });
    expect(b).toMatchObject({
      copiesConfigured: 2,
      copiesLive: 0,
      state: 'unavailable',
      unavailable: ['litsanleandro.ping_sensor'],
    });
    expect(formatTable(topology.haStatus(), HA_STATUS_COLUMNS)).toContain('under_replicated');
  });
});
