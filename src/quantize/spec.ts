/**
 * QuantSpec: how one tensor is to be quantized (type, symmetry, granularity, narrow/reduced range), checked
 * when it is constructed so that a bad combination fails where it is written, not deep inside a pass.
 *
 *   const w = QuantSpec.weights(0);          // int8, symmetric, narrow [−127, 127], per output channel
 *   const a = QuantSpec.activations('uint8'); // uint8, asymmetric, per tensor
 *   w.chooseQParamsPerAxis(mins, maxs)       // { scale: Float32Array, zeroPoint: Int32Array }
 */
import { invalidParameterError } from '../errors.js';
import { expectKnownKeys, expectObject } from '../validate.js';
import { expectGranularity, granularityToString, perAxis, perTensor, resolveAxis, type Granularity } from './granularity.js';
import {
  computeQParams,
  resolveQParamsOptions,
  type AffineQParams,
  type PerAxisQParams,
  type ActivationDType,
  type QuantDType,
  type ResolvedQParamsOptions,
  chooseQParams,
  chooseQParamsPerAxis,
} from './qparams.js';

export interface QuantSpecOptions {
  /** Default 'int8'. */
  dtype?: QuantDType;
  /** Default false (asymmetric). */
  symmetric?: boolean;
  /** Default perTensor(). */
  granularity?: Granularity;
  /** Default false. */
  narrow?: boolean;
  /** Default false. */
  reduceRange?: boolean;
}

const SPEC_KEYS = ['dtype', 'symmetric', 'granularity', 'narrow', 'reduceRange'] as const;

export class QuantSpec {
  readonly dtype: QuantDType;
  readonly symmetric: boolean;
  readonly granularity: Granularity;
  readonly narrow: boolean;
  readonly reduceRange: boolean;
  /** Lowest and highest code. */
  readonly qmin: number;
  readonly qmax: number;
  readonly #resolved: ResolvedQParamsOptions;

  /**
   * Invariants checked here: known option names and types; reduceRange only for int8/uint8; int32 (bias)
   * only symmetric, since a bias's zero point is 0 by definition. Symmetric uint8 is defined (zero point 128).
   * The axis of a per-axis granularity is checked against a tensor's rank when the spec is applied (`axisFor`).
   */
  constructor(options: QuantSpecOptions = {}) {
    expectObject('options', options);
    expectKnownKeys('QuantSpec options', options as Record<string, unknown>, SPEC_KEYS);
    const resolved = resolveQParamsOptions(options);
    if (resolved.dtype === 'int32' && !resolved.symmetric) {
      throw invalidParameterError('symmetric', 'true (int32 is for biases, whose zero point is 0)', options.symmetric, true);
    }
    this.dtype = resolved.dtype;
    this.symmetric = resolved.symmetric;
    this.narrow = resolved.narrow;
    this.reduceRange = resolved.reduceRange;
    this.qmin = resolved.qmin;
    this.qmax = resolved.qmax;
    this.granularity = options.granularity === undefined ? perTensor() : expectGranularity('granularity', options.granularity);
    this.#resolved = resolved;
    Object.freeze(this);
  }

  /** Weights as DESIGN.md has them: symmetric int8 in [−127, 127], one scale per slice along `axis`. */
  static weights(axis: number, options: Omit<QuantSpecOptions, 'granularity'> = {}): QuantSpec {
    return new QuantSpec({ dtype: 'int8', symmetric: true, narrow: true, ...options, granularity: perAxis(axis) });
  }

  /** Activations as DESIGN.md has them: asymmetric, per tensor. */
  static activations(dtype: ActivationDType = 'uint8', options: Omit<QuantSpecOptions, 'dtype' | 'granularity'> = {}): QuantSpec {
    return new QuantSpec({ dtype, symmetric: false, ...options, granularity: perTensor() });
  }

  /** The non-negative axis for a tensor of `rank`, or −1 when per tensor. Throws when the axis is out of range. */
  axisFor(rank: number): number {
    if (this.granularity.kind === 'per-tensor') return -1;
    return resolveAxis(this.granularity.axis, rank, 'granularity.axis');
  }

  /** Per-tensor parameters for a real range [min, max]. */
  chooseQParams(min: number, max: number): AffineQParams {
    return chooseQParams(min, max, this.#resolved);
  }

  /** Per-axis parameters for per-slice ranges. */
  chooseQParamsPerAxis(mins: Float32Array, maxs: Float32Array): PerAxisQParams {
    return chooseQParamsPerAxis(mins, maxs, this.#resolved);
  }

  /** Unchecked arithmetic for hot loops (calibration search); see computeQParams. */
  computeQParams(min: number, max: number): AffineQParams {
    return computeQParams(min, max, this.#resolved);
  }

  toString(): string {
    const flags = [this.symmetric ? 'symmetric' : 'asymmetric', this.narrow ? 'narrow' : '', this.reduceRange ? 'reduceRange' : '']
      .filter(Boolean)
      .join(', ');
    return `QuantSpec(${this.dtype}, ${flags}, ${granularityToString(this.granularity)}, [${this.qmin}, ${this.qmax}])`;
  }
}
