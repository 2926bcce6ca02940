/**
 * QDQ Add/Mul whose scales XNNPACK's 8-bit kernels refuse (Add: S_a/S_y or S_b/S_y outside [2^-10, 2^8); Mul:
 * S_a·S_b/S_y outside [2^-16, 2^8)) run in float between their Q/DQ pairs instead of failing at create() (onnxruntime's
 * calibration of PP-OCR det produces such an Add); inside the ranges they stay on the int8 kernels. Results checked
 * against onnxruntime-node on the same QDQ model, to one output step.
 */
import { describe, expect, it } from 'vitest';

import { Tensor as IrTensor } from '../../../src/ir/tensor.js';
import { serializeModel } from '../../../src/onnx/io.js';
import { InferenceSession } from '../../../src/runtime/inference-session-impl.js';
import { Tensor } from '../../../src/runtime/tensor.js';
import { input, newModel, output, randomInput } from '../onnx/helpers/build.js';
import { ort } from '../onnx/helpers/ort.js';

/** y = DQ(Q(op(DQ(Q(a, sa)), DQ(Q(b, sb))), sy)), uint8 with zero point 128. */
function qdqModel(op: 'Add' | 'Mul', sa: number, sb: number, sy: number): Uint8Array {
  const { model, g } = newModel(13);
  input(g, 'a', [1, 4, 16]);
  input(g, 'b', [1, 4, 16]);
  for (const [n, s] of [['sa', sa], ['sb', sb], ['sy', sy]] as const) g.addInitializer(IrTensor.fromFloat32(n, [], [s]));
  g.addInitializer(IrTensor.fromNumbers('z', 2, [], [128]));
  g.addNode({ opType: 'QuantizeLinear', name: 'qa', inputs: ['a', 'sa', 'z'], outputs: ['aq'] });
  g.addNode({ opType: 'DequantizeLinear', name: 'dqa', inputs: ['aq', 'sa', 'z'], outputs: ['ad'] });
  g.addNode({ opType: 'QuantizeLinear', name: 'qb', inputs: ['b', 'sb', 'z'], outputs: ['bq'] });
  g.addNode({ opType: 'DequantizeLinear', name: 'dqb', inputs: ['bq', 'sb', 'z'], outputs: ['bd'] });
  g.addNode({ opType: op, name: 'op', inputs: ['ad', 'bd'], outputs: ['r'] });
  g.addNode({ opType: 'QuantizeLinear', name: 'qy', inputs: ['r', 'sy', 'z'], outputs: ['rq'] });
  g.addNode({ opType: 'DequantizeLinear', name: 'dqy', inputs: ['rq', 'sy', 'z'], outputs: ['y'] });
  output(g, 'y');
  return serializeModel(model);
}

async function check(op: 'Add' | 'Mul', sa: number, sb: number, sy: number, int8Kernel: boolean): Promise<void> {
  const bytes = qdqModel(op, sa, sb, sy);
  const dims = [1, 4, 16];
  const a = randomInput(dims, 1).map((v) => v * 100 * sa);
  const b = randomInput(dims, 2).map((v) => v * 100 * sb);
  const session = await InferenceSession.create(bytes);
  const got = (await session.run({ a: new Tensor('float32', a, dims), b: new Tensor('float32', b, dims) })).y.data as Float32Array;
  const kernel = op === 'Add' ? 'xnnpack:add_nd_qu8' : 'xnnpack:multiply_nd_qu8';
  expect(session.implementations().includes(kernel)).toBe(int8Kernel);
  await session.release();
  const peer = await ort.InferenceSession.create(bytes);
  const want = (await peer.run({ a: new ort.Tensor('float32', a, dims), b: new ort.Tensor('float32', b, dims) })).y.data as Float32Array;
  await peer.release();
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
  expect(worst).toBeLessThanOrEqual(sy * 1.0001);
}

describe('int8 Add/Mul and the scale ratios XNNPACK accepts', () => {
  it('Add: int8 kernel at S_a/S_y = 2^-10 and 2^7, float at 2^-11 and 2^8', async () => {
    await check('Add', 2 ** -10, 1, 1, true);
    await check('Add', 2 ** 7, 1, 1, true);
    await check('Add', 2 ** -11, 1, 1, false);
    await check('Add', 1, 2 ** 8, 1, false);
  });

  it('Mul: int8 kernel at S_a·S_b/S_y = 2^-16 and 2^7, float at 2^-17 and 2^8', async () => {
    await check('Mul', 2 ** -8, 2 ** -8, 1, true);
    await check('Mul', 2 ** 7, 1, 1, true);
    await check('Mul', 2 ** -9, 2 ** -8, 1, false);
    await check('Mul', 2 ** 4, 2 ** 4, 1, false);
  });
});
