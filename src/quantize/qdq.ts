/**
 * Static QDQ insertion: plan which tensors of a canonical fp32 graph are quantized, then rewrite the graph with
 * QuantizeLinear → DequantizeLinear pairs on activations and int8 initializers + DequantizeLinear on weights.
 *
 *   Before:  x ──Conv(W, B)──▶ y ──Relu──▶ z          (Conv tagged fusedActivation = Relu)
 *   After:   x ─Q─DQ─▶ Conv(DQ(W_q, S_w, axis 0), DQ(B_q int32, S_x·S_w)) ─▶ y ──Relu──▶ z ─Q─DQ─▶ consumers
 *
 * Rules:
 * - One Q/DQ pair per tensor, placed after its producer; only the quantized consumers read the DQ output, so
 *   ops left in fp32 (Softmax, ...) keep reading the float tensor. Graph outputs stay float.
 * - Conv/ConvTranspose/Gemm/MatMul: input activation, weight (constant: offline, symmetric int8, per channel:
 *   axis 0 for Conv and Gemm transB=1, axis 1 for MatMul and Gemm transB=0; ConvTranspose per tensor), bias
 *   int32 with S_b = S_x·S_w, zero point 0. A tagged fused activation is quantized after the activation only.
 * - Add/Mul/Concat/AveragePool/GlobalAveragePool/Relu/Clip/Sigmoid/HardSigmoid: inputs and output.
 * - MaxPool/Transpose/Reshape/Resize: pass-through when their input is quantized; the output takes the input's
 *   (scale, zero point), so the pair around them is a no-op on codes.
 * - An Add/Mul of a constant whose output no quantized op reads (a classifier's bias Add before its Softmax) is
 *   left in fp32, so the tensor it reads is not rounded for it (the logits stay float).
 */
import type { Graph } from '../ir/graph.js';
import type { Model } from '../ir/model.js';
import type { Node } from '../ir/node.js';
import { Tensor } from '../ir/tensor.js';
import type { Value } from '../ir/value.js';
import { DataType } from '../onnx/dtype.js';
import { invalidParameterError } from '../errors.js';
import { activationAfter, type FusedActivation } from '../passes/tag-activations.js';
import { raiseOpsetTo21 } from '../passes/upgrade-opset.js';
import { quantizeAffine, quantizeBias } from './affine.js';
import type { PrecomputedWeight } from './gptq.js';
import { chooseQParams, chooseQParamsPerAxis, is16Bit, type ActivationDType, type QuantDType } from './qparams.js';

export const COMPUTE_OPS = ['Conv', 'ConvTranspose', 'Gemm', 'MatMul'] as const;
export const ELEMENTWISE_OPS = ['Add', 'Mul'] as const;
export const PASS_THROUGH_OPS = ['MaxPool', 'Transpose', 'Reshape', 'Resize'] as const;
export const OTHER_OPS = ['Concat', 'AveragePool', 'GlobalAveragePool', 'Relu', 'Clip', 'Sigmoid', 'HardSigmoid'] as const;
/** Every op type static quantization handles. */
export const STATIC_OP_TYPES: readonly string[] = [...COMPUTE_OPS, ...ELEMENTWISE_OPS, ...OTHER_OPS, ...PASS_THROUGH_OPS];
/** Non-compute ops whose output may feed an activation run as one unit with them (residual Add → HardSwish). */
const ELEMENTWISE_AFTER: ReadonlySet<string> = new Set(ELEMENTWISE_OPS);

export interface QdqOptions {
  opTypes: ReadonlySet<string>;
  /** Node names left in fp32. */
  exclude: ReadonlySet<string>;
  perChannel: boolean;
  /** 8-bit, or 16-bit (A16W8: the model is raised to opset 21, whose QuantizeLinear/DequantizeLinear take them). */
  activationType: ActivationDType;
  symmetricActivations: boolean;
  /**
   * Calibrated activation ranges are widened by this factor about zero ([min·k, max·k]) before their scale is
   * chosen; explicit override ranges are taken as given. Default: 2 for 16-bit tensors (a bit of resolution they do
   * not miss, for headroom on inputs unlike the calibration data), 1 for 8-bit ones.
   */
  rangeMargin?: number;
  /** Only weights (DQ on int8 initializers); activations and biases stay float. */
  weightOnly: boolean;
  /** Per-tensor overrides. */
  overrides: ReadonlyMap<string, TensorOverride>;
  /** 7-bit weights (int8 [−63, 63]) for runtimes whose u8·s8 products saturate without VNNI. */
  reduceRange?: boolean;
  /**
   * Weight codes chosen elsewhere (GPTQ), by weight tensor name. Used where their grid (scale, zero point, axis)
   * is the one nearest rounding would use here; otherwise the weight is rounded to nearest.
   */
  precomputed?: ReadonlyMap<string, PrecomputedWeight>;
}

