/**
 * A streaming histogram with a fixed number of bins, and HistogramObserver, the base of the entropy,
 * percentile and MSE observers.
 *
 * Memory is two Float64Arrays of `bins` counts, whatever the number of values observed. The first batch sets
 * the range; a batch that falls outside it widens the range by an integer factor k on the same grid (new
 * bin width = k · old width, new left edge on an old edge), so every old bin lies inside exactly one new bin
 * and the counts move over without any interpolation: streaming batches gives the histogram a single pass
 * over all the data would give on that final grid. The price: after a widening, the data may occupy as few
 * as about half of the bins. Merging two histograms with unrelated grids (two workers) does need to split
 * counts, proportionally to the overlap (values assumed uniform inside a bin).
 *
 * Mode 'abs' bins |x| over [0, max|x|] (symmetric thresholds, TensorRT-style); mode 'signed' bins x over
 * [min, max].
 */
import { invalidParameterError } from '../errors.js';
import { expectFloat32Array, expectSameKind, type CalibrationRange, type Observer } from './observer.js';

export type HistogramMode = 'signed' | 'abs';

export const DEFAULT_BINS = 2048;
export const MAX_BINS = 1 << 20;

/** A read-only view of a histogram: counts[j] values in [lo + j·w, lo + (j+1)·w), w = (hi − lo) / bins. */
export interface HistogramSnapshot {
  mode: HistogramMode;
  counts: Float64Array;
  lo: number;
  hi: number;
  /** Sum of the counts. */
  total: number;
}

/** Statistics of one batch: finite min/max and how many values equal them, exact zeros, non-finite values. */
export interface BatchStats {
  lo: number;
  hi: number;
  nlo: number;
  nhi: number;
  zeros: number;
  bad: number;
}

export class Histogram {
  readonly mode: HistogramMode;
  readonly bins: number;
  counts: Float64Array;
  #scratch: Float64Array;
  #batch: Uint32Array | undefined;
  /** Edges; lo === hi means all the mass is the point lo (held in counts[0]). */
  lo = 0;
  hi = 0;
  total = 0;

  constructor(bins: number, mode: HistogramMode) {
    this.bins = bins;
    this.mode = mode;
    this.counts = new Float64Array(bins);
    this.#scratch = new Float64Array(bins);
  }

  get width(): number {
    return (this.hi - this.lo) / this.bins;
  }

  reset(): void {
    this.counts.fill(0);
    this.lo = this.hi = this.total = 0;
  }

  /** The bin of value v (in the mode's domain) on the current grid. */
  binOf(v: number): number {
    if (this.hi === this.lo) return 0;
    const j = Math.floor(((v - this.lo) / (this.hi - this.lo)) * this.bins);
    return j < 0 ? 0 : j >= this.bins ? this.bins - 1 : j;
  }

  /** Makes the grid cover [lo, hi] (in the mode's domain), moving the counts onto the new grid. */
  cover(lo: number, hi: number): void {
    const B = this.bins;
    if (this.total === 0) {
      this.lo = lo;
      this.hi = hi;
      return;
    }
    if (lo >= this.lo && hi <= this.hi) return;
    if (this.hi === this.lo) {
      const L = Math.min(lo, this.lo);
      const H = Math.max(hi, this.hi);
      // A point mass: start the grid on the wider range and drop the mass into its bin.
      const mass = this.counts[0];
      this.counts[0] = 0;
      const point = this.lo;
      this.lo = L;
      this.hi = H;
      this.counts[this.binOf(point)] = mass;
      return;
    }
    const w = this.width;
    const old = this.counts;
    // Only the occupied bins need to stay covered: the empty ends of the old grid may be dropped.
    let first = 0;
    while (old[first] === 0) first++;
    let last = B - 1;
    while (old[last] === 0) last--;
    const L = this.mode === 'abs' ? 0 : Math.min(lo, this.lo + first * w);
    const H = Math.max(hi, this.lo + (last + 1) * w);
    // New left edge m old bins to the left of the old one (m < 0 moves it right, never past an occupied
    // bin), and k old bins merged into each new one.
    let m = Math.ceil((this.lo - L) / w - 1e-9);
    if (m < -first) m = -first;
    let k = Math.max(1, Math.ceil((m + (H - this.lo) / w) / B - 1e-9));
    while (this.lo - m * w + B * k * w < H) k++;
    const next = this.#scratch.fill(0);
    for (let j = first; j <= last; j++) {
      const c = old[j];
      if (c !== 0) next[Math.floor((j + m) / k)] += c;
    }
    this.counts = next;
    this.#scratch = old;
    const newLo = this.mode === 'abs' ? 0 : this.lo - m * w;
    this.hi = newLo + B * k * w;
    this.lo = newLo;
  }

