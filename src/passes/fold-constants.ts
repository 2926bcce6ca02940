/**
 * fold-constants: nodes whose inputs are all constants are computed once and become initializers; Shape of
 * a value whose shape is static (after shape inference) becomes a constant, and so does Gather/Slice of a
 * Shape when the dims it picks are static. Shape subgraphs (Shape -> Gather -> Unsqueeze -> Concat ->
 * Reshape) thus collapse to a constant target shape.
 *
 *   Before:  Shape(x: [1, 96, 8, 80]) -> Gather(idx=0) -> Unsqueeze -> Concat(.., [-1]) -> Reshape(y, s)
 *   After:   initializer s = [1, -1]                                                   -> Reshape(y, s)
 *
 * Only what the evaluator computes exactly (integer arithmetic, data movement, float ops that round once) is
 * folded, and nothing that would materialise more than 2^20 elements.
 */
import { evaluateNode, MAX_FOLD_ELEMENTS } from '../ir/evaluate.js';
import type { Graph } from '../ir/graph.js';
import type { Node } from '../ir/node.js';
import { Tensor } from '../ir/tensor.js';
import { isDefaultDomain, type Pass } from './pass.js';

/** Ops never folded: random, or a graph input override would change them. */
const NEVER = new Set(['RandomNormal', 'RandomUniform', 'RandomNormalLike', 'RandomUniformLike', 'Multinomial', 'Bernoulli', 'If', 'Loop', 'Scan', 'Constant']);

function staticShape(node: Node): number[] | undefined {
  const s = node.input(0)?.shape;
  return s && s.every((d) => typeof d === 'number') ? (s as number[]) : undefined;
}

function shapeRange(node: Node, rank: number): [number, number] {
  let s = node.getInt('start', 0);
  let e = node.hasAttr('end') ? node.getInt('end') : rank;
  if (s < 0) s += rank;
  if (e < 0) e += rank;
  return [Math.min(Math.max(s, 0), rank), Math.min(Math.max(e, 0), rank)];
}

/** The value of node's output 0 if it can be computed now. */
function foldable(node: Node, graph: Graph, opset: number): Tensor | undefined {
  if (!isDefaultDomain(node.domain) || NEVER.has(node.opType) || node.outputs.length !== 1 || !node.output(0)) return undefined;
  if (node.subgraphs().length > 0) return undefined;
  if (node.opType === 'Shape') {
    const dims = staticShape(node);
    if (!dims) return undefined;
    const [s, e] = shapeRange(node, dims.length);
    return Tensor.fromInt64('', [e - s], dims.slice(s, e));
  }
  // Gather(Shape(x), const) where the picked dims are static.
  if ((node.opType === 'Gather' || node.opType === 'Slice') && node.input(0)?.producer?.opType === 'Shape') {
    const shapeNode = node.input(0)!.producer!;
    const xs = shapeNode.input(0)?.shape;
    const idx = graph.constantOf(node.input(1));
    if (xs && idx && node.opType === 'Gather' && shapeNode.getInt('start', 0) === 0 && !shapeNode.hasAttr('end')) {
      const picks = idx.toNumbers().map((i) => (i < 0 ? i + xs.length : i));
      const dims = picks.map((i) => xs[i]);
      if (dims.every((d) => typeof d === 'number')) return Tensor.fromInt64('', idx.dims, dims as number[]);
    }
  }
  const inputs = node.inputs.map((v) => (v ? (graph.constantOf(v) ?? null) : null));
  if (node.inputs.length === 0 || node.inputs.some((v, i) => v !== null && inputs[i] === null)) return undefined;
  const r = evaluateNode(node, inputs, opset)?.[0];
  if (!r || r.size > MAX_FOLD_ELEMENTS) return undefined;
  return r;
}

export const foldConstants: Pass<Node> = {
  name: 'fold-constants',
  description: 'constant subgraphs (shape computations) are computed once',
  match(graph, ctx) {
    return graph.nodes.filter((n) => !graph.outputs.includes(n.output(0)!) && foldable(n, graph, ctx.opset) !== undefined);
  },
  rewrite(node, graph, ctx) {
    const t = foldable(node, graph, ctx.opset);
    const out = node.output(0);
    if (!t || !out) return undefined;
    const label = node.label;
    const tensor = new Tensor({ name: out.name, dtype: t.dtype, dims: t.dims, data: new Uint8Array(t.data), strings: t.strings });
    graph.removeNode(node);
    if (graph.values.get(out.name) !== out) return undefined;
    graph.setInitializer(out, tensor);
    const preview = tensor.size <= 8 && tensor.dtype !== 8 ? ` = [${tensor.toNumbers().join(', ')}]` : '';
    return `${label} -> constant '${out.name}' ${tensor.dtypeName} [${tensor.dims.join(', ')}]${preview}`;
  },
};