export interface TensorOverride {
  /** An activation may take any activation type; a weight int8 or uint8. */
  dtype?: ActivationDType;
  symmetric?: boolean;
  /** Explicit real range (skips calibration for this tensor). */
  range?: readonly [number, number];
}

/** What the quantizer does to one node. */
export interface NodeRole {
  node: Node;
  /** Input slots read through an activation Q/DQ pair. */
  activationSlots: number[];
  /** Input slots of constant weights quantized offline, with the per-channel axis (undefined: per tensor). */
  weightSlots: { slot: number; axis: number | undefined }[];
  /** Bias slot (int32, S_x·S_w), for Conv/ConvTranspose/Gemm. */
  biasSlot: number | undefined;
  /** The tensor quantized at the node's output (after a fused activation), if any. */
  output: Value | undefined;
  /** Pass-through: the output takes the input's qparams. */
  passThrough: boolean;
  /** Nodes (a non-clamp activation run as one unit) that read `output` through its Q/DQ pair. */
  pairOutputFor?: Node[];
  /** An Add/Mul's fused clamp: its fp32 consumers read `output` through the pair too (see impliedClamp). */
  clampReadsPair?: boolean;
}

export interface SkippedNode {
  node: string;
  opType: string;
  reason: string;
}

export interface QdqPlan {
  roles: NodeRole[];
  /** Activation tensors that need a range (calibrated or overridden), in graph order. */
  activations: string[];
  /** Pass-through outputs → the tensor whose qparams they take. */
  ties: Map<string, string>;
  skipped: SkippedNode[];
  /** Notes for the report (unsupported op types left in fp32, ...). */
  notes: string[];
}

export interface ActivationQParams {
  scale: number;
  zeroPoint: number;
  dtype: ActivationDType;
  min?: number;
  max?: number;
}

export interface TensorReport {
  tensor: string;
  role: 'activation' | 'weight' | 'bias';
  dtype: QuantDType;
  /** 'per-tensor' or 'per-axis(N)'. */
  granularity: string;
  scale: number | number[];
  zeroPoint: number | number[];
  /** Calibrated (or overridden) real range, activations only. */
  min?: number;
  max?: number;
  /** Bias values saturated to int32. */
  clipped?: number;
}

function isFloat(v: Value | null): boolean {
  return v !== null && v.elemType === DataType.FLOAT;
}

function isDefault(domain: string): boolean {
  return domain === '' || domain === 'ai.onnx';
}

