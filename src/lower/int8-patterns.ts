/**
 * Integer kernels from QDQ patterns. Matching happens before lowering; each match registers an emitter that
 * runs when the topological walk reaches the anchor node, so the plan stays in execution order.
 *
 *   Before:  xq ─DQ─▶ x ─┐
 *            wq ─DQ─▶ w ─┼─ Conv ─[Relu/Clip]─▶ y ─Q─▶ yq        (Gemm / MatMul alike)
 *            bq ─DQ─▶ b ─┘
 *   After:   xq ─ Conv(int8: xq, wq OHWI per channel, bq int32, clamp) ─▶ yq
 *
 *   y = S_x·S_w[o]/S_y · Σ (xq − Z_x)·wq + bq, rounded, + Z_y: the kernel requantizes in its output stage, so
 *   the float tensors x, w, b and y never exist.
 *
 *   Before:  aq ─DQ─▶ a ─┐
 *            bq ─DQ─▶ b ─┴─ Add|Mul ─▶ y ─Q─▶ yq
 *   After:   Add|Mul(int8: aq, bq) ─▶ yq
 *
 *   Before:  xq ─DQ─▶ x ─ Sigmoid|HardSwish|... (or HardSwish spelled out) ─▶ y ─Q─▶ yq
 *   After:   one int8 activation ─▶ yq (a 256-entry lookup table, exact)
 *
 *   Before:  xq ─DQ─▶ x ─ MaxPool|GlobalAveragePool ─▶ y ─Q─▶ yq
 *   After:   MaxPool|GlobalAveragePool on int8 (MaxPool needs equal input and output parameters)
 * Anything that does not fit
 * (asymmetric or uint8 weights, per-channel activations, mixed int8/uint8) stays float with its own Q/DQ.
 */
import { onednnInt8Exact, onednnInt8Support } from '../backends.js';
import type { Graph } from '../ir/graph.js';
import type { Node } from '../ir/node.js';
import { Tensor as IrTensor } from '../ir/tensor.js';
import type { Value } from '../ir/value.js';
import { activationAfter, type FusedActivation } from '../passes/tag-activations.js';
import type { PlanAttr, PlanBackend, PlanOp, PlanQuant } from '../runtime/plan.js';
import { staticShape, transposeData } from './builder.js';
import { deconvWeightsToOhwi, type Lowering, type QdqParams } from './lower.js';

/** Integer kernels take 8-bit activations; 16-bit Q/DQ pairs run in float (Lowering.lowerQdq), int32 is bias. */
function eightBit(q: QdqParams): boolean {
  return q.dtype === 'int8' || q.dtype === 'uint8';
}

function sameQuant(a: QdqParams, b: QdqParams): boolean {
  return a.dtype === b.dtype && a.axis === b.axis && a.scale.length === b.scale.length && a.scale.every((s, i) => s === b.scale[i]) && a.zeroPoint.every((z, i) => z === b.zeroPoint[i]);
}

function toQuant(q: QdqParams): PlanQuant {
  return { scale: q.scale, zeroPoint: q.zeroPoint, ...(q.axis !== undefined ? { axis: q.axis } : {}) };
}

/** An activation read through a per-tensor DequantizeLinear: the int8/uint8 source and its parameters. */
function dqActivation(L: Lowering, v: Value | null): { source: Value; q: QdqParams; dq: Node } | undefined {
  const dq = v?.producer;
  if (!dq || dq.opType !== 'DequantizeLinear' || dq.domain !== '') return undefined;
  const source = dq.input(0);
  if (!source || source.isConstant) return undefined;
  const q = L.qparamsOf(dq);
  if (!q || q.axis !== undefined || !eightBit(q)) return undefined;
  return { source, q, dq };
}

