/**
 * fuse-affine-into-conv: a Mul by a constant and/or an Add of a constant, per channel or scalar, right after a
 * Conv, ConvTranspose or Gemm is folded into its weights and bias (PP-LCNet's "learnable affine block" after
 * each convolution is y·s + c with scalar s and c).
 *
 *   Before:  x -> Conv(W, b) -> y -> Mul(s) -> Add(c) -> z          (either of Mul/Add may be missing)
 *   After:   x -> Conv(W', b') -> z
 *
 *   z = s[k]·(W·x + b)[k] + c[k]  per output channel k:  W'[k] = s[k]·W[k],  b'[k] = s[k]·b[k] + c[k].
 *
 * Applies when each intermediate value has no other use and the constants are float32 of one element or one
 * per output channel (laid out on the channel axis). Arithmetic in float64, rounded once to float32.
 */
import { DataType } from '../onnx/dtype.js';
import type { Graph } from '../ir/graph.js';
import type { Node } from '../ir/node.js';
import type { Value } from '../ir/value.js';
import { channelValues, foldAffine, outChannels } from './fuse-bn-into-conv.js';
import { isDefaultDomain, type Pass } from './pass.js';

interface Match {
  producer: Node;
  mul?: Node;
  add?: Node;
}

const PRODUCERS = new Set(['Conv', 'ConvTranspose', 'Gemm']);

/** The sole consumer of `v` if it is a default-domain Mul/Add with a constant other operand. */
function affineAfter(graph: Graph, v: Value, op: 'Mul' | 'Add'): Node | undefined {
  if (v.consumers.length !== 1 || graph.outputs.includes(v)) return undefined;
  const n = v.consumers[0];
  if (n.opType !== op || !isDefaultDomain(n.domain) || n.graph !== graph) return undefined;
  const other = n.input(0) === v ? n.input(1) : n.input(0);
  const t = graph.constantOf(other);
  return t && t.dtype === DataType.FLOAT ? n : undefined;
}

export const fuseAffineIntoConv: Pass<Match> = {
  name: 'fuse-affine-into-conv',
  description: 'Mul/Add by per-channel or scalar constants after Conv, ConvTranspose or Gemm are folded into it',
  match(graph) {
    const out: Match[] = [];
    for (const p of graph.nodes) {
      if (!PRODUCERS.has(p.opType) || !isDefaultDomain(p.domain) || p.outputs.length !== 1 || !p.output(0)) continue;
      if (p.opType === 'Gemm' && p.getInt('transA', 0) !== 0) continue;
      const channels = outChannels(p, graph);
      if (channels === undefined || (p.input(2) && !graph.constantOf(p.input(2)))) continue;
      const y = p.output(0)!;
      const mul = affineAfter(graph, y, 'Mul');
      const add = affineAfter(graph, mul ? mul.output(0)! : y, 'Add');
      if (mul && !channelValues(graph, mul, y, channels)) continue;
      if (add && !channelValues(graph, add, mul ? mul.output(0)! : y, channels)) continue;
      if (mul || add) out.push({ producer: p, mul, add });
    }
    return out;
  },
  rewrite({ producer: p, mul, add }, graph) {
    if (!graph.nodes.includes(p) || (mul && !graph.nodes.includes(mul)) || (add && !graph.nodes.includes(add))) return undefined;
    const channels = outChannels(p, graph);
    if (channels === undefined) return undefined;
    const y = p.output(0)!;
    const scale = mul ? channelValues(graph, mul, y, channels) : undefined;
    const shift = add ? channelValues(graph, add, mul ? mul.output(0)! : y, channels) : undefined;
    if ((mul && !scale) || (add && !shift)) return undefined;
    const at = (t: Float32Array | undefined, k: number, fallback: number): number => (t ? t[t.length === 1 ? 0 : k] : fallback);
    const s = Float64Array.from({ length: channels }, (_, k) => at(scale, k, 1));
    const c = Float64Array.from({ length: channels }, (_, k) => at(shift, k, 0));
    const last = add ?? mul!;
    if (!foldAffine(graph, p, channels, s, c, undefined, last.name || last.output(0)!.name)) return undefined;
    const z = last.output(0)!;
    const params = [...(mul?.inputs ?? []), ...(add?.inputs ?? [])].filter((v) => v && v.initializer);
    if (add) graph.removeNode(add);
    if (mul) graph.removeNode(mul);
    p.setOutput(0, z);
    graph.dropIfUnused(y);
    for (const v of params) if (v && v.consumers.length === 0 && !graph.inputs.includes(v) && !graph.outputs.includes(v)) graph.removeInitializer(v);
    return `${[mul, add].filter(Boolean).map((n) => n!.label).join(' and ')} folded into ${p.label}`;
  },
};
