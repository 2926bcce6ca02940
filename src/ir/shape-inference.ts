/**
 * Shape and dtype inference for the operators the runtime supports, with symbolic dims carried through
 * (`batch` stays `batch` through Conv, elementwise ops, Reshape via Shape/Gather/Concat, ...). Given concrete
 * input shapes it produces fully static shapes, which lowering needs.
 *
 * Small integer tensors computed from shapes (Shape -> Gather -> Concat -> Reshape) are propagated as lists of
 * dims, so a Reshape whose target comes from a shape subgraph still gets a shape.
 */
import { DataType } from '../onnx/dtype.js';
import { OnnxError } from '../onnx/errors.js';
import { evaluateNode, MAX_FOLD_ELEMENTS, resolveReshape } from './evaluate.js';
import type { Graph } from './graph.js';
import type { Model } from './model.js';
import type { Node } from './node.js';
import { sizeOf, Tensor } from './tensor.js';
import { formatShape, tensorType, type Dim, type TensorType, type Value, type ValueType } from './value.js';

export interface InferShapesOptions {
  /** Concrete (or symbolic) shapes for graph inputs, replacing the declared ones. */
  inputShapes?: Record<string, readonly Dim[]>;
  /** Throw an OnnxError when an inferred static dim contradicts a declared one (default true). */
  strict?: boolean;
}

export interface InferShapesResult {
  /** Nodes whose outputs could not be typed (unsupported op or unknown input types). */
  unresolved: Node[];
}

type Known = { kind: 'tensor'; tensor: Tensor } | { kind: 'dims'; dims: Dim[]; scalar: boolean };

// ---- dim arithmetic: numbers exact, symbols as expressions, unknown stays unknown ----

function isNum(d: Dim): d is number {
  return typeof d === 'number';
}

/** Ranks above this are left unknown rather than spelled out (a hostile shape input may claim 2^31 entries). */
const MAX_SPELLED_RANK = 64;

/** `rank` unknown dims, or an unknown shape when the rank is not a plausible one. */
function unknownDims(rank: number): Dim[] | undefined {
  return Number.isInteger(rank) && rank >= 0 && rank <= MAX_SPELLED_RANK ? new Array<Dim>(rank).fill(null) : undefined;
}

/** A symbolic expression that needs parentheses as an operand: anything but a plain name or a call. */
function wrap(d: Dim): string {
  const s = String(d);
  return typeof d === 'string' && topLevelOperator(s) >= 0 ? `(${s})` : s;
}

/** Index of the last operator outside parentheses (-1 if none). Names may contain '.', '-' only as operators. */
function topLevelOperator(s: string): number {
  let depth = 0;
  for (let i = s.length - 1; i > 0; i--) {
    const c = s[i];
    if (c === ')') depth++;
    else if (c === '(') depth--;
    else if (depth === 0 && (c === '+' || c === '-' || c === '*')) return i;
  }
  return -1;
}

/** Splits `E+3` / `E-3` into [E, ±3]; anything else into [s, 0]. */
function splitOffset(s: string): [string, number] {
  const i = topLevelOperator(s);
  if (i > 0 && (s[i] === '+' || s[i] === '-') && /^\d+$/.test(s.slice(i + 1)) && topLevelOperator(s.slice(0, i)) < 0) {
    const k = Number(s.slice(i + 1));
    return [s.slice(0, i), s[i] === '+' ? k : -k];
  }
  return [s, 0];
}

export function addDim(a: Dim, b: Dim): Dim {
  if (isNum(a) && isNum(b)) return a + b;
  if (a === null || b === null) return null;
  if (isNum(a)) return addDim(b, a);
  if (isNum(b)) {
    const [base, k] = splitOffset(a);
    const total = k + b;
    return total === 0 ? base : `${base}${total < 0 ? '-' : '+'}${Math.abs(total)}`;
  }
  return `${a}+${b}`;
}

export function mulDim(a: Dim, b: Dim): Dim {
  if (isNum(a) && isNum(b)) return a * b;
  if (a === 0 || b === 0) return 0;
  if (a === null || b === null) return null;
  if (a === 1) return b;
  if (b === 1) return a;
  return `${wrap(a)}*${wrap(b)}`;
}

function floorDivDim(a: Dim, b: number): Dim {
  if (isNum(a)) return Math.floor(a / b);
  if (a === null) return null;
  return b === 1 ? a : `floor(${wrap(a)}/${b})`;
}

function ceilDivDim(a: Dim, b: number): Dim {
  if (isNum(a)) return Math.ceil(a / b);
  if (a === null) return null;
  return b === 1 ? a : `ceil(${wrap(a)}/${b})`;
}

function productDims(dims: readonly Dim[]): Dim {
  return dims.reduce<Dim>((p, d) => mulDim(p, d), 1);
}

/** Numpy-style broadcast of shapes; null where it cannot be decided. */
/**
 * The padding auto_pad SAME_UPPER / SAME_LOWER puts around one spatial axis of a Conv or pooling window so that it
 * produces `outLen` outputs: [before, after], the odd pixel after (UPPER) or before (LOWER).
 */
export function samePads(autoPad: 'SAME_UPPER' | 'SAME_LOWER', inLen: number, outLen: number, kernel: number, stride: number, dilation: number): [number, number] {
  const total = Math.max(0, (outLen - 1) * stride + (kernel - 1) * dilation + 1 - inLen);
  const before = autoPad === 'SAME_UPPER' ? Math.floor(total / 2) : Math.ceil(total / 2);
  return [before, total - before];
}

