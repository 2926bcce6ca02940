/**
 * Fuzzing of loadModel + InferenceSession.create (+ one run) through scripts/fuzz.mjs, the same script the
 * nightly job runs with 10,000+ cases: a fixed seed and a few hundred cases here. Each case runs in a worker
 * process so that a native crash is seen (and named by its seed and index) instead of killing the test.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { requireFreshDist, ROOT } from '../../helpers/dist.js';

const SEED = '20240611';
const CASES = 300;

interface FuzzReport {
  seed: string;
  cases: number;
  seconds: number;
  outcomes: Record<'session' | 'sessionRan' | 'errorAtCreate' | 'errorAtRun' | 'crash' | 'hang' | 'untyped' | 'readOutside', number>;
  mustRefuse: { cases: number; refused: number };
  byKind: Record<'real' | 'node', { cases: number; sessions: number; errors: number }>;
  failures: { failure: string; index: number; source: string; mutations: string[]; message?: string; replay: string }[];
}

function fuzz(args: string[]): { status: number | null; report: FuzzReport; stdout: string } {
  const report = join(mkdtempSync(join(tmpdir(), 'octet-fuzz-test-')), 'report.json');
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'fuzz.mjs'), ...args, '--report', report], { cwd: ROOT, encoding: 'utf8', timeout: 170_000 });
  return { status: r.status, report: JSON.parse(readFileSync(report, 'utf8')) as FuzzReport, stdout: r.stdout };
}

describe('fuzz: mutated real and node models through InferenceSession.create', () => {
  beforeAll(() => requireFreshDist());

  it(`${CASES} cases (seed ${SEED}) each end in a typed error or a working session, with no read outside the model's folder`, () => {
    const { status, report, stdout } = fuzz(['--seed', SEED, '--cases', String(CASES), '--jobs', '1']);
    expect(report.failures.map((f) => `${f.failure} case ${f.index} [${f.source}] ${f.mutations.join('; ')}: ${f.message ?? ''} (${f.replay})`)).toEqual([]);
    expect(status, stdout).toBe(0);
    expect(report.cases).toBe(CASES);
    const o = report.outcomes;
    expect(o.crash + o.hang + o.untyped + o.readOutside).toBe(0);
    // The mix is meaningful: both sources, sessions that ran, refusals at create and at run, escaping locations.
    expect(report.byKind.real.cases).toBeGreaterThan(CASES / 4);
    expect(report.byKind.node.cases).toBeGreaterThan(CASES / 4);
    expect(report.byKind.real.sessions).toBeGreaterThan(5);
    expect(o.sessionRan).toBeGreaterThan(20);
    expect(o.errorAtCreate).toBeGreaterThan(CASES / 2);
    expect(report.mustRefuse.cases).toBeGreaterThan(3);
    expect(report.mustRefuse.refused).toBe(report.mustRefuse.cases);
    expect(report.seconds).toBeLessThan(90);
  }, 180_000);

  it('replays one case by seed and index, with the same outcome', () => {
    const first = fuzz(['--seed', SEED, '--cases', '12', '--jobs', '1', '--all']).report as FuzzReport & { results: { index: number; outcome: string; message?: string; mutations: string[] }[] };
    const pick = first.results.find((r) => r.outcome === 'error')!;
    const again = fuzz(['--seed', SEED, '--case', String(pick.index), '--all']).report as typeof first;
    expect(again.results[0]).toMatchObject({ index: pick.index, outcome: 'error', message: pick.message, mutations: pick.mutations });
  }, 60_000);
});
