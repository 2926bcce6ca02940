/**
 * equalize-cross-layer: rescales the channels between two consecutive Convs so that both weights have the same
 * per-channel range (cross-layer equalization, Nagel et al. 2019, "Data-Free Quantization Through Weight
 * Equalization and Bias Correction"). The float model computes the same function; its weights quantize
 * better per tensor, because one scale no longer has to cover channels of very different magnitude.
 *
 *   Before:  x -> Conv(W1, b1) -> y -> f -> Conv(W2, b2) -> z
 *   After:   x -> Conv(W1', b1') -> y' -> f' -> Conv(W2', b2) -> z        (z unchanged)
 *
 *   For a positive s_i per channel i of y:  W1'[i] = W1[i] / s_i,  b1'[i] = b1[i] / s_i,  so y'_i = y_i / s_i;
 *   when f is positively homogeneous per channel (f(y / s) = f(y) / s for s > 0), f(y')_i = f(y)_i / s_i, and
 *   W2'[:, i] = W2[:, i] · s_i restores z. With r1_i = max |W1[i]| and r2_i = max |W2[:, i]|, the ranges become
 *   r1_i / s_i and r2_i · s_i; Nagel et al. show that the sum over channels of the precision each channel keeps
 *   under per-tensor quantization (r1_i' / R1' · r2_i' / R2') is largest when the two are equal:
 *
 *     r1_i / s_i = r2_i · s_i   =>   s_i = sqrt(r1_i / r2_i) = sqrt(r1_i · r2_i) / r2_i,   r1_i' = r2_i' = sqrt(r1_i · r2_i)
 *
 *   A Conv with `group` G reads input channel i through W2[o, i mod (C/G)] for the outputs o of group
 *   floor(i / (C/G)): a depthwise Conv (G = C) through W2[i] alone. Chains (1x1 -> depthwise -> 1x1) are
 *   equalized pair by pair and repeated: `equalizeCrossLayer()` runs rounds until every s_i is within 1e-3 of
 *   1 (2 rounds on BlazeFace and PP-OCRv4 det, 11 on PP-OCR cls, whose squeeze-excite Convs chain). s_i is
 *   clamped to [2^-16, 2^16]; a dead channel (r1_i or r2_i below 1e-6 of its weight's largest) keeps s_i = 1.
 *   Arithmetic in float64, rounded once to float32: outputs move by float32 rounding only (measured on the
 *   real models: at most 2.3e-5 of the largest output, the size of the fp32 difference between octet and
 *   onnxruntime on the same models). Power-of-two s_i would keep outputs bit for bit, but equalize less
 *   (within a factor sqrt(2)) and measured worse on BlazeFace, so the exact s_i are used.
 *
 * What f may be (each exactly commutes with a positive per-channel scale, so the model's function is kept):
 * - nothing (Conv -> Conv), Relu, LeakyRelu, PRelu (the slope is unchanged: max(x/s, 0) + a·min(x/s, 0)),
 *   MaxPool, AveragePool, GlobalAveragePool (per channel, and max/mean commute with a positive scale);
 * - Clip only as a Relu: lower bound 0 or none, no upper bound. Relu6 = Clip(0, 6) is *not* accepted: clip(y/s,
 *   0, 6) = clip(y, 0, 6·s)/s, so the upper bound would have to become 6·s_i per channel, which Clip's scalar
 *   bound cannot hold; keeping 6 changes the model wherever y_i > 6·min(1, s_i). Likewise HardSwish,
 *   HardSigmoid, Sigmoid, Tanh and other non-homogeneous activations stop the match;
 * - Mul by a constant (a scalar or per-channel factor commutes with a per-channel scale);
 * - Add of a constant c (scalar or per channel): c is rewritten per channel as c_i / s_i (Paddle's "learnable
 *   affine" blocks, y · a + c, sit between the depthwise and pointwise Convs of PP-OCRv4).
 * Each value on the way has one consumer (the next node) and is not a graph output; W1, b1, W2 and the Add
 * constants are float32 initializers read by this pair only (shared weights are left alone).
 */
import type { Graph } from '../ir/graph.js';
import { invalidParameterError } from '../errors.js';
import { Model } from '../ir/model.js';
import type { Node } from '../ir/node.js';
import { Tensor } from '../ir/tensor.js';
import { tensorType, type Value } from '../ir/value.js';
import { DataType } from '../onnx/dtype.js';
import { expectInteger, expectKnownKeys, isPlainObject } from '../validate.js';
import { allGraphs, isDefaultDomain, type Pass, type PassContext } from './pass.js';

