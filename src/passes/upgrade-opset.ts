/**
 * upgrade-opset: models importing the default domain at opset 9 to 12 are rewritten to opset 13 (per-channel
 * QuantizeLinear/DequantizeLinear with `axis` needs 13; the PP-OCR recogniser and classifier are opset 9).
 * Only operators whose signature or meaning changed between the model's opset and 13 are touched:
 *
 *   Softmax/LogSoftmax/Hardmax (< 13) computed over the input flattened to 2-D at `axis` (default 1); at 13
 *     over the single `axis` (default -1).
 *     Before: Softmax(x, axis=a)            (rank r)
 *     After:  Softmax(x, axis=a)            when a = r - 1 (the same thing), else
 *             Reshape(Softmax(Flatten(x, axis=a), axis=1), Shape(x))
 *   Squeeze/Unsqueeze/Split/ReduceSum (< 13): `axes`/`split` attribute -> int64 input.
 *   Slice (< 10): starts/ends/axes attributes -> int64 inputs.
 *   Pad (< 11): `pads` attribute -> int64 input, `value` attribute -> scalar input.
 *   Clip (< 11): min/max attributes -> scalar inputs (float: Clip < 11 is float only).
 *   Dropout (< 12): `ratio` attribute -> input; is_test dropped.
 *   TopK (< 10): `k` attribute -> int64 [1] input.
 *   Upsample (deprecated at 10), Resize (10): -> Resize(x, '', scales) with
 *     coordinate_transformation_mode = asymmetric and, for nearest, nearest_mode = floor: out(i) = in(floor(i/s)).
 *   Scatter (deprecated at 11) -> ScatterElements (same inputs, same meaning).
 * Everything else keeps its attributes: its definition did not change in a way a valid model could observe.
 * An operator removed before 13 that has no replacement here makes the pass fail with an OnnxError.
 */
import { DataType, dataTypeName } from '../onnx/dtype.js';
import { OnnxError } from '../onnx/errors.js';
import type { Graph } from '../ir/graph.js';
import type { Model } from '../ir/model.js';
import type { Node } from '../ir/node.js';
import { Tensor } from '../ir/tensor.js';
import { allGraphs, isDefaultDomain, type Pass, type PassContext } from './pass.js';

const REMOVED = new Set(['ATen', 'Affine', 'ConstantFill', 'Crop', 'DynamicSlice', 'GRUUnit', 'GivenTensorFill', 'ImageScaler', 'ParametricSoftplus', 'Scale', 'ScaledTanh', 'ThresholdedRelu-experimental']);

export const upgradeOpset: Pass<Node> = {
  name: 'upgrade-opset',
  description: 'opset 9-12 models are rewritten to opset 13',
  once: true,
  match(graph, ctx) {
    const from = ctx.model.opsetVersion('') ?? 0;
    const target = ctx.options.targetOpset ?? 13;
    if (from >= target || from < 9) return [];
    return graph.nodes.filter((n) => isDefaultDomain(n.domain) && needsRewrite(n, from));
  },
  rewrite(node, graph, ctx) {
    const from = ctx.model.opsetVersion('') ?? 0;
    return rewriteNode(node, graph, from);
  },
  finish(ctx, changed) {
    const from = ctx.model.opsetVersion('') ?? 0;
    const target = ctx.options.targetOpset ?? 13;
    if (target !== 13) throw new RangeError(`Expected 13 for options.targetOpset but received ${target} of type number`);
    if (from >= target || from < 9) return undefined;
    ctx.model.setOpsetVersion('', target);
    if (ctx.model.irVersion < 7) ctx.model.irVersion = 7;
    return `opset ${from} -> ${target}${changed ? '' : ' (no operator needed rewriting)'}`;
  },
};

