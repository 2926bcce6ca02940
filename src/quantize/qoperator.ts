/**
 * QDQ → QOperator: every DQ → op → Q group whose op has an integer operator (src/ir/qoperator-ops.ts) becomes
 * that operator, reading the quantized tensors directly; ops that only move or select values (MaxPool, Reshape,
 * Transpose, ...) run on the quantized tensor when their input and output share scale and zero point.
 *
 *   Before:  xq → DQ ─┐
 *            wq → DQ ─┼→ Conv → Relu → Q(y_s, y_z) → yq          (Relu: only when y_z is the type's lowest code)
 *            bq → DQ ─┘
 *   After:   yq = QLinearConv(xq, x_s, x_z, wq, w_s, w_z, y_s, y_z, bq)
 *
 *   Before:  aq → DQ → MaxPool → Q(s, z) → yq     (the DQ and the Q with equal s, z)
 *   After:   yq = MaxPool(aq)
 *
 * A fused Relu disappears exactly: with y_z = qmin, every negative value quantizes to y_z, which is what Relu
 * then Q gives. Clip(0, m) disappears when the codes cannot exceed m either ((qmax − y_z)·y_s ≤ m). Groups that do
 * not fit (a float consumer of the op's output, a graph output, a float bias, other activations in between) stay
 * in QDQ form: the result mixes both, which onnxruntime and octet run alike.
 */
import type { Graph } from '../ir/graph.js';
import type { Model } from '../ir/model.js';
import type { Node } from '../ir/node.js';
import { PASS_THROUGH_OPS, specForFloatOp, type QOperatorSpec } from '../ir/qoperator-ops.js';
import { Tensor } from '../ir/tensor.js';
import type { Value } from '../ir/value.js';
import { DataType } from '../onnx/dtype.js';

function isDefault(domain: string): boolean {
  return domain === '' || domain === 'ai.onnx';
}

/** The DequantizeLinear producing `v`, with its (quantized, scale, zero point) inputs, if that is what feeds it. */
function dequantized(g: Graph, v: Value | null): { dq: Node; q: Value; scale: Value; zero: Value | null } | undefined {
  const dq = v?.producer;
  if (!dq || dq.opType !== 'DequantizeLinear' || !isDefault(dq.domain) || !g.constantOf(dq.input(1))) return undefined;
  if (dq.input(2) && !g.constantOf(dq.input(2))) return undefined;
  return { dq, q: dq.input(0)!, scale: dq.input(1)!, zero: dq.input(2) };
}

function sameValues(a: Tensor | undefined, b: Tensor | undefined): boolean {
  if (!a || !b || a.dtype !== b.dtype || a.size !== b.size) return false;
  const x = a.toNumbers();
  const y = b.toNumbers();
  return x.every((v, i) => v === y[i]);
}

/** The one QuantizeLinear reading `v` (after an implicit Relu/Clip), or undefined when `v` has other uses. */
function quantizedOutput(g: Graph, v: Value): { q: Node; skipped?: Node } | undefined {
  if (v.isGraphOutput || v.consumers.length !== 1) return undefined;
  const c = v.consumers[0];
  if (c.opType === 'QuantizeLinear' && isDefault(c.domain) && c.input(0) === v && g.constantOf(c.input(1)) && (!c.input(2) || g.constantOf(c.input(2)))) return { q: c };
  if ((c.opType !== 'Relu' && c.opType !== 'Clip') || !isDefault(c.domain)) return undefined;
  const next = quantizedOutput(g, c.output(0)!);
  if (!next || next.skipped) return undefined;
  // The activation must be implied by the output's code range.
  const scale = g.constantOf(next.q.input(1))!.toNumbers()[0];
  const zt = next.q.input(2) ? g.constantOf(next.q.input(2)) : undefined;
  const zero = zt ? zt.toNumbers()[0] : 0;
  const [qmin, qmax] = zt?.dtype === DataType.INT8 ? [-128, 127] : [0, 255];
  if (zero !== qmin) return undefined;
  if (c.opType === 'Clip') {
    const lo = c.input(1) ? g.constantOf(c.input(1))?.toNumbers()[0] : undefined;
    const hi = c.input(2) ? g.constantOf(c.input(2))?.toNumbers()[0] : undefined;
    if ((c.input(1) && lo === undefined) || (c.input(2) && hi === undefined)) return undefined;
    if (lo !== undefined && lo > 0) return undefined;
    if (hi !== undefined && (qmax - zero) * scale > hi) return undefined;
  }
  return { q: next.q, skipped: c };
}

