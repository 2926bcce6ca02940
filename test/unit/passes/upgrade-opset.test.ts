import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { OnnxError } from '../../../src/onnx/errors.js';
import { saveModel, loadModel } from '../../../src/onnx/io.js';
import { Tensor } from '../../../src/ir/tensor.js';
import { canonicalize } from '../../../src/passes/manager.js';
import { raiseOpsetTo21 } from '../../../src/passes/upgrade-opset.js';
import { float, input, int, ints, newModel, output, randomInput, str } from '../onnx/helpers/build.js';
import { realModel } from '../onnx/helpers/onnx.js';
import { compareModels, ort } from '../onnx/helpers/ort.js';
import { realFeeds } from '../onnx/helpers/real-inputs.js';
import type { Graph } from '../../../src/ir/graph.js';

type Case = [name: string, opset: number, shape: number[], build: (g: Graph) => void];

const CASES: Case[] = [
  ['Softmax over the last axis', 9, [2, 3, 5], (g) => g.addNode({ opType: 'Softmax', inputs: ['x'], outputs: ['y'], attributes: [int('axis', 2)] })],
  ['Softmax with the old default axis 1 on rank 3 (flattened)', 9, [2, 3, 5], (g) => g.addNode({ opType: 'Softmax', inputs: ['x'], outputs: ['y'] })],
  ['LogSoftmax axis 1 on rank 4', 11, [2, 3, 2, 2], (g) => g.addNode({ opType: 'LogSoftmax', inputs: ['x'], outputs: ['y'], attributes: [int('axis', 1)] })],
  ['Squeeze and Unsqueeze axes', 11, [2, 1, 5], (g) => {
    g.addNode({ opType: 'Squeeze', inputs: ['x'], outputs: ['s'], attributes: [ints('axes', [1])] });
    g.addNode({ opType: 'Unsqueeze', inputs: ['s'], outputs: ['y'], attributes: [ints('axes', [0, 3])] });
  }],
  ['ReduceSum axes', 12, [2, 3, 4], (g) => g.addNode({ opType: 'ReduceSum', inputs: ['x'], outputs: ['y'], attributes: [ints('axes', [1]), int('keepdims', 0)] })],
  ['Split with split sizes', 11, [6, 2], (g) => {
    g.addNode({ opType: 'Split', inputs: ['x'], outputs: ['a', 'b'], attributes: [ints('split', [2, 4])] });
    g.addNode({ opType: 'Concat', inputs: ['b', 'a'], outputs: ['y'], attributes: [int('axis', 0)] });
  }],
  ['Slice with attributes', 9, [4, 6], (g) => g.addNode({ opType: 'Slice', inputs: ['x'], outputs: ['y'], attributes: [ints('starts', [1, -4]), ints('ends', [3, 1000]), ints('axes', [0, 1])] })],
  ['Pad with attributes', 10, [1, 2, 3, 3], (g) => g.addNode({ opType: 'Pad', inputs: ['x'], outputs: ['y'], attributes: [ints('pads', [0, 0, 1, 2, 0, 0, 2, 1]), float('value', 0.5)] })],
  ['Clip with min and max attributes', 9, [3, 4], (g) => g.addNode({ opType: 'Clip', inputs: ['x'], outputs: ['y'], attributes: [float('min', -0.25), float('max', 0.5)] })],
  ['Clip with max only', 10, [3, 4], (g) => g.addNode({ opType: 'Clip', inputs: ['x'], outputs: ['y'], attributes: [float('max', 0.1)] })],
  ['Dropout with ratio', 10, [3, 4], (g) => g.addNode({ opType: 'Dropout', inputs: ['x'], outputs: ['y'], attributes: [float('ratio', 0.3)] })],
  ['Upsample nearest', 9, [1, 1, 2, 3], (g) => {
    g.addInitializer(Tensor.fromFloat32('scales', [4], [1, 1, 2, 2]));
    g.addNode({ opType: 'Upsample', inputs: ['x', 'scales'], outputs: ['y'], attributes: [str('mode', 'nearest')] });
  }],
  ['Resize-10 linear', 10, [1, 1, 2, 3], (g) => {
    g.addInitializer(Tensor.fromFloat32('scales', [4], [1, 1, 2, 3]));
    g.addNode({ opType: 'Resize', inputs: ['x', 'scales'], outputs: ['y'], attributes: [str('mode', 'linear')] });
  }],
  ['Scatter', 10, [3, 3], (g) => {
    g.addInitializer(Tensor.fromInt64('idx', [1, 3], [2, 0, 1]));
    g.addInitializer(Tensor.fromFloat32('upd', [1, 3], [7, 8, 9]));
    g.addNode({ opType: 'Scatter', inputs: ['x', 'idx', 'upd'], outputs: ['y'], attributes: [int('axis', 0)] });
  }],
];

