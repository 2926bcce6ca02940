/**
 * MseObserver: the clipping range that minimises the expected squared quantization error over the
 * histogram. For a candidate range [α, β] with step Δ (as chooseQParams would pick it):
 *
 *   E(α, β) = Σ_{bins inside} n_j · Δ²/12            rounding noise, uniform within a step
 *           + Σ_{bins with c_j < α} n_j (c_j − α)²    clipping below
 *           + Σ_{bins with c_j > β} n_j (c_j − β)²    clipping above
 *
 * (c_j the bin centre; values exactly 0 are left out of the rounding term, 0 being always a code, and so are
 * values equal to the data's min or max when the range ends exactly on them and that end is a code). Prefix sums of n, n·c and n·c² make each candidate O(1). Symmetric: one threshold t,
 * [−t, t], Δ = t / h; asymmetric: α and β searched independently over a grid on each side of 0
 * (β alone when the data are never negative), Δ = (β − α)/(qmax − qmin). The grid includes the data's own
 * min and max, so the model never prefers a range it rates worse than MinMax.
 */
import { type ChooseQParamsOptions, resolveQParamsOptions, symmetricZeroPoint, type ResolvedQParamsOptions } from '../quantize/qparams.js';
import { expectKnownKeys, expectObject } from '../validate.js';
import { expectBins, HistogramObserver } from './histogram.js';
import type { CalibrationRange } from './observer.js';

export interface MseObserverOptions extends ChooseQParamsOptions {
  /** Histogram bins; default 2048. */
  bins?: number;
}

export const MSE_OPTION_KEYS = ['bins', 'dtype', 'symmetric', 'narrow', 'reduceRange'] as const;

/** Candidates per side of 0 in the asymmetric search (the search is quadratic in it). */
const MAX_STEPS = 1024;

export class MseObserver extends HistogramObserver {
  override readonly method = 'mse' as const;
  readonly target: Readonly<ResolvedQParamsOptions>;

  constructor(options: MseObserverOptions = {}) {
    expectObject('options', options);
    expectKnownKeys('MseObserver options', options as Record<string, unknown>, MSE_OPTION_KEYS);
    const bins = expectBins('bins', options.bins);
    super(bins, 'signed');
    this.target = Object.freeze(resolveQParamsOptions(options));
  }

  /** The expected squared error (summed over all values) of quantizing to [lo, hi], per the model above. */
  expectedError(lo: number, hi: number): number {
    return this.#model().error(Math.min(lo, 0), Math.max(hi, 0));
  }

  override range(): CalibrationRange {
    if (this.count === 0) return { min: 0, max: 0 };
    const lo = Math.min(this.min, 0);
    const hi = Math.max(this.max, 0);
    if (lo === hi) return { min: this.min, max: this.max };
    const model = this.#model();
    if (this.target.symmetric) {
      const absMax = Math.max(-lo, hi);
      const steps = Math.min(this.bins, 4 * MAX_STEPS);
      let best = absMax;
      let bestErr = model.error(-absMax, absMax);
      for (let k = 1; k < steps; k++) {
        const t = (absMax * k) / steps;
        const e = model.error(-t, t);
        if (e < bestErr) {
          bestErr = e;
          best = t;
        }
      }
      return this.clampToData(-best, best);
    }
    const stepsLo = lo < 0 ? Math.min(MAX_STEPS, this.bins) : 1;
    const stepsHi = hi > 0 ? Math.min(MAX_STEPS, this.bins) : 1;
    let bestLo = lo;
    let bestHi = hi;
    let bestErr = model.error(lo, hi);
    for (let a = 1; a <= stepsLo; a++) {
      const alpha = (lo * a) / stepsLo;
      for (let b = 1; b <= stepsHi; b++) {
        const beta = (hi * b) / stepsHi;
        const e = model.error(alpha, beta);
        if (e < bestErr) {
          bestErr = e;
          bestLo = alpha;
          bestHi = beta;
        }
      }
    }
    return this.clampToData(bestLo, bestHi);
  }

  #model(): { error(alpha: number, beta: number): number } {
    const { counts, lo, hi } = this.hist.snapshot();
    const B = counts.length;
    const w = (hi - lo) / B;
    // Prefix sums over bins [0, j): n, n·c, n·c².
    const s0 = new Float64Array(B + 1);
    const s1 = new Float64Array(B + 1);
    const s2 = new Float64Array(B + 1);
    for (let j = 0; j < B; j++) {
      const n = counts[j];
      const c = w === 0 ? lo : lo + (j + 0.5) * w;
      s0[j + 1] = s0[j] + n;
      s1[j + 1] = s1[j] + n * c;
      s2[j + 1] = s2[j] + n * c * c;
    }
    const { qmin, qmax, symmetric } = this.target;
    const zp = symmetricZeroPoint(this.target);
    const half = Math.min(qmax - zp, zp - qmin);
    const steps = qmax - qmin;
    // Values with no rounding noise: exact zeros (0 is a code of every range), and the data's min/max when a
    // range ends exactly there and that end is exactly a code (symmetric, or the other end at 0 so that the
    // zero point is not rounded): saturated activations such as Relu6 or Clip.
    const zeros = this.zeros;
    const dataMin = this.min;
    const dataMax = this.max;
    const atMin = dataMin !== 0 && dataMin !== dataMax ? this.atMin : 0;
    const atMax = dataMax !== 0 ? this.atMax : 0;
    // Number of bins whose centre is below v: centre_j < v ⇔ j < (v − lo)/w − 0.5.
    const below = (v: number): number => {
      if (w === 0) return v > lo ? B : 0;
      const j = Math.ceil((v - lo) / w - 0.5);
      return j < 0 ? 0 : j > B ? B : j;
    };
    // Number of bins whose centre is at most v.
    const atMost = (v: number): number => {
      if (w === 0) return v >= lo ? B : 0;
      const j = Math.floor((v - lo) / w - 0.5) + 1;
      return j < 0 ? 0 : j > B ? B : j;
    };
    return {
      error(alpha: number, beta: number): number {
        const delta = symmetric ? Math.max(-alpha, beta) / half : (beta - alpha) / steps;
        const a = below(alpha);
        const b = atMost(beta);
        let exact = zeros;
        if (beta >= dataMax && (symmetric || alpha === 0)) exact += atMax;
        if (alpha <= dataMin && (symmetric || beta === 0)) exact += atMin;
        const inside = Math.max(0, s0[b] - s0[a] - exact);
        // Σ_{j<a} n (c − α)² and Σ_{j≥b} n (c − β)².
        const left = s2[a] - 2 * alpha * s1[a] + alpha * alpha * s0[a];
        const r0 = s0[B] - s0[b];
        const r1 = s1[B] - s1[b];
        const r2 = s2[B] - s2[b];
        const right = r2 - 2 * beta * r1 + beta * beta * r0;
        return (inside * delta * delta) / 12 + Math.max(0, left) + Math.max(0, right);
      },
    };
  }
}
