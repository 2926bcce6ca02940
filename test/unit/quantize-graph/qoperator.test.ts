/**
 * QOperator output (`format: 'qoperator'`): the QDQ groups become QLinearConv / QGemm / com.microsoft QLinear*
 * nodes, the model verifies, onnxruntime-node runs it, and octet's runtime (which expands it back to QDQ) gives
 * exactly what it gives for the QDQ model.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import type { Model } from '../../../src/ir/model.js';
import { verifyModel } from '../../../src/ir/verify.js';
import { loadModel, serializeModel } from '../../../src/onnx/io.js';
import { sqnr } from '../../../src/quantize/metrics.js';
import { quantize } from '../../../src/quantize/quantize.js';
import { ortInt8Exact } from '../onnx/helpers/ort.js';
import { runModel, runOctet } from './helpers/ort-executor.js';
import { MODELS_DIR, photoSample } from './helpers/real-data.js';
import { smallModel, smallSamples } from './helpers/small.js';

function ops(m: Model): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of m.graph.nodes) {
    const k = n.domain ? `${n.domain}.${n.opType}` : n.opType;
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

describe("quantize({ format: 'qoperator' })", () => {
  const options = { calibration: smallSamples(4), progress: false as const };

  it('writes QLinearConv (Relu implied by the zero point), int8 MaxPool/Reshape and QGemm, and says so', async () => {
    const { model, report } = await quantize(smallModel(), { ...options, format: 'qoperator' });
    expect(report.format).toBe('qoperator');
    expect(verifyModel(model).filter((i) => i.severity === 'error')).toEqual([]);
    const counts = ops(model);
    expect(counts).toMatchObject({ QLinearConv: 1, 'com.microsoft.QGemm': 1, MaxPool: 1, Reshape: 1, Softmax: 1 });
    // The fused Relu went into QLinearConv's output range; QGemm gives the Softmax float logits (no y_scale); the
    // only Q left quantizes the graph input.
    expect(counts.Relu).toBeUndefined();
    expect(counts.Conv).toBeUndefined();
    expect(counts.Gemm).toBeUndefined();
    expect(counts.QuantizeLinear).toBe(1);
    expect(counts.DequantizeLinear).toBeUndefined();
    const gemm = model.graph.nodes.find((n) => n.opType === 'QGemm')!;
    expect(gemm.inputs.length).toBe(7);
    expect(gemm.getInt('transB')).toBe(1);
    expect(model.opsetVersion('com.microsoft')).toBe(1);
    const conv = model.graph.nodes.find((n) => n.opType === 'QLinearConv')!;
    expect(conv.inputs.map((v) => v?.initializer?.dtype ?? 'activation')).toEqual(['activation', 1, 2, 3, 1, 3, 1, 2, 6]);
    const pool = model.graph.nodes.find((n) => n.opType === 'MaxPool')!;
    expect(pool.input(0)!.producer!.opType).toBe('QLinearConv');
    expect(report.notes).toContain('QOperator: 1 QLinearConv, 1 MaxPool, 1 Reshape, 1 QGemm');
  });

  it('octet runs the QOperator model exactly as it runs the QDQ one; onnxruntime-node runs it within int8 error', async () => {
    for (const o of [{}, { perChannel: false }]) {
      const qdq = serializeModel((await quantize(smallModel(), { ...options, ...o, reduceRange: !ortInt8Exact })).model);
      const qop = serializeModel((await quantize(smallModel(), { ...options, ...o, reduceRange: !ortInt8Exact, format: 'qoperator' })).model);
      const sample = smallSamples(1, 99)[0];
      const ref = await runOctet(serializeModel(smallModel()), sample);
      const a = await runOctet(qdq, sample);
      const b = await runOctet(qop, sample);
      expect(b.prob.data).toEqual(a.prob.data);
      const inOrt = await runModel(qop, sample);
      expect(sqnr(ref.prob.data, inOrt.prob.data as Float32Array)).toBeGreaterThan(25);
      expect(sqnr(a.prob.data, inOrt.prob.data as Float32Array)).toBeGreaterThan(35);
    }
  });

  it('a Relu that the zero point does not imply keeps Conv → Relu in QDQ form, with a note', async () => {
    // Symmetric activations put the zero point mid-range: the Relu cannot disappear, so Conv → Relu stays QDQ.
    const { model, report } = await quantize(smallModel(), { ...options, symmetricActivations: true, format: 'qoperator' });
    const counts = ops(model);
    expect(counts.QLinearConv).toBeUndefined();
    expect(counts.Conv).toBe(1);
    expect(counts.Relu).toBe(1);
    expect(report.notes.some((n) => /^QOperator: \d+ quantized nodes? kept in QDQ form/.test(n))).toBe(true);
  });

  for (const name of ['ppocr_cls', 'blazeface_front']) {
    it(`${name}: QOperator from real photos runs in octet (same outputs as QDQ) and in onnxruntime-node`, async () => {
      const bytes = readFileSync(join(MODELS_DIR, `${name}.onnx`));
      const cal = ['astronaut.png', 'chelsea.png', 'coffee.png'].map((p) => photoSample(name, p));
      const o = { calibration: cal, progress: false as const, reduceRange: !ortInt8Exact };
      const qdq = serializeModel((await quantize(bytes, o)).model);
      const { model, report } = await quantize(bytes, { ...o, format: 'qoperator' });
      const qop = serializeModel(model);
      const counts = ops(loadModel(qop));
      console.log(`${name} QOperator: ${report.notes.filter((n) => n.startsWith('QOperator')).join('; ')}`);
      expect(counts.QLinearConv).toBeGreaterThan(10);
      expect(counts.Conv ?? 0).toBeLessThan(counts.QLinearConv / 4);
      const s = photoSample(name, 'page.png');
      const fp32 = await runModel(bytes, s);
      const a = await runOctet(qdq, s);
      const b = await runOctet(qop, s);
      const c = await runModel(qop, s);
      for (const out of Object.keys(fp32)) {
        expect(sqnr(a[out].data, b[out].data)).toBeGreaterThan(60);
        const vsFp32 = sqnr(fp32[out].data as Float32Array, b[out].data);
        const ortVsFp32 = sqnr(fp32[out].data as Float32Array, c[out].data as Float32Array);
        console.log(`${name} ${out}: octet ${vsFp32.toFixed(1)} dB, onnxruntime ${ortVsFp32.toFixed(1)} dB vs fp32; octet vs onnxruntime ${sqnr(b[out].data, c[out].data as Float32Array).toFixed(1)} dB`);
        expect(Math.abs(vsFp32 - ortVsFp32)).toBeLessThan(3);
      }
    });
  }
});
