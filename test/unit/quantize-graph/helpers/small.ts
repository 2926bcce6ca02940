/**
 * A small Conv → Relu → MaxPool → Reshape → Gemm → Softmax model (plus a Sigmoid side branch) for structure
 * tests, and random calibration samples for it.
 */
import type { Model } from '../../../../src/ir/model.js';
import { Tensor } from '../../../../src/ir/tensor.js';
import type { CalibrationSample } from '../../../../src/quantize/executor.js';
import { input, int, ints, newModel, output, randomInput, randomTensor } from '../../onnx/helpers/build.js';

export function smallModel(): Model {
  const { model, g } = newModel(13);
  input(g, 'x', [1, 3, 8, 8]);
  g.addInitializer(randomTensor('W', [4, 3, 3, 3], 1, -0.5, 0.5));
  g.addInitializer(randomTensor('B', [4], 2, -0.1, 0.1));
  g.addInitializer(randomTensor('FC', [10, 64], 3, -0.3, 0.3));
  g.addInitializer(randomTensor('FCB', [10], 4, -0.1, 0.1));
  g.addInitializer(Tensor.fromInt64('shape', [2], [1, 64]));
  g.addNode({ opType: 'Conv', name: 'conv', inputs: ['x', 'W', 'B'], outputs: ['c'], attributes: [ints('pads', [1, 1, 1, 1])] });
  g.addNode({ opType: 'Relu', name: 'relu', inputs: ['c'], outputs: ['r'] });
  g.addNode({ opType: 'MaxPool', name: 'pool', inputs: ['r'], outputs: ['p'], attributes: [ints('kernel_shape', [2, 2]), ints('strides', [2, 2])] });
  g.addNode({ opType: 'Reshape', name: 'flat', inputs: ['p', 'shape'], outputs: ['f'] });
  g.addNode({ opType: 'Gemm', name: 'fc', inputs: ['f', 'FC', 'FCB'], outputs: ['logits'], attributes: [int('transB', 1)] });
  g.addNode({ opType: 'Softmax', name: 'softmax', inputs: ['logits'], outputs: ['prob'], attributes: [int('axis', 1)] });
  output(g, 'prob', 1, [1, 10]);
  return model;
}

export function smallSamples(n: number, seed = 11): CalibrationSample[] {
  return Array.from({ length: n }, (_, i) => ({ x: { data: randomInput([1, 3, 8, 8], seed + i), dims: [1, 3, 8, 8] } }));
}
