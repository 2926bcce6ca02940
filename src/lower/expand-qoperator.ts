/**
 * expand-qoperator: QOperator nodes become the QDQ form the lowering already knows, so one set of int8
 * patterns serves both formats (and what does not fit an int8 kernel still runs, in float).
 *
 *   Before:  y = QLinearConv(x, x_s, x_z, w, w_s, w_z, y_s, y_z, B)
 *   After:   y = QuantizeLinear(Conv(DQ(x, x_s, x_z), DQ(w, w_s, w_z; axis 0), DQ(B, x_s·w_s, 0; axis 0)), y_s, y_z)
 *
 *   Before:  y = QLinearMatMul(a, a_s, a_z, b, b_s, b_z, y_s, y_z)
 *   After:   y = QuantizeLinear(MatMul(DQ(a, a_s, a_z), DQ(b, b_s, b_z; axis 1 when per column)), y_s, y_z)
 *
 *   Before:  y = ConvInteger(x, w, x_z, w_z)               (int32 output)
 *   After:   y = Cast<int32>(Conv(Cast<float>(x) − x_z, w − w_z))
 *   exact: every partial sum of 8-bit products in these layers stays far below 2^24. w and w_z must be
 *   constants; x_z may be computed at run time (onnxruntime's dynamic quantization feeds it from
 *   DynamicQuantizeLinear): then it is subtracted as Cast<float>(x_z).
 *
 * QLinearConv computes y = round(x_s·w_s/y_s · Σ (x − x_z)(w − w_z) + B) + y_z; the expanded form gives the same
 * up to float32 rounding of the sum (an int8 kernel, when the pattern matches, computes it exactly).
 * Scales and zero points must be constants (or inputs frozen into the plan).
 */
import { DataType } from '../onnx/dtype.js';
import type { Graph } from '../ir/graph.js';
import type { Node } from '../ir/node.js';
import { Tensor } from '../ir/tensor.js';

function dq(g: Graph, n: Node, input: number, scale: number, zero: number | null, axis: number | undefined, before: Node): string {
  const out = g.uniqueName(`${n.input(input)!.name}_dq`);
  g.addNode({
    opType: 'DequantizeLinear',
    name: g.uniqueName(`${n.name || n.opType}_dq${input}`),
    inputs: [n.input(input), n.input(scale), zero === null ? null : n.input(zero)],
    outputs: [out],
    attributes: axis === undefined ? [] : [{ name: 'axis', type: 'int', value: BigInt(axis) }],
    before,
  });
  return out;
}

function expandConvInteger(g: Graph, n: Node): boolean {
  const wt = g.constantOf(n.input(1));
  const xz = n.input(2) ? g.constantOf(n.input(2)) : undefined;
  const wz = n.input(3) ? g.constantOf(n.input(3)) : undefined;
  if (!wt || (n.input(3) && !wz)) return false;
  const k = wt.dims[0];
  const inner = wt.size / k;
  const wzs = wz ? wz.toNumbers() : [0];
  const w = wt.toNumbers().map((v, i) => v - wzs[wzs.length === 1 ? 0 : Math.floor(i / inner)]);
  const base = n.name || 'ConvInteger';
  const wf = g.addInitializer(Tensor.fromFloat32(g.uniqueName(`${base}_w_float`), [...wt.dims], w));
  const xf = g.uniqueName(`${base}_x_float`);
  g.addNode({ opType: 'Cast', name: g.uniqueName(`${base}_cast_x`), inputs: [n.input(0)], outputs: [xf], attributes: [{ name: 'to', type: 'int', value: 1n }], before: n });
  let xc = xf;
  let z: string | undefined;
  if (xz && xz.toNumbers()[0] !== 0) {
    z = g.addInitializer(Tensor.fromFloat32(g.uniqueName(`${base}_x_zero`), [], [xz.toNumbers()[0]])).name;
  } else if (!xz && n.input(2)) {
    z = g.uniqueName(`${base}_x_zero_float`);
    g.addNode({ opType: 'Cast', name: g.uniqueName(`${base}_cast_x_zero`), inputs: [n.input(2)], outputs: [z], attributes: [{ name: 'to', type: 'int', value: 1n }], before: n });
  }
  if (z !== undefined) {
    xc = g.uniqueName(`${base}_x_centered`);
    g.addNode({ opType: 'Sub', name: g.uniqueName(`${base}_center`), inputs: [xf, z], outputs: [xc], before: n });
  }
  const yf = g.uniqueName(`${base}_y_float`);
  g.addNode({ opType: 'Conv', name: g.uniqueName(`${base}_float`), inputs: [xc, wf], outputs: [yf], attributes: [...n.attributes.values()], before: n });
  const y = n.output(0)!;
  const c = g.addNode({ opType: 'Cast', name: g.uniqueName(`${base}_cast_y`), inputs: [yf], outputs: [g.uniqueName(`${y.name}_tmp`)], attributes: [{ name: 'to', type: 'int', value: 6n }], before: n });
  g.removeNode(n);
  const tmp = c.output(0)!;
  c.setOutput(0, y);
  g.dropIfUnused(tmp);
  return true;
}