export function broadcastShapes(shapes: readonly (readonly Dim[])[]): Dim[] | undefined {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    let d: Dim = 1;
    for (const s of shapes) {
      const k = s.length - rank + i;
      const x = k < 0 ? 1 : s[k];
      if (x === 1) continue;
      if (d === 1) d = x;
      else if (d !== x) {
        if (isNum(d) && isNum(x)) return undefined;
        d = isNum(x) ? x : isNum(d) ? d : null;
      }
    }
    out.push(d);
  }
  return out;
}

/**
 * Types this module set, and what the value had before: a later call starts again from the declared types,
 * so inferring for one input size and then another does not see its own earlier results as declarations.
 */
const inferred = new WeakMap<Value, { set: ValueType | undefined; before: ValueType | undefined }>();

function setInferred(v: Value, type: ValueType | undefined): void {
  const prior = inferred.get(v);
  const before = prior && prior.set === v.type ? prior.before : v.type;
  v.type = type;
  inferred.set(v, { set: type, before });
}

function restoreDeclared(g: Graph): void {
  for (const v of g.values.values()) {
    const record = inferred.get(v);
    if (record && record.set === v.type) v.type = record.before;
    inferred.delete(v);
  }
  for (const n of g.nodes) for (const s of n.subgraphs()) restoreDeclared(s);
}

/** Infers types for every node output of the model's graph (and subgraphs). */
export function inferShapes(model: Model, options: InferShapesOptions = {}): InferShapesResult {
  const opset = model.opsetVersion('') ?? 13;
  restoreDeclared(model.graph);
  const state = new Inference(opset, options.strict !== false);
  if (options.inputShapes) {
    for (const [name, shape] of Object.entries(options.inputShapes)) {
      const v = model.graph.inputs.find((i) => i.name === name);
      if (!v) throw new RangeError(`Unknown graph input '${name}' in inputShapes; inputs are ${model.graph.inputs.map((i) => `'${i.name}'`).join(', ')}`);
      const elem = v.elemType ?? DataType.FLOAT;
      const declared = v.shape;
      if (declared && declared.length !== shape.length) {
        throw new RangeError(`Shape ${formatShape(shape)} for input '${name}' has rank ${shape.length} but the model declares ${formatShape(declared)}`);
      }
      declared?.forEach((d, i) => {
        if (isNum(d) && isNum(shape[i]) && d !== shape[i]) throw new RangeError(`Shape ${formatShape(shape)} for input '${name}' contradicts the declared ${formatShape(declared)} at axis ${i}`);
      });
      setInferred(v, tensorType(elem, shape));
    }
  }
  state.graph(model.graph);
  return { unresolved: state.unresolved };
}

class Inference {
  readonly unresolved: Node[] = [];
  private readonly known = new Map<Value, Known>();

  constructor(
    private readonly opset: number,
    private readonly strict: boolean,
  ) {}

  graph(g: Graph): void {
    for (const v of g.initializers) if (v.isConstant && v.initializer!.size <= MAX_FOLD_ELEMENTS) this.known.set(v, { kind: 'tensor', tensor: v.initializer! });
    for (const node of g.topologicalOrder()) {
      let types: (TensorType | undefined)[] | undefined;
      try {
        types = this.node(node);
      } catch (err) {
        if (err instanceof OnnxError) throw err;
        types = undefined;
      }
      for (const sub of node.subgraphs()) this.graph(sub);
      if (node.opType === 'If' && !types) types = this.ifTypes(node);
      if (!types || types.every((t) => t === undefined)) {
        if (node.outputs.some((o) => o && !o.type)) this.unresolved.push(node);
        continue;
      }
      node.outputs.forEach((v, i) => {
        const t = types![i];
        if (v && t) this.assign(node, v, t);
      });
    }
  }

  private assign(node: Node, v: Value, t: TensorType): void {
    const declared = v.tensorType;
    if (!declared || !declared.shape) {
      setInferred(v, declared && t.shape === undefined ? declared : tensorType(declared?.elemType || t.elemType, t.shape));
      return;
    }
    if (!t.shape) return;
    if (declared.shape.length !== t.shape.length) {
      if (this.strict) throw new OnnxError(`Node ${node.label}: output '${v.name}' is declared ${formatShape(declared.shape)} but inferred ${formatShape(t.shape)}`, { node: node.id, tensor: v.name });
      setInferred(v, tensorType(declared.elemType, t.shape));
      return;
    }
    const merged = declared.shape.map((d, i) => {
      const x = t.shape![i];
      if (isNum(d) && isNum(x) && d !== x && this.strict) {
        throw new OnnxError(`Node ${node.label}: output '${v.name}' is declared ${formatShape(declared.shape)} but inferred ${formatShape(t.shape)}`, { node: node.id, tensor: v.name });
      }
      return isNum(x) ? x : isNum(d) ? d : x ?? d;
    });
    setInferred(v, tensorType(declared.elemType || t.elemType, merged));
  }

  private ifTypes(node: Node): (TensorType | undefined)[] | undefined {
    const a = node.getGraph('then_branch');
    const b = node.getGraph('else_branch');
    if (!a || !b) return undefined;
    return node.outputs.map((_, i) => {
      const x = a.outputs[i]?.tensorType;
      const y = b.outputs[i]?.tensorType;
      if (!x || !y) return x ?? y;
      if (!x.shape || !y.shape || x.shape.length !== y.shape.length) return tensorType(x.elemType, undefined);
      return tensorType(x.elemType, x.shape.map((d, k) => (d === y.shape![k] ? d : null)));
    });
  }

  // ---- helpers over inputs ----

