import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { loadModel, saveModel } from '../../../src/onnx/io.js';
import { Tensor } from '../../../src/ir/tensor.js';
import { canonicalize } from '../../../src/passes/manager.js';
import { input, int, newModel, output, randomInput } from '../onnx/helpers/build.js';
import { realModel } from '../onnx/helpers/onnx.js';
import { compareModels, ort } from '../onnx/helpers/ort.js';
import { realFeeds } from '../onnx/helpers/real-inputs.js';

function shapeSubgraph(batch: number | string) {
  const { model, g } = newModel(13);
  input(g, 'x', [batch, 4, 3]);
  g.addInitializer(Tensor.fromInt64('zero', [], [0]));
  g.addInitializer(Tensor.fromInt64('axes', [1], [0]));
  g.addInitializer(Tensor.fromInt64('rest', [1], [-1]));
  g.addNode({ opType: 'Shape', inputs: ['x'], outputs: ['s'] });
  g.addNode({ opType: 'Gather', inputs: ['s', 'zero'], outputs: ['n'], attributes: [int('axis', 0)] });
  g.addNode({ opType: 'Unsqueeze', inputs: ['n', 'axes'], outputs: ['n1'] });
  g.addNode({ opType: 'Concat', inputs: ['n1', 'rest'], outputs: ['target'], attributes: [int('axis', 0)] });
  g.addNode({ opType: 'Reshape', inputs: ['x', 'target'], outputs: ['y'] });
  output(g, 'y');
  return { model, g };
}

describe('fold-constants', () => {
  it('leaves a shape subgraph over a symbolic batch dim', () => {
    const { model, g } = shapeSubgraph('N');
    canonicalize(model, { passes: ['fold-constants'] });
    expect(g.nodes.map((n) => n.opType)).toEqual(['Shape', 'Gather', 'Unsqueeze', 'Concat', 'Reshape']);
    expect(g.outputs[0].shape).toEqual(['N', 12]);
  });

  it('folds a shape subgraph to a constant target once shapes are static', async () => {
    const { model, g } = shapeSubgraph('N');
    const before = saveModel(model);
    const report = canonicalize(model, { passes: ['fold-constants', 'eliminate-dead-nodes'], inputShapes: { x: [2, 4, 3] } });
    expect(report[0].changes).toEqual([
      "Shape #0 -> constant 's' int64 [3] = [2, 4, 3]",
      "Gather #0 -> constant 'n' int64 [] = [2]",
      "Unsqueeze #0 -> constant 'n1' int64 [1] = [2]",
      "Concat #0 -> constant 'target' int64 [2] = [2, -1]",
    ]);
    expect(g.nodes.map((n) => n.opType)).toEqual(['Reshape']);
    const errors = await compareModels(before, saveModel(model), { x: new ort.Tensor('float32', randomInput([2, 4, 3]), [2, 4, 3]) });
    expect(errors.y).toBe(0);
  });

  it('folds the shape subgraphs of the PP-OCR recogniser for a fixed input size, keeping its output', async () => {
    const bytes = new Uint8Array(readFileSync(realModel('ppocr_rec')));
    const model = loadModel(bytes);
    const report = canonicalize(model, { passes: ['upgrade-opset', 'constant-to-initializer', 'fold-constants', 'eliminate-dead-nodes'], inputShapes: { x: [1, 3, 48, 320] } });
    const folded = report.find((r) => r.name === 'fold-constants')!.changes;
    expect(folded.filter((c) => c.startsWith('Shape')).length).toBe(4);
    expect([...model.graph.allNodes()].filter((n) => n.opType === 'Shape')).toHaveLength(0);
    const errors = await compareModels(bytes, saveModel(model), realFeeds('ppocr_rec'));
    for (const err of Object.values(errors)) expect(err).toBe(0);
  });
  it('folds Mod of constants with both sign conventions, as onnxruntime computes it (torch exports it in attention)', async () => {
    const { model, g } = newModel(13);
    input(g, 'x', [4]);
    g.addInitializer(Tensor.fromInt64('a', [4], [-7, 7, -7, 7]));
    g.addInitializer(Tensor.fromInt64('b', [4], [3, -3, -3, 3]));
    g.addInitializer(Tensor.fromFloat32('af', [2], [-7.5, 7.5]));
    g.addInitializer(Tensor.fromFloat32('bf', [2], [2, 2]));
    g.addNode({ opType: 'Mod', name: 'floored', inputs: ['a', 'b'], outputs: ['m0'] });
    g.addNode({ opType: 'Mod', name: 'truncated', inputs: ['a', 'b'], outputs: ['m1'], attributes: [int('fmod', 1)] });
    g.addNode({ opType: 'Mod', name: 'float', inputs: ['af', 'bf'], outputs: ['m2'], attributes: [int('fmod', 1)] });
    g.addNode({ opType: 'Cast', inputs: ['m0'], outputs: ['c0'], attributes: [int('to', 1)] });
    g.addNode({ opType: 'Cast', inputs: ['m1'], outputs: ['c1'], attributes: [int('to', 1)] });
    g.addNode({ opType: 'Add', inputs: ['x', 'c0'], outputs: ['y0'] });
    g.addNode({ opType: 'Add', inputs: ['x', 'c1'], outputs: ['y1'] });
    g.addNode({ opType: 'Identity', inputs: ['m2'], outputs: ['y2'] });
    for (const y of ['y0', 'y1', 'y2']) output(g, y);
    const before = saveModel(model);
    canonicalize(model, { passes: ['fold-constants'] });
    expect(g.nodes.filter((n) => n.opType === 'Mod').map((n) => n.name)).toEqual([]);
    expect(g.constantOf(g.values.get('m0'))!.toNumbers()).toEqual([2, -2, -1, 1]);
    expect(g.constantOf(g.values.get('m1'))!.toNumbers()).toEqual([-1, 1, -1, 1]);
    expect(g.constantOf(g.values.get('m2'))!.toNumbers()).toEqual([-1.5, 1.5]);
    const errors = await compareModels(before, saveModel(model), { x: new ort.Tensor('float32', randomInput([4]), [4]) });
    expect(errors).toEqual({ y0: 0, y1: 0, y2: 0 });
  });

  it('leaves Mod by zero, and integer-style Mod on floats, unfolded', () => {
    const { model, g } = newModel(13);
    g.addInitializer(Tensor.fromInt64('a', [2], [5, 6]));
    g.addInitializer(Tensor.fromInt64('z', [2], [0, 2]));
    g.addInitializer(Tensor.fromFloat32('af', [1], [5]));
    g.addNode({ opType: 'Mod', name: 'by_zero', inputs: ['a', 'z'], outputs: ['m0'] });
    g.addNode({ opType: 'Mod', name: 'float_fmod0', inputs: ['af', 'af'], outputs: ['m1'] });
    output(g, 'm0', 7);
    output(g, 'm1');
    canonicalize(model, { passes: ['fold-constants'] });
    expect(g.nodes.map((n) => n.name)).toEqual(['by_zero', 'float_fmod0']);
  });
});
