/**
 * Dynamic quantization: weights quantized offline, activations quantized per run from their own min/max.
 *
 *   Before:  y = MatMul(x, W)              (or Gemm(x, W, C, alpha, beta, transB))
 *   After:   x_q, S_x, Z_x = DynamicQuantizeLinear(x)
 *            acc = MatMulInteger(x_q, W_q, Z_x, Z_w)           W_q int8 [K, N], per column (axis 1)
 *            y   = Cast<float>(acc) · (S_x · α·S_w) [+ β·C]
 *
 * Conv stays fp32 (onnxruntime's CPU provider has no ConvInteger with int8 weights), as does LSTM: models
 * that spell their recurrences out as Gemm/MatMul (Silero VAD op18) get those quantized.
 */
import type { Graph } from '../ir/graph.js';
import type { Model } from '../ir/model.js';
import type { Node } from '../ir/node.js';
import { Tensor } from '../ir/tensor.js';
import type { Value } from '../ir/value.js';
import { transposeData } from '../lower/builder.js';
import { DataType } from '../onnx/dtype.js';
import type { PrecomputedWeight } from './gptq.js';
import { weightCodes, type NodeRole, type SkippedNode, type TensorReport } from './qdq.js';

export const DYNAMIC_OP_TYPES: readonly string[] = ['MatMul', 'Gemm'];

export interface DynamicOptions {
  opTypes: ReadonlySet<string>;
  exclude: ReadonlySet<string>;
  perChannel: boolean;
  weightType: 'int8' | 'uint8';
  /** 7-bit weights (see QuantizeOptions.reduceRange). */
  reduceRange?: boolean;
  /** GPTQ codes by weight name, in the weight's own layout (see QdqOptions.precomputed). */
  precomputed?: ReadonlyMap<string, PrecomputedWeight>;
}

export interface DynamicResult {
  tensors: TensorReport[];
  skipped: SkippedNode[];
  notes: string[];
  quantizedNodes: number;
}

/** Why a node cannot be quantized dynamically, or undefined. */
function reject(n: Node, g: Graph): string | undefined {
  const x = n.input(0);
  if (!x || x.elemType !== DataType.FLOAT) return 'input is not float32';
  const w = g.constantOf(n.input(1));
  if (!w || w.dtype !== DataType.FLOAT) return 'weight is not a float32 constant';
  if (w.rank !== 2) return 'weight is not 2-D';
  if (n.opType === 'Gemm') {
    if (n.getInt('transA', 0) !== 0) return 'transA is set';
    const c = n.input(2);
    if (c && !g.constantOf(c) && n.getFloat('beta', 1) !== 1) return 'bias is not a constant';
  }
  return undefined;
}

/** Why quantizeDynamic() leaves a MatMul/Gemm `n` in fp32 (op type not selected, excluded, rejected), or undefined. */
function skipReason(n: Node, g: Graph, options: DynamicOptions): string | undefined {
  if (!options.opTypes.has(n.opType)) return 'op type not selected';
  if (options.exclude.has(n.name)) return 'excluded';
  return reject(n, g);
}

/** Whether quantizeDynamic() will take node `n`. */
function selected(n: Node, g: Graph, options: DynamicOptions): boolean {
  return (n.domain === '' || n.domain === 'ai.onnx') && DYNAMIC_OP_TYPES.includes(n.opType) && skipReason(n, g, options) === undefined;
}

/**
 * The weighted nodes quantizeDynamic() will quantize, as static-plan roles (weight slot 1 with its per-channel axis
 * in the weight's own layout, no activation slots): what GPTQ needs to choose their codes before.
 */
export function dynamicRoles(model: Model, options: DynamicOptions): NodeRole[] {
  const g = model.graph;
  return g
    .topologicalOrder()
    .filter((n) => selected(n, g, options))
    .map((n) => {
      const transB = n.opType === 'Gemm' && n.getInt('transB', 0) === 1;
      return { node: n, activationSlots: [], weightSlots: [{ slot: 1, axis: options.perChannel ? (transB ? 0 : 1) : undefined }], biasSlot: undefined, output: undefined, passThrough: false };
    });
}

