/**
 * Static QDQ insertion on a small synthetic graph: where the Q/DQ pairs go, what the weights and biases become,
 * and that the result verifies, saves, reloads and runs in onnxruntime-node close to fp32.
 */
import { describe, expect, it } from 'vitest';

import type { Model } from '../../../src/ir/model.js';
import { InferenceSession } from '../../../src/index.js';
import { verifyModel } from '../../../src/ir/verify.js';
import { Tensor } from '../../../src/ir/tensor.js';
import { DataType } from '../../../src/onnx/dtype.js';
import { loadModel, serializeModel } from '../../../src/onnx/io.js';
import { sqnr } from '../../../src/quantize/metrics.js';
import { quantize } from '../../../src/quantize/quantize.js';
import { createOnnxruntimeExecutor, runModel } from './helpers/ort-executor.js';
import { smallModel, smallSamples } from './helpers/small.js';
import { ortInt8Exact } from '../onnx/helpers/ort.js';
import { input, int, ints, newModel, output, randomInput, randomTensor } from '../onnx/helpers/build.js';

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

/** x ─Conv─▶ c ─┬─ Add(c, x) ─▶ a ─Relu─▶ r ─┬─ Conv ─▶ y;  r ─Softmax─▶ s (fp32) */
function residualModel(): Model {
  const { model, g } = newModel(13);
  input(g, 'x', [1, 4, 6, 6]);
  g.addInitializer(randomTensor('W1', [4, 4, 3, 3], 5, -0.4, 0.4));
  g.addInitializer(randomTensor('W2', [2, 4, 1, 1], 6, -0.5, 0.5));
  g.addNode({ opType: 'Conv', name: 'conv1', inputs: ['x', 'W1'], outputs: ['c'], attributes: [ints('pads', [1, 1, 1, 1])] });
  g.addNode({ opType: 'Add', name: 'add', inputs: ['c', 'x'], outputs: ['a'] });
  g.addNode({ opType: 'Relu', name: 'relu', inputs: ['a'], outputs: ['r'] });
  g.addNode({ opType: 'Conv', name: 'conv2', inputs: ['r', 'W2'], outputs: ['y'] });
  g.addNode({ opType: 'Softmax', name: 'softmax', inputs: ['r'], outputs: ['s'], attributes: [int('axis', 1)] });
  output(g, 'y', 1, [1, 2, 6, 6]);
  output(g, 's', 1, [1, 4, 6, 6]);
  return model;
}

describe('static QDQ on a residual Add → Relu', () => {
  const calibration = Array.from({ length: 4 }, (_, i) => ({ x: { data: randomInput([1, 4, 6, 6], 30 + i), dims: [1, 4, 6, 6] } }));
  const options = { executor: createOnnxruntimeExecutor, calibration, progress: false as const };

  it("fuses the Relu into the Add like a Conv's: one pair, on the Relu's output, whose zero point does the clamp", async () => {
    for (const [activationType, lowest] of [['uint8', 0], ['int8', -128]] as const) {
      const { model, report } = await quantize(residualModel(), { ...options, activationType });
      const g = model.graph;
      const add = g.nodes.find((n) => n.opType === 'Add')!;
      const relu = g.nodes.find((n) => n.opType === 'Relu')!;
      // Nothing between the Add and its Relu; the Add's own signed range is not used.
      expect(relu.input(0)).toBe(add.output(0));
      expect(report.tensors.some((t) => t.tensor === 'a')).toBe(false);
      expect(report.tensors.find((t) => t.tensor === 'r')).toMatchObject({ role: 'activation', min: 0, zeroPoint: lowest });
      // The int8 Conv and the fp32 Softmax both read the pair's DequantizeLinear: the Relu's only consumer is its Q.
      expect(relu.output(0)!.consumers.map((n) => n.opType)).toEqual(['QuantizeLinear']);
      const dq = relu.output(0)!.consumers[0].output(0)!.consumers[0];
      expect(dq.output(0)!.consumers.map((n) => n.opType).sort()).toEqual(['Conv', 'Softmax']);
      // octet's runtime runs the Add on int8 codes, the Relu left to the Q's zero point.
      const session = await InferenceSession.create(serializeModel(model));
      expect(session.implementations().filter((k) => /add_nd_q|relu|clamp/i.test(k))).toEqual([activationType === 'uint8' ? 'xnnpack:add_nd_qu8' : 'xnnpack:add_nd_qs8']);
      await session.release();
      // It runs like fp32 up to int8 error (onnxruntime on the 7-bit twin where its int8 GEMMs saturate).
      const twin = ortInt8Exact ? model : (await quantize(residualModel(), { ...options, activationType, reduceRange: true })).model;
      const sample = { x: { data: randomInput([1, 4, 6, 6], 77), dims: [1, 4, 6, 6] } };
      const ref = await runModel(serializeModel(residualModel()), sample);
      const got = await runModel(serializeModel(twin), sample);
      for (const o of ['y', 's']) expect(sqnr(ref[o].data as Float32Array, got[o].data as Float32Array)).toBeGreaterThan(25);
    }
  });

  it('keeps the Relu and both pairs where the pair cannot clamp: symmetric activations, an override, an excluded Relu', async () => {
    for (const o of [{ symmetricActivations: true }, { overrides: { r: { range: [-1, 4] as [number, number] } } }, { exclude: ['relu'] }]) {
      const { model, report } = await quantize(residualModel(), { ...options, ...o });
      const relu = model.graph.nodes.find((n) => n.opType === 'Relu')!;
      if ('exclude' in o) {
        // An fp32 Relu reads the float sum; nothing quantized reads 'a', so it gets no pair ('r' has one, for conv2).
        expect(relu.input(0)!.name).toBe('a');
        expect(report.tensors.some((t) => t.tensor === 'a')).toBe(false);
        expect(report.tensors.find((t) => t.tensor === 'r')).toMatchObject({ min: 0, zeroPoint: 0 });
        continue;
      }
      // The Relu reads the pair of the Add's signed output; its own output has a pair of its own.
      expect(relu.input(0)!.producer!.opType).toBe('DequantizeLinear');
      expect(model.graph.nodes.find((n) => n.opType === 'Softmax')!.input(0)!.name).toBe('r');
      expect(relu.input(0)!.producer!.input(0)!.producer!.input(0)!.name).toBe('a');
      expect(report.tensors.find((t) => t.tensor === 'a')!.min).toBeLessThan(0);
      expect(report.tensors.some((t) => t.tensor === 'r')).toBe(true);
    }
  });
});