describe('upgrade-opset', () => {
  it('fails with an OnnxError naming a node whose operator was removed', () => {
    const { model, g } = newModel(9);
    input(g, 'x', [1, 3, 4, 4]);
    g.addNode({ opType: 'ImageScaler', name: 'scaler', inputs: ['x'], outputs: ['y'] });
    output(g, 'y');
    let err: unknown;
    try {
      canonicalize(model, { passes: ['upgrade-opset'] });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OnnxError);
    expect((err as OnnxError).node).toBe('scaler');
    expect((err as Error).message).toBe("Node ImageScaler 'scaler': operator ImageScaler was removed before opset 13 and cannot be upgraded");
  });

  it('leaves models at opset 13 and above alone, and models below 9', () => {
    for (const opset of [8, 13, 17]) {
      const { model, g } = newModel(opset);
      input(g, 'x', [2, 3]);
      g.addNode({ opType: 'Softmax', inputs: ['x'], outputs: ['y'] });
      output(g, 'y');
      const [report] = canonicalize(model, { passes: ['upgrade-opset'] });
      expect(report.changes).toEqual([]);
      expect(model.opsetVersion('')).toBe(opset);
    }
  });

  for (const [name, opset, shape, build] of CASES) {
    it(`${name} (opset ${opset}) computes the same in onnxruntime after the upgrade`, async () => {
      const { model, g } = newModel(opset);
      input(g, 'x', shape);
      build(g);
      output(g, 'y');
      const before = saveModel(model);
      const [report] = canonicalize(model, { passes: ['upgrade-opset'] });
      expect(model.opsetVersion('')).toBe(13);
      expect(report.changes.at(-1)).toBe(`opset ${opset} -> 13`);
      const errors = await compareModels(before, saveModel(model), { x: new ort.Tensor('float32', randomInput(shape), shape) });
      expect(errors.y).toBe(0);
    });
  }

  for (const name of ['ppocr_rec', 'ppocr_cls'] as const) {
    it(`upgrades ${name} from opset 9 with identical outputs`, async () => {
      const bytes = new Uint8Array(readFileSync(realModel(name)));
      const model = loadModel(bytes);
      expect(model.opsetVersion('')).toBe(9);
      const [report] = canonicalize(model, { passes: ['upgrade-opset'] });
      expect(report.changes.length).toBeGreaterThan(10);
      expect(model.opsetVersion('')).toBe(13);
      const errors = await compareModels(bytes, saveModel(model), realFeeds(name));
      for (const err of Object.values(errors)) expect(err).toBe(0);
    });
  }
});

