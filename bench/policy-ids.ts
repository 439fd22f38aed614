/**
 * Policy ids (issue 13): `computePolicyId` against Python's own
 * `hashlib.md5(str(policy).encode()).hexdigest()` (AnyLog's reference) over the same policies, on
 * two sets: plain operator policies, and a varied set (non-ASCII text, quotes, tabs and new
 * lines, floats including whole floats, nesting). Python runs as one long-lived `python3` process
 * of the same run, and the rounds are paired (edge-ha, Python, edge-ha, Python, …), so a drifting
 * machine moves both sides alike; the figure is the median of the per-round speed ratios. The ids
 * must be identical; target: edge-ha ≥ 1.5× Python's IDs/s on both sets.
 */

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { computePolicyId } from '../src/policy/id.js';
import { parsePolicies } from '../src/policy/parse.js';
import type { Policy } from '../src/policy/types.js';
import {
  type BenchOptions,
  type BenchResult,
  type BenchTarget,
  type Figure,
  fmt,
  isMain,
  median,
  medianRange,
  printResult,
  range,
  ratio,
  target,
  tempDir,
} from './lib.js';

/**
 * Loads the sets named on the command line (`name path …`), then for each line `name` read on
 * stdin hashes that set with `str()` + MD5 and prints `<seconds> <md5 of all ids>`.
 */
const PYTHON_SCRIPT = `
import hashlib, json, sys, time
sets = {}
for name, path in zip(sys.argv[1::2], sys.argv[2::2]):
    with open(path, encoding='utf-8') as f:
        sets[name] = json.load(f)
print('ready', flush=True)
for line in sys.stdin:
    policies = sets[line.strip()]
    start = time.perf_counter()
    ids = [hashlib.md5(str(policy).encode('utf-8')).hexdigest() for policy in policies]
    elapsed = time.perf_counter() - start
    print(elapsed, hashlib.md5('\\n'.join(ids).encode('utf-8')).hexdigest(), flush=True)
`;

