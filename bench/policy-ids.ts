/**
 * Policy ids: `computePolicyId` over 100,000 operator policies without ids, side by side with
 * Python's own `hashlib.md5(str(policy).encode()).hexdigest()` over the same policies (AnyLog's
 * reference). The ids must be identical; target: edge-ha faster than Python.
 */

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { computePolicyId } from '../src/policy/id.js';
import type { Policy } from '../src/policy/types.js';
import {
  type BenchOptions,
  type BenchResult,
  fmt,
  isMain,
  printResult,
  ratio,
  target,
  tempDir,
} from './lib.js';

/** Loads the policies, hashes each with `str()` + MD5, prints `<seconds> <md5 of all ids>`. */
const PYTHON_SCRIPT = `
import hashlib, json, sys, time
with open(sys.argv[1], encoding='utf-8') as f:
    policies = json.load(f)
best = None
for _ in range(int(sys.argv[2])):
    start = time.perf_counter()
    ids = [hashlib.md5(str(policy).encode('utf-8')).hexdigest() for policy in policies]
    elapsed = time.perf_counter() - start
    best = elapsed if best is None or elapsed < best else best
print(best, hashlib.md5('\\n'.join(ids).encode('utf-8')).hexdigest())
`;

/** Operator policies as AnyLog stores them before an id is assigned (no `id`, `date`, `ledger`). */
function makePolicies(count: number): Policy[] {
  const policies: Policy[] = [];
  for (let n = 0; n < count; n++) {
    policies.push({
      operator: {
        hostname: `edge-node-${n}`,
        name: `operator-${n}`,
        company: n % 7 === 0 ? "Bob's Plant" : 'Smart City',
        ip: `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`,
        local_ip: `192.168.${(n >> 8) & 255}.${n & 255}`,
        port: 32148,
        rest_port: 32149,
        broker_port: 32150,
        cluster: createHash('md5')
          .update(`cluster-${n % 1000}`)
          .digest('hex'),
        member: (n % 3) + 1,
        main: n % 3 === 0,
        loc: '37.7749, -122.4194',
        country: 'US',
        state: 'CA',
        city: 'San Francisco',
        tags: ['edge', n % 2 === 0 ? 'gateway' : 'sensor'],
        enable: n % 5 !== 0,
      },
    });
  }
  return policies;
}

function runPython(
  file: string,
  rounds: number,
): Promise<{ seconds: number; digest: string } | string> {
  return new Promise((resolve) => {
    execFile(
      'python3',
      ['-c', PYTHON_SCRIPT, file, String(rounds)],
      { maxBuffer: 1024 * 1024 },
      (error, stdout) => {
        if (error !== null) {
          const code = (error as { code?: unknown }).code;
          resolve(
            code === 'ENOENT' ? 'python3 is not installed' : `python3 failed: ${error.message}`,
          );
          return;
        }
        const [seconds, digest] = stdout.trim().split(/\s+/);
        resolve({ seconds: Number(seconds), digest: digest ?? '' });
      },
    );
  });
}

/** Runs the policy-id benchmark: 100,000 operator policies (quick: 20,000). */
export async function runPolicyIdsBench(options: BenchOptions): Promise<BenchResult> {
  const { quick } = options;
  const count = quick ? 20_000 : 100_000;
  const rounds = quick ? 3 : 5;
  const temp = tempDir('policy');
  try {
    const file = join(temp.dir, 'policies.json');
    const text = JSON.stringify(makePolicies(count));
    writeFileSync(file, text);
    // Hash exactly what Python loads: the JSON text, parsed.
    const policies = JSON.parse(text) as Policy[];
    let ids: string[] = [];
    let bestMs = Number.POSITIVE_INFINITY;
    for (let i = 0; i < rounds + 1; i++) {
      const start = performance.now();
      ids = policies.map((policy) => computePolicyId(policy));
      const ms = performance.now() - start;
      if (i > 0) bestMs = Math.min(bestMs, ms); // the first round warms the JIT up
    }
    const digest = createHash('md5').update(ids.join('\n')).digest('hex');
    const python = await runPython(file, rounds);
    const edgePerSec = count / (bestMs / 1000);
    const notes = [
      `best of ${rounds} rounds each (edge-ha after one warm-up round); only the hashing loop is timed, not loading the file`,
    ];
    if (typeof python === 'string') {
      notes.push(`the Python baseline is unavailable: ${python}`);
      return {
        name: 'policy-ids',
        title: `Policy ids: ${fmt(count)} operator policies`,
        quick,
        table: [
          ['', 'IDs/s'],
          ['edge-ha computePolicyId', fmt(edgePerSec)],
          ['Python hashlib.md5(str(policy))', 'unavailable'],
        ],
        figures: { policies: count, edgeIdsPerSec: edgePerSec, pythonIdsPerSec: null },
        targets: [
          {
            ...target(
              'faster-than-python',
              'edge-ha IDs/s ÷ Python IDs/s',
              Number.NaN,
              '>',
              1,
              '×',
            ),
            unavailable: python,
          },
        ],
        notes,
      };
    }
    const pythonPerSec = count / python.seconds;
    const identical = python.digest === digest;
    if (!identical)
      notes.push('the ids DIFFER from Python: computePolicyId is not AnyLog-compatible here');
    return {
      name: 'policy-ids',
      title: `Policy ids: ${fmt(count)} operator policies`,
      quick,
      table: [
        ['', 'IDs/s', 'vs Python'],
        ['Python hashlib.md5(str(policy))', fmt(pythonPerSec), ratio(1)],
        ['edge-ha computePolicyId', fmt(edgePerSec), ratio(edgePerSec / pythonPerSec)],
        ['ids identical to Python', identical ? 'yes' : 'NO', ''],
      ],
      figures: {
        policies: count,
        edgeIdsPerSec: edgePerSec,
        pythonIdsPerSec: pythonPerSec,
        speedup: edgePerSec / pythonPerSec,
        idsIdentical: identical,
      },
      targets: [
        target(
          'faster-than-python',
          'edge-ha IDs/s ÷ Python IDs/s',
          edgePerSec / pythonPerSec,
          '>',
          1,
          '×',
        ),
        target(
          'ids-identical',
          'ids identical to Python (1 = yes)',
          identical ? 1 : 0,
          '>=',
          1,
          '',
        ),
      ],
      notes,
    };
  } finally {
    temp.cleanup();
  }
}

if (isMain(import.meta.url)) {
  runPolicyIdsBench({ quick: process.argv.includes('--quick') }).then(printResult, (error) => {
    console.error(error);
    process.exitCode = 1;
  });
}