/** Plans static quantization of the main graph of a canonical model. */
export function planQdq(model: Model, options: QdqOptions): QdqPlan {
  const g = model.graph;
  const order = g.topologicalOrder();
  const roles: NodeRole[] = [];
  const skipped: SkippedNode[] = [];
  const notes: string[] = [];
  const fusedInto = new Map<Node, Node>();
  const quantized = new Set<Value>();
  const isOutput = (v: Value): boolean => g.outputs.includes(v);
  const skip = (n: Node, reason: string): void => {
    skipped.push({ node: n.name || n.id, opType: n.opType, reason });
  };
  const unsupported = new Map<string, number>();

  const opset = model.opsetVersion('') ?? 13;
  // Pass 1: the ops that quantize their inputs on their own.
  for (const n of order) {
    if (!isDefault(n.domain)) {
      unsupported.set(`${n.domain}.${n.opType}`, (unsupported.get(`${n.domain}.${n.opType}`) ?? 0) + 1);
      continue;
    }
    if (fusedInto.has(n)) continue;
    if (!STATIC_OP_TYPES.includes(n.opType)) {
      unsupported.set(n.opType, (unsupported.get(n.opType) ?? 0) + 1);
      continue;
    }
    if (!options.opTypes.has(n.opType)) {
      skip(n, 'op type not selected');
      continue;
    }
    if (options.exclude.has(n.name)) {
      skip(n, 'excluded');
      continue;
    }
    if ((PASS_THROUGH_OPS as readonly string[]).includes(n.opType)) continue;
    const role = planNode(n, g, options);
    if (typeof role === 'string') {
      skip(n, role);
      continue;
    }
    // Compute ops carry their activation as a tag. An Add/Mul (a residual) followed by an activation is found here
    // and handled like a compute op's (a clamp only where its output's pair implies it).
    let fa = n.tags.fusedActivation as FusedActivation | undefined;
    if (ELEMENTWISE_AFTER.has(n.opType) && n.output(0)) {
      const after = activationAfter(n.output(0)!, g, opset);
      if (after && (after.kind === 'Relu' || after.kind === 'Clip')) {
        // A clamp after it is fused like a Conv's when the output's pair can do the clamp (see impliedClamp):
        // quantizing the Add's signed output and the Relu's again would round twice, the first time on a grid up
        // to 3x coarser (onnxruntime's quantizer drops such a Relu too). Otherwise it stays an op of its own.
        fa = impliedClamp(after, g, options) ? after : undefined;
        if (fa) role.clampReadsPair = true;
      } else fa = after && !after.nodes.some((a) => options.exclude.has(a.name)) ? after : undefined;
    }
    if (fa && (COMPUTE_OPS.includes(n.opType as never) || ELEMENTWISE_AFTER.has(n.opType))) {
      if (fa.nodes.some((a) => options.exclude.has(a.name))) {
        // The activation is wanted in fp32: quantize the producer's own output instead.
        role.output = n.output(0) ?? undefined;
      } else if (fa.kind !== 'Relu' && fa.kind !== 'Clip') {
        // Int8 kernels fuse only clamps into their output stage. Other activations (HardSwish, Sigmoid, ...)
        // get the producer's output quantized, and run as one unit (an int8 lookup table in octet's runtime)
        // between that and the next quantized op: their inner nodes are not quantized one by one.
        for (const a of fa.nodes) fusedInto.set(a, n);
        role.output = n.output(0) ?? undefined;
        role.pairOutputFor = fa.nodes;
      } else {
        for (const a of fa.nodes) fusedInto.set(a, n);
        role.output = fa.output;
      }
    }
    if (options.weightOnly) {
      role.activationSlots = [];
      role.biasSlot = undefined;
      role.output = undefined;
      if (role.weightSlots.length === 0) {
        skip(n, 'no constant weight (weight-only mode)');
        continue;
      }
    }
    if (role.output && (!isFloat(role.output) || isOutput(role.output))) role.output = undefined;
    for (const s of role.activationSlots) quantized.add(n.input(s)!);
    if (role.output) quantized.add(role.output);
    roles.push(role);
  }
  // Pass 2: pass-through ops whose input is quantized, in graph order so that chains follow.
  const ties = new Map<string, string>();
  if (!options.weightOnly) {
    for (const n of order) {
      if (!(PASS_THROUGH_OPS as readonly string[]).includes(n.opType) || !isDefault(n.domain)) continue;
      if (!options.opTypes.has(n.opType) || options.exclude.has(n.name) || fusedInto.has(n)) continue;
      const x = n.input(0);
      const y = n.output(0);
      if (!x || !y || !quantized.has(x)) {
        skip(n, 'input is not quantized (pass-through op)');
        continue;
      }
      if (!isFloat(y)) continue;
      const role: NodeRole = { node: n, activationSlots: [0], weightSlots: [], biasSlot: undefined, output: undefined, passThrough: true };
      if (!isOutput(y)) {
        role.output = y;
        if (!quantized.has(y)) ties.set(y.name, x.name);
        quantized.add(y);
      }
      roles.push(role);
    }
  }
  // Pass 3: an Add/Mul of a constant (a bias, a scale) whose output no quantized op reads runs in fp32 anyway (its
  // output gets no pair); quantizing its input for it would only add a rounding, e.g. a classifier's MatMul → bias
  // Add → Softmax, whose logits would sit on the grid calibrated on a few samples and be clipped on a confident
  // held-out one (Gemm → Softmax reads the float logits already). Such an Add/Mul is left in fp32, and its
  // producer's output gets no pair unless another quantized op reads it.
  if (!options.weightOnly) {
    for (;;) {
      const read = new Set<Value>();
      for (const r of roles) for (const s of r.activationSlots) read.add(r.node.input(s)!);
      const idle = roles.filter((r) => {
        const y = r.node.output(0);
        if (!ELEMENTWISE_AFTER.has(r.node.opType) || r.weightSlots.length !== 1 || r.pairOutputFor || r.clampReadsPair || !y) return false;
        return r.output === (isOutput(y) ? undefined : y) && !read.has(y);
      });
      if (idle.length === 0) break;
      for (const r of idle) {
        roles.splice(roles.indexOf(r), 1);
        skip(r.node, 'output is read by fp32 ops only');
      }
    }
    quantized.clear();
    for (const r of roles) {
      for (const s of r.activationSlots) quantized.add(r.node.input(s)!);
      if (r.output) quantized.add(r.output);
    }
  }
  for (const [op, count] of unsupported) notes.push(`${op}: ${count} node${count === 1 ? '' : 's'} left in fp32 (not supported by static quantization)`);
  const activations: string[] = [];
  const seen = new Set<string>();
  const add = (v: Value | null | undefined): void => {
    if (v && !seen.has(v.name) && !ties.has(v.name)) {
      seen.add(v.name);
      activations.push(v.name);
    }
  };
  for (const v of g.inputs) if (quantized.has(v)) add(v);
  for (const n of order) {
    for (const v of n.inputs) if (v && quantized.has(v)) add(v);
    for (const v of n.outputs) if (v && quantized.has(v)) add(v);
  }
  return { roles, activations, ties, skipped, notes };
}