/** Conv → Relu → GlobalAveragePool → Reshape → MatMul → Add(bias) → Softmax: a classifier head spelled as PP-OCR's. */
function matmulHeadModel(): Model {
  const { model, g } = newModel(13);
  input(g, 'x', [1, 3, 8, 8]);
  g.addInitializer(randomTensor('W', [8, 3, 3, 3], 41, -0.5, 0.5));
  g.addInitializer(randomTensor('FC', [8, 2], 42, -0.5, 0.5));
  g.addInitializer(randomTensor('FCB', [2], 43, -0.05, 0.05));
  g.addInitializer(Tensor.fromInt64('shape', [2], [1, 8]));
  g.addNode({ opType: 'Conv', name: 'conv', inputs: ['x', 'W'], outputs: ['c'], attributes: [ints('pads', [1, 1, 1, 1])] });
  g.addNode({ opType: 'Relu', name: 'relu', inputs: ['c'], outputs: ['r'] });
  g.addNode({ opType: 'GlobalAveragePool', name: 'gap', inputs: ['r'], outputs: ['p'] });
  g.addNode({ opType: 'Reshape', name: 'flat', inputs: ['p', 'shape'], outputs: ['f'] });
  g.addNode({ opType: 'MatMul', name: 'fc', inputs: ['f', 'FC'], outputs: ['m'] });
  g.addNode({ opType: 'Add', name: 'bias', inputs: ['m', 'FCB'], outputs: ['logits'] });
  g.addNode({ opType: 'Softmax', name: 'softmax', inputs: ['logits'], outputs: ['prob'], attributes: [int('axis', 1)] });
  output(g, 'prob', 1, [1, 2]);
  return model;
}

describe('static QDQ on a MatMul → bias Add → Softmax head', () => {
  const sample = (seed: number) => ({ x: { data: randomInput([1, 3, 8, 8], seed), dims: [1, 3, 8, 8] } });
  const options = { executor: createOnnxruntimeExecutor, calibration: [sample(50), sample(51), sample(52)], progress: false as const };

  it('leaves the bias Add in fp32 and the logits float: the MatMul output gets no pair', async () => {
    const { model, report } = await quantize(matmulHeadModel(), options);
    const g = model.graph;
    const fc = g.nodes.find((n) => n.opType === 'MatMul')!;
    const add = g.nodes.find((n) => n.opType === 'Add')!;
    // The MatMul itself is quantized (its input and its int8 weight); the Add reads its float output and a float bias.
    expect(fc.input(0)!.producer!.opType).toBe('DequantizeLinear');
    expect(fc.input(1)!.producer!.input(0)!.initializer!.dtype).toBe(DataType.INT8);
    expect(add.input(0)).toBe(fc.output(0));
    expect(add.input(1)!.name).toBe('FCB');
    expect(fc.output(0)!.consumers.map((n) => n.opType)).toEqual(['Add']);
    expect(report.tensors.some((t) => t.tensor === 'm' || t.tensor === 'logits' || t.tensor === 'FCB')).toBe(false);
    expect(report.skipped).toContainEqual({ node: 'bias', opType: 'Add', reason: 'output is read by fp32 ops only' });
    // It verifies and runs like fp32 up to int8 error (onnxruntime on the 7-bit twin where its int8 GEMMs saturate).
    const twin = ortInt8Exact ? model : (await quantize(matmulHeadModel(), { ...options, reduceRange: true })).model;
    const ref = (await runModel(serializeModel(matmulHeadModel()), sample(60))).prob.data as Float32Array;
    const got = (await runModel(serializeModel(twin), sample(60))).prob.data as Float32Array;
    expect(sqnr(ref, got)).toBeGreaterThan(25);
  });

  it('keeps the bias Add quantized when a quantized op reads its output', async () => {
    // The same head with a Relu after the Add: the Relu is quantized, so the Add is too, and the MatMul output has a pair.
    const m = matmulHeadModel();
    const g = m.graph;
    const softmax = g.nodes.find((n) => n.opType === 'Softmax')!;
    g.addNode({ opType: 'Relu', name: 'relu2', inputs: ['logits'], outputs: ['rl'] });
    softmax.setInput(0, g.values.get('rl')!);
    const { model, report } = await quantize(m, options);
    const fc = model.graph.nodes.find((n) => n.opType === 'MatMul')!;
    expect(fc.output(0)!.consumers.map((n) => n.opType)).toEqual(['QuantizeLinear']);
    expect(report.tensors.some((t) => t.tensor === 'm')).toBe(true);
    expect(report.skipped.some((s) => s.node === 'bias')).toBe(false);
  });
});