export interface EqualizePair {
  first: Node;
  second: Node;
  /** The nodes between them, in order. */
  between: Node[];
}

const MIN_SCALE = 2 ** -16;
const MAX_SCALE = 2 ** 16;
/**
 * A channel whose weight range is below this times the largest channel's of the same weight is dead (PP-OCRv4
 * det has channels at 1e-34): its output is its bias, and dividing that by a tiny s_i would blow it up.
 */
const DEAD = 1e-6;
/** A rewrite whose scales are all within this of 1 is not applied (converged). */
const TOLERANCE = 1e-3;
const MAX_BETWEEN = 4;

const HOMOGENEOUS = new Set(['Relu', 'LeakyRelu', 'PRelu', 'MaxPool', 'AveragePool', 'GlobalAveragePool']);

function f32(graph: Graph, v: Value | null): Tensor | undefined {
  const t = graph.constantOf(v);
  return t && t.dtype === DataType.FLOAT ? t : undefined;
}

/** Read by exactly one slot of one node (so it can be changed in place). */
function ownedBy(v: Value | null, node: Node): boolean {
  return v !== null && v.consumers.length === 1 && v.consumers[0] === node && !v.isGraphOutput && !v.isGraphInput;
}

function scalar(graph: Graph, v: Value | null): number | undefined {
  const t = graph.constantOf(v);
  return t && t.size === 1 && (t.dtype === DataType.FLOAT || t.dtype === DataType.DOUBLE) ? t.toNumbers()[0] : undefined;
}

/** A constant that is a scalar or holds one value per channel of a rank-`rank` NC... tensor. */
function perChannelConstant(t: Tensor, channels: number, rank: number): boolean {
  if (t.size === 1) return t.rank <= rank;
  if (t.size !== channels || t.rank > rank) return false;
  const nonOne = t.dims.map((d, i) => [d, i] as const).filter(([d]) => d !== 1);
  return nonOne.length === 1 && rank - t.rank + nonOne[0][1] === 1;
}

/** The other input of a two-input Mul/Add whose one input is `y`, when it is a suitable constant. */
function constantOperand(graph: Graph, n: Node, y: Value, channels: number, rank: number): { slot: number; tensor: Tensor } | undefined {
  if (n.inputs.length !== 2 || n.input(0) === n.input(1)) return undefined;
  const slot = n.input(0) === y ? 1 : 0;
  const t = f32(graph, n.input(slot));
  return t && perChannelConstant(t, channels, rank) ? { slot, tensor: t } : undefined;
}

/** True when `n` (reading `y`) commutes with a positive per-channel scale of y; see the header. */
function commutes(graph: Graph, n: Node, y: Value, channels: number, rank: number, opset: number): boolean {
  if (!isDefaultDomain(n.domain) || n.graph !== graph || n.outputs.filter((o) => o !== null).length !== 1) return false;
  if (HOMOGENEOUS.has(n.opType)) {
    if (n.input(0) !== y) return false;
    if (n.opType === 'PRelu') return n.input(1) !== y && graph.constantOf(n.input(1)) !== undefined;
    if (n.opType === 'MaxPool') return n.outputs.length === 1;
    return true;
  }
  if (n.opType === 'Clip') {
    if (n.input(0) !== y) return false;
    const lo = opset < 11 ? n.getFloat('min', -Infinity) : n.input(1) ? scalar(graph, n.input(1)) : -Infinity;
    const hi = opset < 11 ? n.getFloat('max', Infinity) : n.input(2) ? scalar(graph, n.input(2)) : Infinity;
    return (lo === 0 || lo === -Infinity) && hi === Infinity;
  }
  if (n.opType === 'Mul') return constantOperand(graph, n, y, channels, rank) !== undefined;
  if (n.opType === 'Add') {
    const c = constantOperand(graph, n, y, channels, rank);
    return c !== undefined && ownedBy(n.input(c.slot), n);
  }
  return false;
}