/**
 * Whether XNNPACK's 8-bit add/multiply accept these scales: it requires S_a/S_y and S_b/S_y in [2^-10, 2^8) for
 * Add and S_a·S_b/S_y in [2^-16, 2^8) for Mul (measured on Debian's 2022 XNNPACK; outside, operator creation fails
 * with xnn_status_unsupported_parameter). Otherwise the node stays in float between its Q/DQ pairs. onnxruntime's
 * calibration produces such ratios (PP-OCR det, attention residuals).
 */
function elementwiseScalesFit(op: 'Add' | 'Mul', sa: number, sb: number, sy: number): boolean {
  const inRange = (r: number, lo: number): boolean => r >= lo && r < 256;
  if (op === 'Add') return inRange(Math.fround(sa / sy), 2 ** -10) && inRange(Math.fround(sb / sy), 2 ** -10);
  return inRange(Math.fround(Math.fround(sa * sb) / sy), 2 ** -16);
}

/** A per-tensor DequantizeLinear of an 8-bit constant (a learned scale or offset operand). */
function dqConstant(L: Lowering, v: Value | null): { t: IrTensor; q: QdqParams; dq: Node } | undefined {
  const dq = v?.producer;
  if (!dq || dq.opType !== 'DequantizeLinear') return undefined;
  const t = L.graph.constantOf(dq.input(0));
  if (!t || (t.dtype !== 2 && t.dtype !== 3)) return undefined;
  const q = L.qparamsOf(dq);
  if (!q || q.axis !== undefined || !eightBit(q)) return undefined;
  return { t, q, dq };
}

/**
 * An 8-bit constant re-expressed in the other 8-bit type, exactly: codes and zero point shift by 128 (int8 code c
 * with zero point z is uint8 code c + 128 with zero point z + 128). Undefined when the zero point would not fit.
 */
function asCodeType(c: { t: IrTensor; q: QdqParams; dq: Node }, dtype: QdqParams['dtype']): { t: IrTensor; q: QdqParams; dq: Node } | undefined {
  if (dtype === 'int32' || c.q.dtype === dtype) return undefined;
  const shift = dtype === 'uint8' ? 128 : -128;
  const zeroPoint = Int32Array.from(c.q.zeroPoint, (z) => z + shift);
  if (zeroPoint.some((z) => (dtype === 'uint8' ? z < 0 || z > 255 : z < -128 || z > 127))) return undefined;
  const codes = c.t.dtype === 3 ? c.t.asInt8() : c.t.asUint8();
  const t = IrTensor.fromNumbers(`${c.t.name}:${dtype}`, dtype === 'uint8' ? 2 : 3, c.t.dims, Array.from(codes, (v) => v + shift));
  return { t, q: { ...c.q, zeroPoint, dtype }, dq: c.dq };
}

/**
 * A scalar addend re-encoded in `target`'s type on the finest grid XNNPACK's add accepts: scale target·2^-k with
 * k ≤ 10 as large as lets the value fit 8 bits (zero point mid-range). Undefined when it fits none.
 */
function onGrid(c: { t: IrTensor; q: QdqParams; dq: Node }, target: QdqParams): { t: IrTensor; q: QdqParams; dq: Node } | undefined {
  if (target.dtype === 'int32') return undefined;
  const code = c.t.dtype === 3 ? c.t.asInt8()[0] : c.t.asUint8()[0];
  const real = (code - c.q.zeroPoint[0]) * c.q.scale[0];
  const zero = target.dtype === 'uint8' ? 128 : 0;
  for (let k = 10; k >= 0; k--) {
    const scale = Math.fround(target.scale[0] * 2 ** -k);
    const q = Math.round(real / scale);
    if (Math.abs(q) > 127) continue;
    const t = IrTensor.fromNumbers(`${c.t.name}:grid`, target.dtype === 'uint8' ? 2 : 3, c.t.dims, [q + zero]);
    return { t, q: { scale: Float32Array.of(scale), zeroPoint: Int32Array.of(zero), dtype: target.dtype }, dq: c.dq };
  }
  return undefined;
}