function needsRewrite(n: Node, from: number): boolean {
  switch (n.opType) {
    case 'Softmax': case 'LogSoftmax': case 'Hardmax':
      return true;
    case 'Squeeze': case 'Unsqueeze': case 'ReduceSum':
      return n.hasAttr('axes');
    case 'Split': return n.hasAttr('split');
    case 'Slice': return from < 10;
    case 'Pad': return from < 11;
    case 'Clip': return from < 11;
    case 'Dropout': return from < 12 && (n.hasAttr('ratio') || n.hasAttr('is_test'));
    case 'TopK': return from < 10;
    case 'Upsample': case 'Scatter': return true;
    case 'Resize': return from < 11;
    default: return REMOVED.has(n.opType);
  }
}

function int64s(graph: Graph, base: string, values: readonly number[]) {
  return graph.addInitializer(Tensor.fromInt64(graph.uniqueName(base), [values.length], values));
}

/** Element types a scalar attribute (Clip min/max, Pad value, Dropout ratio) can become an input of. */
const NUMERIC = new Set<number>([
  DataType.FLOAT, DataType.DOUBLE, DataType.FLOAT16, DataType.BFLOAT16, DataType.INT8, DataType.UINT8, DataType.INT16,
  DataType.UINT16, DataType.INT32, DataType.UINT32, DataType.INT64, DataType.UINT64,
]);

function scalar(graph: Graph, node: Node, what: string, dtype: number, value: number) {
  if (!NUMERIC.has(dtype)) {
    const x = node.input(0);
    throw new OnnxError(`Node ${node.label}: input '${x?.name ?? ''}' has element type ${dataTypeName(dtype)}, not a number type, so attribute '${what}' cannot become an input`, { node: node.id });
  }
  return graph.addInitializer(Tensor.fromNumbers(graph.uniqueName(base(node, what)), dtype, [], [value]));
}

function base(node: Node, what: string): string {
  return `${node.name || node.output(0)?.name || node.opType}_${what}`;
}

