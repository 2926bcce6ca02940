/**
 * tag-activations: a Conv, ConvTranspose, Gemm or MatMul whose only consumer is an activation is tagged for
 * fusion (`node.tags.fusedActivation`); the graph is not changed, so ONNX output is unaffected. Lowering reads
 * the tag and runs the activation inside the kernel's output stage.
 *
 *   Before:  y = Conv(x);  z = Relu(y)
 *   After:   the same, with Conv.tags.fusedActivation = { kind: 'Relu', nodes: [Relu], output: z }
 *
 * Recognised: Relu; Clip with constant bounds (Relu6 when [0, 6]); LeakyRelu(alpha); HardSigmoid(alpha, beta)
 * = clamp(alpha x + beta, 0, 1); Sigmoid; Tanh; HardSwish; and HardSwish spelled out as
 * x * HardSigmoid(x) (alpha 1/6, beta 1/2) or x * Clip(x + 3, 0, 6) / 6 (Paddle).
 */
import type { Graph } from '../ir/graph.js';
import type { Node } from '../ir/node.js';
import type { Value } from '../ir/value.js';
import { isDefaultDomain, type Pass } from './pass.js';

export interface FusedActivation {
  kind: 'Relu' | 'Clip' | 'LeakyRelu' | 'HardSigmoid' | 'Sigmoid' | 'Tanh' | 'HardSwish';
  /** Clip bounds, LeakyRelu alpha, HardSigmoid alpha/beta. */
  params: Record<string, number>;
  /** The nodes the fused kernel replaces, in order. */
  nodes: Node[];
  /** The value the fused kernel produces. */
  output: Value;
}

const PRODUCERS = new Set(['Conv', 'ConvTranspose', 'Gemm', 'MatMul']);

function only(v: Value | null, graph: Graph): Node | undefined {
  if (!v || v.consumers.length !== 1 || graph.outputs.includes(v)) return undefined;
  const n = v.consumers[0];
  return n.graph === graph && isDefaultDomain(n.domain) ? n : undefined;
}

function scalarOf(graph: Graph, v: Value | null): number | undefined {
  const t = graph.constantOf(v);
  return t && t.size === 1 && t.dtype !== 8 ? t.toNumbers()[0] : undefined;
}

function clipBounds(n: Node, graph: Graph, opset: number): { min: number; max: number } | undefined {
  if (opset < 11) return { min: n.getFloat('min', -Infinity), max: n.getFloat('max', Infinity) };
  const min = n.input(1) ? scalarOf(graph, n.input(1)) : -Infinity;
  const max = n.input(2) ? scalarOf(graph, n.input(2)) : Infinity;
  return min === undefined || max === undefined ? undefined : { min, max };
}

/** x * HardSigmoid(x) or x * Clip(x + 3, 0, 6) / 6 starting at x = y: the nodes and final output. */
function hardSwish(y: Value, graph: Graph, opset: number): { nodes: Node[]; output: Value } | undefined {
  if (y.consumers.length !== 2 || graph.outputs.includes(y)) return undefined;
  const [a, b] = y.consumers;
  const mul = a.opType === 'Mul' ? a : b.opType === 'Mul' ? b : undefined;
  const other = mul === a ? b : a;
  if (!mul || !isDefaultDomain(other.domain)) return undefined;
  if (other.opType === 'HardSigmoid' && mul.inputs.includes(other.output(0)) && only(other.output(0), graph) === mul) {
    const alpha = other.getFloat('alpha', 0.2);
    const beta = other.getFloat('beta', 0.5);
    if (Math.abs(alpha - 1 / 6) < 1e-6 && Math.abs(beta - 0.5) < 1e-6) return { nodes: [other, mul], output: mul.output(0)! };
  }
  if (other.opType === 'Add' && scalarOf(graph, other.input(1)) === 3) {
    const clip = only(other.output(0), graph);
    const bounds = clip?.opType === 'Clip' ? clipBounds(clip, graph, opset) : undefined;
    if (!clip || !bounds || bounds.min !== 0 || bounds.max !== 6) return undefined;
    // Paddle: Mul(x, Clip) then Div 6, or Div(Clip, 6) then Mul.
    const next = only(clip.output(0), graph);
    if (next === mul) {
      const div = only(mul.output(0), graph);
      if (div?.opType === 'Div' && scalarOf(graph, div.input(1)) === 6) return { nodes: [other, clip, mul, div], output: div.output(0)! };
    } else if (next?.opType === 'Div' && scalarOf(graph, next.input(1)) === 6 && only(next.output(0), graph) === mul) {
      return { nodes: [other, clip, next, mul], output: mul.output(0)! };
    }
  }
  return undefined;
}

function activation(p: Node, graph: Graph, opset: number): FusedActivation | undefined {
  const y = p.output(0);
  return y ? activationAfter(y, graph, opset) : undefined;
}

/** The activation (one node, or a spelled-out HardSwish chain) that alone reads `y`, if any. */
export function activationAfter(y: Value, graph: Graph, opset: number): FusedActivation | undefined {
  const hs = hardSwish(y, graph, opset);
  if (hs) return { kind: 'HardSwish', params: {}, ...hs };
  const n = only(y, graph);
  if (!n || n.input(0) !== y) return undefined;
  const out = n.output(0)!;
  switch (n.opType) {
    case 'Relu': case 'Sigmoid': case 'Tanh': case 'HardSwish':
      return { kind: n.opType, params: {}, nodes: [n], output: out };
    case 'LeakyRelu':
      return { kind: 'LeakyRelu', params: { alpha: n.getFloat('alpha', 0.01) }, nodes: [n], output: out };
    case 'HardSigmoid':
      return { kind: 'HardSigmoid', params: { alpha: n.getFloat('alpha', 0.2), beta: n.getFloat('beta', 0.5) }, nodes: [n], output: out };
    case 'Clip': {
      const b = clipBounds(n, graph, opset);
      return b ? { kind: 'Clip', params: b, nodes: [n], output: out } : undefined;
    }
    default:
      return undefined;
  }
}

export const tagActivations: Pass<Node> = {
  name: 'tag-activations',
  description: 'Conv/Gemm/MatMul followed by an activation are tagged for fusion',
  match(graph, ctx) {
    return graph.nodes.filter((n) => PRODUCERS.has(n.opType) && isDefaultDomain(n.domain) && !n.tags.fusedActivation && activation(n, graph, ctx.opset));
  },
  rewrite(node, graph, ctx) {
    const a = activation(node, graph, ctx.opset);
    if (!a) return undefined;
    node.tags.fusedActivation = a;
    const params = Object.entries(a.params).map(([k, v]) => `${k}=${+v.toFixed(6)}`).join(', ');
    return `${node.label} + ${a.kind}${params ? `(${params})` : ''}`;
  },
};
