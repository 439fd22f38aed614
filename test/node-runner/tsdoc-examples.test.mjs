// Every `@example` in the TSDoc of src/ (what TypeDoc publishes, and what editors show on hover)
// compiles against the BUILT package, imported by name the way a reader would paste it. Each
// example is its own module in a scratch project whose `node_modules/edge-ha` links to this
// repository. Every example imports what it uses and declares what it assumes (a reader's own
// objects: a storage, a peer, a window) with their real types, like a snippet a reader pastes.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * Names an example may use without declaring them: none. Each example imports what it uses and
 * declares what it assumes (`declare const storage: StorageAdapter;`), as a reader pastes it.
 */
const AMBIENT = 'export {};\n';

/**
 * Folders of src/ whose TSDoc is not published: the CLI (src/cli/) is the `edge-ha` binary, not a
 * module of the package (no export map entry, not an entry point of the API docs), so its examples
 * call functions a reader cannot import; the CLI's own tests spawn the binary instead.
 */
const UNPUBLISHED = [join('src', 'cli')];

/**
 * Dev dependencies an example imports (the way a reader of that page has them installed): the
 * `edge-ha/fastify` plugin's host, the OpenTelemetry meter, an Express app mounting the handler,
 * the `pg` pool given to `edge-ha/postgres`.
 */
const LINKED = ['fastify', '@opentelemetry/api', 'express', '@types/express', 'pg', '@types/pg'];

function* sourceFiles(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (UNPUBLISHED.includes(relative(root, path))) continue;
    if (statSync(path).isDirectory()) yield* sourceFiles(path);
    else if (path.endsWith('.ts')) yield path;
  }
}

/** The fenced TypeScript blocks after `@example` in each TSDoc comment, with where they are. */
function examples() {
  const found = [];
  for (const file of sourceFiles(join(root, 'src'))) {
    const text = readFileSync(file, 'utf8');
    for (const comment of text.matchAll(/\/\*\*([\s\S]*?)\*\//g)) {
      const body = comment[1]
        .split('\n')
        .map((line) => line.replace(/^\s*\* ?/, ''))
        .join('\n');
      const at = body.indexOf('@example');
      if (at < 0) continue;
      const line = text.slice(0, comment.index).split('\n').length;
      for (const block of body.slice(at).matchAll(/```(?:ts|typescript)\n([\s\S]*?)```/g)) {
        found.push({ where: `${relative(root, file)}:${line}`, code: block[1] });
      }
    }
  }
  return found;
}

const work = mkdtempSync(join(tmpdir(), 'edge-ha-examples-'));
after(() => rmSync(work, { recursive: true, force: true }));

test('every @example in the TSDoc compiles against the built package', () => {
  const all = examples();
  assert.ok(all.length >= 40, `only ${all.length} examples found: is the extraction broken?`);
  mkdirSync(join(work, 'node_modules', '@types'), { recursive: true });
  symlinkSync(root, join(work, 'node_modules', 'edge-ha'), 'dir');
  for (const name of ['@types/node', ...LINKED]) {
    mkdirSync(dirname(join(work, 'node_modules', name)), { recursive: true });
    symlinkSync(join(root, 'node_modules', name), join(work, 'node_modules', name), 'dir');
  }
  writeFileSync(
    join(work, 'package.json'),
    JSON.stringify({ name: 'examples', private: true, type: 'module' }),
  );
  writeFileSync(join(work, 'ambient.d.ts'), AMBIENT);
  const files = all.map((example, i) => {
    const name = `example-${String(i).padStart(3, '0')}.ts`;
    writeFileSync(join(work, name), `// ${example.where}\n${example.code}\nexport {};\n`);
    return name;
  });
  const result = spawnSync(
    process.execPath,
    [
      join(root, 'node_modules', 'typescript', 'bin', 'tsc'),
      '--noEmit',
      '--strict',
      '--module',
      'nodenext',
      '--target',
      'es2022',
      '--types',
      'node',
      '--skipLibCheck',
      '--noUnusedLocals',
      'false',
      'ambient.d.ts',
      ...files,
    ],
    { cwd: work, encoding: 'utf8' },
  );
  // Name each failing example by its place in src/, not by its scratch file.
  const output = `${result.stdout}${result.stderr}`.replace(
    /example-(\d{3})\.ts/g,
    (_, i) => all[Number(i)].where,
  );
  console.log(`${all.length} examples compiled`);
  assert.equal(result.status, 0, output);
});
