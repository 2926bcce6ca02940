/**
 * Error metrics between a float reference and its quantized approximation (for tests, calibration checks
 * and the per-layer analysis). Sums are accumulated in float64.
 */
import { invalidParameterError } from '../errors.js';

type FloatArray = Float32Array | Float64Array;

function check(ref: unknown, test: unknown): void {
  if (!(ref instanceof Float32Array || ref instanceof Float64Array)) throw invalidParameterError('ref', 'Float32Array or Float64Array', ref);
  if (!(test instanceof Float32Array || test instanceof Float64Array)) throw invalidParameterError('test', 'Float32Array or Float64Array', test);
  if (test.length !== ref.length) throw invalidParameterError('test', `array of length ref.length = ${ref.length}`, test, true);
}

/**
 * Signal-to-quantization-noise ratio in dB: 10·log10(Σ ref² / Σ (ref − test)²).
 * +Infinity when the arrays are identical (no noise, including two empty or all-zero arrays); −Infinity when
 * the reference is all zeros but the test is not (no signal). NaN when either holds a NaN.
 */
export function sqnr(ref: FloatArray, test: FloatArray): number {
  check(ref, test);
  let signal = 0;
  let noise = 0;
  for (let i = 0; i < ref.length; i++) {
    const r = ref[i];
    const d = r - test[i];
    signal += r * r;
    noise += d * d;
  }
  if (noise !== noise || signal !== signal) return Number.NaN;
  if (noise === 0) return Number.POSITIVE_INFINITY;
  return 10 * Math.log10(signal / noise);
}

/**
 * How far two approximations of `ref` are apart, in dB against ref's signal: 10·log10(Σ ref² / Σ (a − b)²)
 * (two int8 executions of one model against its fp32 output). Unlike sqnr(a, b) it stays meaningful when a and b
 * are themselves near zero. +Infinity when a and b are identical.
 */
export function disagreement(ref: FloatArray, a: FloatArray, b: FloatArray): number {
  check(ref, a);
  check(ref, b);
  let signal = 0;
  let noise = 0;
  for (let i = 0; i < ref.length; i++) {
    signal += ref[i] * ref[i];
    noise += (a[i] - b[i]) ** 2;
  }
  return noise === 0 ? Number.POSITIVE_INFINITY : 10 * Math.log10(signal / noise);
}

/** Mean squared error Σ (ref − test)² / n; 0 for empty arrays. */
export function mse(ref: FloatArray, test: FloatArray): number {
  check(ref, test);
  let sum = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = ref[i] - test[i];
    sum += d * d;
  }
  return ref.length === 0 ? 0 : sum / ref.length;
}

/** max |ref − test|; 0 for empty arrays, NaN when either holds a NaN. */
export function maxAbsError(ref: FloatArray, test: FloatArray): number {
  check(ref, test);
  let max = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = Math.abs(ref[i] - test[i]);
    if (d > max || d !== d) max = d;
    if (max !== max) return Number.NaN;
  }
  return max;
}
