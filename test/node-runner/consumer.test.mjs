// The package as a consumer gets it. Its public types as a TypeScript consumer compiles them: the packed tarball (`npm pack`, what the
// registry serves) installed in a fresh project that has edge-ha's dependencies but none of its
// optional peers or their @types, compiled with `strict` by TypeScript 6 (this repo's) and 7
// (installed from the registry into a cache on first run), as an ES module and as CommonJS on
// `module: nodenext`, with and without `skipLibCheck`. A subpath whose peer the consumer must have
// anyway (edge-ha/fastify needs fastify) is compiled in a project that has that peer.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const TS7_SPEC = 'typescript@~7.0.2';
const ts7Home = join(root, 'node_modules', '.cache', 'edge-ha-consumer-ts7');

/** Subpaths a consumer must install a peer for to use at all, with that peer. */
const PEER_OF_SUBPATH = { './fastify': ['fastify'] };
/** What edge-ha's own dependencies need at type level (never an optional peer or its @types). */
const DEPENDENCIES = [...Object.keys(pkg.dependencies), 'is-network-error', '@types/node'];

const COMPILERS = {
  6: () => join(root, 'node_modules', 'typescript', 'bin', 'tsc'),
  7: () => {
    const bin = join(ts7Home, 'node_modules', 'typescript', 'bin', 'tsc');
    if (!existsSync(bin)) {
      mkdirSync(ts7Home, { recursive: true });
      writeFileSync(join(ts7Home, 'package.json'), '{"private":true}\n');
      execFileSync('npm', ['install', '--no-save', '--no-audit', '--no-fund', TS7_SPEC], {
        cwd: ts7Home,
        stdio: 'pipe',
      });
    }
    return bin;
  },
};

let work;
let tarball;
before(() => {
  work = mkdtempSync(join(tmpdir(), 'edge-ha-consumer-'));
  const [packed] = JSON.parse(
    execFileSync('npm', ['pack', '--json', '--pack-destination', work], {
      cwd: root,
      encoding: 'utf8',
    }),
  );
  tarball = join(work, packed.filename);
});
after(() => rmSync(work, { recursive: true, force: true }));

/** A fresh consumer project with the packed edge-ha and the given packages linked from this repo. */
function project(name, { type, peers, source }) {
  const dir = join(work, name);
  const modules = join(dir, 'node_modules');
  mkdirSync(join(modules, 'edge-ha'), { recursive: true });
  execFileSync('tar', ['-xzf', tarball, '-C', join(modules, 'edge-ha'), '--strip-components=1']);
  for (const dep of [...DEPENDENCIES, ...peers]) {
    mkdirSync(dirname(join(modules, dep)), { recursive: true });
    symlinkSync(join(root, 'node_modules', dep), join(modules, dep), 'dir');
  }
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, private: true, type }));
  writeFileSync(join(dir, 'consumer.ts'), source);
  return dir;
}

function compile(version, dir, { skipLibCheck }) {
  const result = spawnSync(
    process.execPath,
    [
      COMPILERS[version](),
      '--noEmit',
      '--strict',
      '--exactOptionalPropertyTypes',
      '--module',
      'nodenext',
      '--moduleResolution',
      'nodenext',
      '--target',
      'es2022',
      '--types',
      'node',
      '--skipLibCheck',
      String(skipLibCheck),
      'consumer.ts',
    ],
    { cwd: dir, encoding: 'utf8' },
  );
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

const subpaths = Object.keys(pkg.exports).filter((path) => path !== './package.json');
const plain = subpaths.filter((path) => !(path in PEER_OF_SUBPATH));

/** Imports every plain subpath and uses the main entry the way a service does. */
const MAIN_SOURCE = `${plain
  .map(
    (path, i) =>
      `import * as m${i} from '${path === '.' ? 'edge-ha' : `edge-ha/${path.slice(2)}`}';`,
  )
  .join('\n')}
import { HAGovernor, httpPeer, MemoryStorageAdapter, type DeputyStateCode, type StorageAdapter } from 'edge-ha';

const storage: StorageAdapter = new MemoryStorageAdapter();
const governor = new HAGovernor({
  storage,
  peers: [httpPeer({ url: 'http://127.0.0.1:7080', token: 'secret' })],
});
governor.on('transition', (event) => {
  const code: DeputyStateCode = event.toCode;
  void code;
});
export const modules = [${plain.map((_, i) => `m${i}`).join(', ')}];
export { governor };
`;

for (const version of [6, 7]) {
  describe(`TypeScript ${version} consumer`, () => {
    for (const type of ['module', 'commonjs']) {
      for (const skipLibCheck of [false, true]) {
        test(`${type}, nodenext, skipLibCheck ${skipLibCheck}: every subpath without optional peers`, () => {
          const dir = project(`ts${version}-${type}-${skipLibCheck}`, {
            type,
            peers: [],
            source: MAIN_SOURCE,
          });
          const { status, output } = compile(version, dir, { skipLibCheck });
          assert.equal(status, 0, output);
        });
      }
    }
    for (const [path, peers] of Object.entries(PEER_OF_SUBPATH).filter(([p]) =>
      subpaths.includes(p),
    )) {
      test(`${path} with its peer (${peers.join(', ')}), skipLibCheck false`, () => {
        const source = `import * as sub from 'edge-ha/${path.slice(2)}';\nexport const mod = sub;\n`;
        const dir = project(`ts${version}-${path.slice(2)}`, { type: 'module', peers, source });
        const { status, output } = compile(version, dir, { skipLibCheck: false });
        assert.equal(status, 0, output);
      });
    }
    test('the harness reports a type error in the consumer (the checks above can fail)', () => {
      const source = `import { HAGovernor } from 'edge-ha';\nnew HAGovernor({ storage: 42 });\n`;
      const dir = project(`ts${version}-broken`, { type: 'module', peers: [], source });
      const { status, output } = compile(version, dir, { skipLibCheck: true });
      assert.notEqual(status, 0);
      assert.match(output, /consumer\.ts/);
    });
  });
}

describe('a project that installed edge-ha without its optional peers', () => {
  test('`edge-ha demo` stops before its first step with STORAGE_DEPENDENCY_MISSING and the fix', () => {
    const dir = project('demo-without-sqlite', { type: 'module', peers: [], source: '' });
    const run = spawnSync(
      process.execPath,
      [join(dir, 'node_modules', 'edge-ha', 'dist', 'cli', 'main.js'), 'demo'],
      {
        cwd: dir,
        encoding: 'utf8',
        env: { PATH: process.env.PATH ?? '' },
        timeout: 60_000,
      },
    );
    assert.equal(run.status, 1, run.stderr);
    assert.match(
      run.stderr,
      /^edge-ha: STORAGE_DEPENDENCY_MISSING: The demo keeps its two operators in SQLite files\./,
    );
    assert.match(run.stderr, /npm install better-sqlite3/);
    assert.match(run.stderr, /npm install-scripts approve better-sqlite3/);
    assert.doesNotMatch(run.stdout, /Step 1|Step 2/i);
  });
});
