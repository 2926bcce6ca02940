/**
 * Lowering: a canonical ONNX graph with static shapes → a Plan for the native executor (docs/plan-format.md).
 *
 * Integer kernels come from patterns (int8-patterns.ts): DequantizeLinear → Conv/Gemm/MatMul [→ Relu/Clip] →
 * QuantizeLinear becomes one int8 Conv/FullyConnected (QLinearConv and QLinearMatMul too), DQ → Add/Mul → Q
 * an int8 Add/Mul. Everything else runs in float32, with the model's own Q/DQ nodes as conversions.
 * Layout: Conv, ConvTranspose, pooling and Resize run NHWC; elementwise ops and Concat follow their inputs'
 * layout; other ops see the ONNX layout. Layout changes happen once per value (builder.ts).
 */
import type { OnednnInt8Support } from '../backends.js';
import { OnnxError } from '../onnx/errors.js';
import type { Graph } from '../ir/graph.js';
import type { Model } from '../ir/model.js';
import type { Node } from '../ir/node.js';
import type { Value } from '../ir/value.js';
import { isDefaultDomain } from '../passes/pass.js';
import { qRange } from '../quantize/qparams.js';
import type { FusedActivation } from '../passes/tag-activations.js';
import { arrayTypeOf, type Plan, type PlanAttr, type PlanBackend, type PlanDType, type PlanTypedArray } from '../runtime/plan.js';
import { broadcastShapes } from '../runtime/reference/tensor.js';
import { planDType, PlanBuilder, permute, staticShape, tensorData, TO_NHWC, transposeData, type Layout } from './builder.js';
import { inferShapes, samePads } from '../ir/shape-inference.js';
import { evaluateNode } from '../ir/evaluate.js';
import type { Tensor as IrTensor } from '../ir/tensor.js';
import { parameterSlots, qoperatorSpec } from '../ir/qoperator-ops.js';
import { expandBatchNorm, isExpandableBatchNorm } from './expand-batchnorm.js';
import { expandQOperator, isContribQdq } from './expand-qoperator.js';
import { fuseConvEpilogues } from './fuse-epilogues.js';
import { lowerInt8Patterns } from './int8-patterns.js';
import { SELU_ALPHA, SELU_GAMMA } from '../runtime/reference/elementwise.js';
import { lowerSequenceOp, SEQUENCE_OPS, sequenceUnsupportedReason } from './lower-sequence.js';

export interface LowerOptions {
  threads: number;
  /**
   * Backend for int8 Conv / FullyConnected. 'auto' picks per node: oneDNN where it is exact here (every layer with
   * VNNI/AMX; without, on AVX2, layers with a uint8 source and weights within [-64, 64]), XNNPACK otherwise.
   */
  int8Backend: PlanBackend | 'auto';
  /** What 'auto' assumes oneDNN can run exactly (default: what this CPU has, onednnInt8Support()). */
  onednnInt8?: OnednnInt8Support;
}

export interface LoweredModel {
  plan: Plan;
  /** For each graph input / output, in graph order: the plan value id. */
  inputIds: number[];
  outputIds: number[];
  /** How many model nodes became int8 kernels. */
  int8Nodes: number;
}

