/** octet quantize --equalize --bias-correction: the options reach quantize() and the report says what was done. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import type { CliIO } from '../../../src/cli/command.js';
import { main } from '../../../src/cli/main.js';
import { InferenceSession, Tensor } from '../../../src/index.js';
import { photoTensor } from '../onnx/helpers/images.js';
import { IMAGES_DIR, MODELS_DIR } from '../onnx/helpers/onnx.js';

function capture(): CliIO & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, color: false, out: (l) => stdout.push(l), err: (l) => stderr.push(l) };
}

describe('octet quantize --equalize --bias-correction', () => {
  it('rejects the flags with --dynamic, as quantize() does', async () => {
    const io = capture();
    expect(await main(['quantize', join(MODELS_DIR, 'ppocr_cls.onnx'), '-o', join(tmpdir(), 'never.onnx'), '--dynamic', '--equalize'], io)).toBe(1);
    expect(io.stderr).toEqual(['octet quantize: error: Expected false when options.dynamic is true for options.equalize but received true of type boolean']);
  });

  it('quantizes PP-OCR cls from the photo folder with both; the notes count pairs and biases; the file runs', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'octet-q-')), 'cls.int8.onnx');
    const io = capture();
    const args = ['quantize', join(MODELS_DIR, 'ppocr_cls.onnx'), '-o', out, '--calibration', IMAGES_DIR, '--shape', 'x=1,3,48,192', '--mean', '0.5', '--std', '0.5', '--per-tensor', '--equalize', '--bias-correction'];
    expect(await main(args, io)).toBe(0);
    expect(io.stderr.filter((l) => !l.startsWith('warning:'))).toEqual([]);
    expect(io.stdout).toContain('note: Cross-layer equalization: 15 Conv pairs equalized in 11 rounds (largest channel scale 5.55)');
    expect(io.stdout.some((l) => /^note: Bias correction: 53 biases corrected over 9 samples, largest shift -?\d\.\d+(e-\d+)? in '[^']+'; 1 left \(MatMul has no bias input\)$/.test(l))).toBe(true);
    const s = await InferenceSession.create(out);
    const r = await s.run({ x: new Tensor('float32', photoTensor('page.png', 192, 48), [1, 3, 48, 192]) });
    const p = r[s.outputNames[0]].data as Float32Array;
    expect(p[0] + p[1]).toBeCloseTo(1, 4);
    await s.release();
  });
});