  private type(v: Value | null): TensorType | undefined {
    if (!v) return undefined;
    const t = v.tensorType;
    if (t) return t;
    if (v.initializer) return tensorType(v.initializer.dtype, v.initializer.dims);
    return undefined;
  }

  private shape(v: Value | null): readonly Dim[] | undefined {
    return this.type(v)?.shape;
  }

  private elem(v: Value | null): number | undefined {
    return this.type(v)?.elemType;
  }

  private tensorOf(v: Value | null): Tensor | undefined {
    const k = v ? this.known.get(v) : undefined;
    return k?.kind === 'tensor' ? k.tensor : undefined;
  }

  /** A 1-D integer input as dims (numbers or symbols), from constants or propagated shape values. */
  private dimsOf(v: Value | null): Dim[] | undefined {
    if (!v) return undefined;
    const k = this.known.get(v);
    if (!k) return undefined;
    if (k.kind === 'dims') return k.dims;
    if (k.tensor.dtype !== DataType.INT64 && k.tensor.dtype !== DataType.INT32) return undefined;
    return k.tensor.toNumbers();
  }

  private intsOf(v: Value | null): number[] | undefined {
    const d = this.dimsOf(v);
    return d && d.every(isNum) ? (d as number[]) : undefined;
  }

  /** An int-list parameter that moved from an attribute to an input at some opset. */
  private param(node: Node, attr: string, input: number, since: number): number[] | undefined {
    if (this.opset >= since) return this.intsOf(node.input(input));
    return node.hasAttr(attr) ? node.getInts(attr) : undefined;
  }

  // ---- the operators ----

