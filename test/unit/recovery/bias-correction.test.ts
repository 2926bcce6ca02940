/**
 * Empirical bias correction: invalid arguments; the measured shift equals E[y_fp32 − y_q] computed by hand
 * on a 1x1 Conv (weight-only and static); a Conv without bias gets one; on the real models, the corrected
 * layers' mean output error on held-out photos goes down (octet runtime).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import type { Model } from '../../../src/ir/model.js';
import { Tensor as IrTensor } from '../../../src/ir/tensor.js';
import { loadModel, serializeModel } from '../../../src/onnx/io.js';
import { canonicalize } from '../../../src/passes/manager.js';
import { dequantizeAffine, quantizeAffine } from '../../../src/quantize/affine.js';
import type { CalibrationSample } from '../../../src/quantize/executor.js';
import { quantizeWeight } from '../../../src/quantize/qdq.js';
import { quantize } from '../../../src/quantize/quantize.js';
import { photoTensor } from '../onnx/helpers/images.js';
import { input, newModel, output, randomTensor } from '../onnx/helpers/build.js';
import { MODELS_DIR, photoSample } from '../quantize-graph/helpers/real-data.js';
import { runOctet, unevenWeight, withOutputs } from './helpers.js';

const CALIBRATION = ['astronaut.png', 'chelsea.png', 'coffee.png'];
const photos = (size: number): CalibrationSample[] => CALIBRATION.map((p) => ({ x: { data: photoTensor(p, size, size), dims: [1, 3, size, size] } }));

/** x[1,3,S,S] -> Conv 1x1 (3 -> 4 channels, uneven ranges) [+ bias] -> y. */
function conv1x1(bias: boolean): Model {
  const { model, g } = newModel(13);
  input(g, 'x', [1, 3, 16, 16]);
  g.addInitializer(unevenWeight('w', [4, 3, 1, 1], 21, 16));
  if (bias) g.addInitializer(randomTensor('b', [4], 22));
  g.addNode({ opType: 'Conv', name: 'conv', inputs: ['x', 'w', ...(bias ? ['b'] : [])], outputs: ['y'] });
  output(g, 'y');
  return model;
}

/** E over samples and positions of Σ_j W[c, j] x_j − Σ_j Wq[c, j] xq_j, for the 1x1 Conv above. */
function expectedShift(model: Model, samples: CalibrationSample[], fakeQuantX: (x: Float32Array) => Float32Array): Float64Array {
  const w = model.graph.constantOf(model.graph.values.get('w'))!;
  const wf = w.asFloat32();
  const q = quantizeWeight(wf, w.dims, undefined);
  const wq = dequantizeAffine(q.q, q.scale[0], q.zeroPoint[0]);
  const shift = new Float64Array(4);
  let count = 0;
  for (const s of samples) {
    const x = s.x.data as Float32Array;
    const xq = fakeQuantX(x);
    const hw = x.length / 3;
    for (let p = 0; p < hw; p++) {
      for (let c = 0; c < 4; c++) {
        let d = 0;
        for (let j = 0; j < 3; j++) d += wf[c * 3 + j] * x[j * hw + p] - wq[c * 3 + j] * xq[j * hw + p];
        shift[c] += d;
      }
      count++;
    }
  }
  return shift.map((v) => v / count);
}

describe('biasCorrection: invalid arguments', () => {
  const bytes = serializeModel(conv1x1(true));
  it('checks the option and what it needs, naming them', async () => {
    await expect(quantize(bytes, { biasCorrection: 1 as never })).rejects.toThrow(new TypeError('Expected boolean for options.biasCorrection but received 1 of type number'));
    await expect(quantize(bytes, { biasCorrection: true, dynamic: true })).rejects.toThrow(
      new RangeError('Expected false when options.dynamic is true for options.biasCorrection but received true of type boolean'),
    );
    function* once(): Generator<CalibrationSample> {
      yield* photos(16);
    }
    await expect(quantize(bytes, { biasCorrection: true, calibration: once() })).rejects.toThrow(
      new RangeError('Expected folder path or re-iterable samples (an array, not an iterator) when options.biasCorrection is true for options.calibration but received Generator of type object'),
    );
    const executor = { run: async () => ({}) };
    await expect(quantize(bytes, { biasCorrection: true, calibration: photos(16), executor })).rejects.toThrow(
      new TypeError('Expected ExecutorFactory (a function) when options.biasCorrection is true for options.executor but received Object of type object'),
    );
    await expect(quantize(bytes, { biasCorrection: true, weightOnly: true })).rejects.toMatchObject({
      code: 'ERR_OCTET_CALIBRATION',
      message: 'Bias correction needs calibration data: pass options.calibration (a folder or an iterable of samples)',
    });
    await expect(quantize(bytes, { biasCorection: true } as never)).rejects.toThrow(new TypeError("Unknown option 'biasCorection' in options; did you mean 'biasCorrection'?"));
  });
});

