/**
 * inline-constant-if: an If whose condition is a constant is replaced by the nodes of the branch it takes.
 *
 *   Before:  c = true (constant);  y = If(c) { then: t = Relu(x); out t } else { ... }
 *   After:   y = Relu(x)
 *
 * The branch's nodes and initializers move into the enclosing graph (renamed where a name is taken); each
 * If output is then produced by the branch node that produced the branch output, or by an Identity when the
 * branch output is not produced inside the branch (an outer value or a branch initializer).
 */
import type { Graph } from '../ir/graph.js';
import type { Node } from '../ir/node.js';
import type { Value } from '../ir/value.js';
import { isDefaultDomain, type Pass } from './pass.js';

function condition(node: Node, graph: Graph): boolean | undefined {
  const t = graph.constantOf(node.input(0)) ?? (node.input(0)?.graph.constantOf(node.input(0)));
  if (!t || t.size !== 1 || t.dtype === 8) return undefined;
  return t.toNumbers()[0] !== 0;
}

export const inlineConstantIf: Pass<Node> = {
  name: 'inline-constant-if',
  description: 'If nodes with a constant condition are replaced by the branch taken',
  match(graph) {
    return graph.nodes.filter((n) => n.opType === 'If' && isDefaultDomain(n.domain) && condition(n, graph) !== undefined);
  },
  rewrite(node, graph) {
    if (!graph.nodes.includes(node)) return undefined;
    const cond = condition(node, graph);
    if (cond === undefined) return undefined;
    const branch = node.getGraph(cond ? 'then_branch' : 'else_branch');
    if (!branch || branch.outputs.length !== node.outputs.length) return undefined;
    const at = graph.nodes.indexOf(node);
    const label = node.label;

    // Move values (renaming on clashes), initializers, then nodes.
    for (const v of [...branch.values.values()]) {
      branch.values.delete(v.name);
      if (graph.lookup(v.name)) v.name = graph.uniqueName(v.name);
      v.graph = graph;
      graph.values.set(v.name, v);
      if (v.initializer) {
        v.initializer.name = v.name;
        graph.initializers.push(v);
      }
    }
    const moved = branch.nodes.splice(0, branch.nodes.length);
    for (const n of moved) {
      n.graph = graph;
      if (n.name !== '' && [...graph.nodes].some((m) => m.name === n.name)) n.name = graph.uniqueName(n.name);
    }
    graph.nodes.splice(at, 0, ...moved);

    const outs = node.outputs.slice();
    const results: (Value | null)[] = branch.outputs.slice();
    graph.removeNode(node);
    let insertAt = at + moved.length;
    outs.forEach((o, i) => {
      const r = results[i];
      if (!o || !r || graph.values.get(o.name) !== o) return;
      const p = r.producer;
      const local = p && moved.includes(p) && !results.slice(0, i).includes(r) && !graph.outputs.includes(r) && !graph.inputs.includes(r);
      if (local) {
        const k = p.outputs.indexOf(r);
        graph.replaceAllUsesWith(r, o);
        p.setOutput(k, o);
        graph.dropIfUnused(r);
      } else {
        const id = graph.addNode({ opType: 'Identity', name: graph.uniqueName(`${node.name || 'if'}_out${i}`), inputs: [r], outputs: [] });
        id.setOutput(0, o);
        graph.nodes.splice(graph.nodes.indexOf(id), 1);
        graph.nodes.splice(insertAt++, 0, id);
      }
    });
    return `${label}: condition is ${cond}, ${moved.length} node(s) of '${branch.name}' inlined`;
  },
};