/** Constant symmetric int8 weights behind a DequantizeLinear (per tensor, or per channel along `axis`). */
function dqWeights(L: Lowering, v: Value | null, axis: number): { t: IrTensor; q: QdqParams; dq: Node } | undefined {
  const dq = v?.producer;
  if (!dq || dq.opType !== 'DequantizeLinear') return undefined;
  const t = L.graph.constantOf(dq.input(0));
  if (!t || t.dtype !== 3) return undefined;
  const q = L.qparamsOf(dq);
  if (!q || q.dtype !== 'int8' || q.zeroPoint.some((z) => z !== 0)) return undefined;
  if (q.axis !== undefined && q.axis !== axis) return undefined;
  return { t, q, dq };
}

/** The QuantizeLinear nodes that read `v`, if all of them do with one per-tensor set of parameters. */
function qConsumers(L: Lowering, v: Value): { nodes: Node[]; q: QdqParams } | undefined {
  if (v.isGraphOutput || v.consumers.length === 0) return undefined;
  let first: QdqParams | undefined;
  for (const c of v.consumers) {
    if (c.opType !== 'QuantizeLinear' || c.domain !== '' || c.input(0) !== v) return undefined;
    const q = L.qparamsOf(c);
    if (!q || q.axis !== undefined || !eightBit(q)) return undefined;
    if (first && !sameQuant(first, q)) return undefined;
    first = q;
  }
  return first ? { nodes: [...new Set(v.consumers)], q: first } : undefined;
}

/**
 * Whether quantizing with `q` already does what the Relu or Clip `act` does: every value at or below its lower
 * bound gets the lowest code and every value at or above its upper bound the highest, so Q(y) = Q(act(y)).
 */
function clampImplied(act: FusedActivation, q: QdqParams): boolean {
  if ((act.kind !== 'Relu' && act.kind !== 'Clip') || act.nodes.length !== 1) return false;
  const [qmin, qmax] = q.dtype === 'int8' ? [-128, 127] : [0, 255];
  const s = q.scale[0];
  const z = q.zeroPoint[0];
  const lo = act.kind === 'Relu' ? 0 : (act.params.min ?? -Infinity);
  const hi = act.kind === 'Relu' ? Infinity : (act.params.max ?? Infinity);
  return (lo === -Infinity || lo / s + z < qmin + 0.5) && (hi === Infinity || hi / s + z > qmax - 0.5);
}

/** The int8 value the matched QuantizeLinear nodes produce (one plan value for all of them). */
function defineQuantizedOutput(L: Lowering, y: { nodes: Node[]; q: QdqParams }, layout: 'plain' | 'nhwc'): number {
  const value = y.nodes[0].output(0)!;
  L.b.setQuant(value, toQuant(y.q));
  const id = L.b.define(value, layout);
  y.nodes.slice(1).forEach((qn) => L.b.alias(qn.output(0)!, layout, id));
  return id;
}

/** int32 bias for scale S_x·S_w[o]: from a DequantizeLinear of int32 data, or quantized from float. */
function int32Bias(L: Lowering, v: Value | null, xs: number, ws: Float32Array, n: number): Int32Array | undefined | null {
  if (!v) return undefined;
  const dq = v.producer;
  if (dq?.opType === 'DequantizeLinear') {
    const t = L.graph.constantOf(dq.input(0));
    if (t && t.dtype === 6 && t.size === n) return Int32Array.from(t.asInt32());
  }
  const t = L.graph.constantOf(v);
  if (!t || t.size !== n) return null;
  const f = t.toFloat32();
  return Int32Array.from(f, (b, o) => {
    const q = Math.round(b / (xs * ws[ws.length === 1 ? 0 : o]));
    return Math.max(-(2 ** 31), Math.min(2 ** 31 - 1, q));
  });
}

/** Makes the int8 source `v` carry `q` in the plan (a graph input may not have it yet). */
function ensureQuant(L: Lowering, v: Value, id: number, q: QdqParams, layout: 'plain' | 'nhwc'): boolean {
  const pv = L.b.plan.values[id];
  if (pv.dtype !== q.dtype) return false;
  if (!pv.quant) pv.quant = toQuant(q);
  void layout;
  return pv.quant.scale.length === 1 && pv.quant.scale[0] === q.scale[0] && pv.quant.zeroPoint[0] === q.zeroPoint[0];
}

