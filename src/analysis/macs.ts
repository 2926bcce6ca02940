/**
 * Multiply-accumulates of one node per sample, from the shapes of its tensors (shape inference):
 *
 *   Conv           |Y| · C_in/group · k_h · k_w        = |Y| · |W| / W[0]
 *   ConvTranspose  |X| · C_out/group · k_h · k_w       = |X| · |W| / W[0]
 *   Gemm           |Y| · K  (K = A[0] with transA, else A[1])
 *   MatMul         |Y| · K  (K = the last dim of A)
 * Other ops count 0: elementwise work is small next to these and is not what int8 speeds up.
 */
import type { Model } from '../ir/model.js';
import type { Node } from '../ir/node.js';
import { inferShapes } from '../ir/shape-inference.js';
import type { Value } from '../ir/value.js';
import { loadModel, serializeModel } from '../onnx/io.js';

/** Dims of a value when they are all known. */
export type DimsOf = (v: Value | null) => readonly number[] | undefined;

function staticDims(v: Value | null): readonly number[] | undefined {
  const s = v?.shape;
  return s && s.every((d) => typeof d === 'number') ? (s as number[]) : undefined;
}

function product(dims: readonly number[]): number {
  let p = 1;
  for (const d of dims) p *= d;
  return p;
}

export const MAC_OP_TYPES: readonly string[] = ['Conv', 'ConvTranspose', 'Gemm', 'MatMul'];

/** MACs of `node` per sample; 0 for ops without multiply-accumulates or when a shape is unknown. */
export function nodeMacs(node: Node, dimsOf: DimsOf): number {
  const a = dimsOf(node.input(0));
  const w = dimsOf(node.input(1));
  const y = dimsOf(node.output(0));
  switch (node.opType) {
    case 'Conv':
      return y && w && w.length >= 2 && w[0] > 0 ? (product(y) * product(w)) / w[0] : 0;
    case 'ConvTranspose':
      return a && w && w.length >= 2 && w[0] > 0 ? (product(a) * product(w)) / w[0] : 0;
    case 'Gemm': {
      if (!a || !y || a.length !== 2) return 0;
      return product(y) * (node.getInt('transA', 0) === 1 ? a[0] : a[1]);
    }
    case 'MatMul':
      return a && y && a.length >= 1 ? product(y) * a[a.length - 1] : 0;
    default:
      return 0;
  }
}

/**
 * MACs per node name over the main graph of a canonical model, and their total. When an input's shape is not
 * static, shapes are inferred on a copy of the model with the dims of `sample`'s tensors.
 */
export function graphMacs(model: Model, sample?: Readonly<Record<string, { dims: readonly number[] }>>): { byNode: Map<string, number>; total: number } {
  let g = model.graph;
  const dynamic = g.inputs.filter((v) => !v.initializer && !staticDims(v));
  if (dynamic.length > 0 && sample && dynamic.every((v) => sample[v.name])) {
    const copy = loadModel(serializeModel(model));
    inferShapes(copy, { strict: false, inputShapes: Object.fromEntries(dynamic.map((v) => [v.name, [...sample[v.name].dims]])) });
    g = copy.graph;
  }
  const byNode = new Map<string, number>();
  let total = 0;
  for (const n of g.nodes) {
    if (!MAC_OP_TYPES.includes(n.opType)) continue;
    const m = nodeMacs(n, staticDims);
    byNode.set(n.name, (byNode.get(n.name) ?? 0) + m);
    total += m;
  }
  return { byNode, total };
}
