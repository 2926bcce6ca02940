import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Native kernels and real models: forks keep a crash in one file from taking the others with it.
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 300_000,
    // The JSON report lets .ci/run print the plain 'N passed, N failed' summary line CI reads.
    reporters: ['default', ['json', { outputFile: '.cache/vitest-report.json' }]],
  },
});
