/**
 * Hand-made SensitivityReports for the renderer's tests. Their numbers are synthetic (made up here, not
 * measured): they exist to test escaping, special values, layout and scale, not quantization. The measured
 * report of a real model is in ppocr-cls-report.ts.
 */
import type { GraphNodeSummary, LayerSensitivity, SensitivityReport } from '../../../../src/analysis/types.js';

/** Names an attacker could put in a model: markup, quotes, ampersands. */
export const EVIL = {
  conv: '<script>alert("conv")</script>',
  relu: `"quoted" & 'single' <b>bold</b>`,
  matmul: `<img src=x onerror="document.title='pwned'">`,
  add: 'sum & <total>',
  output: '</title><h1>out & "x"</h1>',
  tensor: '<svg onload=alert(1)>',
} as const;

/**
 * A small QDQ graph, listed out of topological order (the weight's DequantizeLinear after its Conv):
 *   x_q → [DQ x_dq] → Conv(EVIL.conv, int8) ← [DQ w_dq] ← w_q
 *   Conv → [Q c_q] → [DQ c_dq] → Relu(EVIL.relu, other) → MatMul(EVIL.matmul, fp32) → Add(EVIL.add, int8) → output
 *   [DQ c_dq] → Add (a skip connection over two rows)
 * Hiding Q/DQ leaves 4 nodes and 4 edges: conv→relu, relu→matmul, matmul→add, conv→add.
 */
export function hostileGraph(): GraphNodeSummary[] {
  return [
    { name: 'x_dq', opType: 'DequantizeLinear', precision: 'qdq', inputs: ['x_q', 'x_s', 'x_z'], outputs: ['x_deq'] },
    { name: EVIL.conv, opType: 'Conv', precision: 'int8', inputs: ['x_deq', 'w_deq', ''], outputs: [EVIL.tensor] },
    { name: 'w_dq', opType: 'DequantizeLinear', precision: 'qdq', inputs: ['w_q', 'w_s'], outputs: ['w_deq'] },
    { name: 'c_q', opType: 'QuantizeLinear', precision: 'qdq', inputs: [EVIL.tensor, 'c_s', 'c_z'], outputs: ['c_qq'] },
    { name: 'c_dq', opType: 'DequantizeLinear', precision: 'qdq', inputs: ['c_qq', 'c_s', 'c_z'], outputs: ['c_deq'] },
    { name: EVIL.relu, opType: 'Relu', precision: 'other', inputs: ['c_deq'], outputs: ['r'] },
    { name: EVIL.matmul, opType: 'MatMul', precision: 'fp32', inputs: ['r', 'mw'], outputs: ['m'] },
    { name: EVIL.add, opType: 'Add', precision: 'int8', inputs: ['m', 'c_deq'], outputs: [EVIL.output] },
  ];
}

const stats = (sqnr: number, mse: number, maxAbsError: number) => ({ sqnr, mse, maxAbsError });

/** The hostile graph with synthetic numbers: ∞ (identical), NaN and negative SQNR, a mixed-precision decision. */
export function hostileReport(): SensitivityReport {
  return {
    models: { fp32: 'a&b <fp32>.onnx', int8: '"int8" & <int8>.onnx' },
    samples: 3,
    layers: [
      { node: EVIL.add, opType: 'Add', tensor: EVIL.output, macs: 0, isolated: stats(NaN, NaN, NaN), accumulated: stats(-3.5, 2.25, 4) },
      { node: EVIL.matmul, opType: 'MatMul', tensor: 'm', macs: 4096, isolated: stats(18.25, 0.015, 0.5), accumulated: stats(12.5, 0.06, 1.5) },
      { node: EVIL.conv, opType: 'Conv', tensor: EVIL.tensor, macs: 12288, isolated: stats(Infinity, 0, 0), accumulated: stats(41.25, 1e-5, 0.01) },
    ],
    outputs: [{ name: EVIL.output, ...stats(12.3, 0.06, 1.5) }],
    histograms: [{ node: EVIL.conv, tensor: EVIL.tensor, range: [-1, 2], fp32: [0, 3, 10, 40, 25, 9, 2, 1], int8: [0, 0, 14, 40, 25, 11, 0, 0] }],
    graph: hostileGraph(),
    totalMacs: 16384,
    mixedPrecision: {
      targetSqnr: 20,
      maxFp32Fraction: 0.3,
      met: false,
      fp32Nodes: [EVIL.matmul],
      fp32MacFraction: 0.25,
      before: 8.5,
      after: 12.3,
      steps: [{ fp32Nodes: [EVIL.matmul], sqnr: 12.3 }],
    },
    seconds: 0.5,
  };
}

