/**
 * PlanBuilder: the bookkeeping of lowering. It maps each ONNX value to the plan values that hold it, in one or
 * both physical layouts, and inserts the layout changes on demand, once per value:
 *
 *   'plain': the ONNX layout (NCHW for images);
 *   'nhwc':  a rank-4 value stored channels-last, as the plan's Conv/pool kernels want it.
 *
 * A chain Conv → Relu → MaxPool → Conv stays NHWC end to end; a Transpose appears only where a value crosses
 * into an op that needs the ONNX layout (Reshape, MatMul, a graph output, ...).
 */
import { OnnxError } from '../onnx/errors.js';
import type { Tensor as IrTensor } from '../ir/tensor.js';
import type { Value } from '../ir/value.js';
import type { Plan, PlanAttr, PlanBackend, PlanDType, PlanNode, PlanOp, PlanQuant, PlanTypedArray, PlanValue } from '../runtime/plan.js';

export type Layout = 'plain' | 'nhwc';

/** NCHW → NHWC and back. */
export const TO_NHWC = [0, 2, 3, 1];
export const TO_NCHW = [0, 3, 1, 2];

const ONNX_TO_PLAN: Record<number, PlanDType> = { 1: 'float32', 2: 'uint8', 3: 'int8', 6: 'int32', 7: 'int64', 9: 'bool' };

export function planDType(elemType: number | undefined, what: string): PlanDType {
  const t = elemType === undefined ? undefined : ONNX_TO_PLAN[elemType];
  if (!t) throw new OnnxError(`${what} has element type ${elemType ?? 'unknown'}, which the runtime does not support`, {});
  return t;
}

/** The static shape of a value; throws naming it when a dim is unknown or symbolic. */
export function staticShape(v: Value): number[] {
  const shape = v.shape;
  if (!shape || shape.some((d) => typeof d !== 'number')) {
    const producer = v.producer ? ` (output of ${v.producer.label})` : '';
    throw new OnnxError(`value '${v.name}'${producer} has no static shape [${(shape ?? []).map((d) => d ?? '?').join(', ')}]: give the input sizes (freeDimensions) or check the model`, { tensor: v.name });
  }
  return shape as number[];
}

export function permute<T>(a: readonly T[], perm: readonly number[]): T[] {
  return perm.map((p) => a[p]);
}

/** Typed copy of an ONNX tensor's data in the plan's dtype. */
export function tensorData(t: IrTensor, dtype: PlanDType): PlanTypedArray {
  switch (dtype) {
    case 'float32':
      return Float32Array.from(t.toFloat32());
    case 'int8':
      return Int8Array.from(t.asInt8());
    case 'uint8':
    case 'bool':
      return Uint8Array.from(t.asUint8());
    case 'int32':
      return Int32Array.from(t.asInt32());
    case 'int64':
      return BigInt64Array.from(t.asInt64());
  }
}

/**
 * `perm` over `shape` as [batch, rows, cols] -> [batch, cols, rows] when it is one (size-1 dims dropped, dims that
 * stay neighbours merged), else undefined.
 */
function mergeDims(shape: readonly number[], perm: readonly number[]): [number, number, number] | undefined {
  // Input dims in output order, size-1 dims dropped, each run of consecutive input dims merged into one group.
  const order = perm.filter((p) => shape[p] !== 1);
  const groups: number[][] = [];
  for (const p of order) {
    const g = groups[groups.length - 1];
    if (g && g[g.length - 1] === p - 1) g.push(p);
    else groups.push([p]);
  }
  const size = (g: number[]): number => g.reduce((a, p) => a * shape[p], 1);
  // Output groups in input order must read [A, B, C] -> [A, C, B] or [B, C] -> [C, B].
  const byInput = [...groups].sort((a, b) => a[0] - b[0]);
  if (groups.length === 2 && groups[0] === byInput[1]) return [1, size(byInput[0]), size(byInput[1])];
  if (groups.length === 3 && groups[0] === byInput[0] && groups[1] === byInput[2]) return [size(byInput[0]), size(byInput[1]), size(byInput[2])];
  return undefined;
}

