import type { Policy } from '../../src/policy/types.js';
import { Topology } from '../../src/topology/index.js';

/** One operator of {@link clusterPolicies}: where its peer handler listens. */
export interface OperatorAt {
  readonly id: string;
  readonly ip: string;
  readonly port: number;
}

/** The table {@link clusterPolicies} routes. */
export const TABLE = { dbms: 'plant', table: 'boiler' } as const;

/**
 * AnyLog-shaped policies (as in test/topology/fixtures.ts): one active cluster `c1` holding
 * `plant.boiler`, with one operator per entry of `operators` (member 1, 2, …).
 */
export function clusterPolicies(operators: readonly OperatorAt[]): Policy[] {
  const policies: Policy[] = [
    {
      cluster: {
        company: 'Acme',
        name: 'cluster-1',
        table: [{ name: TABLE.table, dbms: TABLE.dbms }],
        id: 'c1',
        date: '2021-04-02T18:31:46.802694Z',
      },
    } as Policy,
  ];
  operators.forEach((op, index) => {
    policies.push({
      operator: {
        company: 'Acme',
        name: `op-${op.id}`,
        cluster: 'c1',
        ip: op.ip,
        port: op.port,
        member: index + 1,
        id: op.id,
      },
    } as Policy);
  });
  return policies;
}

/** A topology over {@link clusterPolicies}. */
export function clusterTopology(operators: readonly OperatorAt[]): Topology {
  return Topology.fromPolicies(clusterPolicies(operators));
}

/** The liveness status of `address` in `topology` (fails the test when it is unknown). */
export function statusOf(topology: Topology, address: string): string {
  const entry = topology.liveness().find((e) => e.address === address);
  if (entry === undefined) throw new Error(`no liveness entry for ${address}`);
  return entry.status;
}