  /** Adds the finite values of x (|x| in abs mode). The grid must already cover them (see cover()). */
  addValues(x: Float32Array): void {
    const B = this.bins;
    let added = 0;
    if (this.hi === this.lo) {
      for (let i = 0; i < x.length; i++) if (x[i] - x[i] === 0) added++;
      this.counts[0] += added;
      this.total += added;
      return;
    }
    // Integer counts for the batch (faster increments), folded into the float64 totals at the end.
    const batch = (this.#batch ??= new Uint32Array(B));
    const lo = this.lo;
    const inv = B / (this.hi - this.lo);
    const last = B - 1;
    if (this.mode === 'abs') {
      for (let i = 0; i < x.length; i++) {
        const v = Math.abs(x[i]);
        if (v - v !== 0) continue;
        const j = (v * inv) | 0;
        batch[j > last ? last : j]++;
      }
    } else {
      for (let i = 0; i < x.length; i++) {
        const v = x[i];
        if (v - v !== 0) continue;
        const j = ((v - lo) * inv) | 0;
        batch[j > last ? last : j < 0 ? 0 : j]++;
      }
    }
    const counts = this.counts;
    for (let j = 0; j < B; j++) {
      added += batch[j];
      counts[j] += batch[j];
    }
    batch.fill(0);
    this.total += added;
  }

  /** Adds another histogram's counts, splitting each source bin over the bins it overlaps. */
  addHistogram(other: HistogramSnapshot): void {
    if (other.total === 0) return;
    this.cover(other.lo, other.hi);
    const src = other.counts;
    const n = src.length;
    if (other.hi === other.lo) {
      let mass = 0;
      for (let j = 0; j < n; j++) mass += src[j];
      this.counts[this.binOf(other.lo)] += mass;
      this.total += mass;
      return;
    }
    const sw = (other.hi - other.lo) / n;
    const dw = this.width;
    const counts = this.counts;
    for (let j = 0; j < n; j++) {
      const c = src[j];
      if (c === 0) continue;
      const a = other.lo + j * sw;
      const b = a + sw;
      if (dw === 0) {
        counts[0] += c;
        continue;
      }
      let d = this.binOf(a);
      const dEnd = this.binOf(b - sw * 1e-9);
      if (d === dEnd) {
        counts[d] += c;
        continue;
      }
      for (; d <= dEnd; d++) {
        const lo = Math.max(a, this.lo + d * dw);
        const hi = Math.min(b, this.lo + (d + 1) * dw);
        if (hi > lo) counts[d] += (c * (hi - lo)) / sw;
      }
    }
    this.total += other.total;
  }

  /**
   * One pass for the common case of a batch inside the current grid: bins the finite values and gathers the
   * batch statistics. Returns undefined, adding nothing, as soon as a value falls outside the grid (the caller
   * then widens the grid and uses addValues()).
   */
  addValuesInRange(x: Float32Array): BatchStats | undefined {
    if (this.total === 0 || this.hi === this.lo) return undefined;
    const batch = (this.#batch ??= new Uint32Array(this.bins));
    // Two copies of the loop, one per mode, so that each stays monomorphic and fully optimised.
    const stats = this.mode === 'abs' ? binAbs(x, batch, this.hi) : binSigned(x, batch, this.lo, this.hi);
    if (stats === undefined) {
      batch.fill(0);
      return undefined;
    }
    const counts = this.counts;
    let added = 0;
    for (let j = 0; j < batch.length; j++) {
      added += batch[j];
      counts[j] += batch[j];
    }
    batch.fill(0);
    this.total += added;
    return stats;
  }

  snapshot(): HistogramSnapshot {
    return { mode: this.mode, counts: Float64Array.from(this.counts), lo: this.lo, hi: this.hi, total: this.total };
  }
}

/** Fused statistics + binning over [0, ghi] of |x|; undefined when a value falls outside. */
function binAbs(x: Float32Array, batch: Uint32Array, ghi: number): BatchStats | undefined {
  const inv = batch.length / ghi;
  const last = batch.length - 1;
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  let bad = 0;
  let zeros = 0;
  let nlo = 0;
  let nhi = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    if (v - v !== 0) {
      bad++;
      continue;
    }
    if (v <= lo) {
      if (v < lo) {
        lo = v;
        nlo = 0;
      }
      nlo++;
    }
    if (v >= hi) {
      if (v > hi) {
        hi = v;
        nhi = 0;
      }
      nhi++;
    }
    if (v === 0) zeros++;
    const d = Math.abs(v);
    if (d > ghi) return undefined;
    const j = (d * inv) | 0;
    batch[j > last ? last : j]++;
  }
  return { lo, hi, nlo, nhi, zeros, bad };
}

/** Fused statistics + binning over [glo, ghi]; undefined when a value falls outside. */
function binSigned(x: Float32Array, batch: Uint32Array, glo: number, ghi: number): BatchStats | undefined {
  const inv = batch.length / (ghi - glo);
  const last = batch.length - 1;
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  let bad = 0;
  let zeros = 0;
  let nlo = 0;
  let nhi = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    if (v - v !== 0) {
      bad++;
      continue;
    }
    if (v <= lo) {
      if (v < lo) {
        lo = v;
        nlo = 0;
      }
      nlo++;
    }
    if (v >= hi) {
      if (v > hi) {
        hi = v;
        nhi = 0;
      }
      nhi++;
    }
    if (v === 0) zeros++;
    if (v < glo || v > ghi) return undefined;
    const j = ((v - glo) * inv) | 0;
    batch[j > last ? last : j]++;
  }
  return { lo, hi, nlo, nhi, zeros, bad };
}