/** Transposes a dense row-major array of `shape` by `perm`. */
export function transposeData<T extends PlanTypedArray>(data: T, shape: readonly number[], perm: readonly number[]): T {
  const rank = shape.length;
  const outShape = permute(shape, perm);
  const inStrides = new Array<number>(rank);
  let s = 1;
  for (let i = rank - 1; i >= 0; i--) {
    inStrides[i] = s;
    s *= shape[i];
  }
  const strides = permute(inStrides, perm);
  const out = new (data.constructor as new (n: number) => T)(data.length);
  // Only size-1 dims move (a 1x1 convolution's OIHW -> OHWI): the element order is unchanged.
  const moved = perm.filter((p) => shape[p] !== 1);
  if (moved.every((p, i) => i === 0 || p > moved[i - 1])) {
    (out as unknown as { set(a: T): void }).set(data);
    return out;
  }
  const src = data as unknown as number[];
  const dst = out as unknown as number[];
  // Most weight layouts (OIHW -> OHWI, [K, N] -> [N, K]) are a batch of 2-D transposes once the dims that move
  // together are merged: [B, R, C] -> [B, C, R], contiguous reads, in tiles so that the strided writes stay in cache.
  const merged = mergeDims(shape, perm);
  if (merged) {
    const [batch, rows, cols] = merged;
    const T = 32;
    for (let b = 0, base = 0; b < batch; b++, base += rows * cols) {
      for (let r0 = 0; r0 < rows; r0 += T) {
        const r1 = Math.min(rows, r0 + T);
        for (let c0 = 0; c0 < cols; c0 += T) {
          const c1 = Math.min(cols, c0 + T);
          for (let r = r0; r < r1; r++) {
            for (let c = c0, i = base + r * cols + c0, o = base + c0 * rows + r; c < c1; c++, i++, o += rows) dst[o] = src[i];
          }
        }
      }
    }
    return out;
  }
  // Rows of the output's last dim are strided reads; an odometer over the outer dims moves the row's start.
  const last = rank - 1;
  const n = outShape[last];
  const step = strides[last];
  const idx = new Array<number>(last).fill(0);
  let from = 0;
  for (let o = 0; o < data.length; ) {
    for (let j = 0, s = from; j < n; j++, s += step) dst[o++] = src[s];
    for (let d = last - 1; d >= 0; d--) {
      from += strides[d];
      if (++idx[d] < outShape[d]) break;
      from -= strides[d] * outShape[d];
      idx[d] = 0;
    }
  }
  return out;
}

interface Entry {
  plain?: number;
  nhwc?: number;
}

export class PlanBuilder {
  readonly plan: Plan;
  private readonly entries = new Map<Value, Entry>();
  private readonly quants = new Map<Value, PlanQuant>();

  constructor(threads: number) {
    this.plan = { values: [], nodes: [], inputs: [], outputs: [], threads };
  }

  addValue(value: PlanValue): number {
    this.plan.values.push(value);
    return this.plan.values.length - 1;
  }

  addNode(name: string, op: PlanOp, inputs: number[], outputs: number[], attrs?: Record<string, PlanAttr>, backend?: PlanBackend): PlanNode {
    const node: PlanNode = { name, op, inputs, outputs };
    if (attrs && Object.keys(attrs).length > 0) node.attrs = attrs;
    if (backend) node.backend = backend;
    this.plan.nodes.push(node);
    return node;
  }

  /** Quantization parameters that int8/uint8 value `v` carries in the plan (set from its Q or DQ node). */
  setQuant(v: Value, quant: PlanQuant): void {
    if (!this.quants.has(v)) this.quants.set(v, quant);
  }