function rewriteNode(node: Node, graph: Graph, from: number): string | undefined {
  if (REMOVED.has(node.opType)) {
    throw new OnnxError(`Node ${node.label}: operator ${node.opType} was removed before opset 13 and cannot be upgraded`, { node: node.id });
  }
  // Every operator rewritten here reads input 0 (a hostile file may leave it out).
  if (!node.input(0)) throw new OnnxError(`Node ${node.label}: input 0 of ${node.opType} is missing`, { node: node.id });
  switch (node.opType) {
    case 'Softmax': case 'LogSoftmax': case 'Hardmax': {
      const x = node.input(0)!;
      const rank = x.shape?.length;
      let axis = node.getInt('axis', 1);
      if (rank !== undefined && axis < 0) axis += rank;
      if (rank !== undefined && axis === rank - 1) {
        node.setInt('axis', -1);
        return `${node.label}: axis ${axis} of rank ${rank} kept as -1`;
      }
      // Flatten to 2-D at axis, normalise over the second dim, restore the shape.
      const flat = graph.addNode({ opType: 'Flatten', name: graph.uniqueName(base(node, 'flatten')), inputs: [x], outputs: [graph.uniqueName(base(node, 'flat'))], attributes: [{ name: 'axis', type: 'int', value: BigInt(axis) }], before: node });
      const shape = graph.addNode({ opType: 'Shape', name: graph.uniqueName(base(node, 'shape')), inputs: [x], outputs: [graph.uniqueName(base(node, 'shape'))], before: node });
      const out = node.output(0)!;
      const mid = graph.value(graph.uniqueName(base(node, '2d')));
      node.setInput(0, flat.output(0));
      node.setOutput(0, mid);
      node.setInt('axis', 1);
      const reshape = graph.addNode({ opType: 'Reshape', name: graph.uniqueName(base(node, 'reshape')), inputs: [mid, shape.output(0)], outputs: [] });
      reshape.setOutput(0, out);
      graph.nodes.splice(graph.nodes.indexOf(reshape), 1);
      graph.nodes.splice(graph.nodes.indexOf(node) + 1, 0, reshape);
      return `${node.label}: axis ${axis}${rank === undefined ? ' (rank unknown)' : ` of rank ${rank}`} -> Flatten/${node.opType}/Reshape`;
    }
    case 'Squeeze': case 'Unsqueeze': case 'ReduceSum': {
      if (!node.hasAttr('axes')) return `${node.label}: no axes`;
      const axes = node.getInts('axes');
      node.removeAttr('axes');
      node.setInput(1, int64s(graph, base(node, 'axes'), axes));
      return `${node.label}: axes [${axes.join(', ')}] attribute -> input`;
    }
    case 'Split': {
      const split = node.getInts('split');
      node.removeAttr('split');
      node.setInput(1, int64s(graph, base(node, 'split'), split));
      return `${node.label}: split [${split.join(', ')}] attribute -> input`;
    }
    case 'Slice': {
      const starts = node.getInts('starts');
      const ends = node.getInts('ends');
      const axes = node.hasAttr('axes') ? node.getInts('axes') : undefined;
      for (const a of ['starts', 'ends', 'axes']) node.removeAttr(a);
      node.setInput(1, int64s(graph, base(node, 'starts'), starts));
      node.setInput(2, int64s(graph, base(node, 'ends'), ends));
      if (axes) node.setInput(3, int64s(graph, base(node, 'axes'), axes));
      return `${node.label}: starts/ends/axes attributes -> inputs`;
    }
    case 'Pad': {
      const pads = node.getInts('pads');
      const value = node.getFloat('value', 0);
      node.removeAttr('pads');
      node.removeAttr('value');
      node.setInput(1, int64s(graph, base(node, 'pads'), pads));
      const mode = node.getString('mode', 'constant');
      if (mode === 'constant' && value !== 0) node.setInput(2, scalar(graph, node, 'value', node.input(0)!.elemType ?? DataType.FLOAT, value));
      return `${node.label}: pads/value attributes -> inputs`;
    }
    case 'Clip': {
      const dtype = node.input(0)!.elemType ?? DataType.FLOAT;
      const min = node.hasAttr('min') ? node.getFloat('min') : undefined;
      const max = node.hasAttr('max') ? node.getFloat('max') : undefined;
      node.removeAttr('min');
      node.removeAttr('max');
      if (min !== undefined) node.setInput(1, scalar(graph, node, 'min', dtype, min));
      if (max !== undefined) {
        if (min === undefined) node.setInput(1, null);
        node.setInput(2, scalar(graph, node, 'max', dtype, max));
      }
      return `${node.label}: min/max attributes -> inputs`;
    }
    case 'Dropout': {
      const ratio = node.getFloat('ratio', 0.5);
      node.removeAttr('ratio');
      node.removeAttr('is_test');
      if (ratio !== 0.5) node.setInput(1, scalar(graph, node, 'ratio', node.input(0)!.elemType ?? DataType.FLOAT, ratio));
      return `${node.label}: ratio attribute -> input`;
    }
    case 'TopK': {
      const k = node.getInt('k');
      node.removeAttr('k');
      node.setInput(1, int64s(graph, base(node, 'k'), [k]));
      return `${node.label}: k attribute -> input`;
    }
    case 'Upsample': case 'Resize': {
      const mode = node.getString('mode', 'nearest');
      const old = node.opType;
      let scales = node.input(1);
      if (!scales && node.hasAttr('scales')) scales = graph.addInitializer(Tensor.fromFloat32(graph.uniqueName(base(node, 'scales')), [node.getFloats('scales').length], node.getFloats('scales')));
      node.opType = 'Resize';
      node.removeAttr('scales');
      node.setInput(1, null);
      node.setInput(2, scales);
      node.setString('mode', mode === 'bilinear' ? 'linear' : mode);
      node.setString('coordinate_transformation_mode', 'asymmetric');
      if (mode === 'nearest') node.setString('nearest_mode', 'floor');
      return `${node.label}: ${old}-${from} -> Resize-13 (asymmetric${mode === 'nearest' ? ', floor' : ''})`;
    }
    case 'Scatter':
      node.opType = 'ScatterElements';
      return `${node.label}: Scatter -> ScatterElements`;
    default:
      return undefined;
  }
}

