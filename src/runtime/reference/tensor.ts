/**
 * Tensors of the reference interpreter: raw element values (int8 holds q, not the real value) in float64,
 * plus the value's quant parameters. Slow and clear on purpose: this is the test oracle for the native plan.
 */
import type { PlanDType, PlanQuant, PlanTypedArray, PlanValue } from '../plan.js';
import { arrayTypeOf, elementCount } from '../plan.js';

export interface RefTensor {
  dtype: PlanDType;
  shape: number[];
  data: Float64Array;
  quant?: PlanQuant;
}

/** Round half to even, as ONNX QuantizeLinear and the vendors' requantization do. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export function qRange(dtype: PlanDType): [number, number] {
  return dtype === 'int8' ? [-128, 127] : dtype === 'uint8' ? [0, 255] : [-(2 ** 31), 2 ** 31 - 1];
}

export function is8bit(dtype: PlanDType): boolean {
  return dtype === 'int8' || dtype === 'uint8';
}

export function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1] * shape[i + 1];
  return s;
}

/** Index along `axis` of flat element i (0 per tensor: axis undefined). */
export function axisIndex(shape: readonly number[], axis: number | undefined): (i: number) => number {
  if (axis === undefined) return () => 0;
  const inner = strides(shape)[axis];
  const dim = shape[axis];
  return (i) => Math.floor(i / inner) % dim;
}

/** Real values: 8-bit/int32 values with quant are dequantized, everything else is taken as is. */
export function real(t: RefTensor): Float64Array {
  if (!t.quant || !(is8bit(t.dtype) || t.dtype === 'int32')) return t.data;
  const ax = axisIndex(t.shape, t.quant.axis);
  return t.data.map((q, i) => (q - t.quant!.zeroPoint[ax(i)]) * t.quant!.scale[ax(i)]);
}

/** Encodes real values into a value's dtype: quantize (round half even, saturate) or plain integer cast. */
export function encode(values: ArrayLike<number>, out: PlanValue, clamp?: { min?: number; max?: number }): RefTensor {
  const n = values.length;
  const data = new Float64Array(n);
  const min = clamp?.min ?? -Infinity;
  const max = clamp?.max ?? Infinity;
  if (is8bit(out.dtype) && out.quant) {
    const [lo, hi] = qRange(out.dtype);
    const ax = axisIndex(out.shape, out.quant.axis);
    const q = (x: number, c: number) => Math.min(hi, Math.max(lo, roundHalfEven(x / out.quant!.scale[c]) + out.quant!.zeroPoint[c]));
    // The fused clamp acts in the quantized domain: clamp(q(v), q(min), q(max)).
    for (let i = 0; i < n; i++) {
      const c = ax(i);
      let v = q(values[i], c);
      if (min > -Infinity) v = Math.max(v, q(min, c));
      if (max < Infinity) v = Math.min(v, q(max, c));
      data[i] = v;
    }
  } else if (out.dtype === 'float32') {
    for (let i = 0; i < n; i++) data[i] = Math.min(max, Math.max(min, values[i]));
  } else {
    for (let i = 0; i < n; i++) data[i] = Math.trunc(values[i]);
  }
  return { dtype: out.dtype, shape: out.shape.slice(), data, quant: out.quant };
}

export function fromTyped(array: PlanTypedArray, value: PlanValue): RefTensor {
  const data = new Float64Array(array.length);
  for (let i = 0; i < array.length; i++) data[i] = Number(array[i]);
  return { dtype: value.dtype, shape: value.shape.slice(), data, quant: value.quant };
}

/** Float32 outputs come back in float64 (the oracle's precision); others in their own typed array. */
export function toTyped(t: RefTensor): PlanTypedArray | Float64Array {
  if (t.dtype === 'float32') return Float64Array.from(t.data);
  if (t.dtype === 'int64') return BigInt64Array.from(Array.from(t.data, (x) => BigInt(x)));
  const Ctor = arrayTypeOf(t.dtype) as unknown as { from(a: ArrayLike<number>): PlanTypedArray };
  return Ctor.from(t.data);
}

export function count(shape: readonly number[]): number {
  return elementCount(shape);
}

/** Numpy broadcast of two shapes (undefined when incompatible). */
export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] | undefined {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[i - (rank - a.length)] ?? 1;
    const db = b[i - (rank - b.length)] ?? 1;
    if (da !== db && da !== 1 && db !== 1) return undefined;
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** Flat index into `shape` (right-aligned, broadcast) of the multi-index `idx` of the output. */
export function broadcastIndex(idx: readonly number[], shape: readonly number[]): number {
  const s = strides(shape);
  const offset = idx.length - shape.length;
  let flat = 0;
  for (let d = 0; d < shape.length; d++) flat += (shape[d] === 1 ? 0 : idx[offset + d]) * s[d];
  return flat;
}

export function unravel(i: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = i % shape[d];
    i = Math.floor(i / shape[d]);
  }
  return idx;
}
