/**
 * Choosing quantization parameters: the code range of a quantized type and the (scale, zero point) that map a
 * real range [α, β] onto it.
 *
 *   q = clamp(round(r / S) + Z, qmin, qmax)      r ≈ (q − Z) · S
 *   asymmetric: S = (β − α) / (qmax − qmin),  Z = qmin − round(α / S)
 *   symmetric:  S = max(|α|, |β|) / h,        Z = the middle code (0 signed, 128 uint8, 32768 uint16),
 *               h = min(qmax − Z, Z − qmin)  (127 for 8 bits, 32767 for 16 bits, 63 with reduceRange)
 *
 * The range is first widened to include 0 (α ≤ 0 ≤ β) so that real zero is exactly a code: padding, ReLU
 * outputs and zero-initialised values stay exact. The symmetric scale divides by h = 127, not by 127.5 as
 * PyTorch and onnxruntime do: ±max(|α|, |β|) are then both representable, where /127.5 clips the top value
 * by half a step.
 *
 * Scales are float32 values (ONNX stores them as float32), rounded up to the next float32 when the exact
 * quotient is not representable so that the range stays covered, and never smaller than FLT_MIN (2^-126):
 * subnormal scales become 0 in kernels that flush denormals. A zero range (α = β = 0, an all-zero tensor)
 * gets scale 1, onnxruntime's convention, and the zero point of the formula (qmin for asymmetric).
 */
import { invalidParameterError } from '../errors.js';

export type QuantDType = 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32';

export const QUANT_DTYPES: readonly QuantDType[] = ['int8', 'uint8', 'int16', 'uint16', 'int32'];

/** Types an activation can be quantized to: 8-bit, or 16-bit (A16W8: QuantizeLinear/DequantizeLinear at opset 21). */
export type ActivationDType = 'int8' | 'uint8' | 'int16' | 'uint16';

export const ACTIVATION_DTYPES: readonly ActivationDType[] = ['int8', 'uint8', 'int16', 'uint16'];

/** Whether `dtype` is one of the 16-bit activation types. */
export function is16Bit(dtype: string): dtype is 'int16' | 'uint16' {
  return dtype === 'int16' || dtype === 'uint16';
}

/** Smallest scale chosen: FLT_MIN, the smallest normal float32. */
export const MIN_SCALE = 2 ** -126;

export interface QRangeOptions {
  /**
   * Drop the lowest code so that the range is symmetric about its middle: int8 [−127, 127],
   * uint8 [1, 255], int16 [−32767, 32767], uint16 [1, 65535], int32 [−(2^31 − 1), 2^31 − 1]. Default false.
   */
  narrow?: boolean;
  /**
   * Use 7 of the 8 bits (onnxruntime's reduce_range): int8 [−64, 63], uint8 [0, 127]. Keeps u8·s8 pair sums
   * inside int16 on CPUs without VNNI (vpmaddubsw). Only for int8 and uint8. Default false.
   */
  reduceRange?: boolean;
}

export interface QRange {
  qmin: number;
  qmax: number;
}

/** The code range [qmin, qmax] of `dtype`, optionally narrow and/or reduced to 7 bits. */
export function qRange(dtype: QuantDType, options: QRangeOptions = {}): QRange {
  const narrow = options.narrow === true;
  const reduce = options.reduceRange === true;
  let qmin: number;
  let qmax: number;
  switch (dtype) {
    case 'int8':
      [qmin, qmax] = reduce ? [-64, 63] : [-128, 127];
      break;
    case 'uint8':
      [qmin, qmax] = reduce ? [0, 127] : [0, 255];
      break;
    case 'int16':
    case 'uint16':
    case 'int32':
      if (reduce) throw invalidParameterError('reduceRange', `false (${dtype} has no reduced range)`, true, true);
      [qmin, qmax] = dtype === 'int16' ? [-32768, 32767] : dtype === 'uint16' ? [0, 65535] : [-2147483648, 2147483647];
      break;
    default:
      throw invalidParameterError('dtype', "one of 'int8', 'uint8', 'int16', 'uint16', 'int32'", dtype, typeof dtype === 'string');
  }
  return { qmin: narrow ? qmin + 1 : qmin, qmax };
}

/** The code a symmetric scheme centres on: 0 for signed types, the middle code (128 for uint8, 32768 for uint16). */
export function symmetricZeroPoint(range: QRange): number {
  // Half-way between qmin and qmax, rounded up: int8 [-128,127] → 0, uint8 [0,255] → 128, narrow uint8 → 128.
  return Math.ceil((range.qmin + range.qmax) / 2) | 0; // | 0: never -0
}

export interface ChooseQParamsOptions extends QRangeOptions {
  /** Quantized type. Default 'int8'. */
  dtype?: QuantDType;
  /** Zero point at the middle code and a range symmetric about 0. Default false. */
  symmetric?: boolean;
}

/** Scale and zero point of one quantized tensor (or one slice along an axis): r ≈ (q − zeroPoint) · scale. */
export interface AffineQParams {
  scale: number;
  zeroPoint: number;
}

export interface PerAxisQParams {
  scale: Float32Array;
  zeroPoint: Int32Array;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The smallest float32 ≥ x (x positive and finite). */
export function float32AtLeast(x: number): number {
  f32[0] = x;
  if (f32[0] < x) u32[0] += 1;
  return f32[0];
}

function expectBoolean(name: string, value: unknown): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw invalidParameterError(name, 'boolean', value);
  return value;
}

