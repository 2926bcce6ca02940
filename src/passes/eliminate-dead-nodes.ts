/**
 * eliminate-dead-nodes: nodes none of whose outputs reach a graph output, and initializers nothing reads,
 * are removed (ONNX operators have no side effects).
 *
 *   Before:  y = Relu(x) (output);  t = Shape(x) (unused)       After:  y = Relu(x)
 */
import type { Graph } from '../ir/graph.js';
import type { Pass } from './pass.js';

export const eliminateDeadNodes: Pass<Graph> = {
  name: 'eliminate-dead-nodes',
  description: 'unused nodes and initializers are removed',
  match(graph) {
    const deadNode = graph.nodes.some((n) => !n.outputs.some((v) => v && (v.consumers.length > 0 || graph.outputs.includes(v))));
    const deadInit = graph.initializers.some((v) => v.consumers.length === 0 && !graph.outputs.includes(v) && !graph.inputs.includes(v));
    return !graph.parentNode && (deadNode || deadInit) ? [graph] : [];
  },
  rewrite(graph) {
    const inits = graph.initializers.length;
    const removed = graph.removeDeadNodes();
    const initRemoved = inits - graph.initializers.length;
    if (removed === 0 && initRemoved === 0) return undefined;
    return `${removed} node(s) and ${initRemoved} initializer(s) removed`;
  },
};
