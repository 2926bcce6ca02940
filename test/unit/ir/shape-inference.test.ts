import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { loadModel } from '../../../src/onnx/io.js';
import { decodeTensor } from '../../../src/onnx/tensor-proto.js';
import { decodeTensorProto } from '../../../src/onnx/proto.js';
import { inferShapes, broadcastShapes } from '../../../src/ir/shape-inference.js';
import { Graph } from '../../../src/ir/graph.js';
import { Model } from '../../../src/ir/model.js';
import { tensorType } from '../../../src/ir/value.js';
import { Tensor } from '../../../src/ir/tensor.js';
import { OnnxError } from '../../../src/onnx/errors.js';
import { nodeTestCases, realModel } from '../onnx/helpers/onnx.js';

/** Operators the runtime will support: inference must type every output of these. */
const SUPPORTED = new Set(
  `Conv ConvTranspose Gemm MatMul Add Sub Mul Div Pow Max Min Sum Mean Relu Sigmoid Tanh Abs Neg Exp Log Sqrt
  Reciprocal Floor Ceil Erf HardSigmoid HardSwish LeakyRelu Elu Clip Equal Less Greater Where MaxPool AveragePool
  GlobalAveragePool GlobalMaxPool Reshape Flatten Transpose Concat Split Slice Pad Resize Squeeze Unsqueeze Softmax
  LogSoftmax LSTM QuantizeLinear DequantizeLinear DynamicQuantizeLinear QLinearConv QLinearMatMul MatMulInteger
  ConvInteger Gather Shape Cast Identity BatchNormalization ReduceMean ReduceSum ReduceMax Expand Tile ArgMax
  ConstantOfShape`.split(/\s+/),
);

describe('inferShapes: invalid arguments', () => {
  it('rejects an unknown input name in inputShapes, listing the inputs', () => {
    const model = loadModel(realModel('ppocr_cls'));
    expect(() => inferShapes(model, { inputShapes: { image: [1, 3, 48, 192] } })).toThrow(new RangeError("Unknown graph input 'image' in inputShapes; inputs are 'x'"));
  });

  it('rejects a shape of the wrong rank or contradicting a static dim', () => {
    const model = loadModel(realModel('ppocr_cls'));
    expect(() => inferShapes(model, { inputShapes: { x: [1, 3, 48] } })).toThrow(RangeError);
    expect(() => inferShapes(model, { inputShapes: { x: [1, 4, 48, 192] } })).toThrow(/contradicts the declared/);
  });

  it('reports shapes that do not broadcast as an OnnxError naming the node', () => {
    const g = new Graph('g');
    const m = new Model(g);
    const a = g.addInput('a', tensorType(1, [2, 3]));
    const b = g.addInput('b', tensorType(1, [4]));
    g.addNode({ opType: 'Add', name: 'add0', inputs: [a, b], outputs: ['y'] });
    g.addOutput(g.values.get('y')!);
    let err: unknown;
    try {
      inferShapes(m);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OnnxError);
    expect((err as OnnxError).node).toBe('add0');
    expect((err as OnnxError).message).toBe("Node Add 'add0': input shapes [2, 3], [4] do not broadcast");
  });
});