function expectFinite(name: string, value: unknown): number {
  if (typeof value !== 'number') throw invalidParameterError(name, 'finite number', value);
  if (!Number.isFinite(value)) throw invalidParameterError(name, 'finite number', value, true);
  return value;
}

/** Validated, normalised options: the form the inner loops take. */
export interface ResolvedQParamsOptions {
  dtype: QuantDType;
  symmetric: boolean;
  narrow: boolean;
  reduceRange: boolean;
  qmin: number;
  qmax: number;
}

export function resolveQParamsOptions(options: ChooseQParamsOptions = {}, prefix = ''): ResolvedQParamsOptions {
  const dtype = options.dtype ?? 'int8';
  if (!QUANT_DTYPES.includes(dtype)) {
    throw invalidParameterError(`${prefix}dtype`, "one of 'int8', 'uint8', 'int16', 'uint16', 'int32'", dtype, typeof dtype === 'string');
  }
  const symmetric = expectBoolean(`${prefix}symmetric`, options.symmetric);
  const narrow = expectBoolean(`${prefix}narrow`, options.narrow);
  const reduceRange = expectBoolean(`${prefix}reduceRange`, options.reduceRange);
  if (reduceRange && dtype !== 'int8' && dtype !== 'uint8') throw invalidParameterError(`${prefix}reduceRange`, `false (${dtype} has no reduced range)`, true, true);
  const { qmin, qmax } = qRange(dtype, { narrow, reduceRange });
  return { dtype, symmetric, narrow, reduceRange, qmin, qmax };
}

/**
 * The scale and zero point for real values in [min, max] (widened to include 0), without argument checks:
 * the arithmetic every other entry point shares.
 */
export function computeQParams(min: number, max: number, o: ResolvedQParamsOptions): AffineQParams {
  const lo = Math.min(min, 0);
  const hi = Math.max(max, 0);
  if (o.symmetric) {
    const zeroPoint = symmetricZeroPoint(o);
    const half = Math.min(o.qmax - zeroPoint, zeroPoint - o.qmin);
    const absMax = Math.max(-lo, hi);
    if (absMax === 0) return { scale: 1, zeroPoint };
    return { scale: Math.max(MIN_SCALE, float32AtLeast(absMax / half)), zeroPoint };
  }
  if (hi - lo === 0) return { scale: 1, zeroPoint: o.qmin };
  const scale = Math.max(MIN_SCALE, float32AtLeast((hi - lo) / (o.qmax - o.qmin)));
  // Z = qmin − round(α / S), kept inside the code range (it only leaves it through float rounding).
  const zeroPoint = Math.min(o.qmax, Math.max(o.qmin, o.qmin - roundHalfEvenFast(lo / scale))) + 0;
  return { scale, zeroPoint };
}

/**
 * chooseQParams(min, max, options) → { scale, zeroPoint }: the affine parameters mapping [min, max] (widened to
 * include 0) onto the code range of `options.dtype`. See the file comment for the formulas and conventions.
 */
export function chooseQParams(min: number, max: number, options: ChooseQParamsOptions = {}): AffineQParams {
  expectFinite('min', min);
  expectFinite('max', max);
  if (max < min) throw invalidParameterError('max', `number >= min (${min})`, max, true);
  return computeQParams(min, max, resolveQParamsOptions(options));
}

/**
 * chooseQParamsPerAxis(mins, maxs, options) → { scale: Float32Array, zeroPoint: Int32Array }: chooseQParams for
 * every slice along an axis (mins[i], maxs[i] are the range of slice i).
 */
export function chooseQParamsPerAxis(mins: Float32Array, maxs: Float32Array, options: ChooseQParamsOptions = {}): PerAxisQParams {
  if (!(mins instanceof Float32Array)) throw invalidParameterError('mins', 'Float32Array', mins);
  if (!(maxs instanceof Float32Array)) throw invalidParameterError('maxs', 'Float32Array', maxs);
  if (maxs.length !== mins.length) throw invalidParameterError('maxs', `Float32Array of length mins.length = ${mins.length}`, maxs, true);
  const o = resolveQParamsOptions(options);
  const n = mins.length;
  const scale = new Float32Array(n);
  const zeroPoint = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const lo = mins[i];
    const hi = maxs[i];
    if (!Number.isFinite(lo)) throw invalidParameterError(`mins[${i}]`, 'finite number', lo, true);
    if (!Number.isFinite(hi)) throw invalidParameterError(`maxs[${i}]`, 'finite number', hi, true);
    if (hi < lo) throw invalidParameterError(`maxs[${i}]`, `number >= mins[${i}] (${lo})`, hi, true);
    const p = computeQParams(lo, hi, o);
    scale[i] = p.scale;
    zeroPoint[i] = p.zeroPoint;
  }
  return { scale, zeroPoint };
}

/** 1.5 · 2^52: adding and subtracting it rounds a double with |x| < 2^51 to an integer, ties to even. */
const ROUND_MAGIC = 6755399441055744;

/**
 * Round half to even for |x| < 2^51 (the hardware's default rounding mode, as nearbyint/rint): the same
 * results as roundHalfEven in src/kernels/reference.ts, without a modulo.
 */
export function roundHalfEvenFast(x: number): number {
  return x + ROUND_MAGIC - ROUND_MAGIC;
}
