/**
 * The verifier: every inconsistency in a model, each naming the node or tensor at fault and the reason.
 * Errors make a model unusable (missing inputs, cycles, unknown operators, initializers that contradict their
 * declared type); warnings are legal but suspicious.
 */
import type { Graph } from './graph.js';
import type { Model } from './model.js';
import { isKnownOperator, normalizeDomain } from './operators.js';
import { formatShape, type Value } from './value.js';
import { OnnxError } from '../onnx/errors.js';
import { dataTypeName } from '../onnx/dtype.js';

export interface VerifyIssue {
  severity: 'error' | 'warning';
  message: string;
  node?: string;
  tensor?: string;
}

export function verifyModel(model: Model): VerifyIssue[] {
  const issues: VerifyIssue[] = [];
  const imported = new Set(model.opsetImports.map((o) => normalizeDomain(o.domain)));
  const functions = new Set(model.functions.map((f) => `${normalizeDomain(f.domain ?? '')}:${f.name ?? ''}`));
  if (model.irVersion >= 3 && !imported.has('')) {
    issues.push({ severity: 'warning', message: 'The model does not import the default domain (ai.onnx)' });
  }
  verifyGraph(model.graph, issues, imported, functions, new Set());
  return issues;
}

function verifyGraph(g: Graph, issues: VerifyIssue[], imported: Set<string>, functions: Set<string>, outerNames: Set<string>): void {
  const where = g.parentNode ? ` in subgraph '${g.name}' of node ${g.parentNode.label}` : '';
  const defined = (v: Value): boolean => v.producer !== undefined || v.initializer !== undefined || v.graph.inputs.includes(v);

  for (const v of g.values.values()) {
    if (outerNames.has(v.name) && (v.producer || v.initializer || g.inputs.includes(v))) {
      issues.push({ severity: 'warning', message: `Value '${v.name}'${where} shadows a value of an enclosing graph`, tensor: v.name });
    }
    const t = v.initializer;
    const declared = v.tensorType;
    if (t && declared) {
      if (declared.elemType !== t.dtype) {
        issues.push({ severity: 'error', message: `Initializer '${v.name}'${where} is ${dataTypeName(t.dtype)} but declared ${dataTypeName(declared.elemType)}`, tensor: v.name });
      } else if (declared.shape && (declared.shape.length !== t.dims.length || declared.shape.some((d, i) => typeof d === 'number' && d !== t.dims[i]))) {
        issues.push({ severity: 'error', message: `Initializer '${v.name}'${where} has dims ${formatShape(t.dims)} but is declared ${formatShape(declared.shape)}`, tensor: v.name });
      }
    }
  }

  const nodeNames = new Map<string, string>();
  for (const node of g.nodes) {
    const domain = normalizeDomain(node.domain);
    const known = isKnownOperator(domain, node.opType);
    if (!imported.has(domain) && !functions.has(`${domain}:${node.opType}`)) {
      issues.push({ severity: 'error', message: `Node ${node.label}${where} uses domain '${node.domain || 'ai.onnx'}', which the model does not import`, node: node.id });
    } else if (known === false && !functions.has(`${domain}:${node.opType}`)) {
      issues.push({ severity: 'error', message: `Node ${node.label}${where} uses unknown operator '${node.opType}' of domain '${node.domain || 'ai.onnx'}'`, node: node.id });
    }
    if (node.name !== '') {
      if (nodeNames.has(node.name)) issues.push({ severity: 'warning', message: `Two nodes${where} are named '${node.name}'`, node: node.name });
      nodeNames.set(node.name, node.opType);
    }
    node.inputs.forEach((v, i) => {
      if (v && !defined(v)) {
        issues.push({
          severity: 'error',
          message: `Input ${i} '${v.name}' of node ${node.label}${where} is not produced by any node and is not a graph input or initializer`,
          node: node.id,
          tensor: v.name,
        });
      }
    });
    for (const v of node.outputs) {
      if (v && v.producer !== node) {
        issues.push({ severity: 'error', message: `Output '${v.name}' of node ${node.label}${where} is produced by another node`, node: node.id, tensor: v.name });
      }
    }
  }
  g.outputs.forEach((v) => {
    if (!defined(v)) issues.push({ severity: 'error', message: `Graph output '${v.name}'${where} is not produced by any node and is not a graph input or initializer`, tensor: v.name });
  });

  try {
    g.topologicalOrder();
  } catch (err) {
    if (!(err instanceof OnnxError)) throw err;
    issues.push({ severity: 'error', message: `${err.message}${where}`, node: err.node, tensor: err.tensor });
  }

  const inner = new Set([...outerNames, ...g.values.keys()]);
  for (const node of g.nodes) for (const sub of node.subgraphs()) verifyGraph(sub, issues, imported, functions, inner);
}

/** Throws an OnnxError for the first error the verifier finds. */
export function assertValid(model: Model): void {
  const errors = verifyModel(model).filter((i) => i.severity === 'error');
  if (errors.length > 0) {
    const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : '';
    throw new OnnxError(`Invalid ONNX model: ${errors[0].message}${more}`, { node: errors[0].node, tensor: errors[0].tensor });
  }
}
