/**
 * A model at a glance: inputs/outputs with shapes, opsets, operator histogram, parameter count and bytes.
 */
import { dataTypeName } from '../onnx/dtype.js';
import type { Model } from './model.js';
import type { Tensor } from './tensor.js';
import { formatShape, type Value } from './value.js';

export interface ValueSummary {
  name: string;
  dtype: string;
  /** Dims as numbers, symbolic names, or null for unknown; undefined when the rank is unknown. */
  shape: (number | string | null)[] | undefined;
}

export interface ModelSummary {
  irVersion: number;
  producer: string | undefined;
  opsets: { domain: string; version: number }[];
  inputs: ValueSummary[];
  outputs: ValueSummary[];
  /** Nodes per op type (domain-qualified for custom domains), subgraphs included, most frequent first. */
  operators: { op: string; count: number }[];
  nodes: number;
  /** Elements and bytes of all constant tensors: initializers and Constant-node values. */
  parameters: { count: number; bytes: number; tensors: number };
  functions: number;
  subgraphs: number;
}

function describeValue(v: Value): ValueSummary {
  const t = v.tensorType;
  if (!t) return { name: v.name, dtype: v.type ? 'non-tensor' : 'unknown', shape: undefined };
  return { name: v.name, dtype: dataTypeName(t.elemType), shape: t.shape ? [...t.shape] : undefined };
}

export function summarizeModel(model: Model): ModelSummary {
  const ops = new Map<string, number>();
  let nodes = 0;
  let subgraphs = 0;
  const tensors: Tensor[] = [];
  const visitGraph = (g: Model['graph']): void => {
    for (const v of g.initializers) if (v.initializer) tensors.push(v.initializer);
    for (const n of g.nodes) {
      nodes++;
      const op = n.domain === '' || n.domain === 'ai.onnx' ? n.opType : `${n.domain}.${n.opType}`;
      ops.set(op, (ops.get(op) ?? 0) + 1);
      if (n.opType === 'Constant') {
        const t = n.getTensor('value');
        if (t) tensors.push(t);
      }
      for (const s of n.subgraphs()) {
        subgraphs++;
        visitGraph(s);
      }
    }
  };
  visitGraph(model.graph);
  const inputs = model.graph.inputs.filter((v) => !v.initializer);
  return {
    irVersion: model.irVersion,
    producer: [model.producerName, model.producerVersion].filter(Boolean).join(' ') || undefined,
    opsets: model.opsetImports.map((o) => ({ domain: o.domain || 'ai.onnx', version: o.version })),
    inputs: inputs.map(describeValue),
    outputs: model.graph.outputs.map(describeValue),
    operators: [...ops].map(([op, count]) => ({ op, count })).sort((a, b) => b.count - a.count || a.op.localeCompare(b.op)),
    nodes,
    parameters: { count: tensors.reduce((n, t) => n + t.size, 0), bytes: tensors.reduce((n, t) => n + t.byteLength, 0), tensors: tensors.length },
    functions: model.functions.length,
    subgraphs,
  };
}

export function formatValueSummary(v: ValueSummary): string {
  return `${v.name}  ${v.dtype}  ${formatShape(v.shape)}`;
}
