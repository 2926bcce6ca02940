/**
 * MinMaxObserver: the range is the smallest and largest finite value seen, per tensor or per slice along an
 * axis. With `averagingConstant` c the range is a moving average over observe() calls instead
 * (onnxruntime's moving-average MinMax): the first batch sets it, each later batch moves it by
 * c · (batch value − current value), which damps one-off outliers.
 */
import { invalidParameterError } from '../errors.js';
import { expectGranularity, perTensor, resolveAxis, type Granularity } from '../quantize/granularity.js';
import { expectKnownKeys, expectObject } from '../validate.js';
import { expectFloat32Array, expectSameKind, type CalibrationRange, type Observer } from './observer.js';

export interface MinMaxObserverOptions {
  /** Moving-average constant in (0, 1]; absent: the plain running min/max. */
  averagingConstant?: number;
  /** perTensor() (default) or perAxis(axis): one range per index along axis; observe() then needs the shape. */
  granularity?: Granularity;
}

export const MINMAX_OPTION_KEYS = ['averagingConstant', 'granularity'] as const;

export class MinMaxObserver implements Observer {
  readonly method = 'minmax' as const;
  readonly averagingConstant: number | undefined;
  readonly granularity: Granularity;
  #count = 0;
  #nonFinite = 0;
  #batches = 0;
  #min = Number.POSITIVE_INFINITY;
  #max = Number.NEGATIVE_INFINITY;
  /** Per-axis state, sized by the first observe(). */
  #mins: Float64Array | undefined;
  #maxs: Float64Array | undefined;
  // Per-batch scratch for per-axis, reused across calls.
  #bmins: Float64Array | undefined;
  #bmaxs: Float64Array | undefined;

  constructor(options: MinMaxObserverOptions = {}) {
    expectObject('options', options);
    expectKnownKeys('MinMaxObserver options', options as Record<string, unknown>, MINMAX_OPTION_KEYS);
    const c = options.averagingConstant;
    if (c !== undefined) {
      if (typeof c !== 'number') throw invalidParameterError('averagingConstant', 'number in (0, 1]', c);
      if (!(c > 0 && c <= 1)) throw invalidParameterError('averagingConstant', 'number in (0, 1]', c, true);
    }
    this.averagingConstant = c;
    this.granularity = options.granularity === undefined ? perTensor() : expectGranularity('granularity', options.granularity);
  }

  get count(): number {
    return this.#count;
  }

  get nonFinite(): number {
    return this.#nonFinite;
  }

  observe(x: Float32Array, shape?: readonly number[]): void {
    expectFloat32Array('x', x);
    if (this.granularity.kind === 'per-axis') return this.#observePerAxis(x, shape);
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    let bad = 0;
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      // v − v is NaN exactly for NaN and ±Infinity.
      if (v - v !== 0) {
        bad++;
        continue;
      }
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    this.#nonFinite += bad;
    const finite = x.length - bad;
    if (finite === 0) return;
    this.#count += finite;
    const c = this.averagingConstant;
    if (c === undefined || this.#batches === 0) {
      this.#min = Math.min(this.#min, lo);
      this.#max = Math.max(this.#max, hi);
    } else {
      this.#min += c * (lo - this.#min);
      this.#max += c * (hi - this.#max);
    }
    this.#batches++;
  }