/**
 * A long residual network for scale: `blocks` blocks of DQ(weight) → Conv → Q → DQ → Add(skip) → Q → DQ,
 * every third block's Add reading the block output from three blocks before. 7 nodes and 2 layers per block.
 */
export function chainReport(blocks: number): SensitivityReport {
  const graph: GraphNodeSummary[] = [];
  const layers: LayerSensitivity[] = [];
  let prev = 'input';
  const outputs: string[] = [];
  for (let b = 0; b < blocks; b++) {
    const conv = `block${b}/conv`;
    const add = `block${b}/add`;
    graph.push({ name: `${conv}/w_dq`, opType: 'DequantizeLinear', precision: 'qdq', inputs: [`${conv}/w_q`, `${conv}/w_s`], outputs: [`${conv}/w`] });
    graph.push({ name: conv, opType: 'Conv', precision: b % 50 === 7 ? 'fp32' : 'int8', inputs: [prev, `${conv}/w`], outputs: [`${conv}/y`] });
    graph.push({ name: `${conv}/q`, opType: 'QuantizeLinear', precision: 'qdq', inputs: [`${conv}/y`, 's', 'z'], outputs: [`${conv}/yq`] });
    graph.push({ name: `${conv}/dq`, opType: 'DequantizeLinear', precision: 'qdq', inputs: [`${conv}/yq`, 's', 'z'], outputs: [`${conv}/yd`] });
    const skip = b % 3 === 2 && b >= 3 ? outputs[b - 3] : prev;
    graph.push({ name: add, opType: 'Add', precision: 'int8', inputs: [`${conv}/yd`, skip], outputs: [`${add}/y`] });
    graph.push({ name: `${add}/q`, opType: 'QuantizeLinear', precision: 'qdq', inputs: [`${add}/y`, 's', 'z'], outputs: [`${add}/yq`] });
    graph.push({ name: `${add}/dq`, opType: 'DequantizeLinear', precision: 'qdq', inputs: [`${add}/yq`, 's', 'z'], outputs: [`${add}/yd`] });
    prev = `${add}/yd`;
    outputs.push(prev);
    const k = (b * 7919) % 97; // a spread of values without randomness
    layers.push({ node: conv, opType: 'Conv', tensor: `${conv}/y`, macs: 1e6 + k * 1e4, isolated: stats(20 + k / 3, 1e-3 / (1 + k), 0.1), accumulated: stats(15 + k / 4 - b / blocks, 2e-3 / (1 + k), 0.2) });
    layers.push({ node: add, opType: 'Add', tensor: `${add}/y`, macs: 0, isolated: stats(30 + k / 5, 1e-4, 0.05), accumulated: stats(14 + k / 4, 3e-3, 0.3) });
  }
  layers.sort((a, b) => a.isolated.sqnr - b.isolated.sqnr);
  return {
    models: { fp32: 'chain.onnx', int8: 'chain.int8.onnx (synthetic)' },
    samples: 8,
    layers,
    outputs: [{ name: prev, ...stats(14.5, 0.004, 0.4) }],
    histograms: [],
    graph,
    totalMacs: layers.reduce((s, l) => s + l.macs, 0),
    seconds: 1,
  };
}
