/**
 * A reduced soak (scripts/soak.mjs; `npm run soak` is the full 10,000 runs and 1,000 sessions): PP-OCR's
 * classifier quantized to int8 from the photos, run 1,000 times on one session, then sessions created, run
 * once and released; the resident set size after warm-up must stay flat.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { requireFreshDist, ROOT } from '../../helpers/dist.js';

interface Phase {
  count: number;
  warmup: number;
  rssAfterWarmupMiB: number;
  rssEndMiB: number;
  growth: number;
  samples: { i: number; rssMiB: number }[];
}

describe('soak: an int8 model run and sessions created over and over', () => {
  beforeAll(() => requireFreshDist());

  it('1,000 runs and 150 create/run/release cycles: RSS grows less than 5 % after warm-up', () => {
    const report = join(mkdtempSync(join(tmpdir(), 'octet-soak-')), 'soak.json');
    const args = ['--runs', '1000', '--warmup-runs', '300', '--sessions', '150', '--warmup-sessions', '50', '--report', report];
    const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'soak.mjs'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 280_000 });
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    const { runs, sessions } = JSON.parse(readFileSync(report, 'utf8')) as { runs: Phase; sessions: Phase };
    expect(runs.count).toBe(1000);
    expect(sessions.count).toBe(150);
    for (const phase of [runs, sessions]) {
      // growth: the median of the last five RSS samples against the first five after warm-up.
      expect(phase.samples.filter((s) => s.i > phase.warmup).length).toBeGreaterThanOrEqual(10);
      expect(phase.growth).toBeLessThan(0.05);
      expect(phase.rssEndMiB).toBeLessThan(phase.rssAfterWarmupMiB * 1.05);
    }
  }, 300_000);
});
