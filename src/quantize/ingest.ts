/**
 * Already-quantized models: QAT exports (QuantizeLinear/DequantizeLinear with learned scales) and models
 * written by onnxruntime's quantizer (QDQ, or QOperator: QLinearConv, MatMulInteger, com.microsoft QLinearAdd,
 * ...) load and save unchanged; quantize() on them is a no-op with a note.
 */
import type { Model } from '../ir/model.js';

const QDQ_OPS = new Set(['QuantizeLinear', 'DequantizeLinear']);
const QOPERATOR_OPS = new Set([
  'QLinearConv',
  'QLinearMatMul',
  'MatMulInteger',
  'ConvInteger',
  'DynamicQuantizeLinear',
  'QGemm',
  'QLinearAdd',
  'QLinearMul',
  'QLinearSigmoid',
  'QLinearLeakyRelu',
  'QLinearConcat',
  'QLinearGlobalAveragePool',
  'QLinearAveragePool',
  'QLinearSoftmax',
  'DynamicQuantizeMatMul',
  'MatMulIntegerToFloat',
]);

export interface QuantizedModelInfo {
  format: 'qdq' | 'qoperator';
  /** Counts of the quantization ops found, e.g. `12 QuantizeLinear, 30 DequantizeLinear`. */
  description: string;
  ops: Record<string, number>;
}

/** What quantization ops a model already holds (every graph), or undefined for a float model. */
export function detectQuantized(model: Model): QuantizedModelInfo | undefined {
  const ops: Record<string, number> = {};
  let qop = false;
  for (const n of model.graph.allNodes()) {
    if (QDQ_OPS.has(n.opType) || QOPERATOR_OPS.has(n.opType)) {
      ops[n.opType] = (ops[n.opType] ?? 0) + 1;
      if (QOPERATOR_OPS.has(n.opType)) qop = true;
    }
  }
  const keys = Object.keys(ops);
  if (keys.length === 0) return undefined;
  return { format: qop ? 'qoperator' : 'qdq', description: keys.map((k) => `${ops[k]} ${k}`).join(', '), ops };
}
