import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { saveModel, loadModel } from '../../../src/onnx/io.js';
import type { Graph } from '../../../src/ir/graph.js';
import { canonicalize, runPass } from '../../../src/passes/manager.js';
import { fuseBnIntoConv } from '../../../src/passes/fuse-bn-into-conv.js';
import { float, input, int, ints, newModel, output, randomInput, randomTensor } from '../onnx/helpers/build.js';
import { realModel } from '../onnx/helpers/onnx.js';
import { compareModels, ort, scaledError } from '../onnx/helpers/ort.js';
import { realFeeds } from '../onnx/helpers/real-inputs.js';

function bn(g: Graph, x: string, y: string, channels: number, seed: number): void {
  g.addInitializer(randomTensor(`${y}_gamma`, [channels], seed, 0.5, 1.5));
  g.addInitializer(randomTensor(`${y}_beta`, [channels], seed + 1));
  g.addInitializer(randomTensor(`${y}_mean`, [channels], seed + 2));
  g.addInitializer(randomTensor(`${y}_var`, [channels], seed + 3, 0.1, 2));
  g.addNode({ opType: 'BatchNormalization', name: `${y}_bn`, inputs: [x, `${y}_gamma`, `${y}_beta`, `${y}_mean`, `${y}_var`], outputs: [y], attributes: [float('epsilon', 1e-3)] });
}

async function check(opset: number, shape: number[], build: (g: Graph) => void, expectFused: number): Promise<void> {
  const { model, g } = newModel(opset);
  input(g, 'x', shape);
  build(g);
  output(g, 'y');
  const before = saveModel(model);
  const changes = runPass(fuseBnIntoConv as never, model);
  expect(changes.length).toBe(expectFused);
  if (expectFused > 0) expect(model.graph.nodes.some((n) => n.opType === 'BatchNormalization')).toBe(false);
  const errors = await compareModels(before, saveModel(model), { x: new ort.Tensor('float32', randomInput(shape), shape) });
  expect(errors.y).toBeLessThanOrEqual(1e-5);
}

