/**
 * The product path on real models: octet quantizes (calibrating on its own runtime with real photos), then
 * runs the int8 model on its int8 kernels. Checked against fp32 (SQNR, task result) and against onnxruntime-node
 * running the same int8 file.
 */
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { InferenceSession, serializeModel, sqnr, Tensor } from '../../src/index.js';
import { quantize } from '../../src/quantize/quantize.js';
import { MODELS_DIR } from '../unit/onnx/helpers/onnx.js';
import { photoTensor } from '../unit/onnx/helpers/images.js';
import { ort, ortInt8Exact } from '../unit/onnx/helpers/ort.js';

const PHOTOS = ['astronaut.png', 'chelsea.png', 'coffee.png', 'motorcycle_left.png', 'page.png'];

interface Case {
  model: string;
  input: string;
  dims: number[];
  nhwc?: boolean;
  minSqnr: number;
}

const CASES: Case[] = [
  // Floors a little under what plain MinMax PTQ on 4 photos gives today (cls 16.5 dB, det 4.4 dB, the same as
  // onnxruntime executing the same file); raising them is the quantizer's work (mixed precision, issue 6).
  { model: 'ppocr_cls', input: 'x', dims: [1, 3, 48, 192], minSqnr: 14 },
  { model: 'ppocr_det', input: 'x', dims: [1, 3, 160, 160], minSqnr: 3 },
];

function photo(c: Case, name: string): Float32Array {
  return photoTensor(name, c.dims[3], c.dims[2]);
}

describe.each(CASES)('int8 end to end: $model', (c) => {
  it('quantizes on octet, runs on int8 kernels, and agrees with fp32 and with onnxruntime', async () => {
    const file = join(MODELS_DIR, `${c.model}.onnx`);
    const calibration = PHOTOS.slice(0, 4).map((p) => ({ [c.input]: { data: photo(c, p), dims: c.dims } }));
    const { model, report } = await quantize(file, { calibration, progress: false, inputShapes: { [c.input]: c.dims } });
    expect(report.counts.quantizedNodes).toBeGreaterThan(5);
    const bytes = serializeModel(model);

    // onnxruntime's int8 GEMMs saturate on x86 without VNNI: there the comparison with it uses a 7-bit-weight twin,
    // run by both runtimes (see ortInt8Exact).
    const twin = ortInt8Exact ? bytes : serializeModel((await quantize(file, { calibration, progress: false, inputShapes: { [c.input]: c.dims }, reduceRange: true })).model);

    const fp32 = await InferenceSession.create(file);
    const int8 = await InferenceSession.create(bytes);
    const int8Twin = twin === bytes ? int8 : await InferenceSession.create(twin);
    const peer = await ort.InferenceSession.create(twin);
    const held = photo(c, PHOTOS[4]); // not in the calibration set
    const ref = await fp32.run({ [c.input]: new Tensor('float32', held, c.dims) });
    const got = await int8.run({ [c.input]: new Tensor('float32', held, c.dims) });
    const gotTwin = twin === bytes ? got : await int8Twin.run({ [c.input]: new Tensor('float32', held, c.dims) });
    const ortGot = await peer.run({ [c.input]: new ort.Tensor('float32', held, c.dims) });
    // The int8 model really runs on integer kernels.
    expect(int8.implementations().some((k) => /qc8|qs8|qu8|brg|jit_int8|int8/.test(k))).toBe(true);
    if (c.model === 'ppocr_det') {
      // Its ConvTransposes (per-tensor weights) run 8-bit; its residual Adds, scale-and-bias Mul/Adds and
      // spelled-out HardSwishes leave no float arithmetic between the int8 layers.
      expect(int8.implementations().filter((k) => k.startsWith('xnnpack:deconvolution2d_nhwc_qs8')).length).toBe(2);
      expect(int8.implementations().filter((k) => /(multiply|add|subtract|divide)_nd_f32|deconvolution2d_nhwc_f32/.test(k))).toEqual([]);
    }
    for (const out of fp32.outputNames) {
      const a = ref[out].data as Float32Array;
      const vsFp32 = sqnr(a, got[out].data as Float32Array);
      const b = gotTwin[out].data as Float32Array;
      const o = ortGot[out].data as Float32Array;
      const twinVsFp32 = sqnr(a, b);
      const vsOrt = sqnr(o, b);
      console.log(
        `${c.model} ${out}: int8 vs fp32 SQNR ${vsFp32.toFixed(1)} dB; ${twin === bytes ? 'same file' : '7-bit twin'}: octet ${twinVsFp32.toFixed(1)} dB, ` +
          `onnxruntime ${sqnr(a, o).toFixed(1)} dB vs fp32; octet vs onnxruntime ${vsOrt.toFixed(1)} dB`,
      );
      expect(vsFp32).toBeGreaterThan(c.minSqnr);
      // octet executes the int8 file as faithfully as onnxruntime does: same accuracy against fp32, and the two
      // int8 executions agree far better than either agrees with fp32 (they differ only in requantization rounding).
      expect(Math.abs(twinVsFp32 - sqnr(a, o))).toBeLessThan(1);
      expect(vsOrt).toBeGreaterThan(18);
      expect(vsOrt).toBeGreaterThan(twinVsFp32 + 10);
    }
    await Promise.all([fp32.release(), int8.release(), twin === bytes ? undefined : int8Twin.release(), peer.release()]);
  });
});