export interface HistogramObserverOptions {
  /** Number of bins; default 2048 (the entropy search needs many more bins than quantization levels). */
  bins?: number;
  /** 'signed' (default) bins x over [min, max]; 'abs' bins |x| over [0, max|x|]. */
  mode?: HistogramMode;
}

export function expectBins(name: string, value: unknown, min = 1): number {
  if (value === undefined) return DEFAULT_BINS;
  if (typeof value !== 'number') throw invalidParameterError(name, `integer between ${min} and ${MAX_BINS}`, value);
  if (!Number.isInteger(value) || value < min || value > MAX_BINS) throw invalidParameterError(name, `integer between ${min} and ${MAX_BINS}`, value, true);
  return value;
}

/**
 * Streams values into a fixed-size histogram and tracks the exact min and max. Its own range() is the exact
 * [min, max]; subclasses choose a clipped range from the histogram.
 */
export class HistogramObserver implements Observer {
  readonly method: Observer['method'] = 'histogram';
  readonly bins: number;
  readonly mode: HistogramMode;
  protected readonly hist: Histogram;
  #count = 0;
  #nonFinite = 0;
  #zeros = 0;
  #min = Number.POSITIVE_INFINITY;
  #max = Number.NEGATIVE_INFINITY;
  #atMin = 0;
  #atMax = 0;

  constructor(bins: number = DEFAULT_BINS, mode: HistogramMode = 'signed') {
    expectBins('bins', bins);
    if (mode !== 'signed' && mode !== 'abs') throw invalidParameterError('mode', "'signed' or 'abs'", mode, typeof mode === 'string');
    this.bins = bins;
    this.mode = mode;
    this.hist = new Histogram(bins, mode);
  }

  get count(): number {
    return this.#count;
  }

  get nonFinite(): number {
    return this.#nonFinite;
  }

