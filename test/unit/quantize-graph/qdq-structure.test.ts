/**
 * Static QDQ insertion on a small synthetic graph: where the Q/DQ pairs go, what the weights and biases become,
 * and that the result verifies, saves, reloads and runs in onnxruntime-node close to fp32.
 */
import { describe, expect, it } from 'vitest';

import type { Model } from '../../../src/ir/model.js';
import { verifyModel } from '../../../src/ir/verify.js';
import { DataType } from '../../../src/onnx/dtype.js';
import { loadModel, serializeModel } from '../../../src/onnx/io.js';
import { sqnr } from '../../../src/quantize/metrics.js';
import { quantize } from '../../../src/quantize/quantize.js';
import { createOnnxruntimeExecutor, runModel } from './helpers/ort-executor.js';
import { smallModel, smallSamples } from './helpers/small.js';
import { ortInt8Exact } from '../onnx/helpers/ort.js';

function producerOf(model: Model, name: string): string | undefined {
  return model.graph.values.get(name)?.producer?.opType;
}

describe('static QDQ on Conv → Relu → MaxPool → Reshape → Gemm → Softmax', () => {
  const options = { executor: createOnnxruntimeExecutor, calibration: smallSamples(4), progress: false as const };

  it('quantizes inputs, weights, biases; nothing between Conv and its fused Relu; Softmax stays fp32', async () => {
    const { model, report } = await quantize(smallModel(), options);
    const g = model.graph;
    const conv = g.nodes.find((n) => n.opType === 'Conv')!;
    const relu = g.nodes.find((n) => n.opType === 'Relu')!;
    expect(conv.input(0)!.producer!.opType).toBe('DequantizeLinear');
    const wdq = conv.input(1)!.producer!;
    expect(wdq.opType).toBe('DequantizeLinear');
    expect(wdq.getInt('axis')).toBe(0);
    expect(wdq.input(0)!.initializer!.dtype).toBe(DataType.INT8);
    expect(wdq.input(1)!.initializer!.dims).toEqual([4]);
    const bdq = conv.input(2)!.producer!;
    expect(bdq.input(0)!.initializer!.dtype).toBe(DataType.INT32);
    // Conv feeds the Relu directly; the pair comes after the Relu.
    expect(relu.input(0)).toBe(conv.output(0));
    expect(relu.output(0)!.consumers.map((n) => n.opType)).toEqual(['QuantizeLinear']);
    // MaxPool/Reshape are pass-through: same scale and zero point as their input.
    const act = new Map(report.tensors.filter((t) => t.role === 'activation').map((t) => [t.tensor, t]));
    expect(act.get('p')!.scale).toBe(act.get('r')!.scale);
    expect(act.get('f')!.zeroPoint).toBe(act.get('r')!.zeroPoint);
    // Gemm transB=1: per-channel axis 0; the Softmax reads the float logits.
    const gemm = g.nodes.find((n) => n.opType === 'Gemm')!;
    expect(gemm.input(1)!.producer!.getInt('axis')).toBe(0);
    expect(producerOf(model, 'prob')).toBe('Softmax');
    expect(g.nodes.find((n) => n.opType === 'Softmax')!.input(0)!.name).toBe('logits');
    expect(act.has('logits')).toBe(false);
    // One pair per tensor; uint8 activations by default.
    const qs = g.nodes.filter((n) => n.opType === 'QuantizeLinear');
    expect(new Set(qs.map((q) => q.input(0)!.name)).size).toBe(qs.length);
    expect(qs.every((q) => q.input(2)!.initializer!.dtype === DataType.UINT8)).toBe(true);
    expect(report.mode).toBe('static');
    expect(report.calibration).toMatchObject({ method: 'minmax', samples: 4, skippedSamples: 0 });
    expect(report.notes).toContain('Softmax: 1 node left in fp32 (not supported by static quantization)');
  });

  it('verifies, saves, reloads and runs in onnxruntime-node within int8 error of fp32', async () => {
    for (const o of [{}, { perChannel: false }, { activationType: 'int8' as const }, { symmetricActivations: true }, { weightOnly: true }]) {
      // 7-bit weights where onnxruntime's int8 GEMMs saturate (x86 without VNNI): see ortInt8Exact.
      const { model } = await quantize(smallModel(), { ...options, reduceRange: !ortInt8Exact, ...o });
      expect(verifyModel(model).filter((i) => i.severity === 'error')).toEqual([]);
      const bytes = serializeModel(model);
      const reloaded = serializeModel(loadModel(bytes));
      const sample = smallSamples(1, 99)[0];
      const ref = await runModel(serializeModel(smallModel()), sample);
      const got = await runModel(bytes, sample);
      expect(sqnr(ref.prob.data as Float32Array, got.prob.data as Float32Array)).toBeGreaterThan(25);
      expect((await runModel(reloaded, sample)).prob.data).toEqual(got.prob.data);
    }
  });

  it('reduceRange keeps weights to 7 bits ([−63, 63]) and scales them twice as coarsely', async () => {
    const codes = (m: Model, name: string): Int8Array => m.graph.initializers.find((i) => i.name === name)!.initializer!.asInt8();
    const full = (await quantize(smallModel(), options)).model;
    const reduced = (await quantize(smallModel(), { ...options, reduceRange: true })).model;
    for (const w of ['W_quantized', 'FC_quantized']) {
      const a = codes(full, w);
      const b = codes(reduced, w);
      expect(Math.max(...Array.from(a, Math.abs))).toBe(127);
      expect(Math.max(...Array.from(b, Math.abs))).toBe(63);
    }
    const scale = (m: Model, name: string): number => m.graph.initializers.find((i) => i.name === name)!.initializer!.asFloat32()[0];
    expect(scale(reduced, 'W_scale') / scale(full, 'W_scale')).toBeCloseTo(127 / 63, 5);
    await expect(quantize(smallModel(), { ...options, reduceRange: 1 as unknown as boolean })).rejects.toThrow(
      new TypeError('Expected boolean for options.reduceRange but received 1 of type number'),
    );
  });

  it('exclude and opTypes leave nodes in fp32 with a reason; overrides set ranges and types', async () => {
    const { model, report } = await quantize(smallModel(), { ...options, exclude: ['fc'], overrides: { r: { range: [0, 8], dtype: 'int8' } } });
    expect(report.skipped).toContainEqual({ node: 'fc', opType: 'Gemm', reason: 'excluded' });
    expect(model.graph.nodes.find((n) => n.opType === 'Gemm')!.input(1)!.name).toBe('FC');
    const r = report.tensors.find((t) => t.tensor === 'r')!;
    expect(r).toMatchObject({ dtype: 'int8', min: 0, max: 8, zeroPoint: -128 });
    expect(r.scale).toBeCloseTo(8 / 255, 6);
    const only = await quantize(smallModel(), { ...options, opTypes: ['Gemm'] });
    expect(only.report.skipped).toContainEqual({ node: 'conv', opType: 'Conv', reason: 'op type not selected' });
    expect(only.model.graph.nodes.find((n) => n.opType === 'Conv')!.input(1)!.name).toBe('W');
  });

  it('weight-only mode needs no data: int8 weights, float activations and bias', async () => {
    const { model, report } = await quantize(smallModel(), { weightOnly: true });
    expect(report.mode).toBe('weight-only');
    expect(model.graph.nodes.filter((n) => n.opType === 'QuantizeLinear')).toEqual([]);
    expect(report.tensors.map((t) => t.role)).toEqual(['weight', 'weight']);
  });
});
