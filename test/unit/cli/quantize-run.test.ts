import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import type { CliIO } from '../../../src/cli/command.js';
import { main } from '../../../src/cli/main.js';
import { InferenceSession, Tensor } from '../../../src/index.js';
import { IMAGES_DIR, MODELS_DIR } from '../onnx/helpers/onnx.js';
import { photoTensor } from '../onnx/helpers/images.js';

function capture(): CliIO & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, color: false, out: (l) => stdout.push(l), err: (l) => stderr.push(l) };
}

describe('octet quantize (static, calibrated on octet) then run', () => {
  it('rejects a malformed --shape', async () => {
    const io = capture();
    expect(await main(['quantize', join(MODELS_DIR, 'ppocr_cls.onnx'), '-o', '/tmp/x.onnx', '--shape', 'x=1,3,a'], io)).toBe(1);
    expect(io.stderr).toEqual(["octet quantize: error: --shape expects NAME=D,D,..., got 'x=1,3,a'"]);
  });

  it('quantizes the PP-OCR classifier from a folder of photos; the file runs on int8 kernels', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'octet-q-')), 'cls.int8.onnx');
    const io = capture();
    const code = await main(['quantize', join(MODELS_DIR, 'ppocr_cls.onnx'), '-o', out, '--calibration', IMAGES_DIR, '--shape', 'x=1,3,48,192', '--mean', '0.5', '--std', '0.5'], io);
    expect(io.stderr.filter((l) => !l.startsWith('warning:'))).toEqual([]);
    expect(code).toBe(0);
    expect(io.stdout[0]).toMatch(/static qdq, \d+ nodes quantized/);
    const s = await InferenceSession.create(out);
    const r = await s.run({ x: new Tensor('float32', photoTensor('page.png', 192, 48), [1, 3, 48, 192]) });
    const p = r[s.outputNames[0]].data as Float32Array;
    expect(p[0] + p[1]).toBeCloseTo(1, 4);
    expect(s.implementations().filter((k) => /int8|qu8|qs8|qc8|brg/.test(k)).length).toBeGreaterThan(20);
    await s.release();
  });
});