  quantOf(v: Value): PlanQuant | undefined {
    return this.quants.get(v);
  }

  has(v: Value): boolean {
    return this.entries.has(v);
  }

  layoutsOf(v: Value): Layout[] {
    const e = this.entries.get(v);
    if (!e) return [];
    return [...(e.plain !== undefined ? ['plain' as const] : []), ...(e.nhwc !== undefined ? ['nhwc' as const] : [])];
  }

  /** Declares the plan value that holds ONNX value `v` in `layout` (creating it). */
  define(v: Value, layout: Layout, dtype?: PlanDType): number {
    const shape = staticShape(v);
    const planShape = layout === 'nhwc' ? permute(shape, TO_NHWC) : shape;
    const t = dtype ?? planDType(v.elemType, `value '${v.name}'`);
    const quant = t === 'int8' || t === 'uint8' ? this.quants.get(v) : undefined;
    const id = this.addValue({ name: layout === 'nhwc' ? `${v.name}:nhwc` : v.name, dtype: t, shape: planShape, ...(quant ? { quant: this.axisForLayout(quant, layout) } : {}) });
    const e = this.entries.get(v) ?? {};
    e[layout] = id;
    this.entries.set(v, e);
    return id;
  }

  private axisForLayout(q: PlanQuant, layout: Layout): PlanQuant {
    if (layout === 'plain' || q.axis === undefined) return q;
    return { ...q, axis: TO_NHWC.indexOf(q.axis) };
  }

  /** Records that plan value `id` holds ONNX value `v` in `layout` (e.g. an op's output made elsewhere). */
  alias(v: Value, layout: Layout, id: number): void {
    const e = this.entries.get(v) ?? {};
    e[layout] = id;
    this.entries.set(v, e);
  }

  /** The plan value holding `v` in `layout`, transposing once from the other layout when needed. */
  get(v: Value, layout: Layout): number {
    const e = this.entries.get(v);
    if (!e) {
      const t = v.graph.constantOf(v);
      if (t) return this.constant(v, t, layout);
      throw new OnnxError(`value '${v.name}' is used before it is computed`, { tensor: v.name });
    }
    const have = e[layout];
    if (have !== undefined) return have;
    const from = layout === 'nhwc' ? e.plain! : e.nhwc!;
    const id = this.define(v, layout, this.plan.values[from].dtype);
    this.addNode(`${v.name}:to_${layout}`, 'Transpose', [from], [id], { perm: layout === 'nhwc' ? TO_NHWC : TO_NCHW });
    return id;
  }

  /** The layout `v` already exists in, preferring `prefer`. */
  current(v: Value, prefer: Layout = 'plain'): Layout | undefined {
    const e = this.entries.get(v);
    if (!e) return v.graph.constantOf(v) ? prefer : undefined;
    if (e[prefer] !== undefined) return prefer;
    return e.plain !== undefined ? 'plain' : 'nhwc';
  }

  private constant(v: Value, t: IrTensor, layout: Layout): number {
    const dtype = planDType(t.dtype, `constant '${v.name}'`);
    const shape = [...t.dims];
    let data = tensorData(t, dtype);
    let planShape = shape;
    if (layout === 'nhwc') {
      if (shape.length !== 4) throw new OnnxError(`constant '${v.name}' is not 4-D and cannot be made NHWC`, { tensor: v.name });
      data = transposeData(data, shape, TO_NHWC);
      planShape = permute(shape, TO_NHWC);
    }
    const id = this.addValue({ name: layout === 'nhwc' ? `${v.name}:nhwc` : v.name, dtype, shape: planShape, data });
    this.alias(v, layout, id);
    return id;
  }

  /** A new constant plan value (weights rewritten by lowering). */
  addConstant(name: string, dtype: PlanDType, shape: number[], data: PlanTypedArray, quant?: PlanQuant): number {
    return this.addValue({ name, dtype, shape, data, ...(quant ? { quant } : {}) });
  }
}
