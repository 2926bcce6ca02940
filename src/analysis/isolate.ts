/**
 * The quantized nodes of a QDQ int8 model, and the "isolation model" that measures each one alone.
 *
 * A quantized node is a node of an op type static quantization handles (Conv, MatMul, Add, MaxPool, ...)
 * that reads at least one input through a DequantizeLinear. Its result is the float tensor after it (after a
 * Relu/Clip the quantizer put before the output pair), and in the int8 model the DequantizeLinear output of
 * that tensor's Q/DQ pair (or the float tensor itself when nothing quantizes it).
 *
 * The isolation model holds one copy of every quantized node side by side, each with the Q/DQ pairs, int8
 * weights and int32 biases of the int8 model, fed by the fp32 model's activations (graph inputs named as in
 * the fp32 model):
 *
 *   int8 model:       … ─Q─DQ─▶ Conv(DQ(W_q), DQ(B_q)) ─▶ y ─Relu─▶ z ─Q─DQ─▶ …
 *   isolation model:  x_fp32 ─Q─DQ─▶ Conv(DQ(W_q), DQ(B_q)) ─▶ y ─Relu─▶ z ─Q─DQ─▶ output "<node>::z_dequantized"
 *
 * so one run per sample gives every node's error with only that node quantized, on the same int8 kernels
 * as the whole model.
 */
import { OctetError } from '../errors.js';
import type { Graph } from '../ir/graph.js';
import { Model } from '../ir/model.js';
import type { Node } from '../ir/node.js';
import { Tensor } from '../ir/tensor.js';
import { tensorType, type Value, type ValueType } from '../ir/value.js';
import { DataType } from '../onnx/dtype.js';
import { STATIC_OP_TYPES } from '../quantize/qdq.js';

export interface QuantizedNode {
  /** The node in the int8 graph. */
  node: Node;
  /** Its name, or `#index` when unnamed. */
  id: string;
  /** The float tensor compared with the fp32 model (same name in both models). */
  tensor: string;
  /** The int8 model's tensor holding the node's result (dequantized when a Q/DQ pair follows). */
  int8Tensor: string;
  /** Nodes after it that belong to its result: a fused Relu/Clip, then the output QuantizeLinear and DequantizeLinear. */
  chain: Node[];
}

const CLAMPS = ['Relu', 'Clip'];

function isDefault(domain: string): boolean {
  return domain === '' || domain === 'ai.onnx';
}

function quantizerOf(v: Value): Node | undefined {
  return v.consumers.find((c) => c.opType === 'QuantizeLinear' && isDefault(c.domain) && c.input(0) === v);
}

function dequantizerOf(q: Node): Node | undefined {
  const out = q.output(0);
  return out?.consumers.find((c) => c.opType === 'DequantizeLinear' && isDefault(c.domain) && c.input(0) === out);
}

/** The quantized nodes of the main graph of a QDQ model, in topological order. */
export function findQuantizedNodes(g: Graph): QuantizedNode[] {
  const out: QuantizedNode[] = [];
  for (const n of g.topologicalOrder()) {
    if (!isDefault(n.domain) || !STATIC_OP_TYPES.includes(n.opType)) continue;
    if (!n.inputs.some((v) => v?.producer?.opType === 'DequantizeLinear')) continue;
    const y = n.output(0);
    if (!y) continue;
    const chain: Node[] = [];
    let result = y;
    if (!quantizerOf(y) && !g.outputs.includes(y) && y.consumers.length === 1 && CLAMPS.includes(y.consumers[0].opType)) {
      const act = y.consumers[0];
      const z = act.output(0);
      if (z && quantizerOf(z)) {
        chain.push(act);
        result = z;
      }
    }
    let int8Tensor = result.name;
    const q = quantizerOf(result);
    const dq = q && dequantizerOf(q);
    if (q && dq) {
      chain.push(q, dq);
      int8Tensor = dq.output(0)!.name;
    }
    out.push({ node: n, id: n.id, tensor: result.name, int8Tensor, chain });
  }
  return out;
}