/** Replaces `n` (and the activation and Q after it) by one QOperator node; false when the group does not fit. */
function rewriteCompute(g: Graph, model: Model, n: Node, spec: QOperatorSpec): boolean {
  for (const [attr, want] of Object.entries(spec.requires ?? {})) if (n.getFloat(attr, 1) !== want) return false;
  const data = spec.inputs ? spec.inputs.map((_, i) => n.input(i)) : n.inputs;
  const sources = data.map((v) => dequantized(g, v));
  if (sources.some((s) => !s)) return false;
  let bias: Value | null = null;
  if (spec.bias && n.input(spec.bias.slot)) {
    const b = dequantized(g, n.input(spec.bias.slot));
    const zero = b?.zero ? g.constantOf(b.zero) : undefined;
    if (!b || b.q.elemType !== DataType.INT32 || (zero && zero.toNumbers().some((z) => z !== 0))) return false;
    bias = b.q;
  }
  const out = quantizedOutput(g, n.output(0)!);
  if (!out && !spec.floatOutput) return false;
  const zeroFor = (s: { q: Value; zero: Value | null }): Value => s.zero ?? g.addInitializer(zeroTensor(g, s.q));
  const triples = sources.flatMap((s) => [s!.q, s!.scale, zeroFor(s!)]);
  // Without a Q after it (QGemm only), the node keeps its float output: y_scale and y_zero_point are left off.
  const [ys, yz] = out ? [out.q.input(1)!, out.q.input(2) ?? g.addInitializer(zeroTensor(g, out.q.output(0)!))] : [null, null];
  let inputs: (Value | null)[];
  if (spec.variadicFrom !== undefined) inputs = [ys, yz, ...triples];
  else {
    inputs = [...triples];
    if (out) {
      inputs[spec.output[0]] = ys;
      inputs[spec.output[1]] = yz;
    }
    // QLinearConv's B comes last (left off when absent); QGemm's C sits before y_scale (null when absent).
    if (spec.bias && (bias || (out && spec.bias.qslot < spec.output[0]))) inputs[spec.bias.qslot] = bias;
  }
  const y = out ? out.q.output(0)! : n.output(0)!;
  // Attributes carry over (QGemm has no beta: it is 1 here, see spec.requires).
  const attributes = [...n.attributes.values()].filter((a) => a.name !== 'beta');
  if (spec.extraAttributes?.includes('channels_last')) attributes.push({ name: 'channels_last', type: 'int', value: 0n });
  if (spec.domain === 'com.microsoft' && model.opsetVersion('com.microsoft') === undefined) model.setOpsetVersion('com.microsoft', 1);
  const qn = g.addNode({ opType: spec.qop, domain: spec.domain, name: n.name, inputs: inputs.map((v) => v ?? null), outputs: [g.uniqueName(`${y.name}_qop`)], attributes, before: n });
  // The QOperator takes over the Q's output value (its consumers and graph-output role stay as they are).
  if (out) g.removeNode(out.q);
  if (out?.skipped) g.removeNode(out.skipped);
  g.removeNode(n);
  const tmp = qn.output(0)!;
  qn.setOutput(0, y);
  g.dropIfUnused(tmp);
  return true;
}

/** A scalar zero point for `like` (a missing zero point means 0 of the quantized type, uint8 by default). */
function zeroTensor(g: Graph, like: Value): Tensor {
  const dtype = like.elemType === DataType.INT8 ? DataType.INT8 : DataType.UINT8;
  return Tensor.fromNumbers(g.uniqueName(`${like.name}_zero_point`), dtype, [], [0]);
}

/** MaxPool/Reshape/... between a DQ and a Q with the same parameters runs on the codes. */
function rewritePassThrough(g: Graph, n: Node): boolean {
  const src = dequantized(g, n.input(0));
  if (!src) return false;
  const out = quantizedOutput(g, n.output(0)!);
  if (!out || out.skipped) return false;
  if (!sameValues(g.constantOf(src.scale), g.constantOf(out.q.input(1))) || !sameValues(src.zero ? g.constantOf(src.zero) : undefined, out.q.input(2) ? g.constantOf(out.q.input(2)) : undefined)) {
    if (src.zero || out.q.input(2)) return false;
  }
  if (n.opType === 'MaxPool' && n.output(1)) return false;
  const y = out.q.output(0)!;
  n.setInput(0, src.q);
  const tmp = n.output(0)!;
  g.removeNode(out.q);
  n.setOutput(0, y);
  g.dropIfUnused(tmp);
  return true;
}

/**
 * Rewrites the main graph of a QDQ model in place; returns report notes (how many nodes of each QOperator type,
 * and how many groups stayed in QDQ form).
 */
export function toQOperator(model: Model): string[] {
  const g = model.graph;
  const made = new Map<string, number>();
  let kept = 0;
  for (const n of g.topologicalOrder()) {
    if (!isDefault(n.domain) || !n.output(0)) continue;
    const spec = specForFloatOp(n.opType);
    let done = false;
    if (spec) done = rewriteCompute(g, model, n, spec);
    else if (PASS_THROUGH_OPS.has(n.opType)) done = rewritePassThrough(g, n);
    else continue;
    if (done) made.set(spec?.qop ?? n.opType, (made.get(spec?.qop ?? n.opType) ?? 0) + 1);
    else if (n.inputs.some((v) => v?.producer?.opType === 'DequantizeLinear')) kept++;
  }
  g.removeDeadNodes();
  g.sort();
  const list = [...made].map(([op, k]) => `${k} ${op}`).join(', ');
  const notes = [`QOperator: ${list || 'no node rewritten'}`];
  if (kept > 0) notes.push(`QOperator: ${kept} quantized node${kept > 1 ? 's' : ''} kept in QDQ form (no integer operator, or a float consumer/graph output in between)`);
  return notes;
}