/** The plan op and attributes that compute a fused activation on its own. */
function int8Activation(act: FusedActivation): [PlanOp, Record<string, PlanAttr> | undefined] {
  switch (act.kind) {
    case 'Clip':
      return ['Clip', { ...(Number.isFinite(act.params.min) ? { min: act.params.min } : {}), ...(Number.isFinite(act.params.max) ? { max: act.params.max } : {}) }];
    case 'LeakyRelu':
      return ['LeakyRelu', { alpha: act.params.alpha }];
    case 'HardSigmoid':
      return ['HardSigmoid', { alpha: act.params.alpha, beta: act.params.beta }];
    default:
      return [act.kind, undefined];
  }
}

export function lowerInt8Patterns(L: Lowering): Map<Node, () => void> {
  const emitters = new Map<Node, () => void>();
  const absorbedDq = new Map<Node, number>();
  const absorb = (dq: Node): void => {
    absorbedDq.set(dq, (absorbedDq.get(dq) ?? 0) + 1);
  };
  const backend = L.options.int8Backend;
  let support = L.options.onednnInt8;
  /**
   * The backend of an int8 Conv / FullyConnected: the session's, or under 'auto' oneDNN where it computes this
   * layer exactly (and the output is not empty), else XNNPACK. Both give the same integers; oneDNN is faster on
   * x86 (docs/BENCHMARKS.md).
   */
  const weightedBackend = (source: QdqParams['dtype'], weights: Int8Array, empty: boolean): { backend: PlanBackend; auto: boolean } => {
    if (backend !== 'auto') return { backend, auto: false };
    support ??= onednnInt8Support();
    if (empty || support === 'none' || (source !== 'int8' && source !== 'uint8') || !onednnInt8Exact(support, source, weights)) return { backend: 'xnnpack', auto: true };
    return { backend: 'onednn', auto: true };
  };
  /** A weighted op taken as one int8 kernel: its input, weight and bias DQs, fused clamp and output Qs. */
  const claimWeighted = (node: Node, xdq: Node, wdq: Node, clamp: readonly Node[] | undefined, qs: readonly Node[]): void => {
    absorb(xdq);
    absorb(wdq);
    if (node.input(2)?.producer?.opType === 'DequantizeLinear') absorb(node.input(2)!.producer!);
    L.done.add(node);
    clamp?.forEach((c) => L.done.add(c));
    qs.forEach((c) => L.done.add(c));
  };

  for (const node of L.graph.nodes) {
    if (node.domain !== '') continue;
    const op = node.opType;
    if (op === 'Conv' || op === 'Gemm' || op === 'MatMul') {
      const x = dqActivation(L, node.input(0));
      if (!x) continue;
      const xs = staticShape(node.input(0)!);
      const isConv = op === 'Conv';
      if (isConv && xs.length !== 4) continue;
      if (!isConv && xs.length < 2) continue;
      const transB = op === 'Gemm' ? node.getInt('transB', 0) : 0;
      if (op === 'Gemm' && (node.getInt('transA', 0) !== 0 || node.getFloat('alpha', 1) !== 1 || node.getFloat('beta', 1) !== 1)) continue;
      const weightAxis = isConv || transB === 1 ? 0 : 1;
      const w = dqWeights(L, node.input(1), weightAxis);
      if (!w) continue;
      const clamp = L.clampOf(node);
      const out = clamp ? clamp.output : node.output(0)!;
      const y = qConsumers(L, out);
      if (!y || y.q.dtype !== x.q.dtype) continue;
      const n = isConv ? w.t.dims[0] : transB ? w.t.dims[0] : w.t.dims[1];
      const bias = int32Bias(L, node.input(2), x.q.scale[0], w.q.scale, n);
      if (bias === null) continue;

      claimWeighted(node, x.dq, w.dq, clamp?.nodes, y.nodes);
      emitters.set(node, () => {
        const layout = isConv ? 'nhwc' : 'plain';
        const xid = L.b.get(x.source, layout);
        if (!ensureQuant(L, x.source, xid, x.q, layout)) throw new Error(`int8 input '${x.source.name}' has other quantization parameters than its DequantizeLinear`);
        const yid = defineQuantizedOutput(L, y, layout);
        const wq = isConv ? w.t.asInt8() : Int8Array.from(w.t.asInt8());
        const wquant: PlanQuant = { scale: w.q.scale, zeroPoint: new Int32Array(w.q.scale.length), ...(w.q.scale.length > 1 ? { axis: 0 } : {}) };
        const attrs: Record<string, PlanAttr> = { ...(clamp?.attrs ?? {}) };
        let wid: number;
        if (isConv) {
          // The model's OIHW codes as they are (no copy): the native Conv transposes one layer at a time.
          wid = L.b.addConstant(`${node.input(1)!.name}:oihw`, 'int8', [...w.t.dims], wq, wquant);
          Object.assign(attrs, L.windowAttrs(node, xs, staticShape(node.output(0)!)), { weightLayout: 'OIHW' });
        } else {
          const [r, c] = w.t.dims;
          const nk = transB ? wq : transposeData(wq, [r, c], [1, 0]);
          wid = L.b.addConstant(`${node.input(1)!.name}:nk`, 'int8', [n, nk.length / n], nk, wquant);
        }
        const inputs = [xid, wid];
        if (bias) inputs.push(L.b.addConstant(`${node.name || op}:bias_q`, 'int32', [n], bias));
        const chosen = weightedBackend(x.q.dtype, wq, staticShape(node.output(0)!).includes(0));
        // A convolution oneDNN has only a reference kernel for runs on XNNPACK instead (native/runtime/ops/convolution.cc).
        if (isConv && chosen.auto && chosen.backend === 'onednn') attrs.fallback = 'xnnpack';
        L.b.addNode(node.name || `${op}_q`, isConv ? 'Conv' : 'FullyConnected', inputs, [yid], attrs, chosen.backend);
      });
      continue;
    }
    if (op === 'ConvTranspose') {
      // XNNPACK's 8-bit deconvolution takes per-tensor weights only; per-channel ones stay in float.
      const x = dqActivation(L, node.input(0));
      const xs = node.input(0) ? staticShape(node.input(0)!) : [];
      if (!x || xs.length !== 4) continue;
      const w = dqWeights(L, node.input(1), 1);
      if (!w || w.q.scale.length !== 1 || w.t.dims.length !== 4) continue;
      const clamp = L.clampOf(node);
      const y = qConsumers(L, clamp ? clamp.output : node.output(0)!);
      if (!y || y.q.dtype !== x.q.dtype) continue;
      const group = node.getInt('group', 1);
      const n = w.t.dims[1] * group;
      const bias = int32Bias(L, node.input(2), x.q.scale[0], w.q.scale, n);
      if (bias === null) continue;
      claimWeighted(node, x.dq, w.dq, clamp?.nodes, y.nodes);
      emitters.set(node, () => {
        const xid = L.b.get(x.source, 'nhwc');
        if (!ensureQuant(L, x.source, xid, x.q, 'nhwc')) throw new Error(`int8 input '${x.source.name}' has other quantization parameters than its DequantizeLinear`);
        const yid = defineQuantizedOutput(L, y, 'nhwc');
        const [wq, ohwi] = deconvWeightsToOhwi(Int8Array.from(w.t.asInt8()), w.t.dims, group);
        const wid = L.b.addConstant(`${node.input(1)!.name}:ohwi`, 'int8', ohwi, wq, { scale: w.q.scale, zeroPoint: new Int32Array(1) });
        const attrs: Record<string, PlanAttr> = { ...L.windowAttrs(node, xs, staticShape(node.output(0)!)), ...(clamp?.attrs ?? {}), group };
        const inputs = [xid, wid];
        if (bias) inputs.push(L.b.addConstant(`${node.name || op}:bias_q`, 'int32', [n], bias));
        L.b.addNode(node.name || `${op}_q`, 'ConvTranspose', inputs, [yid], attrs, 'xnnpack');
      });
      continue;
    }
    if (op === 'MaxPool' || op === 'GlobalAveragePool') {
      const x = dqActivation(L, node.input(0));
      if (!x || staticShape(node.input(0)!).length !== 4 || node.outputs.filter(Boolean).length !== 1) continue;
      const y = qConsumers(L, node.output(0)!);
      if (!y || y.q.dtype !== x.q.dtype || (op === 'MaxPool' && !sameQuant(x.q, y.q))) continue;
      absorb(x.dq);
      L.done.add(node);
      y.nodes.forEach((c) => L.done.add(c));
      emitters.set(node, () => {
        const xid = L.b.get(x.source, 'nhwc');
        if (!ensureQuant(L, x.source, xid, x.q, 'nhwc')) throw new Error(`int8 input '${x.source.name}' has other quantization parameters than its DequantizeLinear`);
        const yid = defineQuantizedOutput(L, y, 'nhwc');
        const attrs = op === 'MaxPool' ? L.windowAttrs(node, staticShape(node.input(0)!), staticShape(node.output(0)!)) : undefined;
        L.b.addNode(node.name || `${op}_q`, op, [xid], [yid], attrs);
      });
      continue;
    }
    if (op === 'DequantizeLinear') {
      // An activation read through this DequantizeLinear and requantized after: one int8 lookup table.
      const x = dqActivation(L, node.output(0) && node.output(0)!.consumers.length > 0 ? node.output(0) : null);
      const v = node.output(0);
      if (!x || !v || v.isGraphOutput) continue;
      const act: FusedActivation | undefined = activationAfter(v, L.graph, 13);
      if (!act || act.nodes.some((n) => L.done.has(n))) continue;
      const y = qConsumers(L, act.output);
      if (!y || y.q.dtype !== x.q.dtype) continue;
      const [planOp, attrs] = int8Activation(act);
      const anchor = act.nodes[0];
      act.nodes.forEach((n) => L.done.add(n));
      y.nodes.forEach((c) => L.done.add(c));
      for (let i = 0; i < v.consumers.length; i++) if (act.nodes.includes(v.consumers[i])) absorb(node);
      emitters.set(anchor, () => {
        const layout = L.b.current(x.source, 'nhwc') ?? 'plain';
        const xid = L.b.get(x.source, layout);
        if (!ensureQuant(L, x.source, xid, x.q, layout)) throw new Error(`int8 input '${x.source.name}' has other quantization parameters than its DequantizeLinear`);
        const yid = defineQuantizedOutput(L, y, layout);
        L.b.addNode(anchor.name || `${planOp}_q`, planOp, [xid], [yid], attrs);
      });
      continue;
    }
    if (op === 'Add' || op === 'Mul') {
      // Both commute: a constant operand may come first (PP-LCNet's learnable scale is Mul(s, x)).
      let a = dqActivation(L, node.input(0));
      let b = dqActivation(L, node.input(1)) ?? dqConstant(L, node.input(1));
      if (!a) {
        a = dqActivation(L, node.input(1));
        b = dqConstant(L, node.input(0));
      }
      if (!a || !b) continue;
      // A Relu/Clip between it and the Q is dropped when the Q's code range implies it (the quantizer fuses it so).
      const clamp = node.output(0) && !qConsumers(L, node.output(0)!) ? activationAfter(node.output(0)!, L.graph, 13) : undefined;
      const y = qConsumers(L, clamp ? clamp.output : node.output(0)!);
      if (!y || y.q.dtype !== a.q.dtype) continue;
      if (clamp && !clampImplied(clamp, y.q)) continue;
      if ('t' in b && b.q.dtype !== a.q.dtype) b = asCodeType(b, a.q.dtype) ?? b;
      // A scalar addend whose own scale is finer than XNNPACK accepts is re-encoded on the finest grid it takes.
      if ('t' in b && op === 'Add' && b.t.size === 1 && !elementwiseScalesFit(op, a.q.scale[0], b.q.scale[0], y.q.scale[0])) b = onGrid(b, y.q);
      if (!b || a.q.dtype !== b.q.dtype || !elementwiseScalesFit(op, a.q.scale[0], b.q.scale[0], y.q.scale[0])) continue;
      absorb(a.dq);
      absorb(b.dq);
      L.done.add(node);
      clamp?.nodes.forEach((c) => L.done.add(c));
      y.nodes.forEach((c) => L.done.add(c));
      emitters.set(node, () => {
        const rank = staticShape(node.output(0)!).length;
        const bConst = 't' in b ? b : undefined;
        const nhwc =
          rank === 4 &&
          staticShape(a.source).length === 4 &&
          L.b.current(a.source, 'nhwc') === 'nhwc' &&
          (bConst ? bConst.t.size === 1 : staticShape((b as { source: Value }).source).length === 4 && L.b.current((b as { source: Value }).source, 'nhwc') === 'nhwc');
        const layout = nhwc ? 'nhwc' : 'plain';
        const aid = L.b.get(a.source, layout);
        let bid: number;
        if (bConst) {
          const t = bConst.t;
          const data = t.dtype === 3 ? Int8Array.from(t.asInt8()) : Uint8Array.from(t.asUint8());
          const dims = layout === 'nhwc' ? [1, 1, 1, 1] : [...t.dims];
          bid = L.b.addConstant(`${bConst.dq.output(0)!.name}:q`, bConst.q.dtype as 'int8' | 'uint8', dims, data, toQuant(bConst.q));
        } else {
          bid = L.b.get((b as { source: Value }).source, layout);
        }
        if (!ensureQuant(L, a.source, aid, a.q, layout) || (!bConst && !ensureQuant(L, (b as { source: Value }).source, bid, b.q, layout))) {
          throw new Error(`int8 inputs of ${node.label} have other quantization parameters than their DequantizeLinear`);
        }
        const yid = defineQuantizedOutput(L, y, layout);
        L.b.addNode(node.name || `${op}_q`, op, [aid, bid], [yid]);
      });
    }
  }
  // A DequantizeLinear read only by absorbed nodes produces nothing anyone needs.
  for (const [dq, uses] of absorbedDq) {
    const out = dq.output(0);
    if (out && !out.isGraphOutput && out.consumers.length === uses) L.done.add(dq);
  }
  return emitters;
}

/**
 * The layers a session's int8 Conv / Gemm / MatMul patterns read: each node whose input is an 8-bit activation
 * behind a DequantizeLinear and whose weights are constant int8 codes behind one (found without shapes, so a
 * session can check them against its backend at create() time).
 */
export function int8WeightedLayers(graph: Graph): { node: Node; source: 'int8' | 'uint8'; weights: Int8Array }[] {
  const layers: { node: Node; source: 'int8' | 'uint8'; weights: Int8Array }[] = [];
  for (const node of graph.nodes) {
    if (node.domain !== '' || (node.opType !== 'Conv' && node.opType !== 'Gemm' && node.opType !== 'MatMul')) continue;
    const xdq = node.input(0)?.producer;
    const wdq = node.input(1)?.producer;
    if (xdq?.opType !== 'DequantizeLinear' || wdq?.opType !== 'DequantizeLinear') continue;
    const x = xdq.input(0);
    if (!x || x.isConstant || (x.elemType !== 2 && x.elemType !== 3)) continue;
    const w = graph.constantOf(wdq.input(0));
    if (!w || w.dtype !== 3) continue;
    layers.push({ node, source: x.elemType === 2 ? 'uint8' : 'int8', weights: w.asInt8() });
  }
  return layers;
}
