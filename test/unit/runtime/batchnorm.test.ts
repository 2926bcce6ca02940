/**
 * BatchNormalization that canonicalize cannot fold into a Conv (after a Relu, or after the DequantizeLinear
 * onnxruntime's quantizer puts behind PP-OCR det's ConvTranspose) runs as a per-channel Mul and Add
 * (src/lower/expand-batchnorm.ts); checked against onnxruntime-node.
 */
import { describe, expect, it } from 'vitest';

import type { Graph } from '../../../src/ir/graph.js';
import { Tensor as IrTensor } from '../../../src/ir/tensor.js';
import { serializeModel } from '../../../src/onnx/io.js';
import { InferenceSession } from '../../../src/runtime/inference-session-impl.js';
import { Tensor } from '../../../src/runtime/tensor.js';
import { float, input, int, newModel, output, randomInput, randomTensor } from '../onnx/helpers/build.js';
import { ort, scaledError } from '../onnx/helpers/ort.js';

function bnParams(g: Graph, c: number): string[] {
  g.addInitializer(randomTensor('gamma', [c], 1, 0.5, 1.5));
  g.addInitializer(randomTensor('beta', [c], 2));
  g.addInitializer(randomTensor('mean', [c], 3));
  g.addInitializer(randomTensor('var', [c], 4, 0.1, 2));
  return ['gamma', 'beta', 'mean', 'var'];
}

async function compare(bytes: Uint8Array, dims: number[]): Promise<number> {
  const x = randomInput(dims, 5);
  const session = await InferenceSession.create(bytes);
  const peer = await ort.InferenceSession.create(bytes);
  const got = (await session.run({ x: new Tensor('float32', x, dims) })).y;
  const want = (await peer.run({ x: new ort.Tensor('float32', x, dims) })).y;
  await Promise.all([session.release(), peer.release()]);
  return scaledError(want, new ort.Tensor('float32', got.data as Float32Array, [...got.dims]));
}

describe('BatchNormalization not folded into a Conv', () => {
  it('after a Relu, on 4-D and 3-D data', async () => {
    for (const dims of [
      [2, 5, 6, 7],
      [1, 5, 9],
    ]) {
      const { model, g } = newModel(13);
      input(g, 'x', ['n', ...dims.slice(1)]);
      g.addNode({ opType: 'Relu', name: 'relu', inputs: ['x'], outputs: ['r'] });
      g.addNode({ opType: 'BatchNormalization', name: 'bn', inputs: ['r', ...bnParams(g, 5)], outputs: ['y'], attributes: [float('epsilon', 1e-3)] });
      output(g, 'y');
      expect(await compare(serializeModel(model), dims)).toBeLessThan(1e-6);
    }
  });

  it('after a QuantizeLinear/DequantizeLinear pair', async () => {
    const { model, g } = newModel(13);
    input(g, 'x', [1, 4, 8, 8]);
    g.addInitializer(IrTensor.fromFloat32('s', [], [0.01]));
    g.addInitializer(IrTensor.fromNumbers('z', 2, [], [128]));
    g.addNode({ opType: 'QuantizeLinear', name: 'q', inputs: ['x', 's', 'z'], outputs: ['xq'] });
    g.addNode({ opType: 'DequantizeLinear', name: 'dq', inputs: ['xq', 's', 'z'], outputs: ['xd'] });
    g.addNode({ opType: 'BatchNormalization', name: 'bn', inputs: ['xd', ...bnParams(g, 4)], outputs: ['y'] });
    output(g, 'y');
    expect(await compare(serializeModel(model), [1, 4, 8, 8])).toBeLessThan(1e-6);
  });

  it('with its scale and bias quantized (DequantizeLinear of int8 and int32 constants), as onnxruntime leaves it', async () => {
    const { model, g } = newModel(13);
    input(g, 'x', [1, 3, 5, 5]);
    g.addInitializer(IrTensor.fromNumbers('gamma_q', 3, [3], [127, -64, 90]));
    g.addInitializer(IrTensor.fromFloat32('gamma_s', [3], [0.011, 0.02, 0.009]));
    g.addInitializer(IrTensor.fromNumbers('gamma_z', 3, [3], [0, 0, 0]));
    g.addInitializer(IrTensor.fromNumbers('beta_q', 6, [3], [1200, -3400, 77]));
    g.addInitializer(IrTensor.fromFloat32('beta_s', [], [0.0005]));
    g.addInitializer(randomTensor('mean', [3], 3));
    g.addInitializer(randomTensor('var', [3], 4, 0.1, 2));
    g.addNode({ opType: 'DequantizeLinear', name: 'dq_gamma', inputs: ['gamma_q', 'gamma_s', 'gamma_z'], outputs: ['gamma'], attributes: [int('axis', 0)] });
    g.addNode({ opType: 'DequantizeLinear', name: 'dq_beta', inputs: ['beta_q', 'beta_s'], outputs: ['beta'] });
    g.addNode({ opType: 'Relu', name: 'relu', inputs: ['x'], outputs: ['r'] });
    g.addNode({ opType: 'BatchNormalization', name: 'bn', inputs: ['r', 'gamma', 'beta', 'mean', 'var'], outputs: ['y'] });
    output(g, 'y');
    expect(await compare(serializeModel(model), [1, 3, 5, 5])).toBeLessThan(1e-6);
  });

  it('with parameters given at run time: refused at create(), naming the node', async () => {
    const { model, g } = newModel(13);
    input(g, 'x', [1, 3, 4, 4]);
    input(g, 'gamma', [3]);
    for (const n of ['beta', 'mean', 'var']) g.addInitializer(randomTensor(n, [3], 3, 0.1, 1));
    g.addNode({ opType: 'Relu', name: 'relu', inputs: ['x'], outputs: ['r'] });
    g.addNode({ opType: 'BatchNormalization', name: 'bn', inputs: ['r', 'gamma', 'beta', 'mean', 'var'], outputs: ['y'] });
    output(g, 'y');
    await expect(InferenceSession.create(serializeModel(model))).rejects.toThrow(
      "the runtime does not support BatchNormalization in training mode, with non-constant parameters or of unknown rank (1 node, first BatchNormalization 'bn')",
    );
  });
});
