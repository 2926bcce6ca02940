/**
 * Streaming error statistics for the sensitivity analysis: sums per tensor, never the tensors themselves, so
 * memory does not grow with the number of samples.
 *
 *   ErrorAccumulator  Σ ref², Σ (ref − test)², count, max |ref − test| over every sample added
 *   SharedHistogram   fp32 and int8 values of one tensor counted over the same bins; the range grows by doubling
 *                     (pairs of bins merge) when a later sample falls outside it, so counts stay exact
 */
import { OctetError } from '../errors.js';
import type { ErrorStats } from './types.js';

/** The smallest normal float32: the signal floor when the reference is all zeros (the SQNR stays finite). */
const SIGNAL_FLOOR = 1.1754943508222875e-38;

/**
 * SQNR in dB from the sums: 10·log10(signal / noise). +Infinity without noise; an all-zero reference is
 * floored at the smallest normal float32, so it gives a very negative but finite SQNR.
 */
export function sqnrFromSums(signal: number, noise: number): number {
  if (noise !== noise || signal !== signal) return Number.NaN;
  if (noise === 0) return Number.POSITIVE_INFINITY;
  return 10 * Math.log10(Math.max(signal, SIGNAL_FLOOR) / noise);
}

export class ErrorAccumulator {
  signal = 0;
  noise = 0;
  count = 0;
  maxAbs = 0;

  /** Adds one sample of a tensor; `what` names it in the error thrown when the sizes differ. */
  add(ref: Float32Array, test: Float32Array, what: string): void {
    if (ref.length !== test.length) {
      throw new OctetError('ERR_OCTET_ANALYSIS', `${what} has ${ref.length} values in the fp32 model but ${test.length} in the int8 model`);
    }
    let signal = 0;
    let noise = 0;
    let maxAbs = this.maxAbs;
    for (let i = 0; i < ref.length; i++) {
      const r = ref[i];
      const d = r - test[i];
      signal += r * r;
      noise += d * d;
      const a = d < 0 ? -d : d;
      if (a > maxAbs || a !== a) maxAbs = a;
    }
    this.signal += signal;
    this.noise += noise;
    this.count += ref.length;
    this.maxAbs = maxAbs;
  }

  stats(): ErrorStats {
    return { sqnr: sqnrFromSums(this.signal, this.noise), mse: this.count === 0 ? 0 : this.noise / this.count, maxAbsError: this.maxAbs };
  }
}

/** Histograms of two arrays over shared bins whose range grows to hold every value seen. */
export class SharedHistogram {
  readonly bins: number;
  lo = 0;
  hi = 0;
  readonly a: Float64Array;
  readonly b: Float64Array;
  #empty = true;

  constructor(bins: number) {
    // An even count: growing merges pairs of bins.
    this.bins = bins + (bins % 2);
    this.a = new Float64Array(this.bins);
    this.b = new Float64Array(this.bins);
  }

  /** Counts `a` into the first histogram and `b` into the second (non-finite values are left out). */
  add(a: Float32Array, b: Float32Array): void {
    let min = Infinity;
    let max = -Infinity;
    for (const arr of [a, b]) {
      for (let i = 0; i < arr.length; i++) {
        const v = arr[i];
        if (v < min) min = v;
        if (v > max) max = v;
      }
    }
    if (min > max) return; // no finite value
    if (this.#empty) {
      this.#empty = false;
      const pad = max > min ? 0 : Math.max(Math.abs(min) * 1e-3, 1e-6);
      this.lo = min - pad;
      this.hi = max + pad;
    }
    while (min < this.lo || max > this.hi) this.#grow(min < this.lo);
    this.#count(a, this.a);
    this.#count(b, this.b);
  }

  #count(arr: Float32Array, into: Float64Array): void {
    const n = this.bins;
    const k = n / (this.hi - this.lo);
    const lo = this.lo;
    for (let i = 0; i < arr.length; i++) {
      const v = arr[i];
      if (!(v >= lo)) continue; // NaN
      let j = Math.floor((v - lo) * k);
      if (j >= n) j = n - 1;
      into[j]++;
    }
  }

  /** Doubles the range toward lower values (`down`) or higher ones, merging pairs of bins. */
  #grow(down: boolean): void {
    const n = this.bins;
    const w = this.hi - this.lo;
    for (const h of [this.a, this.b]) {
      const merged = new Float64Array(n);
      for (let j = 0; j < n; j++) merged[(down ? n / 2 : 0) + (j >> 1)] += h[j];
      h.set(merged);
    }
    if (down) this.lo = this.hi - 2 * w;
    else this.hi = this.lo + 2 * w;
  }
}
