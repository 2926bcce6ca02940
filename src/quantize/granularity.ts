/**
 * Granularity: which elements of a tensor share one (scale, zero point).
 *
 * Small immutable value types in torchao's vocabulary: `perTensor()` (one pair for the whole tensor) and
 * `perAxis(axis)` (one pair per index along `axis`, e.g. per output channel of a Conv weight, axis 0).
 * A negative axis counts from the end, as in ONNX; it is checked against a rank only when a spec is applied
 * to a tensor (`resolveAxis`).
 */
import { invalidParameterError } from '../errors.js';
import { isPlainObject } from '../validate.js';

export interface PerTensor {
  readonly kind: 'per-tensor';
}

export interface PerAxis {
  readonly kind: 'per-axis';
  readonly axis: number;
}

export type Granularity = PerTensor | PerAxis;

const PER_TENSOR: PerTensor = Object.freeze({ kind: 'per-tensor' });

/** One scale and zero point for the whole tensor. */
export function perTensor(): PerTensor {
  return PER_TENSOR;
}

/** One scale and zero point per index along `axis` (negative counts from the end). */
export function perAxis(axis: number): PerAxis {
  if (typeof axis !== 'number') throw invalidParameterError('axis', 'integer', axis);
  if (!Number.isSafeInteger(axis)) throw invalidParameterError('axis', 'integer', axis, true);
  return Object.freeze({ kind: 'per-axis', axis });
}

/** Validates a granularity given as an option (`name` names it in the message) and returns it. */
export function expectGranularity(name: string, value: unknown): Granularity {
  const expected = "perTensor() or perAxis(axis)";
  if (!isPlainObject(value)) throw invalidParameterError(name, expected, value);
  if (value.kind === 'per-tensor') return PER_TENSOR;
  if (value.kind === 'per-axis') {
    const axis = value.axis;
    if (typeof axis !== 'number') throw invalidParameterError(`${name}.axis`, 'integer', axis);
    if (!Number.isSafeInteger(axis)) throw invalidParameterError(`${name}.axis`, 'integer', axis, true);
    return perAxis(axis);
  }
  throw invalidParameterError(`${name}.kind`, "'per-tensor' or 'per-axis'", value.kind, typeof value.kind === 'string');
}

/**
 * The non-negative axis of `granularity` for a tensor of rank `rank`:
 * "Expected integer between -4 and 3 for axis but received 4 of type number".
 */
export function resolveAxis(axis: number, rank: number, name = 'axis'): number {
  if (rank < 1 || !Number.isInteger(axis) || axis < -rank || axis >= rank) {
    throw invalidParameterError(name, rank < 1 ? 'a tensor of rank >= 1 (per-axis needs an axis)' : `integer between ${-rank} and ${rank - 1}`, axis, true);
  }
  return axis < 0 ? axis + rank : axis;
}

export function granularityToString(g: Granularity): string {
  return g.kind === 'per-tensor' ? 'perTensor()' : `perAxis(${g.axis})`;
}