/**
 * Whether a Relu (or a Clip from 0) after an Add/Mul is implied by its output's QuantizeLinear, so that an int8
 * Add can run with no clamp of its own: with asymmetric activations and the range calibrated on the clamp's
 * output ([0, max], no override), the zero point is the lowest code and Q(y) = Q(Relu(y)) for every y.
 */
function impliedClamp(a: FusedActivation, g: Graph, options: QdqOptions): boolean {
  if (a.nodes.length !== 1 || options.symmetricActivations || options.overrides.has(a.output.name)) return false;
  if (a.kind === 'Clip' && a.params.min !== 0) return false;
  const n = a.nodes[0];
  return options.opTypes.has(n.opType) && !options.exclude.has(n.name) && isFloat(a.output) && !g.outputs.includes(a.output);
}

/** The role of one non-pass-through node, or the reason it is left in fp32. */
function planNode(n: Node, g: Graph, options: QdqOptions): NodeRole | string {
  const role: NodeRole = { node: n, activationSlots: [], weightSlots: [], biasSlot: undefined, output: n.output(0) ?? undefined, passThrough: false };
  const constant = (i: number): Tensor | undefined => g.constantOf(n.input(i));
  const needFloat = (i: number): string | undefined => {
    const v = n.input(i);
    if (!v) return `input ${i} is missing`;
    if (v.elemType === undefined) return `input '${v.name}' has an unknown type`;
    if (v.elemType !== DataType.FLOAT) return `input '${v.name}' is not float32`;
    return undefined;
  };
  switch (n.opType) {
    case 'Conv':
    case 'ConvTranspose': {
      const bad = needFloat(0) ?? needFloat(1);
      if (bad) return bad;
      const w = constant(1);
      if (!w || w.dtype !== DataType.FLOAT) return 'weight is not a float32 constant';
      if (n.input(2) && !constant(2)) return 'bias is not a constant';
      const group = n.getInt('group', 1);
      // ConvTranspose weights per tensor: 8-bit deconvolution kernels (XNNPACK's) take no per-channel scales, and
      // on PP-OCR det's two ConvTransposes per-tensor costs nothing measurable (10.05 vs 10.06 dB on page.png).
      const axis = !options.perChannel || n.opType === 'ConvTranspose' ? undefined : 0;
      role.activationSlots = [0];
      role.weightSlots = [{ slot: 1, axis }];
      if (n.input(2)) role.biasSlot = 2;
      return role;
    }
    case 'Gemm':
    case 'MatMul': {
      const bad = needFloat(0) ?? needFloat(1);
      if (bad) return bad;
      const w = constant(1);
      role.activationSlots = [0];
      if (w) {
        if (w.dtype !== DataType.FLOAT) return 'weight is not float32';
        if (n.opType === 'MatMul' && w.rank < 2) return 'weight has rank < 2';
        const transB = n.opType === 'Gemm' ? n.getInt('transB', 0) : 0;
        const axis = !options.perChannel ? undefined : transB === 1 ? 0 : w.rank - 1;
        role.weightSlots = [{ slot: 1, axis }];
      } else role.activationSlots.push(1);
      if (n.opType === 'Gemm' && n.input(2)) {
        const c = constant(2);
        const nOut = w ? (n.getInt('transB', 0) === 1 ? w.dims[0] : w.dims[1]) : -1;
        const plain = n.getFloat('alpha', 1) === 1 && n.getFloat('beta', 1) === 1;
        if (c && c.dtype === DataType.FLOAT && w && plain && c.size === nOut && c.dims.filter((d) => d !== 1).length <= 1) role.biasSlot = 2;
      }
      return role;
    }
    case 'Add':
    case 'Mul': {
      for (const i of [0, 1]) {
        const bad = needFloat(i);
        if (bad) return bad;
        if (constant(i)) role.weightSlots.push({ slot: i, axis: undefined });
        else role.activationSlots.push(i);
      }
      if (role.activationSlots.length === 0) return 'both inputs are constants';
      return role;
    }
    case 'Concat': {
      for (let i = 0; i < n.inputs.length; i++) {
        const bad = needFloat(i);
        if (bad) return bad;
        if (constant(i)) return 'constant input';
        role.activationSlots.push(i);
      }
      return role;
    }
    default: {
      const bad = needFloat(0);
      if (bad) return bad;
      if (n.opType === 'Clip' && ((n.input(1) && !constant(1)) || (n.input(2) && !constant(2)))) return 'Clip bounds are not constants';
      role.activationSlots = [0];
      return role;
    }
  }
}

