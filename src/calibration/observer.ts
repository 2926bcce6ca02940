/**
 * The observer interface: calibration feeds every value an activation takes over a calibration set through
 * observe() (many calls, memory independent of their number) and reads back the real range to quantize to.
 *
 *   const obs = createObserver('entropy');
 *   for (const batch of activations) obs.observe(batch);
 *   const { min, max } = obs.range();             // then chooseQParams(min, max, spec)
 *
 * NaN and ±Infinity are skipped and counted in `nonFinite`: one bad sample must not poison a range.
 */
import { invalidParameterError } from '../errors.js';

export type CalibrationMethod = 'minmax' | 'entropy' | 'percentile' | 'mse';

export const CALIBRATION_METHODS: readonly CalibrationMethod[] = ['minmax', 'entropy', 'percentile', 'mse'];

/** A real range [min, max] chosen by an observer (min ≤ max; chooseQParams widens it to include 0). */
export interface CalibrationRange {
  min: number;
  max: number;
}

export interface Observer {
  /** The method that chooses the range ('histogram' for a plain HistogramObserver, whose range is the min/max). */
  readonly method: CalibrationMethod | 'histogram';
  /** Finite values observed so far. */
  readonly count: number;
  /** NaN and ±Infinity values skipped so far. */
  readonly nonFinite: number;
  /** Adds a batch of values. `shape` is needed only by per-axis observers. */
  observe(x: Float32Array, shape?: readonly number[]): void;
  /** The chosen range; { min: 0, max: 0 } when no finite value has been observed (check `count`). */
  range(): CalibrationRange;
  /** Forgets everything observed, keeping the options. */
  reset(): void;
  /** Folds in what another observer of the same kind and options has seen (e.g. from another worker). */
  merge?(other: Observer): void;
}

export function expectFloat32Array(name: string, x: unknown): Float32Array {
  if (!(x instanceof Float32Array)) throw invalidParameterError(name, 'Float32Array', x);
  return x;
}

export function expectSameKind<T>(other: unknown, ctor: abstract new (...args: never[]) => T, what: string): T {
  if (!(other instanceof ctor) || Object.getPrototypeOf(other) !== ctor.prototype) {
    throw invalidParameterError('other', what, other);
  }
  return other;
}