describe('raiseOpsetTo21 (for 16-bit QuantizeLinear/DequantizeLinear)', () => {
  const RAISE: Case[] = [
    ['ReduceMean and ReduceMax axes', 13, [2, 3, 4], (g) => {
      g.addNode({ opType: 'ReduceMean', inputs: ['x'], outputs: ['m'], attributes: [ints('axes', [1]), int('keepdims', 1)] });
      g.addNode({ opType: 'ReduceMax', inputs: ['m'], outputs: ['y'], attributes: [ints('axes', [0, 2]), int('keepdims', 0)] });
    }],
    ['Split into equal parts (no split input)', 13, [6, 2], (g) => {
      g.addNode({ opType: 'Split', inputs: ['x'], outputs: ['a', 'b', 'c'], attributes: [int('axis', 0)] });
      g.addNode({ opType: 'Concat', inputs: ['c', 'a', 'b'], outputs: ['y'], attributes: [int('axis', 0)] });
    }],
    ['ReduceL2 at opset 17', 17, [3, 5], (g) => g.addNode({ opType: 'ReduceL2', inputs: ['x'], outputs: ['y'], attributes: [ints('axes', [1])] })],
  ];
  for (const [name, opset, shape, build] of RAISE) {
    it(`${name} (opset ${opset}) computes the same in onnxruntime at opset 21`, async () => {
      const { model, g } = newModel(opset);
      input(g, 'x', shape);
      build(g);
      output(g, 'y');
      const before = saveModel(model);
      const changes = raiseOpsetTo21(model);
      expect(model.opsetVersion('')).toBe(21);
      expect(model.irVersion).toBeGreaterThanOrEqual(10);
      expect(changes.length).toBeGreaterThan(1);
      expect(changes.at(-1)).toBe(`opset ${opset} -> 21`);
      const errors = await compareModels(before, saveModel(model), { x: new ort.Tensor('float32', randomInput(shape), shape) });
      expect(errors.y).toBe(0);
    });
  }

  it('renames GridSample modes and keeps RoiAlign-10 behaviour by attribute', () => {
    const { model, g } = newModel(13);
    input(g, 'x', [1, 1, 4, 4]);
    input(g, 'grid', [1, 2, 2, 2]);
    input(g, 'rois', [1, 4]);
    input(g, 'idx', [1], 7);
    g.addNode({ opType: 'GridSample', name: 'gs', inputs: ['x', 'grid'], outputs: ['y'], attributes: [str('mode', 'bicubic')] });
    g.addNode({ opType: 'RoiAlign', name: 'roi', inputs: ['x', 'rois', 'idx'], outputs: ['r'] });
    output(g, 'y');
    output(g, 'r');
    expect(raiseOpsetTo21(model)).toEqual([
      "GridSample 'gs': mode 'bicubic' -> 'cubic'",
      "RoiAlign 'roi': coordinate_transformation_mode 'output_half_pixel' (RoiAlign-10's behaviour)",
      'opset 13 -> 21',
    ]);
  });

  it('refuses GroupNormalization-18 naming the node, needs opset 13 first, and leaves opset 21 alone', () => {
    const gn = newModel(18);
    input(gn.g, 'x', [1, 4, 2, 2]);
    gn.g.addInitializer(Tensor.fromFloat32('s', [2], [1, 1]));
    gn.g.addInitializer(Tensor.fromFloat32('b', [2], [0, 0]));
    gn.g.addNode({ opType: 'GroupNormalization', name: 'norm', inputs: ['x', 's', 'b'], outputs: ['y'], attributes: [int('num_groups', 2)] });
    output(gn.g, 'y');
    let err: unknown;
    try {
      raiseOpsetTo21(gn.model);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OnnxError);
    expect(err).toMatchObject({
      node: 'norm',
      message: "Node GroupNormalization 'norm': GroupNormalization changed meaning before opset 21 and is not rewritten; the model cannot be raised to opset 21",
    });
    expect(gn.model.opsetVersion('')).toBe(18);
    const old = newModel(11);
    expect(() => raiseOpsetTo21(old.model)).toThrow('Cannot raise opset 11 to 21: upgrade it to 13 first (canonicalize)');
    const recent = newModel(21);
    expect(raiseOpsetTo21(recent.model)).toEqual([]);
  });
});