/** A weight's type: int8 unless overridden to uint8. A 16-bit override is for activations only. */
export function weightDType(options: Pick<QdqOptions, 'overrides'>, name: string): 'int8' | 'uint8' {
  const dtype = options.overrides.get(name)?.dtype ?? 'int8';
  if (is16Bit(dtype)) throw invalidParameterError(`options.overrides['${name}'].dtype`, "'int8' or 'uint8' (the tensor is a weight; 16-bit types are for activations)", dtype, true);
  return dtype;
}

/** The factor an activation's calibrated range is widened by (QdqOptions.rangeMargin, or its type's default). */
export function rangeMarginFor(name: string, options: Pick<QdqOptions, 'overrides' | 'activationType' | 'rangeMargin'>): number {
  return options.rangeMargin ?? (is16Bit(options.overrides.get(name)?.dtype ?? options.activationType) ? 2 : 1);
}

/** The qparams of an activation from its calibrated range and the options (override first, then the margin). */
export function activationQParams(name: string, min: number, max: number, options: QdqOptions): ActivationQParams {
  const o = options.overrides.get(name);
  const dtype = o?.dtype ?? options.activationType;
  const symmetric = o?.symmetric ?? options.symmetricActivations;
  const k = o?.range ? 1 : rangeMarginFor(name, options);
  const lo = o?.range ? o.range[0] : min * k;
  const hi = o?.range ? o.range[1] : max * k;
  const { scale, zeroPoint } = chooseQParams(lo, hi, { dtype, symmetric });
  return { scale, zeroPoint, dtype, min: lo, max: hi };
}

interface WeightQ {
  dq: Value;
  scale: Float32Array;
  axis: number | undefined;
}

/** Weight ranges below this are treated as all-zero (their scale would underflow S_x·S_w). */
const TINY = 1e-20;
/** Bias codes are kept below this (2^31 with a margin), by widening the weight range when needed. */
const BIAS_LIMIT = 2 ** 30;

/** The smallest weight range (per channel) that keeps |bias| / (S_x · S_w) below BIAS_LIMIT. */
export function weightFloorForBias(bias: Float32Array, inputScale: number): Float32Array {
  return Float32Array.from(bias, (x) => (Math.abs(x) / (inputScale * BIAS_LIMIT)) * 127);
}

const ONNX_DTYPE: Record<ActivationDType, number> = { int8: DataType.INT8, uint8: DataType.UINT8, int16: DataType.INT16, uint16: DataType.UINT16 };