describe('fuse-bn-into-conv', () => {
  it('does not fold when the Conv output has another use', async () => {
    await check(13, [1, 3, 8, 8], (g) => {
      g.addInitializer(randomTensor('w', [4, 3, 3, 3], 2));
      g.addNode({ opType: 'Conv', inputs: ['x', 'w'], outputs: ['c'], attributes: [ints('pads', [1, 1, 1, 1])] });
      bn(g, 'c', 'b', 4, 10);
      g.addNode({ opType: 'Add', inputs: ['b', 'c'], outputs: ['y'] });
    }, 0);
  });

  it('does not fold BatchNormalization in training mode or with non-constant parameters', async () => {
    const { model, g } = newModel(13);
    input(g, 'x', [1, 3, 4, 4]);
    input(g, 'gamma', [4]);
    g.addInitializer(randomTensor('w', [4, 3, 1, 1], 2));
    for (const n of ['beta', 'mean', 'var']) g.addInitializer(randomTensor(n, [4], 3, 0.1, 1));
    g.addNode({ opType: 'Conv', inputs: ['x', 'w'], outputs: ['c'] });
    g.addNode({ opType: 'BatchNormalization', inputs: ['c', 'gamma', 'beta', 'mean', 'var'], outputs: ['y'] });
    output(g, 'y');
    expect(runPass(fuseBnIntoConv as never, model)).toEqual([]);
  });

  it('folds into a Conv with and without bias', async () => {
    await check(13, [1, 3, 8, 8], (g) => {
      g.addInitializer(randomTensor('w', [4, 3, 3, 3], 2));
      g.addNode({ opType: 'Conv', inputs: ['x', 'w'], outputs: ['c'], attributes: [ints('pads', [1, 1, 1, 1])] });
      bn(g, 'c', 'y', 4, 10);
    }, 1);
    await check(13, [1, 4, 8, 8], (g) => {
      g.addInitializer(randomTensor('w', [4, 1, 3, 3], 2));
      g.addInitializer(randomTensor('b', [4], 3));
      g.addNode({ opType: 'Conv', inputs: ['x', 'w', 'b'], outputs: ['c'], attributes: [int('group', 4)] });
      bn(g, 'c', 'y', 4, 20);
    }, 1);
  });

  it('copies weights shared with another Conv instead of changing them', async () => {
    await check(13, [1, 3, 6, 6], (g) => {
      g.addInitializer(randomTensor('w', [3, 3, 1, 1], 2));
      g.addNode({ opType: 'Conv', inputs: ['x', 'w'], outputs: ['c'] });
      bn(g, 'c', 'b', 3, 10);
      g.addNode({ opType: 'Conv', inputs: ['b', 'w'], outputs: ['y'] });
    }, 1);
  });

  it('folds into a grouped ConvTranspose, also through a per-channel bias Add', async () => {
    await check(13, [1, 4, 5, 5], (g) => {
      g.addInitializer(randomTensor('w', [4, 3, 2, 2], 2));
      g.addNode({ opType: 'ConvTranspose', inputs: ['x', 'w'], outputs: ['c'], attributes: [int('group', 2), ints('strides', [2, 2])] });
      bn(g, 'c', 'y', 6, 10);
    }, 1);
    await check(11, [1, 4, 5, 5], (g) => {
      g.addInitializer(randomTensor('w', [4, 6, 2, 2], 2));
      g.addInitializer(randomTensor('bias', [1, 6, 1, 1], 5));
      g.addNode({ opType: 'ConvTranspose', inputs: ['x', 'w'], outputs: ['c'], attributes: [ints('strides', [2, 2])] });
      g.addNode({ opType: 'Add', inputs: ['c', 'bias'], outputs: ['a'] });
      bn(g, 'a', 'y', 6, 10);
    }, 1);
  });

  it('folds into Gemm with transB 0 and 1 and a scaled C', async () => {
    for (const transB of [0, 1]) {
      await check(13, [3, 5], (g) => {
        g.addInitializer(randomTensor('B', transB ? [4, 5] : [5, 4], 2));
        g.addInitializer(randomTensor('C', [4], 3));
        g.addNode({ opType: 'Gemm', inputs: ['x', 'B', 'C'], outputs: ['c'], attributes: [int('transB', transB), float('alpha', 0.5), float('beta', 2)] });
        bn(g, 'c', 'y', 4, 10);
      }, 1);
    }
  });

  it('keeps the PP-OCR outputs within 1e-5 (classifier, recogniser) and within onnxruntime\'s own fusion error (detector)', async () => {
    for (const name of ['ppocr_cls', 'ppocr_rec', 'ppocr_det'] as const) {
      const bytes = new Uint8Array(readFileSync(realModel(name)));
      const model = loadModel(bytes);
      const report = canonicalize(model, { passes: ['constant-to-initializer', 'fuse-bn-into-conv'] });
      expect(report[1].changes.length).toBeGreaterThan(0);
      const feeds = realFeeds(name);
      const errors = await compareModels(bytes, saveModel(model), feeds);
      let tolerance = 1e-5;
      if (name === 'ppocr_det') {
        // onnxruntime's own Conv+BatchNormalization fusion moves this output by about as much.
        const plain = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'disabled', intraOpNumThreads: 1 });
        const fused = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'all', intraOpNumThreads: 1 });
        const a = await plain.run(feeds);
        const b = await fused.run(feeds);
        const ortError = Math.max(...Object.keys(a).map((k) => scaledError(a[k], b[k])));
        tolerance = Math.max(1e-5, 1.5 * ortError);
      }
      for (const [out, err] of Object.entries(errors)) expect(err, `${name}:${out}`).toBeLessThanOrEqual(tolerance);
    }
  });
});

