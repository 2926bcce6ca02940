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
    expect(await main(['quantize', join(MODELS_DIR, 'ppocr_cls.onnx'), '-o', '/tmp/x.onnx', '--shape', 'x=1,3,-48'], io)).toBe(1);
    expect(io.stderr).toEqual(["octet quantize: error: --shape expects NAME=D,D,... (each D a positive integer, or a name such as N for a free dim), got 'x=1,3,-48'"]);
  });

  it('quantizes the PP-OCR classifier from a folder of photos; the file runs on int8 kernels at any batch size', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'octet-q-')), 'cls.int8.onnx');
    const io = capture();
    const code = await main(['quantize', join(MODELS_DIR, 'ppocr_cls.onnx'), '-o', out, '--calibration', IMAGES_DIR, '--shape', 'x=N,3,48,192', '--mean', '0.5', '--std', '0.5'], io);
    expect(io.stderr.filter((l) => !l.startsWith('warning:'))).toEqual([]);
    expect(code).toBe(0);
    expect(io.stdout[0]).toMatch(/static qdq, \d+ nodes quantized/);
    const s = await InferenceSession.create(out);
    const photos = ['page.png', 'chelsea.png', 'coffee.png'].map((f) => photoTensor(f, 192, 48));
    const one = [];
    for (const p of photos) one.push(Array.from((await s.run({ x: new Tensor('float32', p, [1, 3, 48, 192]) }))[s.outputNames[0]].data as Float32Array));
    expect(one[0][0] + one[0][1]).toBeCloseTo(1, 4);
    // --shape x=N,... keeps the batch free: three photos in one run give the three single-photo results.
    const batch = new Float32Array(photos.length * photos[0].length);
    photos.forEach((p, i) => batch.set(p, i * p.length));
    const r = await s.run({ x: new Tensor('float32', batch, [3, 3, 48, 192]) });
    expect(r[s.outputNames[0]].dims).toEqual([3, 2]);
    // The int8 part is exact; the classifier's logits are float (fp32 MatMul → bias Add → Softmax), whose sums may
    // round differently by batch size: equal to float rounding.
    const batched = Array.from(r[s.outputNames[0]].data as Float32Array);
    one.flat().forEach((v, i) => expect(Math.abs(batched[i] - v)).toBeLessThan(1e-6));
    expect(s.implementations().filter((k) => /int8|qu8|qs8|qc8|brg/.test(k)).length).toBeGreaterThan(20);
    await s.release();
  });

  it('--activation-type uint16 writes an opset-21 A16W8 file that runs in float with 16-bit rounding, closer to fp32 than uint8', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'octet-q-'));
    const args = (type: string, out: string) => ['quantize', join(MODELS_DIR, 'ppocr_cls.onnx'), '-o', out, '--calibration', IMAGES_DIR, '--max-samples', '4', '--shape', 'x=1,3,48,192', '--mean', '0.5', '--std', '0.5', '--activation-type', type];
    const photo = new Tensor('float32', photoTensor('page.png', 192, 48), [1, 3, 48, 192]);
    const probs = async (file: string): Promise<{ p: Float32Array; impls: string[] }> => {
      const s = await InferenceSession.create(file);
      const p = (await s.run({ x: photo }))[s.outputNames[0]].data as Float32Array;
      const impls = s.implementations();
      await s.release();
      return { p, impls };
    };
    const ref = (await probs(join(MODELS_DIR, 'ppocr_cls.onnx'))).p;
    const err: Record<string, number> = {};
    for (const type of ['uint8', 'uint16']) {
      const io = capture();
      expect(await main(args(type, join(dir, `${type}.onnx`)), io)).toBe(0);
      const { p, impls } = await probs(join(dir, `${type}.onnx`));
      err[type] = Math.max(...Array.from(p, (v, i) => Math.abs(v - ref[i])));
      if (type === 'uint16') {
        expect(impls.filter((k) => k === 'own:quantize_dequantize').length).toBeGreaterThan(50);
        expect(impls.filter((k) => /qu8|qs8|qc8/.test(k))).toEqual([]);
      }
    }
    expect(err.uint16).toBeLessThan(err.uint8);
    const io = capture();
    expect(await main(args('int4', join(dir, 'x.onnx')), io)).toBe(1);
    expect(io.stderr.join('\n')).toMatch(/--activation-type.*int16.*uint16/);
  });

  it('a fixed --shape is declared in the output, so another batch size fails naming the input', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'octet-q-')), 'cls.int8.onnx');
    const io = capture();
    expect(await main(['quantize', join(MODELS_DIR, 'ppocr_cls.onnx'), '-o', out, '--calibration', IMAGES_DIR, '--max-samples', '2', '--shape', 'x=1,3,48,192', '--mean', '0.5', '--std', '0.5'], io)).toBe(0);
    const s = await InferenceSession.create(out);
    await expect(s.run({ x: new Tensor('float32', new Float32Array(2 * 3 * 48 * 192), [2, 3, 48, 192]) })).rejects.toThrow("Expected 1 for feeds['x'].dims[0] but received 2");
    await s.release();
  });
});