/**
 * Quantizes a float tensor symmetrically to int8 ([−127, 127], or [−63, 63] with reduceRange), per axis or per
 * tensor; uint8 weights are asymmetric ([0, 255], or [0, 127]).
 */
export function quantizeWeight(
  w: Float32Array,
  dims: readonly number[],
  axis: number | undefined,
  dtype: 'int8' | 'uint8' = 'int8',
  minAbsMax?: Float32Array,
  reduceRange = false,
) {
  if (axis === undefined) {
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < w.length; i++) {
      const v = w[i];
      if (v < lo) lo = v;
      else if (v > hi) hi = v;
    }
    if (minAbsMax) {
      let need = 0;
      for (const m of minAbsMax) need = Math.max(need, m);
      if (Math.max(-lo, hi) < need) hi = Math.max(hi, need);
    }
    if (Math.max(-lo, hi) < TINY) lo = hi = 0;
    const p = dtype === 'int8' ? chooseQParams(lo, hi, { dtype, symmetric: true, narrow: true, reduceRange }) : chooseQParams(lo, hi, { dtype, reduceRange });
    const q = quantizeAffine(w, p.scale, p.zeroPoint, dtype);
    return { q, scale: Float32Array.of(p.scale), zeroPoint: Int32Array.of(p.zeroPoint) };
  }
  const channels = dims[axis];
  let inner = 1;
  for (let k = axis + 1; k < dims.length; k++) inner *= dims[k];
  const mins = new Float32Array(channels);
  const maxs = new Float32Array(channels);
  for (let i = 0; i < w.length; i++) {
    const c = Math.floor(i / inner) % channels;
    const v = w[i];
    if (v < mins[c]) mins[c] = v;
    else if (v > maxs[c]) maxs[c] = v;
  }
  for (let c = 0; c < channels; c++) {
    // A bias that would not fit int32 at S_x·S_w widens the channel's range; denormal-sized weights are zeros.
    const need = minAbsMax ? minAbsMax[minAbsMax.length === 1 ? 0 : c] : 0;
    if (Math.max(-mins[c], maxs[c]) < need) maxs[c] = Math.max(maxs[c], need);
    if (Math.max(-mins[c], maxs[c]) < TINY) mins[c] = maxs[c] = 0;
  }
  const p = dtype === 'int8' ? chooseQParamsPerAxis(mins, maxs, { dtype, symmetric: true, narrow: true, reduceRange }) : chooseQParamsPerAxis(mins, maxs, { dtype, reduceRange });
  const q = quantizeAffine(w, p.scale, p.zeroPoint, dtype, { axis, shape: dims });
  return { q, scale: p.scale, zeroPoint: p.zeroPoint };
}

/**
 * quantizeWeight(), or the precomputed codes of `name` (options.precomputed) when they are on the same grid: the
 * same axis, scales and zero points as nearest rounding gives (a bias corrected after GPTQ could need a wider
 * range, and then nearest rounding is used).
 */
export function weightCodes(
  w: Float32Array,
  dims: readonly number[],
  axis: number | undefined,
  dtype: 'int8' | 'uint8',
  minAbsMax: Float32Array | undefined,
  options: Pick<QdqOptions, 'reduceRange' | 'precomputed'>,
  name: string,
): { q: Int8Array | Uint8Array; scale: Float32Array; zeroPoint: Int32Array } {
  const nearest = quantizeWeight(w, dims, axis, dtype, minAbsMax, options.reduceRange);
  const pre = options.precomputed?.get(name);
  const same =
    pre !== undefined &&
    pre.axis === axis &&
    pre.q.length === w.length &&
    (dtype === 'int8') === pre.q instanceof Int8Array &&
    pre.scale.length === nearest.scale.length &&
    pre.scale.every((s, i) => s === nearest.scale[i] && pre.zeroPoint[i] === nearest.zeroPoint[i]);
  return same ? { q: pre.q, scale: nearest.scale, zeroPoint: nearest.zeroPoint } : (nearest as { q: Int8Array | Uint8Array; scale: Float32Array; zeroPoint: Int32Array });
}

/**
 * Inserts x → QuantizeLinear → DequantizeLinear (per tensor, `p`'s type) and returns the DequantizeLinear output,
 * typed like x. Names: `<x><tag>_scale`, `_zero_point`, `_QuantizeLinear`, `_quantized`, `_DequantizeLinear`,
 * `_dequantized`, made unique. A 16-bit pair needs opset 21: call raiseOpsetFor16Bit() when the graph is done.
 */
