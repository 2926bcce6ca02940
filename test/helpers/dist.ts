/**
 * Tests that run octet in another process or thread (the CLI as a child, worker_threads, the fuzz script) load
 * the built package in dist/: these helpers find it and refuse a dist/ older than src/ (run `npm run build:ts`).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..');
export const DIST_INDEX = join(ROOT, 'dist', 'index.js');
export const DIST_CLI = join(ROOT, 'dist', 'cli.js');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** Throws a clear error when dist/ is missing or older than the sources it was built from. */
export function requireFreshDist(): void {
  for (const file of [DIST_INDEX, DIST_CLI]) {
    if (!existsSync(file)) throw new Error(`${file} is missing: run 'npm run build:ts' first`);
    if (statSync(file).mtimeMs < newestMtime(join(ROOT, 'src'))) {
      throw new Error(`${file} is older than src/: run 'npm run build:ts' so the test runs the current code`);
    }
  }
}