export function quantizeDynamic(model: Model, options: DynamicOptions): DynamicResult {
  const g = model.graph;
  const tensors: TensorReport[] = [];
  const skipped: SkippedNode[] = [];
  const notes: string[] = [];
  const dql = new Map<Value, Node>();
  const weights = new Map<string, { q: Value; zp: Value; scale: Float32Array }>();
  let quantizedNodes = 0;
  const left = new Map<string, number>();
  for (const n of g.topologicalOrder()) {
    if (n.domain !== '' && n.domain !== 'ai.onnx') continue;
    if (!DYNAMIC_OP_TYPES.includes(n.opType)) {
      if (['Conv', 'ConvTranspose', 'LSTM', 'GRU', 'RNN'].includes(n.opType)) left.set(n.opType, (left.get(n.opType) ?? 0) + 1);
      continue;
    }
    const id = n.name || n.id;
    const why = skipReason(n, g, options);
    if (why) {
      skipped.push({ node: id, opType: n.opType, reason: why });
      continue;
    }
    const x = n.input(0)!;
    const wv = n.input(1)!;
    const wt = wv.initializer!;
    const transB = n.opType === 'Gemm' ? n.getInt('transB', 0) : 0;
    const alpha = n.opType === 'Gemm' ? n.getFloat('alpha', 1) : 1;
    const beta = n.opType === 'Gemm' ? n.getFloat('beta', 1) : 1;
    const [K, N] = transB === 1 ? [wt.dims[1], wt.dims[0]] : [wt.dims[0], wt.dims[1]];
    const key = `${wv.name}|${transB}`;
    let wq = weights.get(key);
    if (!wq) {
      const w = transB === 1 ? transposeData(wt.asFloat32(), wt.dims, [1, 0]) : wt.asFloat32();
      const axis = options.perChannel ? 1 : undefined;
      // GPTQ's codes are in the weight's own layout ([N, K] with transB): bring them to [K, N] as the weight.
      const pre = options.precomputed?.get(wv.name);
      const precomputed = pre && transB === 1 ? new Map([[wv.name, { ...pre, q: transposeData(pre.q, [N, K], [1, 0]), axis: pre.axis === undefined ? undefined : 1 }]]) : options.precomputed;
      const { q, scale, zeroPoint } = weightCodes(w, [K, N], axis, options.weightType, undefined, { reduceRange: options.reduceRange, precomputed }, wv.name);
      const elem = options.weightType === 'int8' ? DataType.INT8 : DataType.UINT8;
      const qv = g.addInitializer(new Tensor({ name: `${wv.name}_quantized`, dtype: elem, dims: [K, N], data: new Uint8Array(q.buffer, q.byteOffset, q.byteLength) }));
      const allZero = zeroPoint.every((z) => z === 0);
      const zv = g.addInitializer(Tensor.fromNumbers(`${wv.name}_zero_point`, elem, allZero || axis === undefined ? [] : [N], allZero || axis === undefined ? [zeroPoint[0]] : zeroPoint));
      wq = { q: qv, zp: zv, scale };
      weights.set(key, wq);
      tensors.push({
        tensor: wv.name,
        role: 'weight',
        dtype: options.weightType,
        granularity: axis === undefined ? 'per-tensor' : 'per-axis(1)',
        scale: axis === undefined ? scale[0] : Array.from(scale),
        zeroPoint: axis === undefined ? zeroPoint[0] : Array.from(zeroPoint),
      });
    }
    let d = dql.get(x);
    if (!d) {
      d = g.addNode({
        opType: 'DynamicQuantizeLinear',
        name: g.uniqueName(`${x.name}_DynamicQuantizeLinear`),
        inputs: [x],
        outputs: [g.uniqueName(`${x.name}_quantized`), g.uniqueName(`${x.name}_scale`), g.uniqueName(`${x.name}_zero_point`)],
      });
      dql.set(x, d);
    }
    const base = n.name || `${wv.name}_${n.opType}`;
    const y = n.output(0)!;
    const c = n.opType === 'Gemm' ? n.input(2) : null;
    const ct = c ? g.constantOf(c) : undefined;
    g.removeNode(n);
    const mmi = g.addNode({ opType: 'MatMulInteger', name: g.uniqueName(`${base}_MatMulInteger`), inputs: [d.output(0), wq.q, d.output(2), wq.zp], outputs: [g.uniqueName(`${base}_int32`)] });
    const cast = g.addNode({ opType: 'Cast', name: g.uniqueName(`${base}_Cast`), inputs: [mmi.output(0)], outputs: [g.uniqueName(`${base}_float`)], attributes: [{ name: 'to', type: 'int', value: BigInt(DataType.FLOAT) }] });
    const ws = Float32Array.from(wq.scale, (s) => s * alpha);
    const wsv = g.addInitializer(Tensor.fromFloat32(`${base}_weight_scale`, ws.length === 1 ? [] : [ws.length], ws));
    const scale = g.addNode({ opType: 'Mul', name: g.uniqueName(`${base}_scale_Mul`), inputs: [d.output(1), wsv], outputs: [g.uniqueName(`${base}_scale`)] });
    const hasBias = c !== null && c !== undefined;
    const scaled = g.addNode({ opType: 'Mul', name: g.uniqueName(`${base}_Mul`), inputs: [cast.output(0), scale.output(0)], outputs: [hasBias ? g.uniqueName(`${base}_scaled`) : y] });
    if (hasBias) {
      let bias: Value = c!;
      if (ct && beta !== 1) bias = g.addInitializer(Tensor.fromFloat32(`${c!.name}_scaled`, ct.dims, Float32Array.from(ct.toFloat32(), (v) => v * beta)));
      g.addNode({ opType: 'Add', name: g.uniqueName(`${base}_bias_Add`), inputs: [scaled.output(0), bias], outputs: [y] });
    }
    quantizedNodes++;
  }
  for (const [op, count] of left) notes.push(`${op}: ${count} node${count === 1 ? '' : 's'} left in fp32 (dynamic mode quantizes MatMul and Gemm)`);
  g.removeDeadNodes();
  g.sort();
  return { tensors, skipped, notes, quantizedNodes };
}