  /**
   * Values exactly 0 (±0) observed. Zero is exact under every range (ranges always contain it), so the
   * methods leave these out of what they weigh: a Relu output's spike at 0 must not drive the threshold.
   */
  get zeros(): number {
    return this.#zeros;
  }

  /** How many values equal the exact min, and the exact max (saturated activations: Relu6, Clip). */
  get atMin(): number {
    return this.#atMin;
  }

  get atMax(): number {
    return this.#atMax;
  }

  /** Exact smallest finite value observed (+Infinity before any). */
  get min(): number {
    return this.#min;
  }

  /** Exact largest finite value observed (−Infinity before any). */
  get max(): number {
    return this.#max;
  }

  observe(x: Float32Array): void {
    expectFloat32Array('x', x);
    const fast = this.hist.addValuesInRange(x);
    if (fast !== undefined) {
      this.#nonFinite += fast.bad;
      if (fast.bad === x.length) return;
      this.#count += x.length - fast.bad;
      this.#zeros += fast.zeros;
      this.#foldExtremes(fast.lo, fast.nlo, fast.hi, fast.nhi);
      return;
    }
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    let bad = 0;
    let zeros = 0;
    let nlo = 0;
    let nhi = 0;
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      if (v - v !== 0) {
        bad++;
        continue;
      }
      if (v <= lo) {
        if (v < lo) {
          lo = v;
          nlo = 0;
        }
        nlo++;
      }
      if (v >= hi) {
        if (v > hi) {
          hi = v;
          nhi = 0;
        }
        nhi++;
      }
      if (v === 0) zeros++;
    }
    this.#nonFinite += bad;
    if (bad === x.length) return;
    this.#count += x.length - bad;
    this.#zeros += zeros;
    this.#foldExtremes(lo, nlo, hi, nhi);
    if (this.mode === 'abs') this.hist.cover(0, Math.max(-lo, hi));
    else this.hist.cover(lo, hi);
    this.hist.addValues(x);
  }

  #foldExtremes(lo: number, nlo: number, hi: number, nhi: number): void {
    if (lo < this.#min) {
      this.#min = lo;
      this.#atMin = nlo;
    } else if (lo === this.#min) this.#atMin += nlo;
    if (hi > this.#max) {
      this.#max = hi;
      this.#atMax = nhi;
    } else if (hi === this.#max) this.#atMax += nhi;
  }

  /** The histogram as it stands (a copy). */
  histogram(): HistogramSnapshot {
    return this.hist.snapshot();
  }

  /** The exact [min, max] of what was observed; subclasses override with a clipped range. */
  range(): CalibrationRange {
    if (this.#count === 0) return { min: 0, max: 0 };
    return { min: this.#min, max: this.#max };
  }

  reset(): void {
    this.hist.reset();
    this.#count = 0;
    this.#nonFinite = 0;
    this.#zeros = 0;
    this.#atMin = this.#atMax = 0;
    this.#min = Number.POSITIVE_INFINITY;
    this.#max = Number.NEGATIVE_INFINITY;
  }

  /** Adds another observer's histogram (same class, mode and bin count); the grids need not match. */
  merge(other: Observer): void {
    const o = expectSameKind(other, this.constructor as typeof HistogramObserver, this.constructor.name);
    if (o.mode !== this.mode || o.bins !== this.bins) {
      throw new TypeError(`merge() needs observers with the same mode and bins (${this.mode}/${this.bins} vs ${o.mode}/${o.bins})`);
    }
    this.hist.addHistogram(o.hist.snapshot());
    this.#count += o.#count;
    this.#nonFinite += o.#nonFinite;
    this.#zeros += o.#zeros;
    if (o.#count > 0) this.#foldExtremes(o.#min, o.#atMin, o.#max, o.#atMax);
  }

  /** Clamps a chosen [lo, hi] to what was actually observed: clipping beyond the data never helps. */
  protected clampToData(lo: number, hi: number): CalibrationRange {
    return { min: Math.max(lo, this.#min), max: Math.min(hi, this.#max) };
  }
}
