/**
 * Compiles the child processes of the memory-bound benchmark to plain JavaScript, so they run
 * on `node` alone, as a consumer's compiled program does. Under `--import tsx` every process
 * carries the loader: about 48 MiB more RSS on Node 20 (its hooks run in a second V8 isolate),
 * the same for both sides of a comparison, which would pull every ratio towards 1 and hide what
 * edge-ha itself costs.
 *
 * The entry points and the repository's own modules (`src/`, `bench/`) are bundled with
 * esbuild; packages stay external and load from the repository's `node_modules` (a symlink in
 * the output directory), as a consumer's installed dependencies do.
 */

import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/** The repository root. */
const REPO = fileURLToPath(new URL('..', import.meta.url));

/** The children, by name: their source under `bench/`. */
const ENTRIES = {
  edge: 'memory-worker.ts',
  raw: 'memory-raw-worker.ts',
  server: 'memory-server.ts',
} as const;

/** A child process of the benchmark. */
export type MemoryChild = keyof typeof ENTRIES;

/** The compiled children: the path of each one's `.mjs` file. */
export type MemoryChildren = Readonly<Record<MemoryChild, string>>;

/** Bundles the children into `dir` (which must exist) and returns their paths. */
export async function bundleChildren(dir: string): Promise<MemoryChildren> {
  await build({
    entryPoints: Object.fromEntries(
      Object.entries(ENTRIES).map(([name, file]) => [name, join(REPO, 'bench', file)]),
    ),
    outdir: dir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'warning',
  });
  // Packages (and `createRequire(import.meta.url)` in src/sqlite/load.ts) resolve from here.
  symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return {
    edge: join(dir, 'edge.mjs'),
    raw: join(dir, 'raw.mjs'),
    server: join(dir, 'server.mjs'),
  };
}
