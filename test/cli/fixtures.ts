/** Policy sets used by the CLI tests (explicit ids, so they do not depend on stamping). */

import type { Policy } from '../../src/policy/types.js';

export const CLUSTER_ID: string = 'c0ffee00c0ffee00c0ffee00c0ffee00';

export const validPolicies: Policy[] = [
  {
    cluster: {
      company: 'Acme',
      name: 'plant-cluster',
      id: CLUSTER_ID,
      table: [
        { dbms: 'plant', name: 'sensors' },
        { dbms: 'plant', name: 'alarms' },
      ],
    },
  },
  {
    operator: {
      company: 'Acme',
      name: 'operator-a',
      ip: '10.0.0.5',
      port: 7070,
      cluster: CLUSTER_ID,
      member: 1,
      main: true,
      id: 'aaaa0000aaaa0000aaaa0000aaaa0000',
    },
  },
  {
    operator: {
      company: 'Acme',
      name: 'operator-b',
      ip: '10.0.0.6',
      port: 7070,
      cluster: CLUSTER_ID,
      member: 2,
      id: 'bbbb0000bbbb0000bbbb0000bbbb0000',
    },
  },
];

/** Same set, but operator-b reuses operator-a's address and names a cluster that does not exist. */
export const invalidPolicies: Policy[] = [
  validPolicies[0] as Policy,
  validPolicies[1] as Policy,
  {
    operator: {
      company: 'Acme',
      name: 'operator-b',
      ip: '10.0.0.5',
      port: 7070,
      cluster: 'ffffffffffffffffffffffffffffffff',
      member: 2,
      id: 'bbbb0000bbbb0000bbbb0000bbbb0000',
    },
  },
];

/** Two operators of one cluster both `main: true`: a warning, not an error. */
export const warningPolicies: Policy[] = [
  validPolicies[0] as Policy,
  validPolicies[1] as Policy,
  {
    operator: {
      ...(validPolicies[2] as { operator: Record<string, unknown> }).operator,
      main: true,
    },
  },
];
