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
 *   Before:  y = QLinearAdd(a, a_s, a_z, b, b_s, b_z, y_s, y_z)   (com.microsoft; the same for every op in
 *            src/ir/qoperator-ops.ts: QGemm, QLinearMul, QLinearSigmoid, QLinearConcat, QLinear*Pool, ...)
 *   After:   y = QuantizeLinear(Add(DQ(a, a_s, a_z), DQ(b, b_s, b_z)), y_s, y_z)
 *
 *   com.microsoft QuantizeLinear/DequantizeLinear (onnxruntime's quantizer writes them for 16-bit activations below
 *   opset 21) become the standard ops: the same semantics.
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
import { inputTriples, parameterSlots, PASS_THROUGH_OPS, qoperatorSpec, weightAxis, type QOperatorSpec } from '../ir/qoperator-ops.js';
import type { Value } from '../ir/value.js';
import { DataType } from '../onnx/dtype.js';
import type { Graph } from '../ir/graph.js';
import type { Node } from '../ir/node.js';
import { Tensor } from '../ir/tensor.js';

/** onnxruntime's contrib QuantizeLinear/DequantizeLinear (com.microsoft), the standard ops' semantics. */
export function isContribQdq(n: Node): boolean {
  return n.domain === 'com.microsoft' && (n.opType === 'QuantizeLinear' || n.opType === 'DequantizeLinear');
}

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

/**
 * Expands one QOperator node of the table (src/ir/qoperator-ops.ts) into DQ → float op → Q; false when its scales
 * or zero points are not constants.
 */
function expandQLinear(g: Graph, n: Node, spec: QOperatorSpec): boolean {
  const count = n.inputs.length;
  if (parameterSlots(spec, count).some((i) => n.input(i) && !g.constantOf(n.input(i)))) return false;
  const triples = inputTriples(spec, count);
  const transB = spec.floatOp === 'Gemm' ? n.getInt('transB', 0) : 0;
  const inputs: (string | null)[] = triples.map(([t, s, z], k) => {
    const scale = g.constantOf(n.input(s))!;
    const rank = g.constantOf(n.input(t))?.dims.length ?? n.input(t)?.shape?.length ?? 2;
    return dq(g, n, t, s, n.input(z) ? z : null, k === 1 && scale.size > 1 ? weightAxis(spec, rank, transB) : undefined, n);
  });
  if (spec.bias && n.input(spec.bias.qslot)) {
    // Bias: int32 at scale x_s · w_s[o], zero point 0.
    const [[, xsSlot], [, wsSlot]] = triples;
    const xs = g.constantOf(n.input(xsSlot))!.toNumbers()[0];
    const ws = g.constantOf(n.input(wsSlot))!.toNumbers();
    const perChannel = ws.length > 1;
    const b = n.input(spec.bias.qslot)!;
    const len = g.constantOf(b)?.size ?? ws.length;
    const base = n.name || n.opType;
    const scales = Array.from({ length: perChannel ? len : 1 }, (_, o) => Math.fround(xs * ws[perChannel ? o : 0]));
    const s = g.addInitializer(Tensor.fromFloat32(g.uniqueName(`${base}_bias_scale`), perChannel ? [len] : [], scales));
    const z = g.addInitializer(Tensor.fromNumbers(g.uniqueName(`${base}_bias_zero`), DataType.INT32, perChannel ? [len] : [], new Array(perChannel ? len : 1).fill(0)));
    const out = g.uniqueName(`${b.name}_dq`);
    g.addNode({
      opType: 'DequantizeLinear',
      name: g.uniqueName(`${base}_dq_bias`),
      inputs: [b, s, z],
      outputs: [out],
      attributes: perChannel ? [{ name: 'axis', type: 'int', value: 0n }] : [],
      before: n,
    });
    while (inputs.length < spec.bias.slot) inputs.push(null);
    inputs[spec.bias.slot] = out;
  }
  const yf = g.uniqueName(`${n.output(0)!.name}_float`);
  const extra = new Set(spec.extraAttributes ?? []);
  g.addNode({
    opType: spec.floatOp,
    name: g.uniqueName(`${n.name || n.opType}_float`),
    inputs,
    outputs: [yf],
    attributes: [...n.attributes.values()].filter((a) => !extra.has(a.name)),
    before: n,
  });
  const y = n.output(0)!;
  const [ys, yz] = spec.output;
  // QGemm without y_scale has a float output: the float op's result is y.
  const last = n.input(ys)
    ? g.addNode({ opType: 'QuantizeLinear', name: g.uniqueName(`${n.name || n.opType}_q`), inputs: [yf, n.input(ys), n.input(yz)], outputs: [g.uniqueName(`${y.name}_tmp`)], before: n })
    : g.lookup(yf)!.producer!;
  g.removeNode(n);
  const tmp = last.output(0)!;
  last.setOutput(0, y);
  g.dropIfUnused(tmp);
  return true;
}

