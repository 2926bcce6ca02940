import { existsSync } from 'node:fs';

import { defineConfig, type Options } from 'tsup';

const common: Options = { sourcemap: true, shims: true, target: 'node20', platform: 'node', splitting: false };

export default defineConfig([
  { ...common, entry: { index: 'src/index.ts' }, format: ['esm', 'cjs'], dts: true, clean: true },
  ...(existsSync('src/cli/main.ts')
    ? [{ ...common, entry: { cli: 'src/cli/main.ts' }, format: ['esm'] as Options['format'], banner: { js: '#!/usr/bin/env node' } }]
    : []),
  // The benchmark core for bench/run.mjs, and the child process that measures one runtime's peak RSS.
  ...(existsSync('src/bench/main.ts') ? [{ ...common, entry: { bench: 'src/bench/main.ts' }, format: ['esm'] as Options['format'] }] : []),
]);