describe('bias correction on a 1x1 Conv: the shift is E[y_fp32 − y_q]', () => {
  it('weight-only: the float bias gains the mean weight-error term exactly', async () => {
    const m = conv1x1(true);
    const samples = photos(16);
    const { model, report } = await quantize(serializeModel(m), { weightOnly: true, perChannel: false, biasCorrection: true, calibration: samples, progress: false });
    const expected = expectedShift(m, samples, (x) => x);
    const b0 = m.graph.constantOf(m.graph.values.get('b'))!.asFloat32();
    const conv = model.graph.nodes.find((n) => n.opType === 'Conv')!;
    const b1 = model.graph.constantOf(conv.input(2))!.asFloat32();
    let largest = 0;
    for (let c = 0; c < 4; c++) {
      expect(b1[c] - b0[c]).toBeCloseTo(expected[c], 5);
      if (Math.abs(expected[c]) > Math.abs(largest)) largest = expected[c];
    }
    // Not a vanishing correction: per-tensor int8 over a 16x spread leaves a visible shift.
    expect(Math.max(...expected.map(Math.abs))).toBeGreaterThan(1e-3);
    expect(report.notes).toContain(`Bias correction: 1 bias corrected over 3 samples, largest shift ${largest.toPrecision(3)} in 'conv'`);
  });

  it('static: the input is fake-quantized with its calibrated parameters too; the bias is stored as int32', async () => {
    const m = conv1x1(true);
    const samples = photos(16);
    const { model, report } = await quantize(serializeModel(m), { perChannel: false, biasCorrection: true, calibration: samples, progress: false });
    const xq = report.tensors.find((t) => t.tensor === 'x')!;
    const fq = (x: Float32Array): Float32Array => dequantizeAffine(quantizeAffine(x, xq.scale as number, xq.zeroPoint as number, 'uint8'), xq.scale as number, xq.zeroPoint as number);
    const expected = expectedShift(m, samples, fq);
    const b0 = m.graph.constantOf(m.graph.values.get('b'))!.asFloat32();
    const g = model.graph;
    const q = g.constantOf(g.values.get('b_quantized'))!.asInt32();
    const s = g.constantOf(g.values.get('b_scale'))!.toFloat32();
    for (let c = 0; c < 4; c++) {
      const scale = s[s.length === 1 ? 0 : c];
      expect(Math.abs(q[c] * scale - (b0[c] + expected[c]))).toBeLessThanOrEqual(scale / 2 + 1e-6 * Math.abs(b0[c]));
    }
  });

  it('a Gemm (transB = 1) without C gets one: the mean weight error over the rows of x', async () => {
    const { model: m, g } = newModel(13);
    input(g, 'x', [4, 48]);
    const w = g.addInitializer(IrTensor.fromFloat32('w', [5, 48], unevenWeight('w', [5, 48, 1, 1], 23, 16).asFloat32()));
    g.addNode({ opType: 'Gemm', name: 'fc', inputs: ['x', 'w'], outputs: ['y'], attributes: [{ name: 'transB', type: 'int', value: 1n }] });
    output(g, 'y');
    // Each sample: four rows of 48 pixel values (a 4x4 patch of each channel of a photo).
    const samples = CALIBRATION.map((p) => ({ x: { data: photoTensor(p, 8, 8).slice(0, 4 * 48), dims: [4, 48] } }));
    const { model, report } = await quantize(serializeModel(m), { weightOnly: true, perChannel: false, biasCorrection: true, calibration: samples, progress: false });
    const wf = g.constantOf(w)!.asFloat32();
    const q = quantizeWeight(wf, [5, 48], undefined);
    const wq = dequantizeAffine(q.q, q.scale[0], q.zeroPoint[0]);
    const expected = new Float64Array(5);
    for (const s of samples) {
      const x = s.x.data;
      for (let r = 0; r < 4; r++) for (let c = 0; c < 5; c++) for (let k = 0; k < 48; k++) expected[c] += ((wf[c * 48 + k] - wq[c * 48 + k]) * x[r * 48 + k]) / 12;
    }
    const fc = model.graph.nodes.find((n) => n.opType === 'Gemm')!;
    const c = model.graph.constantOf(fc.input(2))!;
    expect(c.dims).toEqual([5]);
    Array.from(c.asFloat32()).forEach((v, i) => expect(v).toBeCloseTo(expected[i], 5));
    expect(report.notes[report.notes.length - 1]).toMatch(/^Bias correction: 1 bias corrected \(1 added\) over 3 samples, largest shift /);
  });

  it('a Conv without bias gets one, quantized to int32 like any other', async () => {
    const { model, report } = await quantize(serializeModel(conv1x1(false)), { biasCorrection: true, calibration: photos(16), progress: false });
    expect(report.notes.some((n) => /^Bias correction: 1 bias corrected \(1 added\) over 3 samples, largest shift -?\d/.test(n))).toBe(true);
    const conv = model.graph.nodes.find((n) => n.opType === 'Conv')!;
    const dq = conv.input(2)!.producer!;
    expect(dq.opType).toBe('DequantizeLinear');
    expect(model.graph.constantOf(dq.input(0))!.dtypeName).toBe('int32');
    expect(report.tensors.filter((t) => t.role === 'bias')).toHaveLength(1);
  });
});