  #observePerAxis(x: Float32Array, shape: readonly number[] | undefined): void {
    if (!Array.isArray(shape)) throw invalidParameterError('shape', 'array of dimensions (per-axis observer)', shape);
    let size = 1;
    for (const d of shape) size *= d;
    if (size !== x.length) throw invalidParameterError('shape', `dimensions whose product is x.length = ${x.length}`, shape, true);
    const axis = resolveAxis((this.granularity as { axis: number }).axis, shape.length, 'granularity.axis');
    const channels = shape[axis];
    if (this.#mins === undefined) {
      this.#mins = new Float64Array(channels).fill(Number.POSITIVE_INFINITY);
      this.#maxs = new Float64Array(channels).fill(Number.NEGATIVE_INFINITY);
      this.#bmins = new Float64Array(channels);
      this.#bmaxs = new Float64Array(channels);
    } else if (this.#mins.length !== channels) {
      throw invalidParameterError(`shape[${axis}]`, `${this.#mins.length} (the channel count of earlier batches)`, channels, true);
    }
    let outer = 1;
    for (let i = 0; i < axis; i++) outer *= shape[i];
    const inner = channels === 0 ? 0 : x.length / outer / channels;
    const bmins = this.#bmins!.fill(Number.POSITIVE_INFINITY);
    const bmaxs = this.#bmaxs!.fill(Number.NEGATIVE_INFINITY);
    let bad = 0;
    let i = 0;
    for (let o = 0; o < outer; o++) {
      for (let ch = 0; ch < channels; ch++) {
        let lo = bmins[ch];
        let hi = bmaxs[ch];
        for (const end = i + inner; i < end; i++) {
          const v = x[i];
          if (v - v !== 0) {
            bad++;
            continue;
          }
          if (v < lo) lo = v;
          if (v > hi) hi = v;
        }
        bmins[ch] = lo;
        bmaxs[ch] = hi;
      }
    }
    this.#nonFinite += bad;
    const finite = x.length - bad;
    if (finite === 0) return;
    this.#count += finite;
    const mins = this.#mins;
    const maxs = this.#maxs!;
    const c = this.averagingConstant;
    for (let ch = 0; ch < channels; ch++) {
      if (bmins[ch] > bmaxs[ch]) continue; // nothing finite in this channel
      if (c === undefined || mins[ch] > maxs[ch]) {
        mins[ch] = Math.min(mins[ch], bmins[ch]);
        maxs[ch] = Math.max(maxs[ch], bmaxs[ch]);
      } else {
        mins[ch] += c * (bmins[ch] - mins[ch]);
        maxs[ch] += c * (bmaxs[ch] - maxs[ch]);
      }
      if (mins[ch] < this.#min) this.#min = mins[ch];
      if (maxs[ch] > this.#max) this.#max = maxs[ch];
    }
    this.#batches++;
  }

  /** The range over the whole tensor (per axis: the union of the slices' ranges). */
  range(): CalibrationRange {
    if (this.#count === 0) return { min: 0, max: 0 };
    if (this.granularity.kind === 'per-axis' && this.averagingConstant !== undefined) {
      // Moving averages per slice: report the envelope of the current slice ranges.
      const { min, max } = this.rangePerAxis();
      return { min: Math.min(...min), max: Math.max(...max) };
    }
    return { min: this.#min, max: this.#max };
  }

  /** One range per slice along the axis (per-axis observers only); slices never seen finite get [0, 0]. */
  rangePerAxis(): { min: Float32Array; max: Float32Array } {
    if (this.granularity.kind !== 'per-axis') throw new TypeError('rangePerAxis() needs an observer created with granularity perAxis(axis)');
    const n = this.#mins?.length ?? 0;
    const min = new Float32Array(n);
    const max = new Float32Array(n);
    for (let ch = 0; ch < n; ch++) {
      if (this.#mins![ch] <= this.#maxs![ch]) {
        min[ch] = this.#mins![ch];
        max[ch] = this.#maxs![ch];
      }
    }
    return { min, max };
  }

  reset(): void {
    this.#count = 0;
    this.#nonFinite = 0;
    this.#batches = 0;
    this.#min = Number.POSITIVE_INFINITY;
    this.#max = Number.NEGATIVE_INFINITY;
    this.#mins = this.#maxs = this.#bmins = this.#bmaxs = undefined;
  }

  /** Union of the ranges. Not defined for moving averages (their order matters). */
  merge(other: Observer): void {
    const o = expectSameKind(other, MinMaxObserver, 'MinMaxObserver');
    if (this.averagingConstant !== undefined || o.averagingConstant !== undefined) {
      throw new TypeError('merge() is not defined for moving-average MinMaxObservers (averagingConstant)');
    }
    if (this.granularity.kind !== o.granularity.kind) throw new TypeError('merge() needs observers of the same granularity');
    this.#count += o.#count;
    this.#nonFinite += o.#nonFinite;
    this.#batches += o.#batches;
    this.#min = Math.min(this.#min, o.#min);
    this.#max = Math.max(this.#max, o.#max);
    if (o.#mins !== undefined) {
      if (this.#mins === undefined) {
        this.#mins = Float64Array.from(o.#mins);
        this.#maxs = Float64Array.from(o.#maxs!);
        this.#bmins = new Float64Array(o.#mins.length);
        this.#bmaxs = new Float64Array(o.#mins.length);
      } else {
        if (this.#mins.length !== o.#mins.length) throw new RangeError(`merge() needs the same channel count (${this.#mins.length} vs ${o.#mins.length})`);
        for (let ch = 0; ch < this.#mins.length; ch++) {
          this.#mins[ch] = Math.min(this.#mins[ch], o.#mins[ch]);
          this.#maxs![ch] = Math.max(this.#maxs![ch], o.#maxs![ch]);
        }
      }
    }
  }
}
