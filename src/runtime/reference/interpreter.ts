/**
 * The reference interpreter: runs a plan node by node in float64 with ONNX semantics, on the same layouts as
 * the native executor (NHWC data, OHWI weights). 8-bit values are dequantized with their quant, computed on
 * in float64 and requantized with round half to even; the fused clamp acts in the output's quantized domain.
 * Slow and clear: the oracle for test/unit/runtime. Float32 outputs come back as Float64Array.
 */
import type { Plan, PlanTypedArray } from '../plan.js';
import { averagePool, conv, convTranspose, globalAveragePool, maxPool } from './conv.js';
import { argReduce, binary, bitShift, hardmax, mod, reduce, REDUCE_OPS, softmax, unary, where } from './elementwise.js';
import { cast, concat, gather, pad, reshape, resize, slice, split, transpose } from './layout.js';
import { INDEXING_OPS } from './indexing.js';
import { fullyConnected, matMul, matMulInteger } from './linear.js';
import { dequantizeLinear, dynamicQuantizeLinear, quantizeDequantize, quantizeLinear } from './quantize.js';
import { layerNormalization, recurrent } from './sequence.js';
import { fromTyped, toTyped, type RefTensor } from './tensor.js';
import type { RefOp } from './types.js';

const UNARY = ['Relu', 'Clip', 'Sigmoid', 'Tanh', 'HardSigmoid', 'HardSwish', 'LeakyRelu', 'Elu', 'Sqrt', 'Exp', 'Log', 'Abs', 'Neg', 'Erf', 'Floor', 'Ceil', 'Round',
  'Reciprocal', 'Sign', 'Sin', 'Cos', 'Tan', 'Asin', 'Acos', 'Atan', 'Sinh', 'Cosh', 'Asinh', 'Acosh', 'Atanh', 'Softplus', 'Softsign',
  'Selu', 'ThresholdedRelu', 'Celu', 'Not', 'IsNaN', 'IsInf', 'Shrink'];

export const REFERENCE_OPS: Record<string, RefOp> = {
  Conv: conv,
  ConvTranspose: convTranspose,
  MaxPool: maxPool,
  AveragePool: averagePool,
  GlobalAveragePool: globalAveragePool,
  FullyConnected: fullyConnected,
  MatMul: matMul,
  MatMulInteger: matMulInteger,
  ...Object.fromEntries(['Add', 'Sub', 'Mul', 'Div', 'Max', 'Min', 'Pow'].map((op) => [op, binary(op)])),
  ...Object.fromEntries(UNARY.map((op) => [op, unary(op)])),
  Softmax: softmax(false),
  LogSoftmax: softmax(true),
  ...Object.fromEntries(REDUCE_OPS.map((op) => [op, reduce(op)])),
  Reshape: reshape,
  Flatten: reshape,
  Squeeze: reshape,
  Unsqueeze: reshape,
  Identity: reshape,
  Transpose: transpose,
  Concat: concat,
  Split: split,
  Slice: slice,
  Pad: pad,
  Gather: gather,
  Cast: cast,
  Resize: resize,
  QuantizeLinear: quantizeLinear,
  DequantizeLinear: dequantizeLinear,
  DynamicQuantizeLinear: dynamicQuantizeLinear,
  QuantizeDequantize: quantizeDequantize,
  ...Object.fromEntries(['Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'And', 'Or', 'Xor'].map((op) => [op, binary(op)])),
  Mod: mod,
  Where: where,
  ArgMax: argReduce(true),
  ArgMin: argReduce(false),
  Hardmax: hardmax,
  ...INDEXING_OPS,
  PRelu: binary('PRelu'),
  BitShift: bitShift,
  LayerNormalization: layerNormalization,
  LSTM: recurrent('LSTM'),
  GRU: recurrent('GRU'),
  RNN: recurrent('RNN'),
};

/** Runs the plan; returns one array per plan output (float32 outputs as Float64Array). */
export function runReference(plan: Plan, inputs: PlanTypedArray[]): (PlanTypedArray | Float64Array)[] {
  const env = new Map<number, RefTensor>();
  plan.values.forEach((v, id) => {
    if (v.data) env.set(id, fromTyped(v.data, v));
  });
  plan.inputs.forEach((id, i) => env.set(id, fromTyped(inputs[i], plan.values[id])));
  for (const node of plan.nodes) {
    const op = REFERENCE_OPS[node.op];
    if (!op) throw new Error(`reference: no op ${node.op}`);
    const ins = node.inputs.map((id) => (id < 0 ? undefined : env.get(id)));
    const outs = op(ins, node.outputs.map((id) => plan.values[id]), node.attrs ?? {});
    node.outputs.forEach((id, i) => env.set(id, outs[i]));
  }
  return plan.outputs.map((id) => toTyped(env.get(id)!));
}
