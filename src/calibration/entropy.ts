/**
 * EntropyObserver: the TensorRT-style KL-divergence calibrator. Over a histogram of |x|, for each candidate
 * threshold i (in bins, from the number of quantization levels up to the last non-empty bin):
 *
 *   P = hist[0, i) with the mass beyond i folded into bin i − 1 (what clipping at i does to the data);
 *   Q = hist[0, i) merged into `levels` groups, each group's mass spread evenly over its non-empty bins of P
 *       (what quantizing [0, i) with `levels` codes keeps of the shape);
 *   cost = KL(P || Q) after normalising both and giving empty Q bins a small ε;
 *
 * and the threshold t = i · binWidth with the smallest cost. The range is [−t, t] (clamped to the data), or
 * [min, t] for data that are never negative when the quantization is asymmetric (after Relu).
 *
 * Exact zeros are left out of P and Q: they are exact whatever the threshold, and the spike a Relu puts at 0
 * would otherwise dominate the divergence and drag the threshold down.
 *
 * `levels` is the number of codes that land on [0, t]: half of the type's codes (128 for int8 or uint8, 127
 * narrow, 64 with reduceRange) when the range spans both signs or the scheme is symmetric; all of them
 * (256) when an asymmetric scheme puts [0, t] on the whole code range.
 */
import { type ChooseQParamsOptions, resolveQParamsOptions, type ResolvedQParamsOptions } from '../quantize/qparams.js';
import { expectKnownKeys, expectObject } from '../validate.js';
import { expectBins, HistogramObserver } from './histogram.js';
import type { CalibrationRange } from './observer.js';

export interface EntropyObserverOptions extends ChooseQParamsOptions {
  /** Histogram bins; default 2048. Must be at least the number of levels (else the search has one candidate). */
  bins?: number;
}

export const ENTROPY_OPTION_KEYS = ['bins', 'dtype', 'symmetric', 'narrow', 'reduceRange'] as const;

/** ε given to the empty bins of Q where P has mass, so that KL stays finite. */
const SMOOTHING = 1e-4;

export class EntropyObserver extends HistogramObserver {
  override readonly method = 'entropy' as const;
  readonly target: Readonly<ResolvedQParamsOptions>;

  constructor(options: EntropyObserverOptions = {}) {
    expectObject('options', options);
    expectKnownKeys('EntropyObserver options', options as Record<string, unknown>, ENTROPY_OPTION_KEYS);
    const bins = expectBins('bins', options.bins);
    super(bins, 'abs');
    this.target = Object.freeze(resolveQParamsOptions(options));
  }

  /** Codes on [0, t] for the data seen so far (see the file comment). */
  levels(): number {
    const codes = this.target.qmax - this.target.qmin + 1;
    const oneSided = !this.target.symmetric && this.count > 0 && this.min >= 0;
    return oneSided ? codes : Math.floor(codes / 2);
  }

  /** The chosen threshold t on |x| (0 before any data). */
  threshold(): number {
    if (this.count === 0) return 0;
    const h = this.hist;
    // Exact zeros sit in bin 0 (abs mode, lo = 0) and are exact under any threshold: leave them out.
    const counts = Float64Array.from(h.counts);
    counts[0] = Math.max(0, counts[0] - this.zeros);
    const B = h.bins;
    const w = h.width;
    let end = B;
    while (end > 0 && counts[end - 1] === 0) end--;
    const levels = this.levels();
    if (w === 0 || end <= levels) return Math.max(-this.min, this.max);
    // Suffix sums: the mass at or beyond bin i, folded into P's last bin.
    const suffix = new Float64Array(B + 1);
    for (let j = B - 1; j >= 0; j--) suffix[j] = suffix[j + 1] + counts[j];
    const q = new Float64Array(B);
    let best = end;
    let bestKl = Number.POSITIVE_INFINITY;
    // Candidates start `levels` bins past the first non-empty bin: a threshold that folds all of the data into
    // a few bins makes P and Q the same spike and KL ≈ 0, however much is clipped.
    let first = 0;
    while (first < end && counts[first] === 0) first++;
    if (first + levels > end) return Math.max(-this.min, this.max);
    for (let i = first + levels; i <= end; i++) {
      const kl = klDivergence(counts, i, suffix[i], levels, q);
      if (kl < bestKl) {
        bestKl = kl;
        best = i;
      }
    }
    return best * w;
  }

  override range(): CalibrationRange {
    if (this.count === 0) return { min: 0, max: 0 };
    const t = this.threshold();
    return this.clampToData(-t, t);
  }
}

/** KL(P || Q) for threshold bin i; q is scratch of at least i elements. */
function klDivergence(counts: Float64Array, i: number, outliers: number, levels: number, q: Float64Array): number {
  // P: counts[0, i) plus the outliers in the last bin. Mass of P = mass of hist.
  let pTotal = outliers;
  for (let j = 0; j < i; j++) pTotal += counts[j];
  if (pTotal === 0) return Number.POSITIVE_INFINITY;
  // Q: merge counts[0, i) (without outliers) into `levels` groups, spread over P's non-empty bins.
  let qTotal = 0;
  for (let g = 0; g < levels; g++) {
    const start = Math.floor((g * i) / levels);
    const stop = Math.floor(((g + 1) * i) / levels);
    let sum = 0;
    let nonEmpty = 0;
    for (let j = start; j < stop; j++) {
      sum += counts[j];
      const p = j === i - 1 ? counts[j] + outliers : counts[j];
      if (p !== 0) nonEmpty++;
    }
    const share = nonEmpty === 0 ? 0 : sum / nonEmpty;
    for (let j = start; j < stop; j++) {
      const p = j === i - 1 ? counts[j] + outliers : counts[j];
      q[j] = p !== 0 ? share : 0;
    }
    qTotal += sum;
  }
  // Normalise, smooth the empty Q bins under P's mass, and sum P·log(P/Q).
  let emptyUnderP = 0;
  for (let j = 0; j < i; j++) {
    const p = j === i - 1 ? counts[j] + outliers : counts[j];
    if (p !== 0 && q[j] === 0) emptyUnderP++;
  }
  const qScale = qTotal === 0 ? 0 : (1 - emptyUnderP * SMOOTHING) / qTotal;
  let kl = 0;
  for (let j = 0; j < i; j++) {
    const p = j === i - 1 ? counts[j] + outliers : counts[j];
    if (p === 0) continue;
    const pn = p / pTotal;
    const qn = q[j] === 0 ? SMOOTHING : q[j] * qScale;
    kl += pn * Math.log(pn / qn);
  }
  return kl;
}
