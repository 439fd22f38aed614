import { TopologyError } from '../../src/errors.js';
import type { Policy } from '../../src/policy/types.js';

/** A clock whose time only moves when told to (the topology reads `now()` only). */
export class ManualNow {
  private time = Date.UTC(2024, 0, 1);

  now(): number {
    return this.time;
  }

  advance(ms: number): void {
    this.time += ms;
  }
}

/** A table entry as [dbms, name] or [dbms, name, status]. */
export type TableSpec = readonly [string, string] | readonly [string, string, string];

export interface ClusterSpec {
  id: string;
  name: string;
  company?: string;
  tables?: readonly TableSpec[];
  status?: 'active' | 'static' | 'down';
  parent?: string;
}

/** A cluster policy shaped like AnyLog's (explicit id, date, table entries with status). */
export function cluster(spec: ClusterSpec): Policy {
  const body: Record<string, unknown> = {
    company: spec.company ?? 'Lit San Leandro',
    name: spec.name,
  };
  if (spec.parent !== undefined) body.parent = spec.parent;
  if (spec.tables !== undefined) {
    body.table = spec.tables.map(([dbms, name, status]) =>
      status === undefined ? { name, dbms } : { name, dbms, status },
    );
  }
  body.id = spec.id;
  body.date = '2021-04-02T18:31:46.802694Z';
  if (spec.status !== undefined) body.status = spec.status;
  return { cluster: body } as Policy;
}

export interface OperatorSpec {
  id: string;
  name: string;
  cluster: string;
  ip: string;
  port: number;
  company?: string;
  /**
   * `member` inside the cluster. By default the last byte of `ip` (AnyLog routes only operators
   * with a member); `null` leaves it out.
   */
  member?: number | null;
  main?: boolean;
  localIp?: string;
  localPort?: number;
  /** `type` attribute, e.g. `'data source'`. */
  type?: string;
}

function defaultMember(ip: string): number {
  const last = Number(ip.split('.').at(-1));
  if (!Number.isInteger(last) || last < 1 || last > 255) {
    throw new Error(`operator fixture: give a member for ip ${ip}`);
  }
  return last;
}

/** An operator policy shaped like AnyLog's. */
export function operator(spec: OperatorSpec): Policy {
  const body: Record<string, unknown> = {
    company: spec.company ?? 'Lit San Leandro',
    name: spec.name,
    cluster: spec.cluster,
    ip: spec.ip,
    port: spec.port,
  };
  if (spec.localIp !== undefined) body.local_ip = spec.localIp;
  if (spec.localPort !== undefined) body.local_port = spec.localPort;
  const member = spec.member === undefined ? defaultMember(spec.ip) : spec.member;
  if (member !== null) body.member = member;
  if (spec.main !== undefined) body.main = spec.main;
  if (spec.type !== undefined) body.type = spec.type;
  body.id = spec.id;
  return { operator: body } as Policy;
}

/**
 * A small network: `ping_sensor` split over clusters A and B, `cpu_sensor` only in A.
 * A has a main (a1) and two others; B has two operators, no main.
 */
export function splitNetwork(): Policy[] {
  return [
    cluster({
      id: 'ca',
      name: 'cluster-a',
      tables: [
        ['litsanleandro', 'ping_sensor'],
        ['litsanleandro', 'cpu_sensor'],
      ],
    }),
    cluster({ id: 'cb', name: 'cluster-b', tables: [['litsanleandro', 'ping_sensor']] }),
    operator({
      id: 'a1',
      name: 'op-a1',
      cluster: 'ca',
      ip: '10.1.0.1',
      port: 7848,
      member: 1,
      main: true,
    }),
    operator({ id: 'a2', name: 'op-a2', cluster: 'ca', ip: '10.1.0.2', port: 7848, member: 2 }),
    operator({ id: 'a3', name: 'op-a3', cluster: 'ca', ip: '10.1.0.3', port: 7848, member: 3 }),
    operator({ id: 'b1', name: 'op-b1', cluster: 'cb', ip: '10.2.0.1', port: 7848, member: 1 }),
    operator({ id: 'b2', name: 'op-b2', cluster: 'cb', ip: '10.2.0.2', port: 7848, member: 2 }),
  ];
}

/** The TopologyError `fn` throws (fails the test when it throws nothing or something else). */
export function thrown(fn: () => unknown): TopologyError {
  try {
    fn();
  } catch (error) {
    if (error instanceof TopologyError) return error;
    throw error;
  }
  throw new Error('expected a TopologyError');
}