describe('inferShapes', () => {
  it('broadcasts symbolic dims', () => {
    expect(broadcastShapes([['N', 3, 1], [1, 5]])).toEqual(['N', 3, 5]);
    expect(broadcastShapes([['N', 1], ['N', 4]])).toEqual(['N', 4]);
  });

  it('matches the outputs of every ONNX backend node case for the supported operators', () => {
    const failures: string[] = [];
    let checked = 0;
    for (const c of nodeTestCases()) {
      const dataDir = join(c.dir, 'test_data_set_0');
      if (!existsSync(dataDir)) continue;
      const model = loadModel(join(c.dir, 'model.onnx'));
      const ops = [...model.graph.allNodes()].map((n) => n.opType);
      if (!ops.every((op) => SUPPORTED.has(op)) || model.graph.nodes.length !== 1) continue;
      if (model.graph.outputs.some((v) => v.type?.kind !== 'tensor')) continue;
      for (const v of model.graph.outputs) v.type = undefined;
      try {
        inferShapes(model);
      } catch (err) {
        failures.push(`${c.name}: ${(err as Error).message}`);
        continue;
      }
      model.graph.outputs.forEach((v, i) => {
        const file = join(dataDir, `output_${i}.pb`);
        if (!existsSync(file)) return;
        const expected = decodeTensor(decodeTensorProto(readFileSync(file)));
        const t = v.tensorType;
        // Shapes that depend on the values of non-constant inputs (Reshape's shape fed as a graph input) stay
        // unknown: that is right. A wrong static dim or dtype is not.
        if (!t) return;
        // The suite stores bfloat16 outputs as uint16.
        const dtypeOk = t.elemType === expected.dtype || (t.elemType === 16 && expected.dtype === 4);
        if (!dtypeOk) failures.push(`${c.name}: output '${v.name}' dtype ${t.elemType}, expected ${expected.dtype}`);
        if (!t.shape) return;
        if (t.shape.length !== expected.dims.length || t.shape.some((d, k) => d !== null && d !== expected.dims[k])) {
          failures.push(`${c.name}: output '${v.name}' shape [${t.shape.join(', ')}], expected [${expected.dims.join(', ')}]`);
        } else if (t.shape.every((d) => d !== null)) checked++;
      });
    }
    expect(failures).toEqual([]);
    expect(checked).toBeGreaterThan(300);
  });

  it('carries the symbolic batch dim through PP-OCR det and makes shapes static given input shapes', () => {
    const model = loadModel(realModel('ppocr_det'));
    const input = model.graph.inputs[0];
    expect(input.shape).toEqual([null, 3, null, null].map((d, i) => (i === 1 ? 3 : d)).map((d, i) => input.shape![i] ?? d));
    inferShapes(model, { inputShapes: { x: [1, 3, 640, 480] } });
    const out = model.graph.outputs[0];
    expect(out.shape).toEqual([1, 1, 640, 480]);
    const untyped = [...model.graph.allNodes()].flatMap((n) => n.outputs).filter((v) => v && !(v.shape && v.shape.every((d) => typeof d === 'number')));
    expect(untyped.map((v) => v!.name)).toEqual([]);
  });

  it('can be run again for another input size without tripping over its own earlier results', () => {
    const model = loadModel(realModel('ppocr_det'));
    inferShapes(model, { inputShapes: { x: [1, 3, 640, 480] } });
    inferShapes(model, { inputShapes: { x: [1, 3, 320, 320] } });
    expect(model.graph.outputs[0].shape).toEqual([1, 1, 320, 320]);
    inferShapes(model);
    expect(model.graph.inputs[0].shape).toEqual(['p2o.DynamicDimension.0', 3, 'p2o.DynamicDimension.1', 'p2o.DynamicDimension.2']);
  });

  it('types every value of PP-OCR rec and cls statically for a concrete input', () => {
    for (const [name, shape] of [['ppocr_rec', [1, 3, 48, 320]], ['ppocr_cls', [1, 3, 48, 192]]] as const) {
      const model = loadModel(realModel(name));
      inferShapes(model, { inputShapes: { x: [...shape] } });
      const untyped = [...model.graph.allNodes()].flatMap((n) => n.outputs).filter((v) => v && !(v.shape && v.shape.every((d) => typeof d === 'number')));
      expect(untyped.map((v) => `${name}:${v!.name}`)).toEqual([]);
    }
  });

  it('keeps symbolic dims symbolic without input shapes', () => {
    const g = new Graph('g');
    const m = new Model(g);
    const x = g.addInput('x', tensorType(1, ['N', 3, 32, 32]));
    const w = g.addInitializer(Tensor.fromFloat32('w', [8, 3, 3, 3], new Float32Array(8 * 27)));
    g.addNode({ opType: 'Conv', inputs: [x, w], outputs: ['c'], attributes: [{ name: 'pads', type: 'ints', value: [1n, 1n, 1n, 1n] }, { name: 'strides', type: 'ints', value: [2n, 2n] }] });
    g.addNode({ opType: 'Relu', inputs: ['c'], outputs: ['r'] });
    g.addNode({ opType: 'Shape', inputs: ['r'], outputs: ['s'] });
    g.addNode({ opType: 'Gather', inputs: ['s', g.addInitializer(Tensor.fromInt64('zero', [], [0]))], outputs: ['n'] });
    g.addNode({ opType: 'Unsqueeze', inputs: ['n', g.addInitializer(Tensor.fromInt64('ax', [1], [0]))], outputs: ['n1'] });
    g.addNode({ opType: 'Concat', inputs: ['n1', g.addInitializer(Tensor.fromInt64('m1', [1], [-1]))], outputs: ['shape'], attributes: [{ name: 'axis', type: 'int', value: 0n }] });
    g.addNode({ opType: 'Reshape', inputs: ['r', 'shape'], outputs: ['y'] });
    g.addOutput(g.values.get('y')!);
    inferShapes(m);
    expect(g.values.get('c')!.shape).toEqual(['N', 8, 16, 16]);
    expect(g.values.get('y')!.shape).toEqual(['N', 2048]);
  });
});

describe('inferShapes on the real models', () => {
  it('agrees with the output shapes onnxruntime computes, given the real input shapes', async () => {
    const { realFeeds } = await import('../onnx/helpers/real-inputs.js');
    const { runOrt } = await import('../onnx/helpers/ort.js');
    const { REAL_MODELS } = await import('../onnx/helpers/onnx.js');
    const { readFileSync } = await import('node:fs');
    for (const name of REAL_MODELS) {
      const bytes = new Uint8Array(readFileSync(realModel(name)));
      const feeds = realFeeds(name);
      const model = loadModel(bytes);
      // Declared symbolic shapes, then concrete ones from the real inputs.
      inferShapes(model);
      const shapes = Object.fromEntries(model.graph.inputs.map((v) => [v.name, [...feeds[v.name].dims]]));
      inferShapes(model, { inputShapes: shapes });
      const actual = await runOrt(bytes, feeds);
      for (const out of model.graph.outputs) {
        const inferred = out.shape;
        expect(inferred, `${name}:${out.name}`).toBeDefined();
        inferred!.forEach((d, i) => {
          if (d !== null) expect(d, `${name}:${out.name}[${i}]`).toBe(actual[out.name].dims[i]);
        });
      }
    }
  });
});