/** The constant (scale, zero point) of an 8-bit value made by QuantizeLinear, directly or through pass-through ops. */
function codeParams(g: Graph, v: Value | null): [Value, Value | null] | undefined {
  for (let p = v?.producer; p; p = p.input(0)?.producer) {
    if (p.opType === 'QuantizeLinear' && (p.domain === '' || p.domain === 'ai.onnx')) return g.constantOf(p.input(1)) ? [p.input(1)!, p.input(2)] : undefined;
    if (!PASS_THROUGH_OPS.has(p.opType)) return undefined;
  }
  return undefined;
}

/** MaxPool/Reshape/... on 8-bit codes (as QOperator models have them) → DQ → op → Q with the codes' parameters. */
function expandPassThrough(g: Graph, n: Node): boolean {
  const x = n.input(0);
  if (!x || (x.elemType !== DataType.INT8 && x.elemType !== DataType.UINT8)) return false;
  const params = codeParams(g, x);
  if (!params) return false;
  const [s, z] = params;
  const base = n.name || n.opType;
  const xf = g.uniqueName(`${x.name}_dq`);
  g.addNode({ opType: 'DequantizeLinear', name: g.uniqueName(`${base}_dq`), inputs: [x, s, z], outputs: [xf], before: n });
  n.setInput(0, g.lookup(xf)!);
  const y = n.output(0)!;
  const yf = g.uniqueName(`${y.name}_float`);
  const tmp = g.localValue(yf);
  n.setOutput(0, tmp);
  g.addNode({ opType: 'QuantizeLinear', name: g.uniqueName(`${base}_q`), inputs: [tmp, s, z], outputs: [y] });
  return true;
}

/** Rewrites every QOperator node of the table, and every ConvInteger, whose parameters are constants; returns how many. */
export function expandQOperator(g: Graph): number {
  let count = 0;
  for (const n of [...g.nodes]) {
    if (isContribQdq(n)) {
      // onnxruntime's com.microsoft QuantizeLinear/DequantizeLinear (its quantizer writes them for 16-bit types
      // below opset 21) mean what the standard ops mean; the lowering knows those.
      n.domain = '';
      count++;
      continue;
    }
    if (n.domain === '' && n.opType === 'ConvInteger') {
      if (expandConvInteger(g, n)) count++;
      continue;
    }
    // A channels-last pooling (onnxruntime's NHWC transformer writes those) has no float twin here: left alone.
    const spec = qoperatorSpec(n.opType, n.domain);
    if (!spec || n.getInt('channels_last', 0) !== 0) continue;
    if (expandQLinear(g, n, spec)) count++;
  }
  // Then the ops that ran on codes between them (their parameters come from the Q nodes made above).
  for (const n of g.topologicalOrder()) {
    if ((n.domain === '' || n.domain === 'ai.onnx') && PASS_THROUGH_OPS.has(n.opType) && expandPassThrough(g, n)) count++;
  }
  if (count > 0) g.sort();
  return count;
}