  private node(node: Node): (TensorType | undefined)[] | undefined {
    if (node.domain !== '' && node.domain !== 'ai.onnx') return this.contribNode(node);
    const x = node.input(0);
    const xs = this.shape(x);
    const xe = this.elem(x);
    const same = (): TensorType[] | undefined => (xe !== undefined ? [tensorType(xe, xs)] : undefined);
    this.propagate(node);
    switch (node.opType) {
      case 'Identity': case 'Relu': case 'Sigmoid': case 'Tanh': case 'Abs': case 'Neg': case 'Exp': case 'Log':
      case 'Sqrt': case 'Reciprocal': case 'Floor': case 'Ceil': case 'Round': case 'Erf': case 'HardSigmoid':
      case 'HardSwish': case 'LeakyRelu': case 'Elu': case 'Selu': case 'Softplus': case 'Softsign': case 'Clip':
      case 'Sin': case 'Cos': case 'Tan': case 'Sign': case 'Celu': case 'Gelu': case 'Mish': case 'ThresholdedRelu':
      case 'Shrink': case 'Softmax': case 'LogSoftmax': case 'Hardmax': case 'LRN': case 'InstanceNormalization':
      case 'Not': case 'CumSum': case 'LpNormalization': case 'MeanVarianceNormalization': case 'Acos': case 'Asin':
      case 'Atan': case 'Sinh': case 'Cosh': case 'Asinh': case 'Acosh': case 'Atanh':
        return same();
      case 'Dropout': {
        const out = same();
        return out ? [out[0], tensorType(DataType.BOOL, xs)] : undefined;
      }
      case 'BatchNormalization': {
        const out = same();
        const c = xs && xs.length > 1 ? xs[1] : null;
        return out ? [out[0], tensorType(xe!, [c]), tensorType(xe!, [c])] : undefined;
      }
      case 'LayerNormalization': {
        // Mean and InvStdDev keep the leading dims and have 1 on the normalized ones.
        if (xe === undefined) return undefined;
        const axis = xs ? norm(node.getInt('axis', -1), xs.length) : 0;
        const stat = xs ? xs.map((d, i) => (i < axis ? d : 1)) : undefined;
        const se = node.getInt('stash_type', 1);
        return [tensorType(xe, xs), tensorType(se, stat), tensorType(se, stat)];
      }
      case 'GroupNormalization':
        return same();
      case 'IsNaN': case 'IsInf':
        return [tensorType(DataType.BOOL, xs)];
      case 'Cast':
        return [tensorType(node.getInt('to'), xs)];
      case 'CastLike':
        return [tensorType(this.elem(node.input(1)) ?? 0, xs)];
      case 'Add': case 'Sub': case 'Mul': case 'Div': case 'Pow': case 'Max': case 'Min': case 'Sum': case 'Mean':
      case 'Mod': case 'BitShift': case 'PRelu': case 'BitwiseAnd': case 'BitwiseOr': case 'BitwiseXor':
        return this.broadcast(node, xe);
      case 'Equal': case 'Less': case 'Greater': case 'LessOrEqual': case 'GreaterOrEqual': case 'And': case 'Or': case 'Xor':
        return this.broadcast(node, DataType.BOOL);
      case 'Where': {
        const s = [node.input(0), node.input(1), node.input(2)].map((v) => this.shape(v));
        if (s.some((d) => !d)) return [tensorType(this.elem(node.input(1)) ?? 0, undefined)];
        return [tensorType(this.elem(node.input(1)) ?? 0, broadcastShapes(s as Dim[][]))];
      }
      case 'Conv': case 'ConvInteger': case 'QLinearConv': return this.conv(node);
      case 'ConvTranspose': return this.convTranspose(node);
      case 'MaxPool': case 'AveragePool': case 'LpPool': return this.pool(node);
      case 'GlobalAveragePool': case 'GlobalMaxPool': case 'GlobalLpPool':
        return xe !== undefined ? [tensorType(xe, xs?.map((d, i) => (i < 2 ? d : 1)))] : undefined;
      case 'Gemm': {
        const a = xs;
        const b = this.shape(node.input(1));
        const m = a ? a[node.getInt('transA', 0) ? 1 : 0] : null;
        const n = b ? b[node.getInt('transB', 0) ? 0 : 1] : null;
        return [tensorType(xe ?? 0, [m ?? null, n ?? null])];
      }
      case 'MatMul': case 'MatMulInteger': case 'QLinearMatMul': {
        const bIndex = node.opType === 'QLinearMatMul' ? 3 : 1;
        const elem = node.opType === 'MatMulInteger' ? DataType.INT32 : node.opType === 'QLinearMatMul' ? this.elem(node.input(7)) ?? DataType.UINT8 : xe;
        return [tensorType(elem ?? 0, this.matmul(xs, this.shape(node.input(bIndex))))];
      }
      case 'Reshape': {
        const target = this.dimsOf(node.input(1));
        if (!target) {
          const rank = this.shape(node.input(1));
          return [tensorType(xe ?? 0, rank && isNum(rank[0]) ? unknownDims(rank[0]) : undefined)];
        }
        return [tensorType(xe ?? 0, this.reshape(xs, target, node.getInt('allowzero', 0) === 1))];
      }
      case 'Flatten': {
        if (!xs) return [tensorType(xe ?? 0, [null, null])];
        const axis = norm(node.getInt('axis', 1), xs.length);
        return [tensorType(xe ?? 0, [productDims(xs.slice(0, axis)), productDims(xs.slice(axis))])];
      }
      case 'Transpose': {
        if (!xs) return same();
        const perm = node.hasAttr('perm') ? node.getInts('perm') : xs.map((_, i) => xs.length - 1 - i);
        return [tensorType(xe ?? 0, perm.map((p) => xs[p] ?? null))];
      }
      case 'Concat': {
        const shapes = node.inputs.map((v) => this.shape(v));
        const rank = shapes.find((s) => s)?.length;
        if (rank === undefined) return same();
        const axis = norm(node.getInt('axis'), rank);
        const out: Dim[] = [];
        for (let i = 0; i < rank; i++) {
          if (i === axis) out.push(shapes.every((s) => s) ? shapes.reduce<Dim>((acc, s) => addDim(acc, s![i]), 0) : null);
          else out.push((shapes.map((s) => s?.[i]).find((d) => isNum(d ?? null)) ?? shapes.find((s) => s)![i]) as Dim);
        }
        return [tensorType(xe ?? 0, out)];
      }
      case 'Split': return this.split(node, xs, xe);
      case 'Slice': return this.slice(node, xs, xe);
      case 'Pad': {
        const pads = this.opset >= 11 ? this.intsOf(node.input(1)) : node.getInts(this.opset >= 2 ? 'pads' : 'paddings');
        if (!xs) return same();
        if (!pads) return [tensorType(xe ?? 0, xs.map(() => null))];
        let axes = xs.map((_, i) => i);
        if (this.opset >= 18 && node.input(3)) {
          const a = this.intsOf(node.input(3));
          if (!a) return [tensorType(xe ?? 0, xs.map(() => null))];
          axes = a.map((v) => norm(v, xs.length));
        }
        const out = [...xs];
        axes.forEach((a, i) => (out[a] = addDim(xs[a], pads[i] + pads[i + axes.length])));
        return [tensorType(xe ?? 0, out)];
      }
      case 'Resize': case 'Upsample': return this.resize(node, xs, xe);
      case 'Squeeze': {
        if (!xs) return same();
        const axes = this.opset >= 13 ? (node.input(1) ? this.intsOf(node.input(1)) : []) : node.hasAttr('axes') ? node.getInts('axes') : [];
        if (!axes) return [tensorType(xe ?? 0, undefined)];
        const ax = new Set(axes.length ? axes.map((a) => norm(a, xs.length)) : xs.flatMap((d, i) => (d === 1 ? [i] : [])));
        if (!axes.length && xs.some((d) => !isNum(d))) return [tensorType(xe ?? 0, undefined)];
        return [tensorType(xe ?? 0, xs.filter((_, i) => !ax.has(i)))];
      }
      case 'Unsqueeze': {
        const axes = this.param(node, 'axes', 1, 13);
        if (!xs || !axes) return [tensorType(xe ?? 0, undefined)];
        const rank = xs.length + axes.length;
        const ax = new Set(axes.map((a) => norm(a, rank)));
        const out: Dim[] = [];
        let j = 0;
        for (let i = 0; i < rank; i++) out.push(ax.has(i) ? 1 : xs[j++]);
        return [tensorType(xe ?? 0, out)];
      }
      case 'Expand': {
        const target = this.dimsOf(node.input(1));
        if (!xs || !target) return [tensorType(xe ?? 0, undefined)];
        return [tensorType(xe ?? 0, broadcastShapes([xs, target]))];
      }
      case 'Tile': {
        const reps = this.intsOf(node.input(1));
        if (!xs) return same();
        return [tensorType(xe ?? 0, reps ? xs.map((d, i) => mulDim(d, reps[i])) : xs.map(() => null))];
      }
      case 'Gather': {
        const idx = this.shape(node.input(1));
        if (!xs || !idx) return [tensorType(xe ?? 0, undefined)];
        const axis = norm(node.getInt('axis', 0), xs.length);
        return [tensorType(xe ?? 0, [...xs.slice(0, axis), ...idx, ...xs.slice(axis + 1)])];
      }
      case 'GatherElements':
        return [tensorType(xe ?? 0, this.shape(node.input(1)))];
      case 'Shape': {
        if (!xs) return [tensorType(DataType.INT64, [null])];
        const [s, e] = this.shapeRange(node, xs.length);
        return [tensorType(DataType.INT64, [Math.max(0, e - s)])];
      }
      case 'Size':
        return [tensorType(DataType.INT64, [])];
      case 'ReduceMean': case 'ReduceSum': case 'ReduceMax': case 'ReduceMin': case 'ReduceProd': case 'ReduceL1':
      case 'ReduceL2': case 'ReduceLogSum': case 'ReduceLogSumExp': case 'ReduceSumSquare': {
        if (!xs) return same();
        const since = node.opType === 'ReduceSum' ? 13 : 18;
        let axes = this.opset >= since ? (node.input(1) ? this.intsOf(node.input(1)) : []) : node.hasAttr('axes') ? node.getInts('axes') : [];
        if (!axes) return [tensorType(xe ?? 0, node.getInt('keepdims', 1) ? xs.map(() => null) : undefined)];
        if (axes.length === 0) axes = node.getInt('noop_with_empty_axes', 0) ? [] : xs.map((_, i) => i);
        const ax = new Set(axes.map((a) => norm(a, xs.length)));
        const keep = node.getInt('keepdims', 1) === 1;
        return [tensorType(xe ?? 0, keep ? xs.map((d, i) => (ax.has(i) ? 1 : d)) : xs.filter((_, i) => !ax.has(i)))];
      }
      case 'ArgMax': case 'ArgMin': {
        if (!xs) return [tensorType(DataType.INT64, undefined)];
        const axis = norm(node.getInt('axis', 0), xs.length);
        const keep = node.getInt('keepdims', 1) === 1;
        return [tensorType(DataType.INT64, keep ? xs.map((d, i) => (i === axis ? 1 : d)) : xs.filter((_, i) => i !== axis))];
      }
      case 'ConstantOfShape': {
        const dims = this.dimsOf(x);
        const dtype = node.getTensor('value')?.dtype ?? DataType.FLOAT;
        const len = xs?.[0];
        return [tensorType(dtype, dims ?? (isNum(len ?? null) ? unknownDims(len as number) : undefined))];
      }
      case 'Constant': {
        const k = this.known.get(node.output(0)!);
        if (k?.kind === 'tensor') return [tensorType(k.tensor.dtype, k.tensor.dims)];
        const t = node.getTensor('value');
        if (t) return [tensorType(t.dtype, t.dims)];
        if (node.hasAttr('value_float')) return [tensorType(DataType.FLOAT, [])];
        if (node.hasAttr('value_int')) return [tensorType(DataType.INT64, [])];
        if (node.hasAttr('value_floats')) return [tensorType(DataType.FLOAT, [node.getFloats('value_floats').length])];
        if (node.hasAttr('value_ints')) return [tensorType(DataType.INT64, [node.getInts('value_ints').length])];
        return undefined;
      }
      case 'Range': {
        const k = this.known.get(node.output(0)!);
        if (k?.kind === 'tensor') return [tensorType(k.tensor.dtype, k.tensor.dims)];
        return [tensorType(xe ?? 0, [null])];
      }
      case 'LSTM': case 'GRU': case 'RNN': return this.recurrent(node, xs, xe);
      case 'QuantizeLinear': {
        const zp = this.elem(node.input(2));
        return [tensorType(zp ?? (node.hasAttr('output_dtype') ? node.getInt('output_dtype') : DataType.UINT8), xs)];
      }
      case 'DequantizeLinear':
        return [tensorType(this.elem(node.input(1)) ?? DataType.FLOAT, xs)];
      case 'DynamicQuantizeLinear':
        return [tensorType(DataType.UINT8, xs), tensorType(DataType.FLOAT, []), tensorType(DataType.UINT8, [])];
      case 'TopK': {
        const k = this.intsOf(node.input(1))?.[0] ?? (this.opset < 10 ? node.getInt('k') : undefined);
        if (!xs) return [tensorType(xe ?? 0, undefined), tensorType(DataType.INT64, undefined)];
        const axis = norm(node.getInt('axis', -1), xs.length);
        const out = xs.map((d, i) => (i === axis ? (k ?? null) : d));
        return [tensorType(xe ?? 0, out), tensorType(DataType.INT64, out)];
      }
      case 'NonZero':
        return [tensorType(DataType.INT64, xs ? [xs.length, null] : [null, null])];
      case 'DepthToSpace': case 'SpaceToDepth': {
        if (!xs || xs.length !== 4) return same();
        const b = node.getInt('blocksize');
        const up = node.opType === 'DepthToSpace';
        return [tensorType(xe ?? 0, up ? [xs[0], floorDivDim(xs[1], b * b), mulDim(xs[2], b), mulDim(xs[3], b)] : [xs[0], mulDim(xs[1], b * b), floorDivDim(xs[2], b), floorDivDim(xs[3], b)])];
      }
      case 'OneHot': case 'Einsum': case 'Loop': case 'Scan': case 'If':
        return undefined;
      default:
        return undefined;
    }
  }