/** Unary math ops without attributes, lowered one-to-one (plan op of the same name). */
const UNARY_MATH = ['Reciprocal', 'Sign', 'Sin', 'Cos', 'Tan', 'Asin', 'Acos', 'Atan', 'Sinh', 'Cosh', 'Asinh', 'Acosh', 'Atanh', 'Softplus', 'Softsign'];
/** Comparisons and logic with a bool output, and Where: lowered one-to-one. */
const COMPARE = ['Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'And', 'Or', 'Xor', 'Where'];
/** Variadic ONNX ops → the binary plan op they chain. */
const VARIADIC: Record<string, 'Add' | 'Max' | 'Min'> = { Sum: 'Add', Mean: 'Add', Max: 'Max', Min: 'Min' };
/** Reductions over `axes` (attribute, or input 1 from opset 18). */
const REDUCE = ['ReduceMean', 'ReduceSum', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceSumSquare', 'ReduceLogSum', 'ReduceLogSumExp'];
/** Ops that run on NHWC data when their input is 4-D. */
const NHWC_OPS = new Set(['Conv', 'ConvTranspose', 'MaxPool', 'AveragePool', 'GlobalAveragePool']);
/** Ops whose result does not depend on layout, so they run in whatever layout their inputs have. */
const ELEMENTWISE = new Set([
  'Add', 'Sub', 'Mul', 'Div', 'Max', 'Min', 'Pow', 'Relu', 'Clip', 'Sigmoid', 'Tanh', 'HardSigmoid', 'HardSwish',
  'LeakyRelu', 'Elu', 'Sqrt', 'Exp', 'Log', 'Abs', 'Neg', 'Erf', 'Floor', 'Ceil', 'Round', 'Cast',
  ...UNARY_MATH, 'Selu', 'ThresholdedRelu', 'Celu',
  ...COMPARE, 'Not', 'IsNaN', 'IsInf', 'Mod', 'Sum', 'Mean', 'PRelu', 'Shrink', 'BitShift',
]);
const UNARY_DIRECT = new Set(['Relu', 'Sigmoid', 'Tanh', 'HardSwish', 'Sqrt', 'Exp', 'Log', 'Abs', 'Neg', 'Erf', 'Floor', 'Ceil', 'Round', ...UNARY_MATH, 'Not', 'IsNaN']);
/** Unary ops with float attributes: ONNX name → plan attribute defaults (the plan op has the same name). */
const UNARY_ATTRS: Record<string, Record<string, number>> = {
  HardSigmoid: { alpha: 0.2, beta: 0.5 },
  LeakyRelu: { alpha: 0.01 },
  Elu: { alpha: 1 },
  Selu: { alpha: SELU_ALPHA, gamma: SELU_GAMMA },
  ThresholdedRelu: { alpha: 1 },
  Celu: { alpha: 1 },
  Shrink: { lambd: 0.5, bias: 0 },
};
const BINARY = new Set(['Add', 'Sub', 'Mul', 'Div', 'PRelu', ...COMPARE]);

/** What lowering accepts, for the create()-time support check. */
export const LOWERABLE_OPS: ReadonlySet<string> = new Set([
  ...NHWC_OPS, ...ELEMENTWISE, 'Max', 'Min', 'Gemm', 'MatMul', 'Softmax', 'LogSoftmax', 'ReduceMean', 'ReduceSum',
  'ReduceMax', 'ReduceMin', 'Resize', 'Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'Identity', 'Dropout',
  'Transpose', 'Concat', 'Split', 'Slice', 'Pad', 'Gather', 'QuantizeLinear', 'DequantizeLinear',
  'DynamicQuantizeLinear', 'MatMulInteger', 'QLinearConv', 'QLinearMatMul', 'ConvInteger', 'Shape', 'Constant',
  'BatchNormalization', ...SEQUENCE_OPS,
  ...REDUCE, 'ArgMax', 'ArgMin', 'Hardmax',
  'GatherElements', 'ScatterElements', 'Scatter', 'GatherND', 'ScatterND', 'Trilu', 'Expand', 'Tile', 'OneHot', 'TopK',
  'DepthToSpace', 'SpaceToDepth', 'EyeLike', 'Range', 'ConstantOfShape', 'GlobalMaxPool', 'Size',
]);

/** Nodes the runtime cannot run: listed at create() time, never discovered at run(). */
/** Ops whose data inputs must be float32 (8-bit data reaches them only through DequantizeLinear). */
const FLOAT_ONLY = new Set([
  'Conv', 'ConvTranspose', 'Gemm', 'MatMul', 'Relu', 'Sigmoid',
  'Tanh', 'HardSigmoid', 'HardSwish', 'LeakyRelu', 'Elu', 'Sqrt', 'Exp', 'Log', 'Erf', 'MaxPool', 'AveragePool',
  'GlobalAveragePool', 'Softmax', 'LogSoftmax', 'ReduceMean', 'ReduceSum', 'ReduceMax', 'ReduceMin', 'Resize',
  ...UNARY_MATH, 'Selu', 'ThresholdedRelu', 'Celu', ...REDUCE, 'Hardmax', 'PRelu', 'Shrink',
  ...SEQUENCE_OPS,
]);
/**
 * Inputs whose values the plan bakes in (axes, pads, bounds), by op: they cannot be fed at run time. (Reshape,
 * Squeeze, Split and Resize only need their output shapes, which shape inference provides.)
 */
const CREATE_TIME_INPUTS: Record<string, number[]> = {
  Slice: [1, 2, 3, 4], Pad: [1, 2, 3], ...Object.fromEntries(REDUCE.map((op) => [op, [1]])), Clip: [1, 2],
  // Resize maps coordinates with the scale values themselves.
  Resize: [2],
  Trilu: [1], TopK: [1], OneHot: [1],
  // Folded to constants by fold-constants (their output shape depends on these values).
  Range: [0, 1, 2], ConstantOfShape: [0],
};

/** Why the runtime cannot run `n`, or undefined when it can. `frozen`: graph inputs folded into each plan. */
export function unsupportedReason(n: Node, frozen: ReadonlySet<string> = new Set()): string | undefined {
  const op = n.domain && n.domain !== 'ai.onnx' ? `${n.domain}.${n.opType}` : n.opType;
  // Fed at run time; scalar integer inputs are not, they are folded into each plan (see InferenceSession).
  const fedAtRun = (v: Value | null): boolean =>
    v !== null && v.isGraphInput && !v.initializer && !frozen.has(v.name) && !(v.shape?.length === 0 && (v.elemType === 6 || v.elemType === 7 || v.elemType === 9));
  // QOperator nodes are expanded to DQ → op → Q before lowering (expand-qoperator.ts).
  const spec = qoperatorSpec(n.opType, n.domain);
  if (spec) {
    if (n.getInt('channels_last', 0) !== 0) return `${op} with channels_last`;
    const baked = [...parameterSlots(spec, n.inputs.length), ...(spec.floatOp === 'Conv' ? [3] : [])];
    return baked.some((i) => fedAtRun(n.input(i))) ? `${op} with weights or quantization parameters given at run time` : undefined;
  }
  // onnxruntime's com.microsoft QuantizeLinear/DequantizeLinear become the standard ones (expand-qoperator.ts).
  if ((n.domain !== '' && n.domain !== 'ai.onnx' && !isContribQdq(n)) || !LOWERABLE_OPS.has(n.opType)) return op;
  if (n.opType === 'Conv' || n.opType === 'ConvTranspose') {
    // Convolution weights are packed once at creation: they must be constants.
    const w = n.input(1);
    const dq = w?.producer;
    const known = (v: Value | null | undefined): boolean => !!v && (v.isConstant || frozen.has(v.name));
    const constant = known(w) || (dq?.opType === 'DequantizeLinear' && known(dq.input(0)));
    if (!constant) return `${op} with non-constant weights`;
  }
  if (FLOAT_ONLY.has(n.opType) && n.inputs.some((v, i) => i === 0 && v && fedAtRun(v) && v.elemType !== 1)) return `${op} on non-float32 inputs`;
  if ((CREATE_TIME_INPUTS[n.opType] ?? []).some((i) => fedAtRun(n.input(i)))) return `${op} with axes/pads/bounds given at run time`;
  if (n.opType === 'Dropout' && n.input(2) && n.graph.constantOf(n.input(2))?.toNumbers()[0] !== 0) return `${op} in training mode`;
  // A plan value has rank <= 8: a longer shape input can never be folded, whatever value is fed.
  const shapeLength = n.opType === 'ConstantOfShape' ? n.input(0)?.shape?.[0] : undefined;
  if (typeof shapeLength === 'number' && shapeLength > 8) return `${op} of rank ${shapeLength} (at most 8)`;
  const rank = n.input(0)?.shape?.length;
  if (rank !== undefined && (n.opType === 'Conv' || n.opType === 'MaxPool' || n.opType === 'AveragePool' || n.opType === 'GlobalAveragePool') && rank !== 3 && rank !== 4) {
    return `${op} on ${rank - 2}-D data (1-D and 2-D only)`;
  }
  if (n.opType === 'ConvTranspose') {
    if (rank !== undefined && rank !== 4) return `${op} on ${rank - 2}-D data (2-D only)`;
    if (n.getString('auto_pad', 'NOTSET').startsWith('SAME')) return `${op} with auto_pad SAME`;
  }
  if (n.opType === 'BatchNormalization' && !isExpandableBatchNorm(n.graph, n)) return `${op} in training mode, with non-constant parameters or of unknown rank`;
  if (n.opType === 'ConvInteger' && [1, 3].some((i) => fedAtRun(n.input(i)))) return `${op} with weights or weight zero points given at run time`;
  if ((n.opType === 'QuantizeLinear' || n.opType === 'DequantizeLinear') && [1, 2].some((i) => fedAtRun(n.input(i)))) {
    return `${op} with scale/zero point given at run time`;
  }
  if (n.opType === 'Resize') {
    const mode = n.getString('mode', 'nearest');
    const ct = n.getString('coordinate_transformation_mode', 'half_pixel');
    if (ct === 'tf_crop_and_resize') return `${op} with 'tf_crop_and_resize'`;
  }
  if ((SEQUENCE_OPS as readonly string[]).includes(n.opType)) return sequenceUnsupportedReason(n, fedAtRun);
  return undefined;
}

/** Nodes the runtime cannot run: listed at create() time, never discovered at run(). */
export function unsupportedNodes(graph: Graph, frozen: ReadonlySet<string> = new Set()): Node[] {
  return graph.nodes.filter((n) => unsupportedReason(n, frozen) !== undefined);
}

/** "the runtime does not support LRN, Conv with non-constant weights (3 nodes, first LRN 'lrn1')" */
export function unsupportedMessage(bad: readonly Node[], frozen: ReadonlySet<string> = new Set()): string {
  const what = bad.map((n) => unsupportedReason(n, frozen) ?? n.opType);
  return `the runtime does not support ${[...new Set(what)].join(', ')} (${bad.length} node${bad.length > 1 ? 's' : ''}, first ${bad[0].label})`;
}

export class Lowering {
  readonly b: PlanBuilder;
  readonly graph: Graph;
  readonly options: LowerOptions;
  readonly opset: number;
  /** Nodes already lowered as part of a pattern. */
  readonly done = new Set<Node>();

  constructor(model: Model, options: LowerOptions) {
    this.graph = model.graph;
    this.opset = model.opsetVersion() ?? 13;
    this.options = options;
    this.b = new PlanBuilder(options.threads);
  }

  lower(): LoweredModel {
    const g = this.graph;
    const bad = unsupportedNodes(g);
    if (bad.length > 0) throw new OnnxError(unsupportedMessage(bad), { node: bad[0].id });
    const inputIds = g.inputs.filter((v) => !v.initializer).map((v) => this.b.define(v, 'plain'));
    this.b.plan.inputs = inputIds;
    const emitters = lowerInt8Patterns(this);
    for (const node of g.topologicalOrder()) {
      const emit = emitters.get(node);
      if (!emit && this.done.has(node)) continue;
      try {
        if (emit) emit();
        else this.lowerNode(node);
      } catch (err) {
        if (err instanceof OnnxError) throw err;
        throw new OnnxError(`cannot lower ${node.label}: ${(err as Error).message}`, { node: node.id });
      }
    }
    const outputIds = g.outputs.map((v) => {
      const id = this.b.get(v, 'plain');
      // A graph output that is also an input or a constant needs its own buffer.
      if (this.b.plan.inputs.includes(id) || this.b.plan.values[id].data) {
        const copy = this.b.addValue({ ...this.b.plan.values[id], name: `${v.name}:out`, data: undefined });
        this.b.addNode(`${v.name}:copy`, 'Identity', [id], [copy]);
        return copy;
      }
      return id;
    });
    this.b.plan.outputs = outputIds;
    fuseConvEpilogues(this.b.plan);
    return { plan: this.b.plan, inputIds, outputIds, int8Nodes: emitters.size };
  }

  /** Layout to run an elementwise/concat node in: NHWC when every non-constant input is 4-D and NHWC already. */
  private followLayout(node: Node): Layout {
    const out = node.output(0);
    if (!out || staticShape(out).length !== 4) return 'plain';
    let sawNhwc = false;
    for (const v of node.inputs) {
      if (!v) continue;
      const rank = staticShape(v).length;
      if (v.isConstant || this.constDequantized(v)) {
        if (rank === 4 || staticShape(v).every((d) => d === 1)) continue;
        if (rank > 4) return 'plain';
        continue; // lower-rank constants are broadcast up to 4-D below
      }
      if (rank !== 4 || this.b.current(v, 'nhwc') !== 'nhwc') return 'plain';
      sawNhwc = true;
    }
    return sawNhwc ? 'nhwc' : 'plain';
  }

  /** The plan id of input v in `layout`; constants of lower rank are broadcast up to 4-D first for NHWC. */
  input(v: Value, layout: Layout): number {
    // A DequantizeLinear of a constant (a quantized scale or bias operand) is a float constant here.
    const folded = this.constDequantized(v);
    if (folded && layout === 'plain') return this.b.addConstant(`${v.name}:folded`, 'float32', folded.dims, folded.data);
    const t = v.isConstant && staticShape(v).length < 4 ? this.graph.constantOf(v)! : undefined;
    if (layout === 'nhwc' && (folded || t)) {
      // Broadcast up to 4-D, then lay out NHWC.
      const dtype = t ? planDType(t.dtype, `constant '${v.name}'`) : 'float32';
      const data = t ? tensorData(t, dtype) : folded!.data;
      const own = t ? [...t.dims] : folded!.dims;
      const dims = [...Array(4 - own.length).fill(1), ...own];
      return this.b.addConstant(`${v.name}:nhwc`, dtype, permute(dims, TO_NHWC), transposeData(data, dims, TO_NHWC));
    }
    return this.b.get(v, layout);
  }

  out(v: Value, layout: Layout): number {
    return this.b.define(v, layout);
  }

  private attrsOfActivation(act: FusedActivation | undefined): Record<string, PlanAttr> | undefined {
    if (!act) return undefined;
    if (act.kind === 'Relu') return { activationMin: 0 };
    if (act.kind === 'Clip') return { ...(Number.isFinite(act.params.min) ? { activationMin: act.params.min } : {}), ...(Number.isFinite(act.params.max) ? { activationMax: act.params.max } : {}) };
    return undefined;
  }

  /** A Relu/Clip fused by tag-activations: the producer writes the activation's output directly. */
  clampOf(node: Node): { attrs: Record<string, PlanAttr>; output: Value; nodes: Node[] } | undefined {
    const act = node.tags.fusedActivation as FusedActivation | undefined;
    const attrs = this.attrsOfActivation(act);
    return act && attrs ? { attrs, output: act.output, nodes: act.nodes } : undefined;
  }

  private lowerNode(node: Node): void {
    const op = node.opType;
    const x = node.input(0);
    const y = node.output(0);
    const name = node.name || `${op}_${this.b.plan.nodes.length}`;
    if (op === 'Constant' || op === 'Shape' || op === 'Range' || op === 'ConstantOfShape') {
      if (!y || y.isConstant) return;
      // A Constant (or a Range / ConstantOfShape of constants) that is a graph output stays a node, which
      // fold-constants leaves alone: its value becomes a plan constant here.
      const t = op === 'Constant' ? node.getTensor('value') : op === 'Shape' ? undefined : this.evaluateConstant(node);
      if (!t) throw new OnnxError(`${node.label} was not folded to a constant`, { node: node.id });
      const dtype = planDType(t.dtype, `constant '${y.name}'`);
      this.b.alias(y, 'plain', this.b.addConstant(y.name, dtype, [...t.dims], tensorData(t, dtype)));
      return;
    }
    // LSTM / GRU / RNN may leave Y out and use only Y_h.
    if ((SEQUENCE_OPS as readonly string[]).includes(op)) return lowerSequenceOp(this, node, name);
    if (!y) throw new OnnxError(`${node.label} has no output`, { node: node.id });
    if (y.isConstant) return;
    if (!x) throw new OnnxError(`${node.label} has no first input`, { node: node.id });

    if (NHWC_OPS.has(op) || (op === 'Resize' && staticShape(x).length === 4 && this.resizeIsSpatial(node))) {
      this.lowerSpatial(node, name);
      return;
    }
    if (ELEMENTWISE.has(op)) {
      const layout = this.followLayout(node);
      this.lowerElementwise(node, name, layout);
      return;
    }
    if (op === 'Concat') {
      const layout = this.followLayout(node);
      const rank = staticShape(y).length;
      let axis = node.getInt('axis');
      if (axis < 0) axis += rank;
      const ins = node.inputs.filter((v): v is Value => v !== null).map((v) => this.input(v, layout));
      this.b.addNode(name, 'Concat', ins, [this.out(y, layout)], { axis: layout === 'nhwc' ? TO_NHWC.indexOf(axis) : axis });
      return;
    }
    const xin = (): number => this.b.get(x, 'plain');
    switch (op) {
      case 'Identity':
      case 'Dropout': {
        this.b.alias(y, this.b.current(x) ?? 'plain', this.b.get(x, this.b.current(x) ?? 'plain'));
        // Inference-mode Dropout keeps every element: its mask is all true.
        const mask = node.output(1);
        if (mask) this.b.alias(mask, 'plain', this.b.addConstant(mask.name, 'bool', staticShape(mask), new Uint8Array(staticShape(mask).reduce((a, d) => a * d, 1)).fill(1)));
        return;
      }
      case 'Reshape':
      case 'Flatten':
      case 'Squeeze':
      case 'Unsqueeze':
        this.b.addNode(name, 'Reshape', [xin()], [this.out(y, 'plain')]);
        return;
      case 'Transpose': {
        const rank = staticShape(x).length;
        const perm = node.getInts('perm', [...Array(rank).keys()].reverse());
        this.b.addNode(name, 'Transpose', [xin()], [this.out(y, 'plain')], { perm });
        return;
      }
      case 'Softmax':
      case 'LogSoftmax': {
        const rank = staticShape(x).length;
        let axis = node.getInt('axis', -1);
        if (axis < 0) axis += rank;
        if (axis !== rank - 1) {
          // Softmax over an inner axis: move it last, run, move back.
          const perm = [...Array(rank).keys()].filter((d) => d !== axis).concat(axis);
          const inv = perm.map((_, i) => perm.indexOf(i));
          const shape = permute(staticShape(x), perm);
          const t1 = this.b.addValue({ name: `${x.name}:sm_in`, dtype: 'float32', shape });
          const t2 = this.b.addValue({ name: `${y.name}:sm_out`, dtype: 'float32', shape });
          this.b.addNode(`${name}:pre`, 'Transpose', [xin()], [t1], { perm });
          this.b.addNode(name, op, [t1], [t2], { axis: rank - 1 });
          this.b.addNode(`${name}:post`, 'Transpose', [t2], [this.out(y, 'plain')], { perm: inv });
          return;
        }
        this.b.addNode(name, op, [xin()], [this.out(y, 'plain')], { axis });
        return;
      }
      case 'ArgMax':
      case 'ArgMin': {
        const rank = staticShape(x).length;
        let axis = node.getInt('axis', 0);
        if (axis < 0) axis += rank;
        this.b.addNode(name, op, [xin()], [this.out(y, 'plain')], { axis, keepdims: node.getInt('keepdims', 1), selectLastIndex: node.getInt('select_last_index', 0) });
        return;
      }
      case 'GatherElements':
      case 'ScatterElements':
      case 'Scatter': {
        const rank = staticShape(x).length;
        let axis = node.getInt('axis', 0);
        if (axis < 0) axis += rank;
        const scatter = op !== 'GatherElements';
        const ins = node.inputs.map((v) => this.b.get(v!, 'plain'));
        const reduction = node.getString('reduction', 'none');
        this.b.addNode(name, scatter ? 'ScatterElements' : 'GatherElements', ins, [this.out(y, 'plain')], { axis, ...(scatter && reduction !== 'none' ? { reduction } : {}) });
        return;
      }
      case 'GatherND':
      case 'ScatterND': {
        const ins = node.inputs.map((v) => this.b.get(v!, 'plain'));
        const attrs: Record<string, PlanAttr> = op === 'GatherND' ? { batchDims: node.getInt('batch_dims', 0) } : {};
        const reduction = node.getString('reduction', 'none');
        if (op === 'ScatterND' && reduction !== 'none') attrs.reduction = reduction;
        this.b.addNode(name, op, ins, [this.out(y, 'plain')], attrs);
        return;
      }
      case 'Trilu': {
        const k = node.input(1) ? this.graph.constantOf(node.input(1))?.toNumbers()[0] : 0;
        if (k === undefined) throw new OnnxError(`${node.label}: k must be constant`, { node: node.id });
        this.b.addNode(name, 'Trilu', [xin()], [this.out(y, 'plain')], { upper: node.getInt('upper', 1), k });
        return;
      }
      case 'Expand':
      case 'Tile':
        // The target shape / repeats are in the output's static shape.
        this.b.addNode(name, op, [xin()], [this.out(y, 'plain')]);
        return;
      case 'OneHot': {
        const rank = staticShape(y).length;
        let axis = node.getInt('axis', -1);
        if (axis < 0) axis += rank;
        this.b.addNode(name, 'OneHot', [xin(), this.b.get(node.input(2)!, 'plain')], [this.out(y, 'plain')], { axis });
        return;
      }
      case 'TopK': {
        const rank = staticShape(x).length;
        let axis = node.getInt('axis', -1);
        if (axis < 0) axis += rank;
        const outs = node.outputs.map((v) => (v ? this.out(v, 'plain') : -1));
        if (outs.includes(-1)) throw new OnnxError(`${node.label}: both outputs of TopK must be kept`, { node: node.id });
        this.b.addNode(name, 'TopK', [xin()], outs, { axis, largest: node.getInt('largest', 1) });
        return;
      }
      case 'GlobalMaxPool': {
        // ReduceMax over the spatial axes, kept.
        const rank = staticShape(x).length;
        this.b.addNode(name, 'ReduceMax', [xin()], [this.out(y, 'plain')], { axes: [...Array(rank - 2).keys()].map((d) => d + 2), keepdims: 1 });
        return;
      }
      case 'Size': {
        const n = staticShape(x).reduce((a, d) => a * d, 1);
        this.b.alias(y, 'plain', this.b.addConstant(y.name, 'int64', [], BigInt64Array.of(BigInt(n))));
        return;
      }
      case 'DepthToSpace':
      case 'SpaceToDepth':
        this.lowerSpaceDepth(node, name);
        return;
      case 'EyeLike': {
        // The result depends on the input's shape only: a constant.
        const [rows, cols] = staticShape(y);
        const k = node.getInt('k', 0);
        const dtype = planDType(y.elemType, `value '${y.name}'`);
        const data = new Float64Array(rows * cols);
        for (let i = 0; i < rows; i++) if (i + k >= 0 && i + k < cols) data[i * cols + i + k] = 1;
        const typed = dtype === 'int64' ? BigInt64Array.from(data, (v) => BigInt(v)) : (arrayTypeOf(dtype) as Float32ArrayConstructor).from(data);
        this.b.alias(y, 'plain', this.b.addConstant(y.name, dtype, [rows, cols], typed));
        return;
      }
      case 'Hardmax': {
        const rank = staticShape(x).length;
        let axis = node.getInt('axis', -1);
        if (axis < 0) axis += rank;
        this.b.addNode(name, op, [xin()], [this.out(y, 'plain')], { axis });
        return;
      }
      case 'ReduceMean':
      case 'ReduceSum':
      case 'ReduceMax':
      case 'ReduceMin':
      case 'ReduceProd':
      case 'ReduceL1':
      case 'ReduceL2':
      case 'ReduceSumSquare':
      case 'ReduceLogSum':
      case 'ReduceLogSumExp': {
        const rank = staticShape(x).length;
        const axesT = this.graph.constantOf(node.input(1));
        let axes = axesT ? axesT.toNumbers() : node.getInts('axes', []);
        axes = axes.map((a) => (a < 0 ? a + rank : a));
        if (axes.length === 0 && node.getInt('noop_with_empty_axes', 0) === 1) {
          this.b.addNode(name, 'Identity', [xin()], [this.out(y, 'plain')]);
          return;
        }
        this.b.addNode(name, op, [xin()], [this.out(y, 'plain')], { axes, keepdims: node.getInt('keepdims', 1) });
        return;
      }
      case 'Gemm':
        this.lowerGemm(node, name);
        return;
      case 'MatMul':
        this.lowerMatMul(node, name);
        return;
      case 'Split': {
        const rank = staticShape(x).length;
        let axis = node.getInt('axis', 0);
        if (axis < 0) axis += rank;
        const outs = node.outputs.filter((v): v is Value => v !== null).map((v) => this.out(v, 'plain'));
        this.b.addNode(name, 'Split', [xin()], outs, { axis });
        return;
      }
      case 'Slice': {
        const rank = staticShape(x).length;
        const c = (i: number): number[] | undefined => {
          const v = node.input(i);
          if (!v) return undefined;
          const t = this.graph.constantOf(v);
          if (!t) throw new OnnxError(`${node.label}: input ${i} ('${v.name}') must be constant`, { node: node.id });
          return t.toNumbers();
        };
        const xshape = staticShape(x);
        const axes = (c(3) ?? c(1)!.map((_, i) => i)).map((a) => (a < 0 ? a + rank : a));
        // INT64_MAX / INT64_MIN style bounds become the equivalent in-range ones (ONNX clamps them anyway).
        const bound = (list: number[]): number[] => list.map((n, i) => Math.max(-(xshape[axes[i]] + 1), Math.min(xshape[axes[i]] + 1, n)));
        const starts = bound(c(1)!);
        const ends = bound(c(2)!);
        const steps = c(4) ?? starts.map(() => 1);
        this.b.addNode(name, 'Slice', [xin()], [this.out(y, 'plain')], { starts, ends, axes, steps });
        return;
      }
      case 'Pad': {
        const mode = node.getString('mode', 'constant');
        const padsT = this.graph.constantOf(node.input(1));
        if (!padsT) throw new OnnxError(`${node.label}: pads must be constant`, { node: node.id });
        const valueT = this.graph.constantOf(node.input(2));
        const rank = staticShape(x).length;
        let pads = padsT.toNumbers();
        const axesT = this.graph.constantOf(node.input(3));
        if (axesT) {
          const axes = axesT.toNumbers().map((a) => (a < 0 ? a + rank : a));
          const full = new Array<number>(2 * rank).fill(0);
          axes.forEach((a, i) => {
            full[a] = pads[i];
            full[a + rank] = pads[i + axes.length];
          });
          pads = full;
        }
        if (mode === 'constant') {
          this.b.addNode(name, 'Pad', [xin()], [this.out(y, 'plain')], { pads, value: valueT ? valueT.toNumbers()[0] : 0 });
        } else if (mode === 'reflect' || mode === 'edge') {
          this.lowerReflectPad(name, x, y, pads, mode);
        } else {
          throw new OnnxError(`${node.label}: Pad mode '${mode}' is not supported`, { node: node.id });
        }
        return;
      }
      case 'Gather': {
        const idx = node.input(1)!;
        const rank = staticShape(x).length;
        let axis = node.getInt('axis', 0);
        if (axis < 0) axis += rank;
        this.b.addNode(name, 'Gather', [xin(), this.b.get(idx, 'plain')], [this.out(y, 'plain')], { axis });
        return;
      }
      case 'Resize':
        this.b.addNode(name, 'Resize', [xin()], [this.out(y, 'plain')], this.resizeAttrs(node));
        return;
      case 'QuantizeLinear':
      case 'DequantizeLinear':
        this.lowerQdq(node, name);
        return;
      case 'DynamicQuantizeLinear': {
        const outs = node.outputs.map((v) => (v ? this.out(v, 'plain') : -1));
        this.b.addNode(name, 'DynamicQuantizeLinear', [xin()], outs);
        return;
      }
      case 'MatMulInteger': {
        const ins = node.inputs.map((v) => (v ? this.b.get(v, 'plain') : -1));
        this.b.addNode(name, 'MatMulInteger', ins, [this.out(y, 'plain')]);
        return;
      }
      default:
        throw new OnnxError(`the runtime does not support ${op} (${node.label})`, { node: node.id });
    }
  }

  /**
   * DepthToSpace / SpaceToDepth as Reshape → Transpose → Reshape (rank 6):
   *   DepthToSpace DCR: [N, b, b, C/b², H, W] perm [0, 3, 4, 1, 5, 2];  CRD: [N, C/b², b, b, H, W] perm [0, 1, 4, 2, 5, 3]
   *   SpaceToDepth:     [N, C, H/b, b, W/b, b] perm [0, 3, 5, 1, 2, 4]
   */
  private lowerSpaceDepth(node: Node, name: string): void {
    const x = node.input(0)!;
    const y = node.output(0)!;
    const [n, c, h, w] = staticShape(x);
    const bs = node.getInt('blocksize');
    let shape6: number[];
    let perm: number[];
    if (node.opType === 'SpaceToDepth') {
      shape6 = [n, c, h / bs, bs, w / bs, bs];
      perm = [0, 3, 5, 1, 2, 4];
    } else if (node.getString('mode', 'DCR') === 'CRD') {
      shape6 = [n, c / (bs * bs), bs, bs, h, w];
      perm = [0, 1, 4, 2, 5, 3];
    } else {
      shape6 = [n, bs, bs, c / (bs * bs), h, w];
      perm = [0, 3, 4, 1, 5, 2];
    }
    const xid = this.b.get(x, 'plain');
    const dtype = this.b.plan.values[xid].dtype;
    const quant = this.b.plan.values[xid].quant;
    const a = this.b.addValue({ name: `${x.name}:6d`, dtype, shape: shape6, ...(quant ? { quant } : {}) });
    const t = this.b.addValue({ name: `${y.name}:6d`, dtype, shape: permute(shape6, perm), ...(quant ? { quant } : {}) });
    this.b.addNode(`${name}:split`, 'Reshape', [xid], [a]);
    this.b.addNode(name, 'Transpose', [a], [t], { perm });
    this.b.addNode(`${name}:merge`, 'Reshape', [t], [this.out(y, 'plain')]);
  }

  /** Reflect / edge padding as Slices (negative steps mirror) and a Concat, one axis at a time. */
  private lowerReflectPad(name: string, x: Value, y: Value, pads: number[], mode: 'reflect' | 'edge'): void {
    const rank = staticShape(x).length;
    let cur = this.b.get(x, 'plain');
    let shape = staticShape(x);
    const dtype = this.b.plan.values[cur].dtype;
    const axes = [...Array(rank).keys()].filter((a) => pads[a] > 0 || pads[a + rank] > 0);
    axes.forEach((axis, k) => {
      const [before, after] = [pads[axis], pads[axis + rank]];
      const len = shape[axis];
      if (mode === 'reflect' && (before >= len || after >= len)) throw new OnnxError(`Pad '${name}': reflect padding ${Math.max(before, after)} needs an axis longer than ${len}`, {});
      const parts: number[] = [];
      const slice = (tag: string, start: number, end: number, step: number, count: number): number => {
        const sshape = [...shape];
        sshape[axis] = count;
        const id = this.b.addValue({ name: `${name}:${tag}${axis}`, dtype, shape: sshape });
        this.b.addNode(`${name}:${tag}${axis}`, 'Slice', [cur], [id], { starts: [start], ends: [end], axes: [axis], steps: [step] });
        return id;
      };
      const edge = (tag: string, at: number, count: number): number => {
        // Edge: repeat one slice `count` times.
        const one = slice(`${tag}1_`, at, at + 1, 1, 1);
        if (count === 1) return one;
        const sshape = [...shape];
        sshape[axis] = count;
        const id = this.b.addValue({ name: `${name}:${tag}${axis}`, dtype, shape: sshape });
        this.b.addNode(`${name}:${tag}${axis}`, 'Concat', new Array(count).fill(one), [id], { axis });
        return id;
      };
      if (before > 0) parts.push(mode === 'reflect' ? slice('lo', before, 0, -1, before) : edge('lo', 0, before));
      parts.push(cur);
      if (after > 0) parts.push(mode === 'reflect' ? slice('hi', len - 2, len - 2 - after, -1, after) : edge('hi', len - 1, after));
      const outShape = [...shape];
      outShape[axis] = len + before + after;
      const last = k === axes.length - 1;
      const out = last ? this.out(y, 'plain') : this.b.addValue({ name: `${name}:pad${axis}`, dtype, shape: outShape });
      this.b.addNode(`${name}:pad${axis}`, 'Concat', parts, [out], { axis });
      cur = out;
      shape = outShape;
    });
    if (axes.length === 0) this.b.addNode(name, 'Identity', [cur], [this.out(y, 'plain')]);
  }

  private resizeIsSpatial(node: Node): boolean {
    const x = node.input(0)!;
    const y = node.output(0)!;
    const xs = staticShape(x);
    const ys = staticShape(y);
    return xs[0] === ys[0] && xs[1] === ys[1];
  }

  private resizeAttrs(node: Node): Record<string, PlanAttr> {
    // ONNX maps coordinates with the given scales, not output/input (they differ when the size was floored).
    const scalesT = this.graph.constantOf(node.input(2));
    const scales = scalesT && scalesT.size === 4 ? scalesT.toNumbers().slice(2) : undefined;
    return {
      ...(scales ? { scales } : {}),
      mode: node.getString('mode', 'nearest'),
      coordinateTransformationMode: node.getString('coordinate_transformation_mode', 'half_pixel'),
      nearestMode: node.getString('nearest_mode', 'round_prefer_floor'),
      ...(node.getString('mode', 'nearest') === 'cubic'
        ? { cubicCoeffA: node.getFloat('cubic_coeff_a', -0.75), excludeOutside: node.getInt('exclude_outside', 0) }
        : {}),
    };
  }

  /** Conv / ConvTranspose / pooling / spatial Resize on NHWC (1-D convs as 2-D with H = 1). */
  private lowerSpatial(node: Node, name: string): void {
    const op = node.opType;
    const x = node.input(0)!;
    const y = node.output(0)!;
    const xs = staticShape(x);
    if (xs.length === 3 && (op === 'Conv' || op === 'MaxPool' || op === 'AveragePool' || op === 'GlobalAveragePool')) {
      this.lowerSpatial1d(node, name);
      return;
    }
    if (xs.length !== 4) throw new OnnxError(`${node.label}: only 1-D and 2-D ${op} are supported (input is ${xs.length}-D)`, { node: node.id });
    if (op === 'Resize') {
      this.b.addNode(name, 'Resize', [this.b.get(x, 'nhwc')], [this.out(y, 'nhwc')], this.resizeAttrs(node));
      return;
    }
    if (op === 'GlobalAveragePool') {
      this.b.addNode(name, 'GlobalAveragePool', [this.b.get(x, 'nhwc')], [this.out(y, 'nhwc')]);
      return;
    }
    const clamp = op === 'Conv' || op === 'ConvTranspose' ? this.clampOf(node) : undefined;
    const outValue = clamp ? clamp.output : y;
    const attrs: Record<string, PlanAttr> = { ...this.windowAttrs(node, xs, staticShape(y)), ...(clamp?.attrs ?? {}) };
    const inputs = [this.b.get(x, 'nhwc')];
    if (op === 'Conv' || op === 'ConvTranspose') {
      const w = node.input(1)!;
      const wc = this.floatConstant(w);
      if (!wc) throw new OnnxError(`${node.label}: weights '${w.name}' must be constant`, { node: node.id });
      const wdims = wc.dims;
      let wdata = wc.data;
      if (op === 'Conv') {
        // The model's OIHW weights as they are (no transposed copy): the native Conv transposes one layer at a time.
        attrs.weightLayout = 'OIHW';
        inputs.push(this.b.addConstant(`${w.name}:oihw`, 'float32', wdims, wdata));
      } else {
        const group = node.getInt('group', 1);
        const [data, ohwi] = deconvWeightsToOhwi(wdata, wdims, group);
        attrs.group = group;
        inputs.push(this.b.addConstant(`${w.name}:ohwi`, 'float32', ohwi, data));
      }
      const bias = node.input(2);
      if (bias) inputs.push(this.b.get(bias, 'plain'));
      if (clamp) clamp.nodes.forEach((n) => this.done.add(n));
    }
    const planOp = op === 'Conv' ? 'Conv' : op === 'ConvTranspose' ? 'ConvTranspose' : op === 'MaxPool' ? 'MaxPool' : 'AveragePool';
    this.b.addNode(name, planOp, inputs, [this.out(outValue, 'nhwc')], attrs);
  }

  private lowerSpatial1d(node: Node, name: string): void {
    // [N, C, L] → [N, C, 1, L] → 2-D op → [N, C', 1, L'] → [N, C', L'], all in the ONNX layout at the edges.
    const x = node.input(0)!;
    const y = node.output(0)!;
    const clamp = node.opType === 'Conv' ? this.clampOf(node) : undefined;
    const outValue = clamp ? clamp.output : y;
    const xs = staticShape(x);
    const ys = staticShape(y);
    const nlc = this.b.addValue({ name: `${x.name}:nlc`, dtype: 'float32', shape: [xs[0], xs[2], xs[1]] });
    this.b.addNode(`${name}:to_nlc`, 'Transpose', [this.b.get(x, 'plain')], [nlc], { perm: [0, 2, 1] });
    const x4 = this.b.addValue({ name: `${x.name}:nhwc1d`, dtype: 'float32', shape: [xs[0], 1, xs[2], xs[1]] });
    this.b.addNode(`${name}:as4d`, 'Reshape', [nlc], [x4]);
    const y4 = this.b.addValue({ name: `${y.name}:nhwc1d`, dtype: 'float32', shape: [ys[0], 1, ys[2], ys[1]] });
    const attrs: Record<string, PlanAttr> = { ...this.windowAttrs(node, [xs[0], xs[1], 1, xs[2]], [ys[0], ys[1], 1, ys[2]], true), ...(clamp?.attrs ?? {}) };
    const inputs = [x4];
    if (node.opType === 'Conv') {
      const w = node.input(1)!;
      const wc = this.floatConstant(w);
      if (!wc) throw new OnnxError(`${node.label}: weights '${w.name}' must be constant`, { node: node.id });
      const [o, i, k] = wc.dims;
      // OIK → O,1,K,I
      inputs.push(this.b.addConstant(`${w.name}:ohwi`, 'float32', [o, 1, k, i], transposeData(wc.data, [o, i, k], [0, 2, 1])));
      const bias = node.input(2);
      if (bias) inputs.push(this.b.get(bias, 'plain'));
      if (clamp) clamp.nodes.forEach((n) => this.done.add(n));
    }
    const planOp = node.opType === 'Conv' ? 'Conv' : node.opType === 'GlobalAveragePool' ? 'GlobalAveragePool' : node.opType === 'MaxPool' ? 'MaxPool' : 'AveragePool';
    this.b.addNode(name, planOp, inputs, [y4], planOp === 'GlobalAveragePool' ? undefined : attrs);
    const y3 = this.b.addValue({ name: `${y.name}:nlc`, dtype: 'float32', shape: [ys[0], ys[2], ys[1]] });
    this.b.addNode(`${name}:as3d`, 'Reshape', [y4], [y3]);
    this.b.addNode(`${name}:to_ncl`, 'Transpose', [y3], [this.out(outValue, 'plain')], { perm: [0, 2, 1] });
  }

  /** kernelShape / strides / dilations / pads [t, l, b, r] (+ ceil_mode and auto_pad resolved into pads). */
  windowAttrs(node: Node, xs: number[], ys: number[], oneD = false): Record<string, PlanAttr> {
    const op = node.opType;
    const expand = (a: number[], fill: number): number[] => (oneD ? [fill, ...a] : a);
    let kernel: number[];
    if (op === 'Conv' || op === 'ConvTranspose') {
      const wdims = this.constantDims(node.input(1));
      kernel = wdims ? wdims.slice(2) : node.getInts('kernel_shape');
      if (oneD) kernel = [1, ...kernel];
    } else {
      kernel = expand(node.getInts('kernel_shape'), 1);
    }
    const strides = expand(node.getInts('strides', oneD ? [1] : [1, 1]), 1);
    const dilations = expand(node.getInts('dilations', oneD ? [1] : [1, 1]), 1);
    let pads = node.getInts('pads', oneD ? [0, 0] : [0, 0, 0, 0]);
    if (oneD) pads = [0, pads[0], 0, pads[1]];
    const autoPad = node.getString('auto_pad', 'NOTSET');
    const [ih, iw] = [xs[2], xs[3]];
    const [oh, ow] = [ys[2], ys[3]];
    if (op !== 'ConvTranspose' && (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER')) {
      const [top, bottom] = samePads(autoPad, ih, oh, kernel[0], strides[0], dilations[0]);
      const [left, right] = samePads(autoPad, iw, ow, kernel[1], strides[1], dilations[1]);
      pads = [top, left, bottom, right];
    } else if (autoPad === 'VALID') {
      pads = [0, 0, 0, 0];
    }
    if (op !== 'ConvTranspose') {
      // ceil_mode (pooling) or any remainder: extra bottom/right padding so the kernel produces exactly ys.
      for (let d = 0; d < 2; d++) {
        const need = ((d === 0 ? oh : ow) - 1) * strides[d] + (kernel[d] - 1) * dilations[d] + 1 - (d === 0 ? ih : iw) - pads[d] - pads[d + 2];
        if (need > 0) pads[d + 2] += need;
      }
    }
    const attrs: Record<string, PlanAttr> = { strides, pads };
    if (op === 'Conv' || op === 'ConvTranspose') {
      attrs.dilations = dilations;
      attrs.group = node.getInt('group', 1);
    } else {
      attrs.kernelShape = kernel;
      if (op === 'MaxPool') attrs.dilations = dilations;
      if (op === 'AveragePool') attrs.countIncludePad = node.getInt('count_include_pad', 0);
    }
    if (op === 'ConvTranspose') {
      const op2 = node.getInts('output_padding', [0, 0]);
      // Output size may be set by output_shape: derive the output padding that yields ys.
      const adj = [0, 1].map((d) => (d === 0 ? oh : ow) - (strides[d] * ((d === 0 ? ih : iw) - 1) + (kernel[d] - 1) * dilations[d] + 1 - pads[d] - pads[d + 2]));
      attrs.outputPadding = adj.map((a, i) => (a >= 0 ? a : op2[i]));
    }
    return attrs;
  }

  private lowerElementwise(node: Node, name: string, layout: Layout): void {
    const op = node.opType;
    const y = node.output(0)!;
    const ins = node.inputs.map((v) => (v ? this.input(v, layout) : -1));
    if (UNARY_DIRECT.has(op) || BINARY.has(op)) {
      this.b.addNode(name, op as never, ins, [this.out(y, layout)]);
      return;
    }
    const shapeOf = (id: number): number[] => this.b.plan.values[id].shape;
    switch (op) {
      case 'Sum':
      case 'Mean':
      case 'Max':
      case 'Min': {
        // Variadic in ONNX, binary in the plan; intermediate results take the broadcast shape so far.
        const mean = op === 'Mean' && ins.length > 1;
        const yId = this.out(y, layout);
        let acc = ins[0];
        for (let i = 1; i < ins.length; i++) {
          const last = i === ins.length - 1 && !mean;
          const shape = broadcastShapes(shapeOf(acc), shapeOf(ins[i])) ?? shapeOf(yId);
          const next = last ? yId : this.b.addValue({ ...this.b.plan.values[yId], shape, name: `${y.name}:${i}`, data: undefined });
          this.b.addNode(`${name}:${i}`, VARIADIC[op], [acc, ins[i]], [next]);
          acc = next;
        }
        if (mean) this.b.addNode(name, 'Mul', [acc, this.b.addConstant(`${name}:1/n`, 'float32', [], Float32Array.of(1 / ins.length))], [yId]);
        if (ins.length === 1) this.b.addNode(name, 'Identity', [ins[0]], [yId]);
        return;
      }
      case 'Pow': {
        // The exponent may have another type than the base: integer bases compute in float32 and cast back.
        const base = this.b.plan.values[ins[0]];
        const exp = this.b.plan.values[ins[1]];
        const yId = this.out(y, layout);
        if (exp.dtype === base.dtype) {
          this.b.addNode(name, 'Pow', ins, [yId]);
        } else if (base.dtype === 'float32') {
          this.b.addNode(name, 'Pow', [ins[0], this.castValue(ins[1], 'float32', `${name}:exp`)], [yId]);
        } else {
          const r = this.b.addValue({ name: `${y.name}:f32`, dtype: 'float32', shape: shapeOf(yId) });
          this.b.addNode(name, 'Pow', [this.castValue(ins[0], 'float32', `${name}:base`), this.castValue(ins[1], 'float32', `${name}:exp`)], [r]);
          this.b.addNode(`${name}:cast`, 'Cast', [r], [yId]);
        }
        return;
      }
      case 'Clip': {
        const min = node.input(1) ? this.graph.constantOf(node.input(1))?.toNumbers()[0] : undefined;
        const max = node.input(2) ? this.graph.constantOf(node.input(2))?.toNumbers()[0] : undefined;
        if ((node.input(1) && min === undefined) || (node.input(2) && max === undefined)) {
          throw new OnnxError(`${node.label}: Clip bounds must be constant`, { node: node.id });
        }
        const x = this.b.plan.values[ins[0]];
        if (x.dtype !== 'float32' && !x.quant) {
          // Plain integers: Max with the lower bound, then Min with the upper one.
          const yId = this.out(y, layout);
          const bounds = ([['Max', min], ['Min', max]] as const).filter(([, v]) => v !== undefined);
          let acc = ins[0];
          bounds.forEach(([bop, v], i) => {
            const c = this.b.addConstant(`${name}:${bop}`, x.dtype, [], tensorOfNumber(x.dtype, v!));
            const next = i === bounds.length - 1 ? yId : this.b.addValue({ ...x, name: `${y.name}:${bop}`, data: undefined });
            this.b.addNode(`${name}:${bop}`, bop, [acc, c], [next]);
            acc = next;
          });
          if (bounds.length === 0) this.b.addNode(name, 'Identity', [ins[0]], [yId]);
          return;
        }
        this.b.addNode(name, 'Clip', [ins[0]], [this.out(y, layout)], { ...(min !== undefined ? { min } : {}), ...(max !== undefined ? { max } : {}) });
        return;
      }
      case 'Mod':
        this.b.addNode(name, 'Mod', ins, [this.out(y, layout)], { fmod: node.getInt('fmod', 0) });
        return;
      case 'BitShift':
        this.b.addNode(name, 'BitShift', ins, [this.out(y, layout)], { direction: node.getString('direction', '') });
        return;
      case 'IsInf':
        this.b.addNode(name, 'IsInf', ins, [this.out(y, layout)], { detectPositive: node.getInt('detect_positive', 1), detectNegative: node.getInt('detect_negative', 1) });
        return;
      case 'HardSigmoid':
      case 'LeakyRelu':
      case 'Elu':
      case 'Selu':
      case 'ThresholdedRelu':
      case 'Celu':
      case 'Shrink': {
        const attrs = Object.fromEntries(Object.entries(UNARY_ATTRS[op]).map(([k, def]) => [k, node.getFloat(k, def)]));
        this.b.addNode(name, op, [ins[0]], [this.out(y, layout)], attrs);
        return;
      }
      case 'Cast':
        this.b.addNode(name, 'Cast', [ins[0]], [this.out(y, layout)]);
        return;
      default:
        throw new OnnxError(`the runtime does not support ${op} (${node.label})`, { node: node.id });
    }
  }

  /** The output of a node whose inputs are all constants, computed now (undefined when it cannot be). */
  private evaluateConstant(node: Node): IrTensor | undefined {
    const inputs = node.inputs.map((v) => (v ? (this.graph.constantOf(v) ?? null) : null));
    if (node.inputs.some((v, i) => v && !inputs[i])) return undefined;
    return evaluateNode(node, inputs, this.opset)?.[0];
  }

  /** `id` converted to `dtype` by a Cast node (values of that dtype pass through). */
  castValue(id: number, dtype: PlanDType, name: string): number {
    const v = this.b.plan.values[id];
    if (v.dtype === dtype) return id;
    const out = this.b.addValue({ name: `${v.name}:${dtype}`, dtype, shape: v.shape });
    this.b.addNode(name, 'Cast', [id], [out]);
    return out;
  }

  private lowerGemm(node: Node, name: string): void {
    const a = node.input(0)!;
    const bv = node.input(1)!;
    const y = node.output(0)!;
    const transA = node.getInt('transA', 0);
    const transB = node.getInt('transB', 0);
    const alpha = node.getFloat('alpha', 1);
    const beta = node.getFloat('beta', 1);
    const bt = this.floatConstant(bv);
    const c = node.input(2);
    const ct = c ? this.floatConstant(c) : undefined;
    const [, n] = transB ? [staticShape(bv)[1], staticShape(bv)[0]] : staticShape(bv);
    if (transA === 0 && bt && (!c || (ct && ct.data.length === n))) {
      const bdata = bt.data;
      const w = transB ? Float32Array.from(bdata) : transposeData(bdata, bt.dims, [1, 0]);
      if (alpha !== 1) for (let i = 0; i < w.length; i++) w[i] *= alpha;
      const inputs = [this.b.get(a, 'plain'), this.b.addConstant(`${bv.name}:nk`, 'float32', [n, w.length / n], w)];
      if (ct) {
        const bias = Float32Array.from(ct.data, (v) => v * beta);
        inputs.push(this.b.addConstant(`${c!.name}:bias`, 'float32', [n], bias));
      }
      const clamp = this.clampOf(node);
      if (clamp) clamp.nodes.forEach((x) => this.done.add(x));
      this.b.addNode(name, 'FullyConnected', inputs, [this.out(clamp ? clamp.output : y, 'plain')], clamp?.attrs);
      return;
    }
    // General Gemm: MatMul (+ transposes) then alpha/beta/C as elementwise ops.
    let aId = this.b.get(a, 'plain');
    if (transA) {
      const s = staticShape(a);
      const t = this.b.addValue({ name: `${a.name}:T`, dtype: 'float32', shape: [s[1], s[0]] });
      this.b.addNode(`${name}:transA`, 'Transpose', [aId], [t], { perm: [1, 0] });
      aId = t;
    }
    let bId = this.b.get(bv, 'plain');
    if (transB) {
      const s = staticShape(bv);
      const t = this.b.addValue({ name: `${bv.name}:T`, dtype: 'float32', shape: [s[1], s[0]] });
      this.b.addNode(`${name}:transB`, 'Transpose', [bId], [t], { perm: [1, 0] });
      bId = t;
    }
    const ys = staticShape(y);
    const mm = c || alpha !== 1 ? this.b.addValue({ name: `${y.name}:mm`, dtype: 'float32', shape: ys }) : this.out(y, 'plain');
    this.b.addNode(name, 'MatMul', [aId, bId], [mm]);
    let acc = mm;
    if (alpha !== 1) {
      const s = this.b.addConstant(`${name}:alpha`, 'float32', [1], Float32Array.of(alpha));
      const next = c ? this.b.addValue({ name: `${y.name}:alpha`, dtype: 'float32', shape: ys }) : this.out(y, 'plain');
      this.b.addNode(`${name}:alpha`, 'Mul', [acc, s], [next]);
      acc = next;
    }
    if (c) {
      let cId = this.b.get(c, 'plain');
      if (beta !== 1) {
        const s = this.b.addConstant(`${name}:beta`, 'float32', [1], Float32Array.of(beta));
        const t = this.b.addValue({ name: `${c.name}:beta`, dtype: 'float32', shape: staticShape(c) });
        this.b.addNode(`${name}:beta`, 'Mul', [cId, s], [t]);
        cId = t;
      }
      this.b.addNode(`${name}:bias`, 'Add', [acc, cId], [this.out(y, 'plain')]);
    }
  }

  private lowerMatMul(node: Node, name: string): void {
    const a = node.input(0)!;
    const bv = node.input(1)!;
    const y = node.output(0)!;
    const bt = this.floatConstant(bv);
    if (bt && bt.dims.length === 2 && staticShape(a).length >= 2) {
      const [k, n] = bt.dims;
      const w = transposeData(bt.data, [k, n], [1, 0]);
      const clamp = this.clampOf(node);
      if (clamp) clamp.nodes.forEach((x) => this.done.add(x));
      this.b.addNode(name, 'FullyConnected', [this.b.get(a, 'plain'), this.b.addConstant(`${bv.name}:nk`, 'float32', [n, k], w)], [this.out(clamp ? clamp.output : y, 'plain')], clamp?.attrs);
      return;
    }
    this.b.addNode(name, 'MatMul', [this.b.get(a, 'plain'), this.b.get(bv, 'plain')], [this.out(y, 'plain')]);
  }

  /**
   * A constant's float32 data: an initializer, or a DequantizeLinear of one (int8 weights in a QDQ model that
   * runs in float because its pattern did not fit an int8 kernel).
   */
  floatConstant(v: Value | null): { data: Float32Array; dims: number[] } | undefined {
    if (!v) return undefined;
    const t = this.graph.constantOf(v);
    if (t) return t.dtype === 1 || t.dtype === 11 || t.dtype === 10 ? { data: t.toFloat32(), dims: [...t.dims] } : undefined;
    const dq = v.producer;
    if (!dq || dq.opType !== 'DequantizeLinear') return undefined;
    const xt = this.graph.constantOf(dq.input(0));
    const q = this.qparamsOf(dq);
    if (!xt || !q) return undefined;
    // The codes as they are stored (a view; a float64 copy of every weight would be transient garbage the size of
    // twice the fp32 model while the plan is built).
    const data = xt.numberView() ?? xt.toFloat64();
    const out = new Float32Array(data.length);
    const dims = [...xt.dims];
    const inner = q.axis === undefined ? data.length : dims.slice(q.axis + 1).reduce((p, d) => p * d, 1);
    const dim = q.axis === undefined ? 1 : dims[q.axis];
    for (let start = 0, block = 0; start < data.length; start += inner, block++) {
      const c = block % dim;
      const z = q.zeroPoint[c], sc = q.scale[c];
      for (let i = start; i < start + inner; i++) out[i] = Math.fround((data[i] - z) * sc);
    }
    return { data: out, dims };
  }

  /** The dims floatConstant(v) would have, without converting any data. */
  constantDims(v: Value | null): number[] | undefined {
    if (!v) return undefined;
    const t = this.graph.constantOf(v) ?? (v.producer?.opType === 'DequantizeLinear' ? this.graph.constantOf(v.producer.input(0)) : undefined);
    return t ? [...t.dims] : undefined;
  }

  /** floatConstant() for a DequantizeLinear output only (not for plain initializers). */
  constDequantized(v: Value): { data: Float32Array; dims: number[] } | undefined {
    return !v.isConstant && v.producer?.opType === 'DequantizeLinear' && this.graph.constantOf(v.producer.input(0)) ? this.floatConstant(v) : undefined;
  }

  /** Quant parameters from a Q/DQ node's scale and zero-point inputs (constants). */
  qparamsOf(node: Node): QdqParams | undefined {
    const s = this.graph.constantOf(node.input(1));
    const zv = node.input(2);
    const z = zv ? this.graph.constantOf(zv) : undefined;
    if (!s || (zv && !z)) return undefined;
    const scale = s.toFloat32();
    const zeroPoint = z ? Int32Array.from(z.toNumbers()) : new Int32Array(scale.length);
    const qType = node.opType === 'QuantizeLinear' ? (z?.dtype ?? 2) : (node.input(0)?.elemType ?? z?.dtype ?? 2);
    const dtype = QDQ_TYPES[qType];
    if (!dtype) return undefined;
    if (scale.length === 1) return { scale: Float32Array.of(scale[0]), zeroPoint: Int32Array.of(zeroPoint[0]), dtype };
    const rank = staticShape(node.input(0)!).length;
    let axis = node.getInt('axis', 1);
    if (axis < 0) axis += rank;
    return { scale: Float32Array.from(scale), zeroPoint, axis, dtype };
  }

  private lowerQdq(node: Node, name: string): void {
    const x = node.input(0)!;
    const y = node.output(0)!;
    const q = this.qparamsOf(node);
    if (!q) throw new OnnxError(`${node.label}: scale and zero point must be constants of a supported type`, { node: node.id });
    if (q.dtype === 'int16' || q.dtype === 'uint16') {
      this.lowerQdq16(node, name, q);
      return;
    }
    const quant = { scale: q.scale, zeroPoint: q.zeroPoint, ...(q.axis !== undefined ? { axis: q.axis } : {}) };
    if (node.opType === 'QuantizeLinear') {
      this.b.setQuant(y, quant);
      const layout = q.axis === undefined ? (this.b.current(x) ?? 'plain') : 'plain';
      this.b.addNode(name, 'QuantizeLinear', [this.b.get(x, layout)], [this.out(y, layout)]);
      return;
    }
    const folded = this.graph.constantOf(x) ? this.floatConstant(y) : undefined;
    if (folded) {
      // DequantizeLinear of a constant (weights): fold into a float constant.
      this.b.alias(y, 'plain', this.b.addConstant(y.name, 'float32', folded.dims, folded.data));
      return;
    }
    this.b.setQuant(x, quant);
    const layout = q.axis === undefined ? (this.b.current(x) ?? 'plain') : 'plain';
    const xid = this.b.get(x, layout);
    const xv = this.b.plan.values[xid];
    // An int8 graph input (or a value whose producer set no parameters) takes them from its DequantizeLinear.
    if (!xv.quant) xv.quant = layout === 'nhwc' && quant.axis !== undefined ? { ...quant, axis: TO_NHWC.indexOf(quant.axis) } : quant;
    this.b.addNode(name, 'DequantizeLinear', [xid], [this.out(y, layout)]);
  }

  /**
   * 16-bit activations (A16W8) run in float32: a QuantizeLinear → DequantizeLinear pair of int16/uint16 becomes
   * one QuantizeDequantize (the codes are rounded and clamped, never stored), so the layers between pairs take
   * fp32 kernels with int8 weights folded to float. The QuantizeLinear lowers to nothing; each DequantizeLinear
   * reading it emits the pair. 16-bit tensors anywhere else (a graph input or output, an op other than
   * DequantizeLinear reading one) are refused by name. A DequantizeLinear of a 16-bit constant folds.
   */
  private lowerQdq16(node: Node, name: string, q: QdqParams): void {
    const x = node.input(0)!;
    const y = node.output(0)!;
    const refuse = (what: string): never => {
      throw new OnnxError(`${node.label}: ${what}; octet's runtime keeps 16-bit tensors only between a QuantizeLinear and the DequantizeLinear nodes reading it`, { node: node.id });
    };
    if (node.opType === 'QuantizeLinear') {
      if (y.isGraphOutput) refuse(`its 16-bit output '${y.name}' is a graph output`);
      const other = y.consumers.find((c) => c.opType !== 'DequantizeLinear' || !isDefaultDomain(c.domain) || c.input(0) !== y);
      if (other) refuse(`its 16-bit output '${y.name}' feeds ${other.label}`);
      return;
    }
    const folded = this.graph.constantOf(x) ? this.floatConstant(y) : undefined;
    if (folded) {
      this.b.alias(y, 'plain', this.b.addConstant(y.name, 'float32', folded.dims, folded.data));
      return;
    }
    const qn = x.producer;
    if (!qn || qn.opType !== 'QuantizeLinear' || !isDefaultDomain(qn.domain)) refuse(`its 16-bit input '${x.name}' is not the output of a QuantizeLinear`);
    const qq = this.qparamsOf(qn!);
    if (!qq || qq.dtype !== q.dtype || (qq.axis ?? -1) !== (q.axis ?? -1)) refuse(`its parameters do not match those of ${qn!.label} (type and axis)`);
    const src = qn!.input(0)!;
    const layout = q.axis === undefined ? (this.b.current(src) ?? 'plain') : 'plain';
    const { qmin, qmax } = qRange(q.dtype);
    this.b.addNode(name, 'QuantizeDequantize', [this.b.get(src, layout)], [this.out(y, layout)], {
      scale: Array.from(qq!.scale),
      zeroPoint: Array.from(qq!.zeroPoint),
      dqScale: Array.from(q.scale),
      dqZeroPoint: Array.from(q.zeroPoint),
      qmin,
      qmax,
      axis: q.axis ?? -1,
    });
  }
}

/** Quant parameters of a QuantizeLinear/DequantizeLinear node (Lowering.qparamsOf); axis absent per tensor. */
export interface QdqParams {
  scale: Float32Array;
  zeroPoint: Int32Array;
  axis?: number;
  dtype: 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32';
}

/** Quantized element types of QuantizeLinear/DequantizeLinear the runtime takes, by ONNX data type. */
const QDQ_TYPES: Record<number, QdqParams['dtype'] | undefined> = { 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32' };

/** A one-element typed array of `dtype` holding `v`. */
function tensorOfNumber(dtype: PlanDType, v: number): PlanTypedArray {
  return dtype === 'int64' ? BigInt64Array.of(BigInt(Math.trunc(v))) : (arrayTypeOf(dtype) as Float32ArrayConstructor).of(v);
}

/** ConvTranspose weights [C_in, C_out/g, kh, kw] in the plan's per-group [C_out, kh, kw, C_in/g] order. */
export function deconvWeightsToOhwi<T extends Float32Array | Int8Array>(data: T, dims: readonly number[], group: number): [T, number[]] {
  const [cin, coutg, kh, kw] = dims;
  const cing = cin / group;
  const out = new (data.constructor as new (n: number) => T)(data.length);
  for (let g = 0; g < group; g++)
    for (let o = 0; o < coutg; o++)
      for (let i = 0; i < kh; i++)
        for (let j = 0; j < kw; j++)
          for (let c = 0; c < cing; c++) out[(((g * coutg + o) * kh + i) * kw + j) * cing + c] = data[(((g * cing + c) * coutg + o) * kh + i) * kw + j];
  return [out, [coutg * group, kh, kw, cing]];
}

/** Lowers a canonical model whose shapes are all static. */
export function lowerModel(model: Model, options: LowerOptions): LoweredModel {
  // Re-inferring restores the declared input types: keep the static input sizes the caller inferred with.
  const inputShapes = Object.fromEntries(model.graph.inputs.filter((v) => !v.initializer && v.shape).map((v) => [v.name, v.shape!]));
  if (expandQOperator(model.graph) + expandBatchNorm(model.graph) > 0) inferShapes(model, { strict: false, inputShapes });
  return new Lowering(model, options).lower();
}