/** The pair starting at Conv `first`, if any. */
function pairFrom(graph: Graph, first: Node, opset: number): EqualizePair | undefined {
  if (first.opType !== 'Conv' || !isDefaultDomain(first.domain) || first.outputs.length !== 1) return undefined;
  const w1 = f32(graph, first.input(1));
  if (!w1 || w1.rank < 3 || !ownedBy(first.input(1), first)) return undefined;
  const b1 = first.input(2);
  if (b1 && (!f32(graph, b1) || !ownedBy(b1, first) || graph.constantOf(b1)!.size !== w1.dims[0])) return undefined;
  const channels = w1.dims[0];
  const rank = w1.rank;
  const between: Node[] = [];
  let y = first.output(0);
  while (y && y.consumers.length === 1 && !y.isGraphOutput) {
    const n = y.consumers[0];
    if (n.opType === 'Conv' && isDefaultDomain(n.domain) && n.graph === graph) {
      if (n.input(0) !== y || n.inputs.indexOf(y, 1) !== -1) return undefined;
      const w2 = f32(graph, n.input(1));
      if (!w2 || w2.rank !== rank || !ownedBy(n.input(1), n)) return undefined;
      if (w2.dims[1] * n.getInt('group', 1) !== channels) return undefined;
      return { first, second: n, between };
    }
    if (between.length >= MAX_BETWEEN || !commutes(graph, n, y, channels, rank, opset)) return undefined;
    between.push(n);
    y = n.output(0);
  }
  return undefined;
}

/** max |W[i, ...]| per output channel i (axis 0). */
export function outputChannelRanges(w: Tensor): Float64Array {
  const v = w.asFloat32();
  const channels = w.dims[0];
  const per = v.length / channels;
  const r = new Float64Array(channels);
  for (let c = 0; c < channels; c++) {
    let m = 0;
    for (let k = c * per; k < (c + 1) * per; k++) m = Math.max(m, Math.abs(v[k]));
    r[c] = m;
  }
  return r;
}

/** max over the weights that read input channel i, for a Conv weight [C_out, C_in / G, k...] with `group` G. */
export function inputChannelRanges(w: Tensor, group: number): Float64Array {
  const v = w.asFloat32();
  const [cout, cinPerGroup] = w.dims;
  const k = v.length / (cout * cinPerGroup);
  const coutPerGroup = cout / group;
  const r = new Float64Array(cinPerGroup * group);
  for (let o = 0; o < cout; o++) {
    const base = Math.floor(o / coutPerGroup) * cinPerGroup;
    for (let j = 0; j < cinPerGroup; j++) {
      let m = r[base + j];
      const start = (o * cinPerGroup + j) * k;
      for (let t = start; t < start + k; t++) m = Math.max(m, Math.abs(v[t]));
      r[base + j] = m;
    }
  }
  return r;
}

/** s_i = sqrt(r1_i / r2_i), clamped; 1 for a dead channel (range below DEAD times the tensor's largest). */
export function equalizationScales(r1: Float64Array, r2: Float64Array): Float64Array {
  let m1 = 0;
  let m2 = 0;
  for (let i = 0; i < r1.length; i++) {
    m1 = Math.max(m1, r1[i]);
    m2 = Math.max(m2, r2[i]);
  }
  const s = new Float64Array(r1.length);
  for (let i = 0; i < s.length; i++) {
    const dead = !(r1[i] > DEAD * m1) || !(r2[i] > DEAD * m2);
    s[i] = dead ? 1 : Math.min(MAX_SCALE, Math.max(MIN_SCALE, Math.sqrt(r1[i] / r2[i])));
  }
  return s;
}

function replace(graph: Graph, v: Value, dims: readonly number[], data: Float32Array): void {
  graph.setInitializer(v, Tensor.fromFloat32(v.name, dims, data));
  v.type = tensorType(DataType.FLOAT, dims);
}

/** Equalizes one pair in place; returns the scales, or undefined when they are all within TOLERANCE of 1. */
export function equalizePair(pair: EqualizePair, graph: Graph): Float64Array | undefined {
  const { first, second, between } = pair;
  const w1 = f32(graph, first.input(1))!;
  const w2 = f32(graph, second.input(1))!;
  const group = second.getInt('group', 1);
  const s = equalizationScales(outputChannelRanges(w1), inputChannelRanges(w2, group));
  if (s.every((x) => Math.abs(x - 1) < TOLERANCE)) return undefined;
  const channels = s.length;

  const v1 = w1.asFloat32();
  const per1 = v1.length / channels;
  const n1 = new Float32Array(v1.length);
  for (let i = 0; i < v1.length; i++) n1[i] = v1[i] / s[Math.floor(i / per1)];
  replace(graph, first.input(1)!, w1.dims, n1);
  const b1 = first.input(2);
  if (b1) {
    const bt = graph.constantOf(b1)!;
    const bv = bt.asFloat32();
    replace(graph, b1, bt.dims, Float32Array.from(bv, (x, i) => x / s[i]));
  }
  const rank = w1.rank;
  let y = first.output(0)!;
  for (const n of between) {
    if (n.opType === 'Add') {
      const c = constantOperand(graph, n, y, channels, rank)!;
      const cv = c.tensor.asFloat32();
      const dims = [channels, ...new Array<number>(rank - 2).fill(1)];
      replace(graph, n.input(c.slot)!, dims, Float32Array.from(s, (x, i) => cv[cv.length === 1 ? 0 : i] / x));
    }
    y = n.output(0)!;
  }
  const v2 = w2.asFloat32();
  const [cout, cinPerGroup] = w2.dims;
  const k = v2.length / (cout * cinPerGroup);
  const coutPerGroup = cout / group;
  const n2 = new Float32Array(v2.length);
  for (let i = 0; i < v2.length; i++) {
    const o = Math.floor(i / (cinPerGroup * k));
    const j = Math.floor(i / k) % cinPerGroup;
    n2[i] = v2[i] * s[Math.floor(o / coutPerGroup) * cinPerGroup + j];
  }
  replace(graph, second.input(1)!, w2.dims, n2);
  return s;
}

