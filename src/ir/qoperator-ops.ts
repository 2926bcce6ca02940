/**
 * The QOperator format's integer operators and the float operators they stand for: one table that both the
 * quantizer's QDQ → QOperator rewrite (src/quantize/qoperator.ts) and the lowering's QOperator → QDQ expansion
 * (src/lower/expand-qoperator.ts) read, so the two directions cannot disagree.
 *
 * Every QOperator here computes   y = Q(op(DQ(x₀), DQ(x₁), …), y_scale, y_zero_point)
 * with each quantized input given as a (tensor, scale, zero point) triple; QLinearConv and QGemm also take an
 * int32 bias whose scale is x_scale·w_scale (per output channel when the weight is) and zero point 0.
 *
 * Input positions (from the ONNX spec and onnxruntime's com.microsoft contrib operator docs):
 *   QLinearConv(x, x_s, x_z, w, w_s, w_z, y_s, y_z, B)                       ai.onnx ≥ 10
 *   QLinearMatMul(a, a_s, a_z, b, b_s, b_z, y_s, y_z)                        ai.onnx ≥ 10
 *   QGemm(A, a_s, a_z, B, b_s, b_z, C, y_s, y_z)                              com.microsoft (alpha, transA, transB)
 *   QLinearAdd / QLinearMul(A, A_s, A_z, B, B_s, B_z, C_s, C_z)              com.microsoft
 *   QLinearSigmoid / QLinearLeakyRelu / QLinearGlobalAveragePool /
 *   QLinearAveragePool(X, X_s, X_z, Y_s, Y_z)                                com.microsoft (+ channels_last)
 *   QLinearConcat(Y_s, Y_z, X₀, X₀_s, X₀_z, X₁, …)                             com.microsoft (axis)
 */

export interface QOperatorSpec {
  /** The QOperator's type and domain. */
  qop: string;
  domain: '' | 'com.microsoft';
  /** The float operator it computes between dequantization and quantization. */
  floatOp: string;
  /** Per float input slot, the QOperator inputs holding (tensor, scale, zero point). Absent for QLinearConcat. */
  inputs?: readonly (readonly [number, number, number])[];
  /** QLinearConcat: the first triple's position; triples follow one after another. */
  variadicFrom?: number;
  /** QOperator inputs holding the output's scale and zero point. */
  output: readonly [number, number];
  /** The int32 bias: float input slot and QOperator input slot. */
  bias?: { slot: number; qslot: number };
  /** Attributes of the QOperator that the float operator does not have. */
  extraAttributes?: readonly string[];
  /** Attribute values the float node must have for the rewrite (absent means the default is required). */
  requires?: Readonly<Record<string, number>>;
  /** The output scale and zero point may be left out, for a float output (QGemm). */
  floatOutput?: boolean;
}

export const QOPERATOR_SPECS: readonly QOperatorSpec[] = [
  { qop: 'QLinearConv', domain: '', floatOp: 'Conv', inputs: [[0, 1, 2], [3, 4, 5]], output: [6, 7], bias: { slot: 2, qslot: 8 } },
  { qop: 'QLinearMatMul', domain: '', floatOp: 'MatMul', inputs: [[0, 1, 2], [3, 4, 5]], output: [6, 7] },
  // QGemm's C is int32 at scale alpha/beta·a_s·b_s: only alpha = beta = 1 matches the QDQ bias.
  { qop: 'QGemm', domain: 'com.microsoft', floatOp: 'Gemm', inputs: [[0, 1, 2], [3, 4, 5]], output: [7, 8], bias: { slot: 2, qslot: 6 }, requires: { alpha: 1, beta: 1 }, floatOutput: true },
  { qop: 'QLinearAdd', domain: 'com.microsoft', floatOp: 'Add', inputs: [[0, 1, 2], [3, 4, 5]], output: [6, 7] },
  { qop: 'QLinearMul', domain: 'com.microsoft', floatOp: 'Mul', inputs: [[0, 1, 2], [3, 4, 5]], output: [6, 7] },
  { qop: 'QLinearSigmoid', domain: 'com.microsoft', floatOp: 'Sigmoid', inputs: [[0, 1, 2]], output: [3, 4] },
  { qop: 'QLinearLeakyRelu', domain: 'com.microsoft', floatOp: 'LeakyRelu', inputs: [[0, 1, 2]], output: [3, 4] },
  { qop: 'QLinearGlobalAveragePool', domain: 'com.microsoft', floatOp: 'GlobalAveragePool', inputs: [[0, 1, 2]], output: [3, 4], extraAttributes: ['channels_last'] },
  { qop: 'QLinearAveragePool', domain: 'com.microsoft', floatOp: 'AveragePool', inputs: [[0, 1, 2]], output: [3, 4], extraAttributes: ['channels_last'] },
  { qop: 'QLinearConcat', domain: 'com.microsoft', floatOp: 'Concat', variadicFrom: 2, output: [0, 1] },
];

/** The spec of a QOperator node (by type and domain), if it is one of the table's. */
export function qoperatorSpec(opType: string, domain: string): QOperatorSpec | undefined {
  const d = domain === 'ai.onnx' ? '' : domain;
  return QOPERATOR_SPECS.find((s) => s.qop === opType && s.domain === d);
}

/** The spec whose float operator is `opType` (a default-domain op), if any. */
export function specForFloatOp(opType: string): QOperatorSpec | undefined {
  return QOPERATOR_SPECS.find((s) => s.floatOp === opType);
}

/** The (tensor, scale, zero point) triples of a QOperator node with `inputCount` inputs, in float-slot order. */
export function inputTriples(spec: QOperatorSpec, inputCount: number): (readonly [number, number, number])[] {
  if (spec.inputs) return [...spec.inputs];
  const out: [number, number, number][] = [];
  for (let i = spec.variadicFrom!; i + 2 < inputCount; i += 3) out.push([i, i + 1, i + 2]);
  return out;
}

/** Positions of every scale/zero-point input (they must be constants for octet to run the node). */
export function parameterSlots(spec: QOperatorSpec, inputCount: number): number[] {
  return [...inputTriples(spec, inputCount).flatMap(([, s, z]) => [s, z]), ...spec.output.filter((i) => i < inputCount)];
}

/** Ops that only move or select values: exact on quantized codes, so both formats run them on 8-bit data. */
export const PASS_THROUGH_OPS: ReadonlySet<string> = new Set(['MaxPool', 'Reshape', 'Transpose', 'Flatten', 'Squeeze', 'Unsqueeze']);

/**
 * The axis of a per-channel weight (the second input triple): Conv's output channels (0), MatMul's columns (the
 * last axis of B), Gemm's N (0 with transB, else 1).
 */
export function weightAxis(spec: QOperatorSpec, rank: number, transB: number): number {
  if (spec.floatOp === 'Conv') return 0;
  if (spec.floatOp === 'Gemm') return transB === 1 ? 0 : 1;
  return Math.max(rank - 1, 0);
}