  /** Data propagation: constant tensors through the evaluator, shape values as dims. */
  private propagate(node: Node): void {
    const out = node.output(0);
    if (!out || node.outputs.length !== 1) return;
    if (node.opType === 'Shape') {
      const xs = this.shape(node.input(0));
      if (!xs) return;
      const [s, e] = this.shapeRange(node, xs.length);
      this.setDims(out, xs.slice(s, e), false);
      return;
    }
    const inputs = node.inputs.map((v) => this.tensorOf(v) ?? null);
    if (node.inputs.every((v, i) => v === null || inputs[i] !== null) && (node.inputs.length > 0 || node.opType === 'Constant')) {
      const r = evaluateNode(node, inputs, this.opset);
      if (r?.[0] && r[0].size <= MAX_FOLD_ELEMENTS) {
        this.known.set(out, { kind: 'tensor', tensor: r[0] });
        return;
      }
    }
    // Symbolic shape values through the usual shape-subgraph ops.
    const d = (i: number): { dims: Dim[]; scalar: boolean } | undefined => {
      const v = node.input(i);
      const k = v ? this.known.get(v) : undefined;
      if (!k) return undefined;
      if (k.kind === 'dims') return k;
      if (k.tensor.dtype !== DataType.INT64 && k.tensor.dtype !== DataType.INT32) return undefined;
      if (k.tensor.rank > 1) return undefined;
      return { dims: k.tensor.toNumbers(), scalar: k.tensor.rank === 0 };
    };
    const a = d(0);
    switch (node.opType) {
      case 'Cast': case 'Identity':
        if (a) this.setDims(out, a.dims, a.scalar);
        return;
      case 'Gather': {
        const idx = d(1);
        if (a && idx && !a.scalar) this.setDims(out, idx.dims.map((i) => (isNum(i) ? a.dims[i < 0 ? i + a.dims.length : i] ?? null : null)), idx.scalar);
        return;
      }
      case 'Concat': {
        const parts = node.inputs.map((_, i) => d(i));
        if (parts.every((p) => p)) this.setDims(out, parts.flatMap((p) => p!.dims), false);
        return;
      }
      case 'Unsqueeze':
        if (a && a.scalar) this.setDims(out, a.dims, false);
        return;
      case 'Squeeze':
        if (a && !a.scalar && a.dims.length === 1) this.setDims(out, a.dims, true);
        return;
      case 'Slice': {
        const starts = this.param(node, 'starts', 1, 10);
        const ends = this.param(node, 'ends', 2, 10);
        const steps = this.opset >= 10 && node.input(4) ? this.intsOf(node.input(4)) : [1];
        if (a && !a.scalar && starts?.length === 1 && ends?.length === 1 && steps?.[0] === 1) {
          const n = a.dims.length;
          const s = Math.min(Math.max(starts[0] < 0 ? starts[0] + n : starts[0], 0), n);
          const e = Math.min(Math.max(ends[0] < 0 ? ends[0] + n : ends[0], 0), n);
          this.setDims(out, a.dims.slice(s, e), false);
        }
        return;
      }
      case 'Mul': case 'Add': case 'Sub': case 'Div': {
        const b = d(1);
        if (!a || !b) return;
        const n = Math.max(a.dims.length, b.dims.length);
        const at = (p: Dim[], i: number): Dim => (p.length === 1 ? p[0] : p[i]);
        const res: Dim[] = [];
        for (let i = 0; i < n; i++) {
          const x = at(a.dims, i);
          const y = at(b.dims, i);
          if (node.opType === 'Mul') res.push(mulDim(x, y));
          else if (node.opType === 'Add') res.push(addDim(x, y));
          else if (node.opType === 'Sub') res.push(isNum(y) ? addDim(x, -y) : null);
          else res.push(isNum(y) && y > 0 ? floorDivDim(x, y) : null);
        }
        this.setDims(out, res, a.scalar && b.scalar);
        return;
      }
      default:
    }
  }