export interface IsolationModel {
  model: Model;
  /** fp32 activations the model reads, by name (its graph inputs). */
  inputs: string[];
  /** The isolation model's output holding each quantized node's result, by QuantizedNode.id. */
  outputs: Map<string, string>;
}

function isolationError(node: QuantizedNode, message: string): OctetError {
  return new OctetError('ERR_OCTET_ANALYSIS', `Cannot measure node '${node.id}' (${node.node.opType}) alone: ${message}`);
}

/**
 * Builds the isolation model for `nodes` of the int8 graph. `fp32Type` gives the type of an fp32 activation
 * (the graph inputs take it); a tensor the fp32 model does not have is an OctetError.
 */
export function buildIsolationModel(int8: Model, nodes: readonly QuantizedNode[], fp32Type: (name: string) => ValueType | undefined | null): IsolationModel {
  const m = new Model();
  m.opsetImports = int8.opsetImports.map((o) => ({ ...o }));
  m.irVersion = int8.irVersion;
  const g = m.graph;
  const inputs = new Map<string, Value>();
  const outputs = new Map<string, string>();

  const fp32Input = (node: QuantizedNode, v: Value): Value => {
    let x = inputs.get(v.name);
    if (x) return x;
    const type = fp32Type(v.name);
    if (type === null) throw isolationError(node, `the fp32 model has no tensor '${v.name}' (are the two models the same network?)`);
    x = g.addInput(v.name, type ?? tensorType(DataType.FLOAT, undefined));
    inputs.set(v.name, x);
    return x;
  };

  nodes.forEach((qn, k) => {
    const prefix = `${qn.id}::`;
    const local = new Map<Value, Value>();
    const constant = (v: Value): Value => {
      let c = local.get(v);
      if (!c) {
        const t = v.initializer!;
        c = g.addInitializer(new Tensor({ name: `${prefix}${v.name}`, dtype: t.dtype, dims: t.dims, data: t.data }));
        local.set(v, c);
      }
      return c;
    };
    const copy = (n: Node, ins: (Value | null)[]): Node =>
      g.addNode({
        opType: n.opType,
        domain: n.domain,
        name: `${prefix}${n.name || `${n.opType}_${k}`}`,
        inputs: ins,
        outputs: n.outputs.map((o) => (o ? `${prefix}${o.name}` : null)),
        attributes: [...n.attributes.values()],
      });
    const params = (n: Node): (Value | null)[] =>
      n.inputs.slice(1).map((p) => {
        if (!p) return null;
        if (!p.isConstant) throw isolationError(qn, `the scale or zero point '${p.name}' of ${n.label} is not a constant`);
        return constant(p);
      });

    const ins = qn.node.inputs.map((v): Value | null => {
      if (!v) return null;
      if (v.isConstant) return constant(v);
      const dq = v.producer;
      if (dq?.opType === 'DequantizeLinear') {
        const x = dq.input(0)!;
        let source: Value;
        if (x.isConstant) source = constant(x);
        else if (x.producer?.opType === 'QuantizeLinear' && x.producer.input(0)) {
          const q = x.producer;
          source = copy(q, [fp32Input(qn, q.input(0)!), ...params(q)]).output(0)!;
        } else throw isolationError(qn, `'${x.name}' is dequantized but is neither a constant nor the output of a QuantizeLinear`);
        return copy(dq, [source, ...params(dq)]).output(0)!;
      }
      return fp32Input(qn, v);
    });
    let last = copy(qn.node, ins);
    for (const c of qn.chain) {
      const first = c.input(0)!;
      const from = last.outputs.find((o) => o?.name === `${prefix}${first.name}`);
      if (!from) throw isolationError(qn, `${c.label} does not read ${last.label}`);
      const rest = c.inputs.slice(1).map((p) => (p ? (p.isConstant ? constant(p) : fp32Input(qn, p)) : null));
      last = copy(c, [from, ...rest]);
    }
    const result = last.output(0)!;
    result.type = tensorType(DataType.FLOAT, undefined);
    g.addOutput(result);
    outputs.set(qn.id, result.name);
  });
  return { model: m, inputs: [...inputs.keys()], outputs };
}
