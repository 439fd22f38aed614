// Imports the built package by its name, the way a consumer does (ESM import and CJS require).
// Run after `npm run build`: node --test test/smoke/
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';

const require = createRequire(import.meta.url);

test('ESM import of edge-ha exposes the error API', async () => {
  const mod = await import('edge-ha');
  const error = new mod.StorageError('STORAGE_CLOSED', 'closed');
  assert.equal(mod.isEdgeHaError(error, 'STORAGE_CLOSED'), true);
  assert.equal(error.name, 'StorageError');
});

test('CJS require of edge-ha returns the same module', async () => {
  const cjs = require('edge-ha');
  const esm = await import('edge-ha');
  assert.equal(cjs.EdgeHaError, esm.EdgeHaError);
  assert.equal(typeof cjs.isEdgeHaError, 'function');
});

test('a consumer can route a query and back-fill a restarted node with the built package', async () => {
  const {
    HAGovernor,
    MemoryStorageAdapter,
    Topology,
    localPeer,
    parsePolicies,
    stampPolicy,
    validatePolicies,
  } = await import('edge-ha');
  const [cluster] = parsePolicies(
    "{'cluster': {'company': 'Smoke', 'name': 'c1', 'table': [{'dbms': 'plant', 'name': 't'}],}}",
  );
  const clusterPolicy = stampPolicy(cluster);
  const id = clusterPolicy.cluster.id;
  const a = stampPolicy(
    {
      operator: {
        company: 'Smoke',
        name: 'a',
        ip: '10.0.0.1',
        port: 7000,
        cluster: id,
        main: true,
      },
    },
    { existing: [clusterPolicy] },
  );
  const b = stampPolicy(
    { operator: { company: 'Smoke', name: 'b', ip: '10.0.0.2', port: 7000, cluster: id } },
    { existing: [clusterPolicy, a] },
  );
  const policies = [clusterPolicy, a, b];
  assert.equal(validatePolicies(policies).valid, true);
  const topology = Topology.fromPolicies(policies);
  assert.equal(topology.routeQuery({ dbms: 'plant', table: 't' }).targets[0].operatorName, 'a');
  topology.reportFailure('10.0.0.1:7000');
  assert.equal(topology.routeQuery({ dbms: 'plant', table: 't' }).targets[0].operatorName, 'b');

  const now = Date.now();
  const remote = new MemoryStorageAdapter({
    points: {
      temp: [
        { t: now - 2_000, v: 1 },
        { t: now - 1_000, v: 2 },
      ],
    },
    events: [{ id: 'e1', t: now - 1_500, body: { alarm: 'high' } }],
  });
  const local = new MemoryStorageAdapter();
  await local.registerItems(['temp']);
  const governor = new HAGovernor({
    storage: local,
    peers: [localPeer(remote)],
    firstStartLookbackMs: 60_000,
  });
  const codes = [];
  governor.on('transition', (event) => codes.push(`${event.kind}:${event.toCode}`));
  await governor.start();
  await governor.close();
  const page = await local.readPoints('temp', { from: 0, to: now + 1 }, { limit: 10 });
  assert.deepEqual(
    page.items.map((p) => p.v),
    [1, 2],
  );
  assert.equal((await local.readEvents({ from: 0, to: now + 1 }, { limit: 10 })).items.length, 1);
  assert.ok(codes.includes('timeSeries:5') && codes.includes('events:5'), codes.join(','));
});

test('a restarted node keeps its own points: only its downtime is overwritten', async () => {
  const { HAGovernor, MemoryStorageAdapter, localPeer } = await import('edge-ha');
  const { ManualClock } = await import('edge-ha/testing');
  const T0 = 1_700_000_000_000;
  const clock = new ManualClock(T0);
  const local = new MemoryStorageAdapter();
  const remote = new MemoryStorageAdapter();
  await local.registerItems(['temp']);
  const options = {
    storage: local,
    peers: [localPeer(remote, { clock })],
    clock,
    overlapMs: 1_000,
  };
  const first = new HAGovernor(options);
  await first.start();
  await local.appendPoints('temp', [{ t: T0 + 500, v: 'mine' }]);
  await remote.appendPoints('temp', [{ t: T0 + 500, v: 'theirs' }]);
  await clock.advanceAsync(1_000);
  await first.close(); // clean stop at T0 + 1 s
  await remote.appendPoints('temp', [{ t: T0 + 3_000, v: 'missed' }]);
  clock.set(T0 + 5_000);
  const second = new HAGovernor(options);
  const result = await second.start();
  await second.close();
  assert.deepEqual(
    result.timeSeries.gaps.map((gap) => [gap.from - T0, gap.to - T0, gap.mode]),
    [
      [0, 1_001, 'merge'],
      [1_001, 5_000, 'overwrite'],
      [5_000, 6_000, 'merge'],
    ],
  );
  const page = await local.readPoints('temp', { from: T0, to: T0 + 10_000 }, { limit: 10 });
  assert.deepEqual(
    page.items.map((p) => p.v),
    ['mine', 'missed'],
  );
});
