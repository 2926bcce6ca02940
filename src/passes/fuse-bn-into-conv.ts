/**
 * fuse-bn-into-conv: BatchNormalization (inference) after Conv, ConvTranspose or Gemm is folded into the
 * weights and bias of that node.
 *
 *   Before:  x -> Conv(W, b) -> y -> BatchNormalization(gamma, beta, mean, var, eps) -> z
 *   After:   x -> Conv(W', b') -> z
 *
 *   z = gamma * (y - mean) / sqrt(var + eps) + beta,  y = W * x + b.  With s = gamma / sqrt(var + eps), per
 *   output channel c:  W'[c] = s[c] * W[c],  b'[c] = s[c] * (b[c] - mean[c]) + beta[c].
 *   ConvTranspose weights are [C_in, C_out / group, k...]: output channel c = g * (C_out / group) + j scales
 *   W[i, j] for the inputs i of group g. Gemm (z = alpha * A B' + beta_g * C, BN over dim 1 of the 2-D
 *   output) scales the columns of B' and sets C' = s * (beta_g * C - mean) + beta, beta_g' = 1.
 *
 * A per-channel Add between the two (Paddle exports ConvTranspose + Add(bias) + BatchNormalization) is taken
 * as part of the bias: b = b_conv + b_add, and the Add goes too.
 *
 * Applies when y has no other use, W/b and the BN parameters are float32 constants, and BN has one output.
 * Weights used elsewhere are copied, not changed in place. Arithmetic in float64, rounded once to float32.
 */
import { DataType } from '../onnx/dtype.js';
import type { Graph } from '../ir/graph.js';
import type { Node } from '../ir/node.js';
import { Tensor } from '../ir/tensor.js';
import type { Value } from '../ir/value.js';
import { isDefaultDomain, type Pass } from './pass.js';

interface Match {
  bn: Node;
  producer: Node;
  /** A per-channel constant Add between producer and bn. */
  add?: Node;
}

/**
 * The per-channel values of the constant operand of a binary node reading `conv` ([C], [C,1,1], [1,C,1,1] ...,
 * or one value for every channel), or undefined.
 */
export function channelValues(graph: Graph, add: Node, conv: Value, channels: number): Float32Array | undefined {
  const other = add.input(0) === conv ? add.input(1) : add.input(0);
  const t = f32(graph, other);
  if (!t) return undefined;
  // A scalar (any rank, one element) applies to every channel, unless it would broadcast the output's rank up.
  if (t.size === 1 && channels !== 1) return t.rank <= (conv.shape?.length ?? 4) ? t.asFloat32() : undefined;
  if (t.size !== channels) return undefined;
  const rank = conv.shape?.length ?? 4;
  const nonOne = t.dims.map((d, i) => [d, i] as const).filter(([d]) => d !== 1);
  // The channel axis (1 of NC...) after right-aligned broadcasting.
  if (channels > 1 && (nonOne.length !== 1 || rank - t.rank + nonOne[0][1] !== 1)) return undefined;
  return t.asFloat32();
}

function f32(graph: Graph, v: Value | null): Tensor | undefined {
  const t = graph.constantOf(v);
  return t && t.dtype === DataType.FLOAT ? t : undefined;
}

function bnParams(bn: Node, graph: Graph, channels: number): { s: Float64Array; shift: Float64Array } | undefined {
  const [gamma, beta, mean, variance] = [1, 2, 3, 4].map((i) => f32(graph, bn.input(i)));
  if (!gamma || !beta || !mean || !variance) return undefined;
  if ([gamma, beta, mean, variance].some((t) => t.size !== channels)) return undefined;
  const eps = Math.fround(bn.getFloat('epsilon', 1e-5));
  const g = gamma.asFloat32();
  const b = beta.asFloat32();
  const m = mean.asFloat32();
  const v = variance.asFloat32();
  const s = new Float64Array(channels);
  const shift = new Float64Array(channels);
  for (let c = 0; c < channels; c++) {
    s[c] = g[c] / Math.sqrt(v[c] + eps);
    shift[c] = b[c] - s[c] * m[c];
  }
  return { s, shift };
}

export function outChannels(p: Node, graph: Graph): number | undefined {
  if (p.opType === 'Conv') return f32(graph, p.input(1))?.dims[0];
  if (p.opType === 'ConvTranspose') {
    const w = f32(graph, p.input(1));
    return w ? w.dims[1] * p.getInt('group', 1) : undefined;
  }
  const b = f32(graph, p.input(1));
  if (!b || b.rank !== 2) return undefined;
  return p.getInt('transB', 0) ? b.dims[0] : b.dims[1];
}

/**
 * Folds z = s[c]·y + shift[c] (per output channel c) into the Conv/ConvTranspose/Gemm `p` producing y:
 * W' = s·W, b' = s·(b + extra) + shift. Weights or biases shared with other nodes are copied. False when the
 * bias cannot be read as per-channel values.
 */
