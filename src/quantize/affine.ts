/**
 * quantizeAffine / dequantizeAffine: ONNX QuantizeLinear / DequantizeLinear semantics on typed arrays, per
 * tensor or per axis, and quantizeBias for the int32 bias of an int8 Conv/MatMul/Gemm.
 *
 *   quantize:   q = saturate(roundHalfEven(x / S) + Z)    x / S computed in float32, as ONNX and onnxruntime do
 *   dequantize: r = (q − Z) · S                           in float32
 *
 * Per axis: `scale` and `zeroPoint` hold one value per index along `axis` of a tensor of `shape` stored
 * row-major (ONNX's layout); per tensor: one number each. NaN quantizes to the zero point (real 0); ±Infinity
 * saturates.
 */
import { invalidParameterError } from '../errors.js';
import { resolveAxis } from './granularity.js';
import { MIN_SCALE, qRange, type QuantDType } from './qparams.js';

export type QuantizedArray = Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array;

export interface AffineOptions {
  /** Axis of the per-axis scales (negative counts from the end). Default 1, as ONNX. Ignored per tensor. */
  axis?: number;
  /** Shape of the tensor, required per axis; its element count must equal the data length. */
  shape?: readonly number[];
}

/** 1.5 · 2^52: (v + M) − M rounds |v| < 2^51 to an integer, ties to even. */
const ROUND_MAGIC = 6755399441055744;

function expectScaleValue(name: string, s: unknown): number {
  if (typeof s !== 'number') throw invalidParameterError(name, 'positive finite number', s);
  if (!(s > 0) || !Number.isFinite(s) || Math.fround(s) === 0 || !Number.isFinite(Math.fround(s))) {
    throw invalidParameterError(name, 'positive finite number', s, true);
  }
  return Math.fround(s);
}

function expectZeroPoint(name: string, z: unknown, qmin: number, qmax: number): number {
  if (typeof z !== 'number') throw invalidParameterError(name, `integer between ${qmin} and ${qmax}`, z);
  if (!Number.isInteger(z) || z < qmin || z > qmax) throw invalidParameterError(name, `integer between ${qmin} and ${qmax}`, z, true);
  return z;
}

interface Layout {
  /** Product of the dims before the axis, the axis length, product of the dims after it. */
  outer: number;
  channels: number;
  inner: number;
}

/** Validates scale/zeroPoint (per tensor or per axis) against the data and returns the loop layout. */
function prepare(
  length: number,
  scale: unknown,
  zeroPoint: unknown,
  qmin: number,
  qmax: number,
  options: AffineOptions,
): { layout: Layout; scales: Float32Array; zeroPoints: Int32Array } {
  if (typeof options !== 'object' || options === null) throw invalidParameterError('options', 'object', options);
  if (typeof scale === 'number' || !(scale instanceof Float32Array)) {
    if (typeof scale !== 'number') throw invalidParameterError('scale', 'positive finite number or Float32Array', scale);
    const s = expectScaleValue('scale', scale);
    const z = expectZeroPoint('zeroPoint', zeroPoint, qmin, qmax);
    return { layout: { outer: 1, channels: 1, inner: length }, scales: Float32Array.of(s), zeroPoints: Int32Array.of(z) };
  }
  const shape = options.shape;
  if (!Array.isArray(shape)) throw invalidParameterError('options.shape', 'array of dimensions (needed for per-axis scales)', shape);
  let count = 1;
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i];
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) throw invalidParameterError(`options.shape[${i}]`, 'non-negative integer', d, typeof d === 'number');
    count *= d;
  }
  if (count !== length) throw invalidParameterError('options.shape', `dimensions whose product is the data length ${length}`, shape, true);
  const axis = resolveAxis(options.axis ?? 1, shape.length, 'options.axis');
  const channels = shape[axis];
  if (scale.length !== channels) throw invalidParameterError('scale', `Float32Array of length shape[${axis}] = ${channels}`, scale, true);
  let zeroPoints: Int32Array;
  if (zeroPoint === undefined) zeroPoints = new Int32Array(channels);
  else if (ArrayBuffer.isView(zeroPoint) || Array.isArray(zeroPoint)) {
    const zp = zeroPoint as ArrayLike<number>;
    if (zp.length !== channels) throw invalidParameterError('zeroPoint', `array of length shape[${axis}] = ${channels}`, zeroPoint, true);
    zeroPoints = new Int32Array(channels);
    for (let c = 0; c < channels; c++) zeroPoints[c] = expectZeroPoint(`zeroPoint[${c}]`, Number(zp[c]), qmin, qmax);
  } else throw invalidParameterError('zeroPoint', 'Int32Array, Int8Array, Uint8Array or number[] for per-axis scales', zeroPoint);
  const scales = new Float32Array(channels);
  for (let c = 0; c < channels; c++) scales[c] = expectScaleValue(`scale[${c}]`, scale[c]);
  let outer = 1;
  for (let i = 0; i < axis; i++) outer *= shape[i];
  return { layout: { outer, channels, inner: channels === 0 ? 0 : length / outer / channels }, scales, zeroPoints };
}

function outputArray(dtype: QuantDType, n: number): QuantizedArray {
  if (dtype === 'int8') return new Int8Array(n);
  if (dtype === 'uint8') return new Uint8Array(n);
  if (dtype === 'int16') return new Int16Array(n);
  if (dtype === 'uint16') return new Uint16Array(n);
  return new Int32Array(n);
}

/**
 * quantizeAffine(x, scale, zeroPoint, dtype, options?) → Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array.
 * Per tensor when `scale` is a number; per axis (ONNX QuantizeLinear with `axis`) when it is a Float32Array,
 * with `options.shape` required and `zeroPoint` an array (or undefined for zeros).
 */