/** Reductions whose `axes` moved from an attribute to input 1 at opset 18 (ReduceSum's moved at 13). */
const REDUCE_AXES_18 = new Set(['ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceLogSum', 'ReduceLogSumExp', 'ReduceSumSquare']);

/**
 * Raises a model at opset 13..20 to opset 21 (the first whose QuantizeLinear/DequantizeLinear take int16 and
 * uint16), in every graph, rewriting what a valid model could observe:
 *   Reduce* (< 18, not ReduceSum): `axes` attribute -> int64 input 1.
 *   Split (< 18) without a `split` input: `num_outputs` = its output count (18 requires one of the two).
 *   RoiAlign (< 16) without `coordinate_transformation_mode`: 'output_half_pixel', its meaning before 16.
 *   GridSample (< 20): mode 'bilinear' -> 'linear', 'bicubic' -> 'cubic'.
 * GroupNormalization-18 (its scale and bias changed meaning at 21) and DFT (< 20, axis became an input) are
 * refused with an OnnxError naming the node, before anything is rewritten. The IR version becomes at least 10 (the one of opset 21).
 * Returns one line per rewrite plus a summary line; nothing when the model is already at 21 or above.
 */
export function raiseOpsetTo21(model: Model): string[] {
  const from = model.opsetVersion('') ?? 0;
  if (from >= 21) return [];
  if (from < 13) throw new OnnxError(`Cannot raise opset ${from} to 21: upgrade it to 13 first (canonicalize)`);
  const changes: string[] = [];
  // Refusals first, so that a refused model is left as it was.
  for (const graph of allGraphs(model)) {
    for (const node of graph.nodes) {
      const op = node.opType;
      if (isDefaultDomain(node.domain) && ((op === 'GroupNormalization' && from >= 18) || (op === 'DFT' && from < 20))) {
        throw new OnnxError(`Node ${node.label}: ${op} changed meaning before opset 21 and is not rewritten; the model cannot be raised to opset 21`, { node: node.id });
      }
    }
  }
  for (const graph of allGraphs(model)) {
    for (const node of [...graph.nodes]) {
      if (!isDefaultDomain(node.domain)) continue;
      const op = node.opType;
      if (REDUCE_AXES_18.has(op) && from < 18 && node.hasAttr('axes')) {
        const axes = node.getInts('axes');
        node.removeAttr('axes');
        node.setInput(1, int64s(graph, base(node, 'axes'), axes));
        changes.push(`${node.label}: axes [${axes.join(', ')}] attribute -> input`);
      } else if (op === 'Split' && from < 18 && !node.input(1) && !node.hasAttr('num_outputs')) {
        node.setInt('num_outputs', node.outputs.length);
        changes.push(`${node.label}: num_outputs ${node.outputs.length}`);
      } else if (op === 'RoiAlign' && from < 16 && !node.hasAttr('coordinate_transformation_mode')) {
        node.setString('coordinate_transformation_mode', 'output_half_pixel');
        changes.push(`${node.label}: coordinate_transformation_mode 'output_half_pixel' (RoiAlign-10's behaviour)`);
      } else if (op === 'GridSample' && from < 20) {
        const mode = node.getString('mode', 'bilinear');
        const renamed = mode === 'bilinear' ? 'linear' : mode === 'bicubic' ? 'cubic' : mode;
        node.setString('mode', renamed);
        changes.push(`${node.label}: mode '${mode}' -> '${renamed}'`);
      }
    }
  }
  model.setOpsetVersion('', 21);
  if (model.irVersion < 10) model.irVersion = 10;
  changes.push(`opset ${from} -> 21`);
  return changes;
}
