/**
 * The fp32 executor calibration runs on: a small interface so that quantize() does not care what runs the
 * model. Calibration adds the activations it wants to observe as extra graph outputs of a copy of the model,
 * serializes that copy once, creates one executor from the bytes, and asks for those outputs per sample.
 *
 * octet's own InferenceSession will register itself with setDefaultExecutorFactory(); until then callers
 * pass `options.executor` (tests use onnxruntime-node through a helper; the library never imports it).
 */
import { invalidParameterError } from '../errors.js';

/** A typed array with its dims: one input of a calibration sample, or one output of a run. */
export interface CalibrationTensor {
  data: Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Int8Array | Uint16Array | Int16Array;
  dims: readonly number[];
}

/** One calibration sample: a tensor per graph input name. */
export type CalibrationSample = Record<string, CalibrationTensor>;

export interface CalibrationExecutor {
  /** Runs the model on `feeds` and returns the named outputs (float32). */
  run(feeds: CalibrationSample, outputNames: readonly string[]): Promise<Record<string, { data: Float32Array; dims: readonly number[] }>>;
  /** Frees the executor (optional). */
  release?(): Promise<void> | void;
}

/** Creates an executor for a serialized ONNX model. */
export type ExecutorFactory = (modelBytes: Uint8Array) => Promise<CalibrationExecutor> | CalibrationExecutor;

let defaultFactory: ExecutorFactory | undefined;

/**
 * Sets (or with undefined, clears) the executor factory quantize() uses when `options.executor` is not given.
 * octet's runtime registers itself here once it can run fp32 graphs.
 */
export function setDefaultExecutorFactory(factory: ExecutorFactory | undefined): void {
  if (factory !== undefined && typeof factory !== 'function') throw invalidParameterError('factory', 'function or undefined', factory);
  defaultFactory = factory;
}

/** The registered default factory, if any. */
export function getDefaultExecutorFactory(): ExecutorFactory | undefined {
  return defaultFactory;
}
