/**
 * Ctrl-C during `octet quantize`: the built CLI (dist/cli.js) runs as a child process calibrating the PP-OCR
 * classifier on a few hundred photos and gets SIGINT in the middle of calibration. It must stop at the next
 * sample, say so, exit with 130 and leave nothing in the output folder (no OUT, no temporary file).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { DIST_CLI, requireFreshDist } from '../../helpers/dist.js';
import { IMAGES_DIR, MODELS_DIR } from '../onnx/helpers/onnx.js';

const COPIES = 30;

/** A calibration folder of COPIES links to each photo: enough samples that calibration takes seconds. */
function bigCalibrationFolder(): { dir: string; count: number } {
  const dir = mkdtempSync(join(tmpdir(), 'octet-calib-'));
  const photos = readdirSync(IMAGES_DIR).filter((f) => /\.(png|jpe?g)$/.test(f));
  for (let k = 0; k < COPIES; k++) for (const p of photos) symlinkSync(join(IMAGES_DIR, p), join(dir, `${String(k).padStart(2, '0')}_${p}`));
  return { dir, count: COPIES * photos.length };
}

interface Outcome {
  code: number | null;
  signal: string | null;
  stderr: string;
  left: string[];
  msAfterSignal: number;
}

function quantizeAndInterrupt(calibration: string, delayMs: number): Promise<Outcome> {
  const outDir = mkdtempSync(join(tmpdir(), 'octet-int-'));
  mkdirSync(outDir, { recursive: true });
  const out = join(outDir, 'cls.int8.onnx');
  const args = [DIST_CLI, 'quantize', join(MODELS_DIR, 'ppocr_cls.onnx'), '-o', out, '--calibration', calibration, '--shape', 'x=1,3,48,192', '--mean', '0.5', '--std', '0.5'];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CI: '1' } });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let signalled = 0;
  const timer = setTimeout(() => {
    signalled = performance.now();
    child.kill('SIGINT');
  }, delayMs);
  return new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stderr, left: readdirSync(outDir), msAfterSignal: signalled ? performance.now() - signalled : -1 });
    });
  });
}

describe('octet quantize interrupted by SIGINT', () => {
  beforeAll(() => requireFreshDist());

  it('stops calibrating at the next sample, exits 130 with a message, and writes nothing', async () => {
    const { dir, count } = bigCalibrationFolder();
    // The signal must land after calibration started and before it ended: start late enough for the model to
    // load, and retry later if it came too early (the message says how many samples were done).
    let outcome: Outcome | undefined;
    for (const delay of [3000, 6000, 10000]) {
      outcome = await quantizeAndInterrupt(dir, delay);
      if (!/after 0 of/.test(outcome.stderr)) break;
    }
    const o = outcome!;
    expect(o.signal).toBeNull();
    expect(o.code).toBe(130);
    const m = /^octet quantize: interrupted \(calibration was aborted after (\d+) of (\d+) samples\); nothing written to '.*cls\.int8\.onnx'\n$/.exec(o.stderr);
    expect(m, o.stderr).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThan(0);
    expect(Number(m![1])).toBeLessThan(count);
    expect(Number(m![2])).toBe(count);
    expect(o.left).toEqual([]);
    // It stopped at the next sample, not after the remaining hundreds.
    expect(o.msAfterSignal).toBeLessThan(5000);
  }, 120_000);
});
