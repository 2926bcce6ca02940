/**
 * PercentileObserver: clips the rarest (100 − p) % of the values.
 *
 *   symmetric: t = the p-th percentile of |x|; range [−t, t] (clamped to the data);
 *   asymmetric: the (100 − p) % is split evenly between the two tails: range [x_(q), x_(1−q)] with
 *               q = (100 − p) / 200 (onnxruntime's convention).
 *
 * Quantiles are read off the streamed histogram, interpolating linearly inside the bin where the cumulative
 * count crosses the target, so they are exact to within one bin width.
 */
import { invalidParameterError } from '../errors.js';
import { expectKnownKeys, expectObject } from '../validate.js';
import { expectBins, HistogramObserver, type HistogramSnapshot } from './histogram.js';
import type { CalibrationRange } from './observer.js';

export interface PercentileObserverOptions {
  /** Percentile kept, in (0, 100]; default 99.999. */
  percentile?: number;
  /** Symmetric thresholds over |x|; default false. */
  symmetric?: boolean;
  /** Histogram bins; default 2048. */
  bins?: number;
}

export const PERCENTILE_OPTION_KEYS = ['percentile', 'symmetric', 'bins'] as const;

export const DEFAULT_PERCENTILE = 99.999;

export class PercentileObserver extends HistogramObserver {
  override readonly method = 'percentile' as const;
  readonly percentile: number;
  readonly symmetric: boolean;

  constructor(options: PercentileObserverOptions = {}) {
    expectObject('options', options);
    expectKnownKeys('PercentileObserver options', options as Record<string, unknown>, PERCENTILE_OPTION_KEYS);
    const p = options.percentile ?? DEFAULT_PERCENTILE;
    if (typeof p !== 'number') throw invalidParameterError('percentile', 'number in (0, 100]', p);
    if (!(p > 0 && p <= 100)) throw invalidParameterError('percentile', 'number in (0, 100]', p, true);
    const symmetric = options.symmetric ?? false;
    if (typeof symmetric !== 'boolean') throw invalidParameterError('symmetric', 'boolean', symmetric);
    const bins = expectBins('bins', options.bins);
    super(bins, symmetric ? 'abs' : 'signed');
    this.percentile = p;
    this.symmetric = symmetric;
  }

  override range(): CalibrationRange {
    if (this.count === 0) return { min: 0, max: 0 };
    const h = this.hist.snapshot();
    if (this.symmetric) {
      const t = quantile(h, this.percentile / 100);
      return this.clampToData(-t, t);
    }
    const tail = (100 - this.percentile) / 200;
    return this.clampToData(quantile(h, tail), quantile(h, 1 - tail));
  }
}

/**
 * The value below which a fraction `q` of the histogram's mass lies, interpolated linearly inside the bin
 * that crosses it (values assumed uniform inside a bin).
 */
export function quantile(h: HistogramSnapshot, q: number): number {
  const { counts, lo, hi, total } = h;
  if (total === 0 || hi === lo) return lo;
  const n = counts.length;
  const w = (hi - lo) / n;
  const target = q * total;
  let cum = 0;
  for (let j = 0; j < n; j++) {
    const c = counts[j];
    if (c > 0 && cum + c >= target) return lo + (j + Math.max(0, target - cum) / c) * w;
    cum += c;
  }
  return hi;
}