export function addQdqPair(g: Graph, x: Value, p: Pick<ActivationQParams, 'scale' | 'zeroPoint' | 'dtype'>, tag = ''): Value {
  const base = `${x.name}${tag}`;
  const scale = g.addInitializer(Tensor.fromFloat32(g.uniqueName(`${base}_scale`), [], [p.scale]));
  const zp = g.addInitializer(Tensor.fromNumbers(g.uniqueName(`${base}_zero_point`), ONNX_DTYPE[p.dtype], [], [p.zeroPoint]));
  const q = g.addNode({ opType: 'QuantizeLinear', name: g.uniqueName(`${base}_QuantizeLinear`), inputs: [x, scale, zp], outputs: [g.uniqueName(`${base}_quantized`)] });
  const d = g.addNode({ opType: 'DequantizeLinear', name: g.uniqueName(`${base}_DequantizeLinear`), inputs: [q.output(0), scale, zp], outputs: [g.uniqueName(`${base}_dequantized`)] });
  const dq = d.output(0)!;
  dq.type = x.type;
  return dq;
}

/** Raises `model` to opset 21 when one of its QuantizeLinear nodes quantizes to a 16-bit type (the first opset that takes them). */
export function raiseOpsetFor16Bit(model: Model): void {
  const g = model.graph;
  const sixteen = g.nodes.some((n) => {
    const t = n.opType === 'QuantizeLinear' ? g.constantOf(n.input(2))?.dtype : undefined;
    return t === DataType.INT16 || t === DataType.UINT16;
  });
  if (sixteen) raiseOpsetTo21(model);
}

/**
 * Rewrites the graph by the plan. `qparams` holds the activations' parameters by tensor name (ties resolved by
 * the caller or here). Returns a report entry per quantized tensor.
 */
