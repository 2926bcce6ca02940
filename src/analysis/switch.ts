/**
 * The switch model: one model in which every unit of quantized nodes (a conv and the elementwise ops after it,
 * see groupUnits) can be int8 or fp32 per run, chosen by a scalar graph input per unit, so that "only this unit
 * quantized" needs a run, not a new model and session.
 *
 *   int8 model:   x ─Q─DQ─▶ Conv(DQ(W_q), DQ(B_q)) ─▶ y
 *   switch model: x ─Q─DQ─▶ d;  x_s = x + s·(d − x)
 *                 y_q = Conv(x_s, DQ(W_q), DQ(B_q));  y_f = Conv(x_s, W, B);  y = y_f + s·(y_q − y_f)
 *
 * With s = 1 the node computes what the int8 model computes (in float arithmetic, on the same quantized
 * values); with s = 0 what the fp32 model computes. Every activation input read through a Q/DQ pair gets the
 * mix of its node's switch; a node with quantized constants (weights, biases, constant operands) also runs a
 * copy with the fp32 model's constants and mixes the two results. The output pair of a node belongs to its
 * quantized consumers (as in the QDQ graph, where the consumer asks for it).
 */
import type { Graph } from '../ir/graph.js';
import type { Model } from '../ir/model.js';
import type { Node } from '../ir/node.js';
import { Tensor } from '../ir/tensor.js';
import { tensorType, type Value } from '../ir/value.js';
import { DataType } from '../onnx/dtype.js';
import { loadModel, serializeModel } from '../onnx/io.js';
import { findQuantizedNodes, type QuantizedNode } from './isolate.js';

export interface SwitchModel {
  model: Model;
  /** The quantized nodes of the int8 model. */
  nodes: QuantizedNode[];
  /** The nodes (indices into `nodes`) each switch turns, in the order of `inputs`. */
  units: number[][];
  /** The switch input of each unit (a float scalar: 1 = int8, 0 = fp32). */
  inputs: string[];
}

const COMPUTE = new Set(['Conv', 'ConvTranspose', 'Gemm', 'MatMul']);

/**
 * Groups quantized nodes into units: each Conv/ConvTranspose/Gemm/MatMul starts one, and every other quantized
 * node joins the unit of the node its first activation input comes from (through Q/DQ pairs and a fused
 * Relu/Clip), so that an affine Mul/Add, an activation or a pool after a conv goes with it. A node whose input
 * comes from no quantized node starts its own unit.
 */
export function groupUnits(nodes: readonly QuantizedNode[]): number[][] {
  const unitOf = new Map<Node, number>();
  const units: number[][] = [];
  nodes.forEach((qn, k) => {
    let unit: number | undefined;
    if (!COMPUTE.has(qn.node.opType)) {
      for (const v of qn.node.inputs) {
        if (!v || v.isConstant) continue;
        let x: Value = v;
        while (x.producer && (x.producer.opType === 'DequantizeLinear' || x.producer.opType === 'QuantizeLinear') && x.producer.input(0)) x = x.producer.input(0)!;
        if (x.isConstant) continue;
        unit = x.producer ? unitOf.get(x.producer) : undefined;
        break;
      }
    }
    if (unit === undefined) {
      unit = units.length;
      units.push([]);
    }
    units[unit].push(k);
    unitOf.set(qn.node, unit);
    for (const c of qn.chain) unitOf.set(c, unit);
  });
  return units;
}

function mix(g: Graph, a: Value, b: Value, s: Value, out: Value | string): void {
  // a + s·(b − a): a when s = 0, b (up to one rounding) when s = 1.
  const base = typeof out === 'string' ? out : out.name;
  const d = g.addNode({ opType: 'Sub', name: g.uniqueName(`${base}_switch_sub`), inputs: [b, a], outputs: [g.uniqueName(`${base}_switch_delta`)] }).output(0)!;
  const m = g.addNode({ opType: 'Mul', name: g.uniqueName(`${base}_switch_mul`), inputs: [s, d], outputs: [g.uniqueName(`${base}_switch_scaled`)] }).output(0)!;
  g.addNode({ opType: 'Add', name: g.uniqueName(`${base}_switch_add`), inputs: [a, m], outputs: [out] });
}

/**
 * Builds the switch model of `int8` (a canonical QDQ model); `fp32` (the canonical fp32 model it came from)
 * gives the float constants, matched by node name, else by the node's output tensor. A constant without an
 * fp32 twin stays quantized in both settings.
 */
export function buildSwitchModel(fp32: Model, int8: Model): SwitchModel {
  const m = loadModel(serializeModel(int8));
  const g = m.graph;
  const nodes = findQuantizedNodes(g);
  const units = groupUnits(nodes);
  const inputs = units.map((_, u) => g.addInput(g.uniqueName(`octet_switch_${u}`), tensorType(DataType.FLOAT, [])));
  const switchOf = new Map<number, Value>();
  units.forEach((members, u) => members.forEach((k) => switchOf.set(k, inputs[u])));
  const fpByName = new Map(fp32.graph.nodes.filter((n) => n.name !== '').map((n) => [n.name, n]));
  const fpByOutput = new Map(fp32.graph.nodes.filter((n) => n.output(0)).map((n) => [n.output(0)!.name, n]));
  const copies = new Map<Value, Value>();
  const constantFrom = (v: Value): Value => {
    let c = copies.get(v);
    if (!c) {
      const t = v.initializer!;
      c = g.addInitializer(new Tensor({ name: g.uniqueName(`${v.name}_fp32`), dtype: t.dtype, dims: t.dims, data: t.data }));
      copies.set(v, c);
    }
    return c;
  };
  nodes.forEach((qn, k) => {
    const n = qn.node;
    const s = switchOf.get(k)!;
    const twin = (n.name !== '' ? fpByName.get(n.name) : undefined) ?? fpByOutput.get(n.output(0)?.name ?? '');
    const constSlots = new Map<number, Value>();
    n.inputs.forEach((v, slot) => {
      const dq = v?.producer;
      if (!v || dq?.opType !== 'DequantizeLinear') return;
      const x = dq.input(0)!;
      if (x.producer?.opType === 'QuantizeLinear' && x.producer.input(0)) {
        const f = x.producer.input(0)!;
        const mixed = g.uniqueName(`${v.name}_switch_${k}`);
        mix(g, f, v, s, mixed);
        n.setInput(slot, g.values.get(mixed)!);
      } else if (x.isConstant) {
        const fv = twin?.input(slot);
        if (fv?.isConstant && fv.initializer!.dtype === DataType.FLOAT) constSlots.set(slot, fv);
      }
    });
    if (constSlots.size === 0) return;
    const y = n.output(0)!;
    const yq = g.value(g.uniqueName(`${y.name}_int8`));
    const yf = g.uniqueName(`${y.name}_fp32`);
    g.addNode({
      opType: n.opType,
      domain: n.domain,
      name: g.uniqueName(`${n.name || n.opType}_fp32`),
      inputs: n.inputs.map((v, slot) => (constSlots.has(slot) ? constantFrom(constSlots.get(slot)!) : v)),
      outputs: [yf],
      attributes: [...n.attributes.values()],
    });
    n.setOutput(0, yq);
    mix(g, g.values.get(yf)!, yq, s, y);
  });
  g.sort();
  return { model: m, nodes, units, inputs: inputs.map((v) => v.name) };
}