export const equalizeCrossLayerPass: Pass<EqualizePair> = {
  name: 'equalize-cross-layer',
  description: 'Consecutive Convs with a positively homogeneous op between them get equal per-channel weight ranges',
  match(graph, ctx) {
    const out: EqualizePair[] = [];
    for (const n of graph.nodes) {
      const p = pairFrom(graph, n, ctx.opset);
      if (p) out.push(p);
    }
    return out;
  },
  rewrite(pair, graph, ctx) {
    if (!graph.nodes.includes(pair.first) || !graph.nodes.includes(pair.second)) return undefined;
    // The graph may have changed since match(): check again.
    const again = pairFrom(graph, pair.first, ctx.opset);
    if (!again || again.second !== pair.second) return undefined;
    const s = equalizePair(again, graph);
    if (!s) return undefined;
    let lo = Infinity;
    let hi = 0;
    for (const x of s) {
      lo = Math.min(lo, x);
      hi = Math.max(hi, x);
    }
    const via = again.between.map((n) => n.opType).join(' -> ');
    return `${pair.first.label} -> ${via ? `${via} -> ` : ''}${pair.second.label}: ${s.length} channels rescaled by ${lo.toPrecision(3)} .. ${hi.toPrecision(3)}`;
  },
};

export interface EqualizeOptions {
  /** Most rounds over all pairs (default 20); stops earlier when a round changes nothing. */
  maxRounds?: number;
}

export interface EqualizeResult {
  /** Distinct pairs equalized (at least once). */
  pairs: number;
  /** Rounds run (the last one changed nothing unless maxRounds was reached). */
  rounds: number;
  /** Largest factor by which a channel of a first Conv was divided, over all rounds, combined: max(s, 1/s). */
  largestScale: number;
  /** One line per pair: the nodes and the op types between them. */
  changes: string[];
}

/**
 * Equalizes every pair in every graph of `model`, in place, repeating rounds until nothing changes (chains
 * converge geometrically). The model's function is unchanged up to float32 rounding.
 */
export function equalizeCrossLayer(model: Model, options: EqualizeOptions = {}): EqualizeResult {
  if (!(model instanceof Model)) throw invalidParameterError('model', 'Model', model);
  if (!isPlainObject(options)) throw invalidParameterError('options', 'object', options);
  expectKnownKeys('options', options, ['maxRounds']);
  const maxRounds = options.maxRounds === undefined ? 20 : expectInteger('options.maxRounds', options.maxRounds, 1, 1000);
  const combined = new Map<Node, Float64Array>();
  const changes = new Map<Node, string>();
  let rounds = 0;
  for (let round = 0; round < maxRounds; round++) {
    rounds++;
    let changed = 0;
    for (const graph of allGraphs(model)) {
      const ctx: PassContext = { model, opset: model.opsetVersion('') ?? 13, options: {} };
      for (const pair of equalizeCrossLayerPass.match(graph, ctx)) {
        const s = equalizePair(pair, graph);
        if (!s) continue;
        changed++;
        const prev = combined.get(pair.first);
        combined.set(pair.first, prev ? prev.map((x, i) => x * s[i]) : s);
        const via = pair.between.map((n) => n.opType).join(' -> ');
        changes.set(pair.first, `${pair.first.label} -> ${via ? `${via} -> ` : ''}${pair.second.label} (${s.length} channels)`);
      }
    }
    if (changed === 0) break;
  }
  let largestScale = 1;
  for (const s of combined.values()) for (const x of s) largestScale = Math.max(largestScale, x, 1 / x);
  return { pairs: combined.size, rounds, largestScale, changes: [...changes.values()] };
}
