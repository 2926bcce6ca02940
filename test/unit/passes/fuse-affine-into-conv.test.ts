import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import type { Graph } from '../../../src/ir/graph.js';
import { Tensor } from '../../../src/ir/tensor.js';
import { loadModel, saveModel } from '../../../src/onnx/io.js';
import { fuseAffineIntoConv } from '../../../src/passes/fuse-affine-into-conv.js';
import { canonicalize, runPass } from '../../../src/passes/manager.js';
import { input, ints, newModel, output, randomInput, randomTensor } from '../onnx/helpers/build.js';
import { realModel } from '../onnx/helpers/onnx.js';
import { compareModels, ort, scaledError } from '../onnx/helpers/ort.js';
import { realFeeds } from '../onnx/helpers/real-inputs.js';

async function check(build: (g: Graph) => void, expectFused: number, left: string[]): Promise<void> {
  const { model, g } = newModel(13);
  input(g, 'x', [1, 3, 8, 8]);
  g.addInitializer(randomTensor('w', [4, 3, 3, 3], 2));
  g.addInitializer(randomTensor('b', [4], 3));
  g.addNode({ opType: 'Conv', name: 'conv', inputs: ['x', 'w', 'b'], outputs: ['c'], attributes: [ints('pads', [1, 1, 1, 1])] });
  build(g);
  output(g, 'y');
  const before = saveModel(model);
  const changes = runPass(fuseAffineIntoConv as never, model);
  expect(changes.length).toBe(expectFused);
  expect(model.graph.nodes.map((n) => n.opType)).toEqual(['Conv', ...left]);
  const errors = await compareModels(before, saveModel(model), { x: new ort.Tensor('float32', randomInput([1, 3, 8, 8]), [1, 3, 8, 8]) });
  expect(errors.y).toBeLessThanOrEqual(1e-6);
}

describe('fuse-affine-into-conv', () => {
  it('folds a scalar Mul then a scalar Add (constant first or second)', async () => {
    await check((g) => {
      g.addInitializer(Tensor.fromFloat32('s', [1], [1.7]));
      g.addInitializer(Tensor.fromFloat32('t', [], [-0.3]));
      g.addNode({ opType: 'Mul', inputs: ['s', 'c'], outputs: ['m'] });
      g.addNode({ opType: 'Add', inputs: ['m', 't'], outputs: ['y'] });
    }, 1, []);
  });

  it('folds a per-channel Mul alone and a per-channel Add alone', async () => {
    await check((g) => {
      g.addInitializer(randomTensor('s', [4, 1, 1], 5, 0.5, 2));
      g.addNode({ opType: 'Mul', inputs: ['c', 's'], outputs: ['y'] });
    }, 1, []);
    await check((g) => {
      g.addInitializer(randomTensor('t', [1, 4, 1, 1], 6));
      g.addNode({ opType: 'Add', inputs: ['c', 't'], outputs: ['y'] });
    }, 1, []);
  });

  it('leaves a Mul by a spatial constant, a Mul by an activation, and a Conv output with another use', async () => {
    await check((g) => {
      g.addInitializer(randomTensor('s', [1, 1, 8, 8], 5));
      g.addNode({ opType: 'Mul', inputs: ['c', 's'], outputs: ['y'] });
    }, 0, ['Mul']);
    await check((g) => {
      g.addNode({ opType: 'Mul', inputs: ['c', 'c'], outputs: ['y'] });
    }, 0, ['Mul']);
    await check((g) => {
      g.addInitializer(Tensor.fromFloat32('s', [1], [2]));
      g.addNode({ opType: 'Mul', inputs: ['c', 's'], outputs: ['m'] });
      g.addNode({ opType: 'Add', inputs: ['m', 'c'], outputs: ['y'] });
    }, 0, ['Mul', 'Add']);
  });

  it("folds PP-OCR det's 28 learnable affine blocks and a ConvTranspose bias; outputs move by at most 2.5x onnxruntime's own optimizations", async () => {
    const bytes = new Uint8Array(readFileSync(realModel('ppocr_det')));
    const model = loadModel(bytes);
    const report = canonicalize(model, { passes: ['constant-to-initializer', 'fuse-bn-into-conv', 'fuse-affine-into-conv'] });
    // 28 scale-and-bias blocks after Convs, and the bias Add after the last ConvTranspose.
    expect(report[2].changes.filter((c) => /^Mul .* and Add .* folded into Conv /.test(c)).length).toBe(28);
    expect(report[2].changes.filter((c) => /^Add .* folded into ConvTranspose /.test(c)).length).toBe(1);
    const feeds = realFeeds('ppocr_det');
    const errors = await compareModels(bytes, saveModel(model), feeds);
    // Folding rounds weights once more, and this detector amplifies float rounding: onnxruntime's own graph
    // optimizations move its output by ~1.8e-5 of the range; BN plus affine folding by ~3.8e-5.
    const plain = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'disabled', intraOpNumThreads: 1 });
    const fused = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'all', intraOpNumThreads: 1 });
    const [a, b] = [await plain.run(feeds), await fused.run(feeds)];
    const ortError = Math.max(...Object.keys(a).map((k) => scaledError(a[k], b[k])));
    for (const [out, err] of Object.entries(errors)) expect(err, out).toBeLessThanOrEqual(Math.max(1e-5, 2.5 * ortError));
  });
});
