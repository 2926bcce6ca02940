/**
 * A pass is a match predicate and a rewrite, in the manner of onnx/optimizer: match() finds the places in one
 * graph (without changing anything), rewrite() changes one of them and says what it did in one line.
 */
import type { Graph } from '../ir/graph.js';
import type { Model } from '../ir/model.js';

export interface PassContext {
  model: Model;
  /** Opset version of the default domain, as the model imports it now. */
  readonly opset: number;
  options: CanonicalizeOptions;
}

export interface Pass<M = unknown> {
  /** kebab-case, as the file is named: `fuse-bn-into-conv`. */
  readonly name: PassName;
  readonly description: string;
  match(graph: Graph, ctx: PassContext): M[];
  /** Rewrites one match; returns a line describing the change, or undefined if it no longer applies. */
  rewrite(match: M, graph: Graph, ctx: PassContext): string | undefined;
  /** Match and rewrite once per graph instead of to a fixed point. */
  readonly once?: boolean;
  /** Runs once after all matches of all graphs were rewritten (model-level bookkeeping). */
  finish?(ctx: PassContext, changed: number): string | undefined;
}

export type PassName =
  | 'upgrade-opset'
  | 'freeze-inputs'
  | 'constant-to-initializer'
  | 'eliminate-identity'
  | 'inline-constant-if'
  | 'fold-constants'
  | 'fuse-bn-into-conv'
  | 'fuse-affine-into-conv'
  | 'eliminate-dead-nodes'
  | 'tag-activations'
  /** Not a canonicalising pass: run on request by quantize({ equalize: true }). */
  | 'equalize-cross-layer';

export interface CanonicalizeOptions {
  /** Run only these passes (in the standard order). Default: all. */
  passes?: PassName[];
  /** Skip these passes. */
  skip?: PassName[];
  /** Opset the default domain is upgraded to when it is lower (9 to 12). Only 13 is supported. Default 13. */
  targetOpset?: number;
  /** Graph inputs to turn into constants (e.g. `{ sr: 16000 }` for a VAD): enables If inlining and folding. */
  freezeInputs?: Record<string, number | bigint | readonly number[] | import('../ir/tensor.js').Tensor>;
  /** Input shapes for shape inference (symbolic dims stay symbolic without them). */
  inputShapes?: Record<string, readonly (number | string | null)[]>;
}

export interface PassReport {
  name: PassName;
  changes: string[];
}

/** Every graph of the model: the main graph first, then subgraphs depth first. */
export function allGraphs(model: Model): Graph[] {
  const out: Graph[] = [];
  const visit = (g: Graph): void => {
    out.push(g);
    for (const n of g.nodes) for (const s of n.subgraphs()) visit(s);
  };
  visit(model.graph);
  return out;
}

export function isDefaultDomain(domain: string): boolean {
  return domain === '' || domain === 'ai.onnx';
}