/** Operator policies as AnyLog stores them before an id is assigned (no `id`, `date`, `ledger`). */
function makePlain(count: number): Policy[] {
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

const WORDS = [
  'Zürich',
  'São Paulo',
  '東京都',
  'Ελλάδα',
  'naïve café',
  'Kraków',
  '😀 sensor',
  'Straße',
  'ㄱ 한국',
  'العربية',
];

/**
 * The varied set, as JSON text (so that whole floats such as `5.0` keep their float-ness through
 * `parsePolicies` on one side and `json.load` on the other): non-ASCII text, both quotes, tabs and
 * new lines, backslashes, control characters, floats, nested lists and objects.
 */
function makeVariedText(count: number): string {
  const policies: unknown[] = [];
  for (let n = 0; n < count; n++) {
    const word = WORDS[n % WORDS.length] as string;
    policies.push({
      operator: {
        name: `operator-${n}`,
        company: n % 3 === 0 ? 'Bob\'s "Best" Plant' : `${word} Co`,
        city: word,
        note: `line 1\tcol\nline 2 \\ ${n % 11 === 0 ? '\u0001' : ''}${word}`,
        ip: `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`,
        port: 32148,
        loc: [37.7749 + n / 1e5, -122.4194, n * 0.1],
        weight: n % 4 === 0 ? '__WHOLE_FLOAT__' : (n % 97) / 7,
        tiny: 1e-7 * (n % 13),
        big: 1.5e300,
        tags: ['edge', { kind: n % 2 === 0 ? 'gateway' : 'sensor', labels: [word, "it's"] }],
        nested: { level: { deeper: { value: n, ok: n % 5 !== 0, none: null } } },
      },
    });
  }
  // JSON.stringify cannot write 5.0: splice the whole float in as text.
  return JSON.stringify(policies).replaceAll('"__WHOLE_FLOAT__"', '5.0');
}

interface PythonWorker {
  run(name: string): Promise<{ seconds: number; digest: string }>;
  close(): void;
}

/** Starts the long-lived Python process; resolves to a message when python3 is unavailable. */
function startPython(sets: Readonly<Record<string, string>>): Promise<PythonWorker | string> {
  return new Promise((resolve) => {
    const args = ['-c', PYTHON_SCRIPT, ...Object.entries(sets).flat()];
    const child = spawn('python3', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const lines = createInterface({ input: child.stdout });
    const waiting: ((line: string) => void)[] = [];
    lines.on('line', (line) => waiting.shift()?.(line));
    const nextLine = (): Promise<string> =>
      new Promise((done) => {
        waiting.push(done);
      });
    let settled = false;
    child.on('error', (error: NodeJS.ErrnoException) => {
      if (settled) return;
      settled = true;
      resolve(error.code === 'ENOENT' ? 'python3 is not installed' : `python3: ${error.message}`);
    });
    child.on('exit', (code) => {
      if (settled) return;
      settled = true;
      resolve(`python3 exited with ${String(code)}: ${stderr.trim().slice(0, 300)}`);
    });
    nextLine().then((ready) => {
      if (settled || ready !== 'ready') return;
      settled = true;
      resolve({
        async run(name) {
          const answer = nextLine();
          child.stdin.write(`${name}\n`);
          const [seconds, digest] = (await answer).trim().split(/\s+/);
          return { seconds: Number(seconds), digest: digest ?? '' };
        },
        close() {
          child.stdin.end();
        },
      });
    });
  });
}

/** Hashes `policies`; returns the seconds taken and the digest of all ids. */
function hashAll(policies: readonly Policy[]): { seconds: number; digest: string } {
  const start = performance.now();
  const ids = policies.map((policy) => computePolicyId(policy));
  const seconds = (performance.now() - start) / 1000;
  return { seconds, digest: createHash('md5').update(ids.join('\n')).digest('hex') };
}

const SETS = ['plain', 'varied'] as const;
type SetName = (typeof SETS)[number];
const SET_LABELS: Readonly<Record<SetName, string>> = {
  plain: 'plain operator policies',
  varied: 'varied (non-ASCII, quotes, tabs, floats, nesting)',
};

/** Runs the policy-id benchmark: 100,000 policies per set (quick: 20,000). */
export async function runPolicyIdsBench(options: BenchOptions): Promise<BenchResult> {
  const { quick } = options;
  const count = quick ? 20_000 : 100_000;
  const rounds = quick ? 5 : 9;
  const temp = tempDir('policy');
  try {
    const texts: Record<SetName, string> = {
      plain: JSON.stringify(makePlain(count)),
      varied: makeVariedText(count),
    };
    const files: Record<string, string> = {};
    const policies = {} as Record<SetName, Policy[]>;
    for (const name of SETS) {
      const file = join(temp.dir, `${name}.json`);
      writeFileSync(file, texts[name]);
      files[name] = file;
      // What Python loads, read the way edge-ha reads policy text (whole floats stay floats).
      policies[name] = parsePolicies(texts[name], { maxBytes: 1024 * 1024 * 1024 });
    }
    for (const name of SETS) hashAll(policies[name]); // warm-up round, not measured
    const python = await startPython(files);
    const edge: Record<SetName, number[]> = { plain: [], varied: [] };
    const py: Record<SetName, number[]> = { plain: [], varied: [] };
    const identical: Record<SetName, boolean> = { plain: true, varied: true };
    const digests = {} as Record<SetName, string>;
    for (let round = 0; round < rounds; round++) {
      for (const name of SETS) {
        const mine = hashAll(policies[name]);
        edge[name].push(count / mine.seconds);
        digests[name] = mine.digest;
        if (typeof python !== 'string') {
          const theirs = await python.run(name);
          py[name].push(count / theirs.seconds);
          if (theirs.digest !== mine.digest) identical[name] = false;
        }
      }
    }
    if (typeof python !== 'string') python.close();
    const perSec = (v: number): string => fmt(v);
    const notes = [
      `${rounds} paired rounds per set (edge-ha, Python, edge-ha, Python, …) after one unmeasured edge-ha round; only the hashing loop is timed on either side, not loading the policies; cells are median (min–max), the speed-up is per round`,
    ];
    const figures: Record<string, Figure> = { policies: count, rounds };
    const targets: BenchTarget[] = [];
    const table: string[][] = [['IDs/s: median (range)', 'edge-ha', 'Python', 'edge-ha ÷ Python']];
    for (const name of SETS) {
      figures[`${name}EdgeIdsPerSec`] = median(edge[name]);
      if (typeof python === 'string') {
        table.push([SET_LABELS[name], medianRange(edge[name], perSec), 'unavailable', '']);
        targets.push({
          ...target(
            `${name}-vs-python`,
            `${name} set: edge-ha ÷ Python IDs/s`,
            Number.NaN,
            '>=',
            1.5,
            '×',
          ),
          unavailable: python,
        });
        continue;
      }
      const speedups = edge[name].map((v, i) => v / (py[name][i] as number));
      const { min, max } = range(speedups);
      table.push([
        SET_LABELS[name],
        medianRange(edge[name], perSec),
        medianRange(py[name], perSec),
        medianRange(speedups, ratio),
      ]);
      figures[`${name}PythonIdsPerSec`] = median(py[name]);
      figures[`${name}Speedup`] = median(speedups);
      figures[`${name}SpeedupMin`] = min;
      figures[`${name}SpeedupMax`] = max;
      figures[`${name}IdsIdentical`] = identical[name];
      targets.push(
        target(
          `${name}-vs-python`,
          `${name} set: edge-ha ÷ Python IDs/s (median of ${rounds} paired rounds)`,
          median(speedups),
          '>=',
          1.5,
          '×',
        ),
      );
      if (!identical[name]) {
        notes.push(
          `the ${name} ids DIFFER from Python: computePolicyId is not AnyLog-compatible here`,
        );
      }
    }
    if (typeof python !== 'string') {
      table.push([
        'ids identical to Python',
        SETS.map((n) => `${n}: ${identical[n] ? 'yes' : 'NO'}`).join(', '),
        '',
        '',
      ]);
      targets.push(
        target(
          'ids-identical',
          'ids identical to Python on both sets (1 = yes)',
          identical.plain && identical.varied ? 1 : 0,
          '>=',
          1,
          '',
        ),
      );
    } else {
      notes.push(`the Python baseline is unavailable: ${python}`);
    }
    return {
      name: 'policy-ids',
      title: `Policy ids: ${fmt(count)} policies per set vs Python hashlib.md5(str(policy))`,
      quick,
      table,
      figures,
      targets,
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
