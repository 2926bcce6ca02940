/**
 * constant-to-initializer: Constant nodes become initializers (Paddle and tf2onnx keep weights in Constant
 * nodes; every later stage looks for weights among initializers).
 *
 *   Before:  Constant(value=T) -> w ;  Conv(x, w)
 *   After:   initializer w = T    ;  Conv(x, w)
 *
 * value_float/value_int(s)/value_floats become float32/int64 tensors of rank 0 or 1, as the operator defines.
 * A Constant whose output is a graph output, or with sparse_value / value_string(s), is left alone.
 */
import { evaluateNode } from '../ir/evaluate.js';
import type { Graph } from '../ir/graph.js';
import type { Node } from '../ir/node.js';
import { isDefaultDomain, type Pass } from './pass.js';

export const constantToInitializer: Pass<Node> = {
  name: 'constant-to-initializer',
  description: 'Constant nodes become initializers',
  match(graph: Graph) {
    return graph.nodes.filter((n) => {
      const out = n.output(0);
      return n.opType === 'Constant' && isDefaultDomain(n.domain) && out !== null && !graph.outputs.includes(out) && !n.hasAttr('sparse_value') && !n.hasAttr('value_string') && !n.hasAttr('value_strings');
    });
  },
  rewrite(node: Node, graph: Graph, ctx) {
    const tensor = evaluateNode(node, [], ctx.opset)?.[0];
    const out = node.output(0);
    if (!tensor || !out) return undefined;
    const t = tensor.clone(out.name);
    graph.removeNode(node);
    // removeNode may have forgotten the value if nothing read it; then there is nothing to keep.
    if (graph.values.get(out.name) !== out) return `removed unused Constant '${out.name}'`;
    graph.setInitializer(out, t);
    return `Constant '${out.name}' (${t.dtypeName} [${t.dims.join(', ')}]) -> initializer`;
  },
};