  private setDims(v: Value, dims: Dim[], scalar: boolean): void {
    if (dims.every(isNum)) this.known.set(v, { kind: 'tensor', tensor: Tensor.fromInt64('', scalar ? [] : [dims.length], dims as number[]) });
    else this.known.set(v, { kind: 'dims', dims, scalar });
  }

  private shapeRange(node: Node, rank: number): [number, number] {
    let s = node.getInt('start', 0);
    let e = node.hasAttr('end') ? node.getInt('end') : rank;
    if (s < 0) s += rank;
    if (e < 0) e += rank;
    return [Math.min(Math.max(s, 0), rank), Math.min(Math.max(e, 0), rank)];
  }

  private broadcast(node: Node, elem: number | undefined): TensorType[] {
    const shapes = node.inputs.map((v) => this.shape(v));
    if (shapes.some((s) => !s)) return [tensorType(elem ?? 0, undefined)];
    const out = broadcastShapes(shapes as Dim[][]);
    if (!out) throw new OnnxError(`Node ${node.label}: input shapes ${shapes.map((s) => formatShape(s)).join(', ')} do not broadcast`, { node: node.id });
    return [tensorType(elem ?? 0, out)];
  }

  private matmul(a: readonly Dim[] | undefined, b: readonly Dim[] | undefined): Dim[] | undefined {
    if (!a || !b) return undefined;
    const a2 = a.length === 1 ? [1, a[0]] : a;
    const b2 = b.length === 1 ? [b[0], 1] : b;
    const batch = broadcastShapes([a2.slice(0, -2), b2.slice(0, -2)]) ?? a2.slice(0, -2).map(() => null);
    const out: Dim[] = [...batch, a2[a2.length - 2], b2[b2.length - 1]];
    if (a.length === 1) out.splice(out.length - 2, 1);
    if (b.length === 1) out.pop();
    return out;
  }

