/**
 * eliminate-identity: Identity nodes, and Dropout nodes in inference (their mask output unused), are removed.
 *
 *   Before:  a -> Identity -> b -> Relu        After:  a -> Relu
 *
 * Dropout is the identity at inference: y = x (the ratio only matters when training_mode is true, and a
 * training_mode input that is not the constant false keeps the node). When `b` is a graph output, `a` takes
 * its name instead (if `a` is an intermediate value of the same graph); otherwise the node stays.
 */
import type { Graph } from '../ir/graph.js';
import type { Node } from '../ir/node.js';
import { isDefaultDomain, type Pass } from './pass.js';

function isIdentityLike(n: Node, graph: Graph): boolean {
  if (!isDefaultDomain(n.domain)) return false;
  if (n.opType === 'Identity') return n.input(0) !== null && n.input(0)!.type?.kind !== 'opaque';
  if (n.opType !== 'Dropout') return false;
  const mask = n.output(1);
  if (mask && (mask.consumers.length > 0 || graph.outputs.includes(mask))) return false;
  const training = n.input(2);
  if (training) {
    const t = graph.constantOf(training);
    if (!t || t.toNumbers()[0] !== 0) return false;
  }
  return n.input(0) !== null;
}

export const eliminateIdentity: Pass<Node> = {
  name: 'eliminate-identity',
  description: 'Identity and inference-mode Dropout nodes are removed',
  match(graph) {
    return graph.nodes.filter((n) => isIdentityLike(n, graph));
  },
  rewrite(node, graph) {
    const input = node.input(0)!;
    const output = node.output(0);
    const label = node.label;
    if (!output) return undefined;
    if (!graph.outputs.includes(output)) {
      graph.replaceAllUsesWith(output, input);
      graph.removeNode(node);
      return `${label}: '${output.name}' replaced by '${input.name}'`;
    }
    // The output is a graph output: the input takes over its name, if it can.
    const renamable = input.graph === graph && input.producer !== undefined && !graph.outputs.includes(input) && !input.initializer && !graph.inputs.includes(input);
    if (!renamable) return undefined;
    const name = output.name;
    const type = output.type ?? input.type;
    graph.replaceAllUsesWith(output, input);
    graph.removeNode(node);
    graph.outputs.forEach((v, i) => {
      if (v === output) graph.outputs[i] = input;
    });
    graph.values.delete(name);
    const old = input.name;
    graph.renameValue(input, name);
    input.type = type;
    return `${label}: graph output '${name}' now produced directly (was '${old}')`;
  },
};