export function applyQdq(model: Model, plan: QdqPlan, qparams: Map<string, ActivationQParams>, options: QdqOptions): TensorReport[] {
  const g = model.graph;
  const report: TensorReport[] = [];
  // Resolve pass-through ties (chains are in graph order).
  for (const [out, from] of plan.ties) {
    const p = qparams.get(from);
    if (p) qparams.set(out, p);
  }
  const dqOf = new Map<Value, Value>();
  const pairFor = (v: Value): Value | undefined => {
    let dq = dqOf.get(v);
    if (dq) return dq;
    const p = qparams.get(v.name);
    if (!p) return undefined;
    dq = addQdqPair(g, v, p);
    dqOf.set(v, dq);
    report.push({ tensor: v.name, role: 'activation', dtype: p.dtype, granularity: 'per-tensor', scale: p.scale, zeroPoint: p.zeroPoint, min: p.min, max: p.max });
    return dq;
  };
  const weights = new Map<string, WeightQ>();
  const weightFor = (v: Value, axis: number | undefined, minAbsMax?: Float32Array): WeightQ => {
    const key = `${v.name}|${axis ?? 't'}${minAbsMax ? '|b' : ''}`;
    let wq = weights.get(key);
    if (wq) return wq;
    const t = v.initializer!;
    const dtype = weightDType(options, v.name);
    const { q, scale, zeroPoint } = weightCodes(t.asFloat32(), t.dims, axis, dtype, minAbsMax, options, v.name);
    const qi = g.addInitializer(new Tensor({ name: `${v.name}_quantized`, dtype: ONNX_DTYPE[dtype], dims: t.dims, data: new Uint8Array(q.buffer, q.byteOffset, q.byteLength) }));
    const dims = axis === undefined ? [] : [scale.length];
    const si = g.addInitializer(Tensor.fromFloat32(`${v.name}_scale`, dims, axis === undefined ? [scale[0]] : scale));
    const zi = g.addInitializer(Tensor.fromNumbers(`${v.name}_zero_point`, ONNX_DTYPE[dtype], dims, axis === undefined ? [zeroPoint[0]] : zeroPoint));
    const attrs = axis === undefined ? [] : [{ name: 'axis', type: 'int' as const, value: BigInt(axis) }];
    const d = g.addNode({ opType: 'DequantizeLinear', name: g.uniqueName(`${v.name}_DequantizeLinear`), inputs: [qi, si, zi], outputs: [g.uniqueName(`${v.name}_dequantized`)], attributes: attrs });
    wq = { dq: d.output(0)!, scale, axis };
    weights.set(key, wq);
    report.push({
      tensor: v.name,
      role: 'weight',
      dtype,
      granularity: axis === undefined ? 'per-tensor' : `per-axis(${axis})`,
      scale: axis === undefined ? scale[0] : Array.from(scale),
      zeroPoint: axis === undefined ? zeroPoint[0] : Array.from(zeroPoint),
    });
    return wq;
  };

  for (const role of plan.roles) {
    const n = role.node;
    // Inputs: activations first (the bias needs the input's scale).
    let inputScale: number | undefined;
    for (const s of role.activationSlots) {
      const v = n.input(s)!;
      const dq = pairFor(v);
      if (dq) {
        n.setInput(s, dq);
        if (s === 0) inputScale = qparams.get(v.name)!.scale;
      }
    }
    let weightQ: WeightQ | undefined;
    // |b| / (S_x · S_w) must fit int32: S_w ≥ |b| / (S_x · 2^30), i.e. the weight range ≥ 127 · that.
    let minAbsMax: Float32Array | undefined;
    if (role.biasSlot !== undefined && inputScale !== undefined) minAbsMax = weightFloorForBias(n.input(role.biasSlot)!.initializer!.toFloat32(), inputScale);
    for (const { slot, axis } of role.weightSlots) {
      const wq = weightFor(n.input(slot)!, axis, slot === 1 ? minAbsMax : undefined);
      n.setInput(slot, wq.dq);
      if (slot === 1) weightQ = wq;
    }
    if (role.biasSlot !== undefined && inputScale !== undefined && weightQ) {
      const bv = n.input(role.biasSlot)!;
      const bt = bv.initializer!;
      const b = quantizeBias(bt.toFloat32(), inputScale, weightQ.scale.length === 1 ? weightQ.scale[0] : weightQ.scale);
      const len = b.data.length;
      const qi = g.addInitializer(new Tensor({ name: `${bv.name}_quantized`, dtype: DataType.INT32, dims: [len], data: new Uint8Array(b.data.buffer) }));
      const perAxis = b.scale.length > 1;
      const si = g.addInitializer(Tensor.fromFloat32(`${bv.name}_scale`, perAxis ? [len] : [], b.scale));
      const zi = g.addInitializer(Tensor.fromNumbers(`${bv.name}_zero_point`, DataType.INT32, perAxis ? [len] : [], new Int32Array(perAxis ? len : 1)));
      const d = g.addNode({
        opType: 'DequantizeLinear',
        name: g.uniqueName(`${bv.name}_DequantizeLinear`),
        inputs: [qi, si, zi],
        outputs: [g.uniqueName(`${bv.name}_dequantized`)],
        attributes: perAxis ? [{ name: 'axis', type: 'int', value: 0n }] : [],
      });
      n.setInput(role.biasSlot, d.output(0));
      report.push({ tensor: bv.name, role: 'bias', dtype: 'int32', granularity: perAxis ? 'per-axis(0)' : 'per-tensor', scale: perAxis ? Array.from(b.scale) : b.scale[0], zeroPoint: 0, clipped: b.clipped });
    }
  }
  // A non-clamp activation after a quantized producer reads the producer's output through its pair.
  for (const role of plan.roles) {
    if (!role.pairOutputFor || !role.output) continue;
    const out = role.output;
    const dq = pairFor(out);
    if (!dq) continue;
    for (const c of role.pairOutputFor) c.inputs.forEach((v, i) => v === out && c.setInput(i, dq));
  }
  // An Add's implied clamp: its fp32 consumers (a Concat with a constant, ...) read the pair too, so that the
  // int8 Add's only consumer is its QuantizeLinear (the values differ from the clamp's by that rounding alone).
  for (const role of plan.roles) {
    const dq = role.clampReadsPair && role.output ? dqOf.get(role.output) : undefined;
    if (!dq) continue;
    for (const c of [...role.output!.consumers]) if (c.opType !== 'QuantizeLinear') c.inputs.forEach((v, i) => v === role.output && c.setInput(i, dq));
  }
  // Other outputs get their pair when a quantized consumer asks for it (above); fp32 consumers keep the float.
  g.removeDeadNodes();
  g.sort();
  raiseOpsetFor16Bit(model);
  return report;
}