  private reshape(xs: readonly Dim[] | undefined, target: Dim[], allowzero: boolean): Dim[] {
    if (xs && xs.every(isNum) && target.every(isNum)) {
      const r = resolveReshape(xs as number[], target as number[], allowzero);
      if (r) return r;
    }
    const out = target.map((d, i) => (d === 0 && !allowzero ? (xs?.[i] ?? null) : d));
    const minus = out.indexOf(-1);
    if (minus >= 0) {
      if (xs && out.every((d, i) => i === minus || isNum(d)) && xs.every(isNum)) {
        const known = out.reduce<number>((p, d, i) => (i === minus ? p : p * (d as number)), 1);
        out[minus] = known === 0 ? 0 : (xs as number[]).reduce((p, d) => p * d, 1) / known;
      } else if (xs) {
        // Cancel the dims both sides have in common (batch * 25 * 64 -> batch, -1, 64 gives 25).
        const rest = [...xs];
        const others = out.filter((_, i) => i !== minus);
        let ok = true;
        for (const d of others) {
          const j = rest.findIndex((r) => r === d);
          if (j >= 0) rest.splice(j, 1);
          else if (d !== 1) ok = false;
        }
        out[minus] = ok ? productDims(rest) : null;
      } else out[minus] = null;
    }
    return out;
  }

  private convOutput(node: Node, xs: readonly Dim[], kernel: number[], outChannels: Dim): Dim[] {
    const n = kernel.length;
    const strides = node.getInts('strides', new Array(n).fill(1));
    const dil = node.getInts('dilations', new Array(n).fill(1));
    const autoPad = node.getString('auto_pad', 'NOTSET');
    const pads = node.getInts('pads', new Array(2 * n).fill(0));
    const ceil = node.getInt('ceil_mode', 0) === 1;
    const out: Dim[] = [xs[0], outChannels];
    for (let i = 0; i < n; i++) {
      const inDim = xs[i + 2];
      const k = (kernel[i] - 1) * dil[i] + 1;
      if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') out.push(ceilDivDim(inDim, strides[i]));
      else if (autoPad === 'VALID') out.push(addDim(floorDivDim(addDim(inDim, -k), strides[i]), 1));
      else {
        const span = addDim(inDim, pads[i] + pads[i + n] - k);
        let o = addDim((ceil ? ceilDivDim : floorDivDim)(span, strides[i]), 1);
        // A pooling window that would start in the end padding is dropped (ceil_mode).
        if (ceil && isNum(o) && isNum(inDim) && (o - 1) * strides[i] >= inDim + pads[i]) o -= 1;
        // A window larger than the padded input: runtimes disagree (onnxruntime gives 1), so say unknown.
        out.push(isNum(o) && o <= 0 ? null : o);
      }
    }
    return out;
  }

  private conv(node: Node): TensorType[] | undefined {
    const q = node.opType === 'QLinearConv';
    const xs = this.shape(node.input(0));
    const ws = this.shape(node.input(q ? 3 : 1));
    const elem = node.opType === 'ConvInteger' ? DataType.INT32 : q ? this.elem(node.input(7)) ?? DataType.UINT8 : this.elem(node.input(0));
    if (!xs || !ws) return [tensorType(elem ?? 0, xs ? xs.map(() => null) : undefined)];
    const kernel = node.hasAttr('kernel_shape') ? node.getInts('kernel_shape') : (ws.slice(2) as number[]);
    if (!kernel.every(isNum)) return [tensorType(elem ?? 0, xs.map(() => null))];
    return [tensorType(elem ?? 0, this.convOutput(node, xs, kernel, ws[0]))];
  }

  private convTranspose(node: Node): TensorType[] | undefined {
    const xs = this.shape(node.input(0));
    const ws = this.shape(node.input(1));
    const elem = this.elem(node.input(0)) ?? 0;
    if (!xs || !ws) return [tensorType(elem, xs ? xs.map(() => null) : undefined)];
    const n = xs.length - 2;
    const group = node.getInt('group', 1);
    const channels = mulDim(ws[1], group);
    if (node.hasAttr('output_shape')) {
      const os = node.getInts('output_shape');
      return [tensorType(elem, [xs[0], channels, ...os.slice(-n)])];
    }
    const kernel = node.hasAttr('kernel_shape') ? node.getInts('kernel_shape') : (ws.slice(2) as number[]);
    const strides = node.getInts('strides', new Array(n).fill(1));
    const dil = node.getInts('dilations', new Array(n).fill(1));
    const outPad = node.getInts('output_padding', new Array(n).fill(0));
    const autoPad = node.getString('auto_pad', 'NOTSET');
    const pads = node.getInts('pads', new Array(2 * n).fill(0));
    const out: Dim[] = [xs[0], channels];
    for (let i = 0; i < n; i++) {
      if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') out.push(mulDim(xs[i + 2], strides[i]));
      else out.push(addDim(mulDim(addDim(xs[i + 2], -1), strides[i]), outPad[i] + (kernel[i] - 1) * dil[i] + 1 - pads[i] - pads[i + n]));
    }
    return [tensorType(elem, out)];
  }

  private pool(node: Node): TensorType[] | undefined {
    const xs = this.shape(node.input(0));
    const elem = this.elem(node.input(0)) ?? 0;
    if (!xs) return [tensorType(elem, undefined), tensorType(DataType.INT64, undefined)];
    const kernel = node.getInts('kernel_shape');
    const out = this.convOutput(node, xs, kernel, xs[1]);
    return [tensorType(elem, out), tensorType(DataType.INT64, out)];
  }

