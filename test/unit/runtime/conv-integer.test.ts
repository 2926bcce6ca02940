/**
 * ConvInteger as onnxruntime's dynamic quantizer writes it: the input zero point comes from DynamicQuantizeLinear
 * at run time, weights and weight zero point are uint8 constants, and the model's input sizes are symbolic. The
 * runtime expands it into Cast/Sub/Conv in float (exact for these sizes); checked against onnxruntime-node, whose
 * u8·u8 ConvInteger is exact.
 */
import { describe, expect, it } from 'vitest';

import { Tensor as IrTensor } from '../../../src/ir/tensor.js';
import { serializeModel } from '../../../src/onnx/io.js';
import { InferenceSession } from '../../../src/runtime/inference-session-impl.js';
import { Tensor } from '../../../src/runtime/tensor.js';
import { input, ints, newModel, output, randomInput } from '../onnx/helpers/build.js';
import { ort } from '../onnx/helpers/ort.js';
import { rng } from '../../helpers/random.js';

function dynamicConvModel(): Uint8Array {
  const { model, g } = newModel(13);
  input(g, 'x', ['batch', 4, 'h', 'w']);
  const r = rng(3);
  g.addInitializer(IrTensor.fromNumbers('w', 2, [6, 4, 3, 3], Array.from({ length: 6 * 4 * 9 }, () => Math.floor(r() * 256))));
  g.addInitializer(IrTensor.fromNumbers('w_zero', 2, [], [131]));
  g.addNode({ opType: 'DynamicQuantizeLinear', name: 'dql', inputs: ['x'], outputs: ['xq', 'x_scale', 'x_zero'] });
  g.addNode({ opType: 'ConvInteger', name: 'conv_integer', inputs: ['xq', 'w', 'x_zero', 'w_zero'], outputs: ['y'], attributes: [ints('pads', [1, 1, 1, 1])] });
  output(g, 'y', 6);
  return serializeModel(model);
}

describe('ConvInteger fed by DynamicQuantizeLinear', () => {
  it('runs with a run-time input zero point and symbolic input sizes, equal to onnxruntime', async () => {
    const bytes = dynamicConvModel();
    const session = await InferenceSession.create(bytes);
    const peer = await ort.InferenceSession.create(bytes);
    for (const dims of [
      [1, 4, 7, 9],
      [2, 4, 5, 5],
    ]) {
      const x = randomInput(dims, dims[3]).map((v) => v * 3 + 0.7); // asymmetric range: zero point away from 0
      const got = (await session.run({ x: new Tensor('float32', x, dims) })).y;
      const want = (await peer.run({ x: new ort.Tensor('float32', x, dims) })).y;
      expect(got.type).toBe('int32');
      expect(got.dims).toEqual(want.dims);
      expect(Array.from(got.data as Int32Array)).toEqual(Array.from(want.data as Int32Array));
    }
    await Promise.all([session.release(), peer.release()]);
  });
});