export function foldAffine(graph: Graph, p: Node, channels: number, s: Float64Array, shift: Float64Array, extra: Float32Array | undefined, label: string): boolean {
  const w = f32(graph, p.input(1));
  if (!w) return false;
  const wv = w.asFloat32();
  const nw = new Float32Array(wv.length);
  if (p.opType === 'Conv') {
    const per = wv.length / channels;
    for (let i = 0; i < wv.length; i++) nw[i] = wv[i] * s[Math.floor(i / per)];
  } else if (p.opType === 'ConvTranspose') {
    const group = p.getInt('group', 1);
    const [cin, coutPerGroup] = w.dims;
    const k = wv.length / (cin * coutPerGroup);
    const cinPerGroup = cin / group;
    for (let i = 0; i < wv.length; i++) {
      const ci = Math.floor(i / (coutPerGroup * k));
      const j = Math.floor(i / k) % coutPerGroup;
      nw[i] = wv[i] * s[Math.floor(ci / cinPerGroup) * coutPerGroup + j];
    }
  } else {
    const transB = p.getInt('transB', 0) === 1;
    const [r, c] = w.dims;
    for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) nw[i * c + j] = wv[i * c + j] * s[transB ? i : j];
  }
  // Bias: Conv/ConvTranspose b[c]; Gemm beta_g * C broadcast to [channels].
  const nb = new Float32Array(channels);
  const bias = f32(graph, p.input(2));
  let bv: Float64Array = new Float64Array(channels);
  if (bias) {
    const raw = bias.asFloat32();
    const scale = p.opType === 'Gemm' ? Math.fround(p.getFloat('beta', 1)) : 1;
    if (p.opType === 'Gemm' && !(bias.size === 1 || bias.size === channels)) return false;
    if (p.opType === 'Gemm' && bias.rank === 2 && bias.dims[0] !== 1) return false;
    bv = Float64Array.from({ length: channels }, (_, c) => scale * raw[bias.size === 1 ? 0 : c]);
  }
  if (extra) for (let c = 0; c < channels; c++) bv[c] += extra[extra.length === 1 ? 0 : c];
  for (let c = 0; c < channels; c++) nb[c] = s[c] * bv[c] + shift[c];

  const wValue = p.input(1)!;
  const wName = wValue.consumers.length === 1 ? wValue.name : graph.uniqueName(`${wValue.name}_folded`);
  const newW = Tensor.fromFloat32(wName, w.dims, nw);
  if (wValue.consumers.length === 1) wValue.initializer = newW;
  else p.setInput(1, graph.addInitializer(newW));
  const bValue = p.input(2);
  const newB = Tensor.fromFloat32('', [channels], nb);
  if (bValue && bValue.consumers.length === 1 && bValue.initializer!.size === channels && bValue.initializer!.rank === 1) {
    newB.name = bValue.name;
    bValue.initializer = newB;
  } else {
    newB.name = graph.uniqueName(`${label}_bias`);
    p.setInput(2, graph.addInitializer(newB));
    if (bValue) graph.dropIfUnused(bValue);
  }
  if (p.opType === 'Gemm') p.setFloat('beta', 1);
  return true;
}

export const fuseBnIntoConv: Pass<Match> = {
  name: 'fuse-bn-into-conv',
  description: 'BatchNormalization is folded into the preceding Conv, ConvTranspose or Gemm',
  match(graph) {
    const out: Match[] = [];
    for (const bn of graph.nodes) {
      if (bn.opType !== 'BatchNormalization' || !isDefaultDomain(bn.domain)) continue;
      if (bn.outputs.filter((o) => o !== null).length !== 1 || bn.getInt('training_mode', 0) !== 0) continue;
      let y = bn.input(0);
      let p = y?.producer;
      let add: Node | undefined;
      if (y && p && p.opType === 'Add' && isDefaultDomain(p.domain) && y.consumers.length === 1 && !graph.outputs.includes(y)) {
        const conv = [p.input(0), p.input(1)].find((v) => v?.producer && ['Conv', 'ConvTranspose'].includes(v.producer.opType) && v.producer.graph === graph);
        const ch = conv ? outChannels(conv.producer!, graph) : undefined;
        if (conv && ch !== undefined && channelValues(graph, p, conv, ch)) {
          add = p;
          y = conv;
          p = conv.producer;
        }
      }
      if (!y || !p || p.graph !== graph || !isDefaultDomain(p.domain) || !['Conv', 'ConvTranspose', 'Gemm'].includes(p.opType)) continue;
      if (y.consumers.length !== 1 || graph.outputs.includes(y) || p.outputs.length !== 1) continue;
      const channels = outChannels(p, graph);
      if (channels === undefined || !bnParams(bn, graph, channels)) continue;
      const bias = p.input(2);
      if (bias && !f32(graph, bias)) continue;
      if (p.opType === 'Gemm' && (p.getInt('transA', 0) !== 0 || (y.shape && y.shape.length !== 2))) continue;
      out.push(add ? { bn, producer: p, add } : { bn, producer: p });
    }
    return out;
  },
  rewrite({ bn, producer: p, add }, graph) {
    if (!graph.nodes.includes(bn) || !graph.nodes.includes(p) || (add && !graph.nodes.includes(add))) return undefined;
    const channels = outChannels(p, graph);
    if (channels === undefined) return undefined;
    const bnp = bnParams(bn, graph, channels);
    if (!bnp) return undefined;
    const extra = add ? channelValues(graph, add, p.output(0)!, channels) : undefined;
    if (add && !extra) return undefined;
    const bValue = p.input(2);
    if (!foldAffine(graph, p, channels, bnp.s, bnp.shift, extra, bn.name || bn.output(0)!.name)) return undefined;
    const z = bn.outputs.find((o) => o !== null)!;
    const y = p.output(0)!;
    const message = `${bn.label}${add ? ` (and bias ${add.label})` : ''} folded into ${p.label}`;
    const params = [...bn.inputs.slice(1), ...(add ? add.inputs : [])];
    graph.removeNode(bn);
    if (add) graph.removeNode(add);
    p.setOutput(0, z);
    graph.dropIfUnused(y);
    for (const v of [...params, bValue]) if (v && v.initializer && v.consumers.length === 0 && !graph.inputs.includes(v) && !graph.outputs.includes(v)) graph.removeInitializer(v);
    return message;
  },
};