/** Rewrites every QLinearConv / QLinearMatMul / ConvInteger whose parameters are constants; returns how many. */
export function expandQOperator(g: Graph): number {
  let count = 0;
  for (const n of [...g.nodes]) {
    if (n.domain === '' && n.opType === 'ConvInteger') {
      if (expandConvInteger(g, n)) count++;
      continue;
    }
    if (n.domain !== '' || (n.opType !== 'QLinearConv' && n.opType !== 'QLinearMatMul')) continue;
    const conv = n.opType === 'QLinearConv';
    const params = conv ? [1, 2, 4, 5, 6, 7] : [1, 2, 4, 5, 6, 7];
    if (params.some((i) => n.input(i) && !g.constantOf(n.input(i)))) continue;
    const wScale = g.constantOf(n.input(4))!;
    const perChannel = wScale.size > 1;
    const x = dq(g, n, 0, 1, 2, undefined, n);
    const w = dq(g, n, 3, 4, 5, perChannel ? (conv ? 0 : 1) : undefined, n);
    const inputs = [x, w];
    if (conv && n.input(8)) {
      // Bias: int32 with scale x_s · w_s[o], zero point 0.
      const xs = g.constantOf(n.input(1))!.toNumbers()[0];
      const ws = wScale.toNumbers();
      const len = g.constantOf(n.input(8))?.size ?? ws.length;
      const scales = Array.from({ length: perChannel ? len : 1 }, (_, o) => Math.fround(xs * ws[perChannel ? o : 0]));
      const s = g.addInitializer(Tensor.fromFloat32(g.uniqueName(`${n.name || 'qconv'}_bias_scale`), perChannel ? [len] : [], scales));
      const z = g.addInitializer(Tensor.fromNumbers(g.uniqueName(`${n.name || 'qconv'}_bias_zero`), DataType.INT32, perChannel ? [len] : [], new Array(perChannel ? len : 1).fill(0)));
      const out = g.uniqueName(`${n.input(8)!.name}_dq`);
      g.addNode({
        opType: 'DequantizeLinear',
        name: g.uniqueName(`${n.name || 'qconv'}_dq_bias`),
        inputs: [n.input(8), s, z],
        outputs: [out],
        attributes: perChannel ? [{ name: 'axis', type: 'int', value: 0n }] : [],
        before: n,
      });
      inputs.push(out);
    }
    const yf = g.uniqueName(`${n.output(0)!.name}_float`);
    g.addNode({
      opType: conv ? 'Conv' : 'MatMul',
      name: g.uniqueName(`${n.name || n.opType}_float`),
      inputs,
      outputs: [yf],
      attributes: conv ? [...n.attributes.values()] : [],
      before: n,
    });
    const y = n.output(0)!;
    const q = g.addNode({ opType: 'QuantizeLinear', name: g.uniqueName(`${n.name || n.opType}_q`), inputs: [yf, n.input(6), n.input(7)], outputs: [g.uniqueName(`${y.name}_tmp`)], before: n });
    g.removeNode(n);
    const tmp = q.output(0)!;
    q.setOutput(0, y);
    g.dropIfUnused(tmp);
    count++;
  }
  if (count > 0) g.sort();
  return count;
}