export function quantizeAffine(
  x: Float32Array,
  scale: number | Float32Array,
  zeroPoint: number | ArrayLike<number> | undefined,
  dtype: QuantDType,
  options: AffineOptions = {},
): QuantizedArray {
  if (!(x instanceof Float32Array)) throw invalidParameterError('x', 'Float32Array', x);
  const { qmin, qmax } = qRange(dtype);
  const { layout, scales, zeroPoints } = prepare(x.length, scale, zeroPoint ?? (typeof scale === 'number' ? 0 : undefined), qmin, qmax, options);
  const out = outputArray(dtype, x.length);
  const { outer, channels, inner } = layout;
  let i = 0;
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      const s = scales[c];
      const z = zeroPoints[c];
      // Clamp in the unshifted domain first so that the rounding trick stays in range; NaN fails both tests.
      const lo = qmin - z;
      const hi = qmax - z;
      for (const end = i + inner; i < end; i++) {
        let v = Math.fround(x[i] / s);
        if (v < lo) v = lo;
        else if (v > hi) v = hi;
        else if (v !== v) v = 0;
        else v = v + ROUND_MAGIC - ROUND_MAGIC;
        out[i] = v + z;
      }
    }
  }
  return out;
}

/**
 * dequantizeAffine(q, scale, zeroPoint, options?) → Float32Array: r = (q − Z)·S (ONNX DequantizeLinear).
 * The type (int8, uint8, int16, uint16, int32) is that of `q`.
 */
export function dequantizeAffine(
  q: QuantizedArray,
  scale: number | Float32Array,
  zeroPoint: number | ArrayLike<number> | undefined,
  options: AffineOptions = {},
): Float32Array {
  const dtype: QuantDType | undefined =
    q instanceof Int8Array ? 'int8'
    : q instanceof Uint8Array ? 'uint8'
    : q instanceof Int16Array ? 'int16'
    : q instanceof Uint16Array ? 'uint16'
    : q instanceof Int32Array ? 'int32'
    : undefined;
  if (dtype === undefined) throw invalidParameterError('q', 'Int8Array, Uint8Array, Int16Array, Uint16Array or Int32Array', q);
  const { qmin, qmax } = qRange(dtype);
  const { layout, scales, zeroPoints } = prepare(q.length, scale, zeroPoint ?? (typeof scale === 'number' ? 0 : undefined), qmin, qmax, options);
  const out = new Float32Array(q.length);
  const { outer, channels, inner } = layout;
  let i = 0;
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      const s = scales[c];
      const z = zeroPoints[c];
      // (q − Z) is exact in float32 for 8- and 16-bit types; for int32 data it is rounded to float32 first, as onnxruntime does.
      for (const end = i + inner; i < end; i++) out[i] = Math.fround(q[i] - z) * s;
    }
  }
  return out;
}

export interface QuantizedBias {
  /** q[n] = saturate_int32(roundHalfEven(bias[n] / scale[n])). */
  data: Int32Array;
  /** S_bias[n] = float32(S_x · S_w[n]); a single element when the weights are per tensor. */
  scale: Float32Array;
  /** Always 0. */
  zeroPoint: 0;
  /** Number of values that did not fit int32 and were saturated (a sign of a too small input or weight scale). */
  clipped: number;
}

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

/**
 * quantizeBias(bias, inputScale, weightScales) → { data: Int32Array, scale, zeroPoint: 0, clipped }.
 * The bias of an int8 Conv/MatMul/Gemm is added to the int32 accumulator, so its scale must be S_x · S_w[n]
 * (per output channel when the weights are) with zero point 0.
 */
export function quantizeBias(bias: Float32Array, inputScale: number, weightScales: number | Float32Array): QuantizedBias {
  if (!(bias instanceof Float32Array)) throw invalidParameterError('bias', 'Float32Array', bias);
  const sx = expectScaleValue('inputScale', inputScale);
  const n = bias.length;
  let sw: Float32Array;
  if (typeof weightScales === 'number') sw = Float32Array.of(expectScaleValue('weightScales', weightScales));
  else if (weightScales instanceof Float32Array) {
    if (weightScales.length !== n && weightScales.length !== 1) {
      throw invalidParameterError('weightScales', `number or Float32Array of length 1 or bias.length = ${n}`, weightScales, true);
    }
    sw = new Float32Array(weightScales.length);
    for (let c = 0; c < sw.length; c++) sw[c] = expectScaleValue(`weightScales[${c}]`, weightScales[c]);
  } else throw invalidParameterError('weightScales', 'positive finite number or Float32Array', weightScales);

  const scale = new Float32Array(sw.length);
  for (let c = 0; c < sw.length; c++) {
    const s = Math.fround(sx * sw[c]);
    if (s < MIN_SCALE) {
      throw new RangeError(
        `Bias scale inputScale·weightScales${sw.length > 1 ? `[${c}]` : ''} = ${inputScale}·${typeof weightScales === 'number' ? weightScales : sw[c]} underflows float32 (below 2^-126)`,
      );
    }
    scale[c] = s;
  }
  const data = new Int32Array(n);
  let clipped = 0;
  for (let i = 0; i < n; i++) {
    const s = scale.length === 1 ? scale[0] : scale[i];
    let v = bias[i] / s;
    if (v !== v) v = 0;
    else if (v < INT32_MIN) {
      v = INT32_MIN;
      clipped++;
    } else if (v > INT32_MAX) {
      v = INT32_MAX;
      clipped++;
    } else {
      v = v + ROUND_MAGIC - ROUND_MAGIC;
      // A value just under the limit can round onto 2^31.
      if (v > INT32_MAX) {
        v = INT32_MAX;
        clipped++;
      }
    }
    data[i] = v;
  }
  return { data, scale, zeroPoint: 0, clipped };
}