/**
 * Mean error of the corrected layers: for every Conv/Gemm output y, the per-channel mean over the held-out
 * photos and positions of y_fp32 − y_int8, as RMS over channels relative to the RMS of y_fp32, averaged over
 * layers. The int8 model is run with every layer output exposed (octet then runs those layers in float on
 * the dequantized int8 operands: the same values the int8 kernels compute, before output rounding).
 */
async function meanLayerError(layers: Map<string, number[]>, fp: Record<string, Float32Array>[], q: Model, samples: CalibrationSample[]): Promise<number> {
  const got = await runOctet(withOutputs(q, [...layers.keys()]), samples);
  let total = 0;
  for (const [name, dims] of layers) {
    const c = dims[1];
    const inner = dims.slice(2).reduce((a, b) => a * b, 1);
    const mean = new Float64Array(c);
    let energy = 0;
    let n = 0;
    fp.forEach((r, i) => {
      const a = r[name];
      const b = got[i][name];
      for (let k = 0; k < a.length; k++) {
        mean[Math.floor(k / inner) % c] += a[k] - b[k];
        energy += a[k] * a[k];
        n++;
      }
    });
    let rms = 0;
    for (let ch = 0; ch < c; ch++) rms += (mean[ch] / (n / c)) ** 2;
    total += Math.sqrt(rms / c) / Math.sqrt(energy / n);
  }
  return total / layers.size;
}

describe('bias correction on the real models (per-tensor weights, static)', () => {
  for (const name of ['ppocr_cls', 'blazeface_front', 'ppocr_det']) {
    it(`${name}: the corrected layers' mean output error on page and motorcycle goes down`, async () => {
      const bytes = readFileSync(join(MODELS_DIR, `${name}.onnx`));
      const fp = loadModel(bytes);
      canonicalize(fp);
      const layers = new Map<string, number[]>();
      for (const n of fp.graph.nodes) {
        if (['Conv', 'ConvTranspose', 'Gemm'].includes(n.opType)) layers.set(n.output(0)!.name, n.output(0)!.shape as number[]);
      }
      const held = ['page.png', 'motorcycle_left.png'].map((p) => photoSample(name, p));
      const ref = await runOctet(withOutputs(fp, [...layers.keys()]), held);
      const calibration = CALIBRATION.map((p) => photoSample(name, p));
      const errors: number[] = [];
      for (const biasCorrection of [false, true]) {
        const { model, report } = await quantize(bytes, { calibration, perChannel: false, biasCorrection, progress: false });
        if (biasCorrection) expect(report.notes.some((n) => n.startsWith(`Bias correction: ${layers.size} biases corrected`))).toBe(true);
        errors.push(await meanLayerError(layers, ref, model, held));
      }
      console.log(`${name}: mean per-channel output shift of ${layers.size} layers, relative: ${errors[0].toExponential(2)} -> ${errors[1].toExponential(2)} with bias correction`);
      expect(errors[1]).toBeLessThan(errors[0] * 0.85);
    });
  }
});