  private split(node: Node, xs: readonly Dim[] | undefined, xe: number | undefined): TensorType[] {
    const n = node.outputs.length;
    if (!xs) return node.outputs.map(() => tensorType(xe ?? 0, undefined));
    const axis = norm(node.getInt('axis', 0), xs.length);
    let sizes = this.opset >= 13 ? (node.input(1) ? this.intsOf(node.input(1)) : undefined) : node.hasAttr('split') ? node.getInts('split') : undefined;
    const d = xs[axis];
    if (!sizes && this.opset >= 13 && node.input(1)) return node.outputs.map(() => tensorType(xe ?? 0, xs.map((x, k) => (k === axis ? null : x))));
    if (!sizes && isNum(d)) {
      const chunk = Math.ceil(d / n);
      sizes = Array.from({ length: n }, (_, i) => Math.max(0, Math.min(chunk, d - i * chunk)));
    }
    return node.outputs.map((_, i) => tensorType(xe ?? 0, xs.map((x, k) => (k === axis ? (sizes ? sizes[i] : null) : x))));
  }

  private slice(node: Node, xs: readonly Dim[] | undefined, xe: number | undefined): TensorType[] {
    if (!xs) return [tensorType(xe ?? 0, undefined)];
    const starts = this.param(node, 'starts', 1, 10);
    const ends = this.param(node, 'ends', 2, 10);
    let axes = this.opset >= 10 ? (node.input(3) ? this.intsOf(node.input(3)) : undefined) : node.hasAttr('axes') ? node.getInts('axes') : undefined;
    const steps = this.opset >= 10 && node.input(4) ? this.intsOf(node.input(4)) : undefined;
    if (!starts || !ends || (this.opset >= 10 && node.input(3) && !axes) || (node.input(4) && !steps)) {
      const ax = axes ? new Set(axes.map((a) => norm(a, xs.length))) : undefined;
      return [tensorType(xe ?? 0, xs.map((d, i) => (ax && !ax.has(i) ? d : null)))];
    }
    axes ??= starts.map((_, i) => i);
    const out = [...xs];
    axes.forEach((a0, i) => {
      const a = norm(a0, xs.length);
      const d = xs[a];
      const step = steps?.[i] ?? 1;
      if (!isNum(d)) {
        // x[start:] of a symbolic dim with a non-negative start and an "until the end" sentinel.
        out[a] = step === 1 && starts[i] === 0 && ends[i] >= 2 ** 31 - 1 ? d : null;
        return;
      }
      let s = starts[i] < 0 ? starts[i] + d : starts[i];
      let e = ends[i] < 0 ? ends[i] + d : ends[i];
      if (step > 0) {
        s = Math.min(Math.max(s, 0), d);
        e = Math.min(Math.max(e, 0), d);
      } else {
        s = Math.min(Math.max(s, 0), d - 1);
        e = Math.min(Math.max(e, -1), d - 1);
      }
      out[a] = Math.max(0, Math.ceil((e - s) / step));
    });
    return [tensorType(xe ?? 0, out)];
  }

  private resize(node: Node, xs: readonly Dim[] | undefined, xe: number | undefined): TensorType[] {
    if (!xs) return [tensorType(xe ?? 0, undefined)];
    const upsample = node.opType === 'Upsample' || this.opset < 11;
    let scales: number[] | undefined;
    let sizes: number[] | undefined;
    if (node.opType === 'Upsample' && this.opset < 9) scales = node.getFloats('scales');
    else if (upsample) scales = this.tensorOf(node.input(1))?.toNumbers();
    else {
      const s = this.tensorOf(node.input(2));
      if (s && s.size > 0) scales = s.toNumbers();
      const z = node.input(3) ? this.intsOf(node.input(3)) : undefined;
      if (z && z.length > 0) sizes = z;
    }
    let axes = xs.map((_, i) => i);
    if (node.hasAttr('axes')) axes = node.getInts('axes').map((a) => norm(a, xs.length));
    const out = [...xs];
    if (sizes) axes.forEach((a, i) => (out[a] = sizes![i]));
    else if (scales) axes.forEach((a, i) => {
      const d = xs[a];
      out[a] = isNum(d) ? Math.floor(d * scales![i]) : scales![i] === 1 ? d : null;
    });
    else return [tensorType(xe ?? 0, xs.map(() => null))];
    return [tensorType(xe ?? 0, out)];
  }

  private recurrent(node: Node, xs: readonly Dim[] | undefined, xe: number | undefined): TensorType[] {
    const hidden = node.getInt('hidden_size', 0) || null;
    const dirs = node.getString('direction', 'forward') === 'bidirectional' ? 2 : 1;
    const layout = node.getInt('layout', 0);
    const seq = xs ? xs[layout ? 1 : 0] : null;
    const batch = xs ? xs[layout ? 0 : 1] : null;
    const e = xe ?? DataType.FLOAT;
    const y = layout ? [batch, seq, dirs, hidden] : [seq, dirs, batch, hidden];
    const h = layout ? [batch, dirs, hidden] : [dirs, batch, hidden];
    return [tensorType(e, y), tensorType(e, h), tensorType(e, h)];
  }

  private contribNode(node: Node): TensorType[] | undefined {
    if (node.domain === 'com.microsoft' && (node.opType === 'QLinearAdd' || node.opType === 'QLinearMul')) {
      const a = this.shape(node.input(0));
      const b = this.shape(node.input(3));
      return [tensorType(this.elem(node.input(0)) ?? DataType.UINT8, a && b ? broadcastShapes([a, b]) : undefined)];
    }
    return undefined;
  }
}

function norm(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

/** Shapes of every value after inference, as a plain record (for reports and tests). */
export function shapeTable(g: Graph): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of g.values.values()) if (v.tensorType) out[v.name] = formatShape(v.tensorType.shape);
  return out;
}
