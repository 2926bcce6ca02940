/**
 * calibrate(): runs an fp32 executor over calibration samples and feeds one observer per activation tensor.
 *
 *   copy of the model + the wanted tensors as extra graph outputs ──serialize once──▶ executor
 *   for each sample: check it, run, observe every wanted tensor, drop the outputs      (memory: one sample)
 *
 * Samples holding NaN or ±Infinity in a float input are skipped with a warning and counted; non-finite values
 * inside activations are skipped by the observers and counted too.
 */
import { createObserver, type ObserverOptionsByMethod } from '../calibration/create.js';
import type { CalibrationMethod, CalibrationRange, Observer } from '../calibration/observer.js';
import { createProgress, type ProgressOptions } from '../calibration/progress.js';
import { OctetError } from '../errors.js';
import type { Model } from '../ir/model.js';
import { formatShape, tensorType, type Value } from '../ir/value.js';
import { DataType, dataTypeName } from '../onnx/dtype.js';
import { serializeModel } from '../onnx/io.js';
import type { CalibrationExecutor, CalibrationSample, CalibrationTensor, ExecutorFactory } from './executor.js';

/** Samples: a sync or async iterable; a numeric `length` (data sources have one) sizes the progress bar. */
export type CalibrationData = (AsyncIterable<CalibrationSample> | Iterable<CalibrationSample>) & { length?: number };

export interface CalibrateOptions {
  method?: CalibrationMethod;
  /** Options of the method's observer (e.g. `{ bins: 2048 }` for entropy). */
  methodOptions?: ObserverOptionsByMethod[CalibrationMethod];
  /** Stop after this many samples. */
  maxSamples?: number;
  /** Progress bar options; false for none. Default: drawn on a TTY stderr. */
  progress?: false | ProgressOptions;
  /** Called with each warning (they are also returned). */
  onWarning?: (message: string) => void;
  /** Aborts between samples: calibrate() then rejects with OctetError ERR_OCTET_ABORTED. */
  signal?: AbortSignal;
}

export interface TensorRange extends CalibrationRange {
  /** Finite values observed. */
  count: number;
  /** NaN/Infinity values skipped. */
  nonFinite: number;
}

export interface CalibrationResult {
  ranges: Map<string, TensorRange>;
  /** Samples observed. */
  samples: number;
  /** Samples skipped because an input held NaN or Infinity. */
  skippedSamples: number;
  /** Non-finite activation values skipped by the observers, over all tensors. */
  nonFiniteValues: number;
  warnings: string[];
}

const ARRAY_DTYPE: [new (...a: never[]) => ArrayBufferView, number][] = [
  [Float32Array, DataType.FLOAT],
  [Float64Array, DataType.DOUBLE],
  [Int32Array, DataType.INT32],
  [BigInt64Array, DataType.INT64],
  [Uint8Array, DataType.UINT8],
  [Int8Array, DataType.INT8],
  [Uint16Array, DataType.UINT16],
  [Int16Array, DataType.INT16],
];

function dtypeOfArray(data: unknown): number | undefined {
  for (const [ctor, dt] of ARRAY_DTYPE) if (data instanceof ctor) return dt;
  return undefined;
}

function calibrationError(message: string): OctetError {
  return new OctetError('ERR_OCTET_CALIBRATION', message);
}

/** The graph inputs a sample must provide (inputs that are not initializers). */
export function feedInputs(model: Model): Value[] {
  return model.graph.inputs.filter((v) => v.initializer === undefined);
}

/** Checks one sample against the model's inputs; throws an OctetError naming the sample and input. */
export function checkSample(model: Model, sample: unknown, index: number): CalibrationSample {
  if (typeof sample !== 'object' || sample === null || Array.isArray(sample)) {
    throw calibrationError(`Calibration sample ${index} is not an object of input tensors`);
  }
  const s = sample as Record<string, CalibrationTensor>;
  const inputs = feedInputs(model);
  const out: CalibrationSample = {};
  for (const v of inputs) {
    const t = s[v.name];
    if (t === undefined) {
      throw calibrationError(`Calibration sample ${index} has no input '${v.name}' (the model's inputs: ${inputs.map((i) => i.name).join(', ')})`);
    }
    const dt = dtypeOfArray(t?.data);
    if (dt === undefined || !Array.isArray(t.dims)) {
      throw calibrationError(`Calibration sample ${index}: input '${v.name}' is not { data: TypedArray, dims: number[] }`);
    }
    const size = t.dims.reduce((a, b) => a * b, 1);
    if (size !== (t.data as ArrayLike<unknown>).length) {
      throw calibrationError(`Calibration sample ${index}: input '${v.name}' has ${(t.data as ArrayLike<unknown>).length} values but dims ${formatShape(t.dims)} need ${size}`);
    }
    const want = v.elemType;
    if (want !== undefined && want !== dt) {
      throw calibrationError(`Calibration sample ${index}: input '${v.name}' is ${dataTypeName(dt)} but the model expects ${dataTypeName(want)}`);
    }
    const shape = v.shape;
    if (shape !== undefined) {
      const bad = shape.length !== t.dims.length || shape.some((d, k) => typeof d === 'number' && d !== t.dims[k]);
      if (bad) {
        throw calibrationError(`Calibration sample ${index}: input '${v.name}' has shape ${formatShape(t.dims)} but the model expects ${formatShape(shape)}`);
      }
    }
    out[v.name] = t;
  }
  return out;
}

function hasNonFinite(t: CalibrationTensor): boolean {
  const d = t.data;
  if (!(d instanceof Float32Array) && !(d instanceof Float64Array)) return false;
  for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i])) return true;
  return false;
}

/** A copy of the model's bytes with `names` as extra graph outputs (the model itself is left as it was). */
export function withExtraOutputs(model: Model, names: readonly string[]): Uint8Array {
  const g = model.graph;
  const added: Value[] = [];
  const typed: Value[] = [];
  for (const name of names) {
    const v = g.values.get(name);
    if (!v || g.outputs.includes(v) || g.inputs.includes(v)) continue;
    if (!v.type) {
      v.type = tensorType(DataType.FLOAT, undefined);
      typed.push(v);
    }
    g.outputs.push(v);
    added.push(v);
  }
  try {
    return serializeModel(model);
  } finally {
    g.outputs.splice(g.outputs.length - added.length, added.length);
    for (const v of typed) v.type = undefined;
  }
}

/**
 * Observes the float tensors `tensors` of `model` over `data`, running `executor` (or one created by the
 * factory from a copy of the model with those tensors as outputs). Returns one range per tensor.
 */
export async function calibrate(
  model: Model,
  tensors: readonly string[],
  data: CalibrationData,
  executor: CalibrationExecutor | ExecutorFactory,
  options: CalibrateOptions = {},
): Promise<CalibrationResult> {
  const method = options.method ?? 'minmax';
  const warnings: string[] = [];
  const warn = (m: string): void => {
    warnings.push(m);
    options.onWarning?.(m);
  };
  const inputNames = new Set(feedInputs(model).map((v) => v.name));
  const fromRun = tensors.filter((t) => !inputNames.has(t));
  const observers = new Map<string, Observer>();
  for (const t of tensors) observers.set(t, createObserver(method, (options.methodOptions ?? {}) as never));

  let exec: CalibrationExecutor;
  let owned = false;
  if (typeof executor === 'function') {
    exec = await executor(withExtraOutputs(model, fromRun));
    owned = true;
  } else exec = executor;

  const total = options.maxSamples ?? (typeof data.length === 'number' ? data.length : 0);
  const progress = options.progress === false ? undefined : createProgress(total, 'calibrating', options.progress ?? {});
  let index = 0;
  let samples = 0;
  let skipped = 0;
  const checkAborted = (): void => {
    if (options.signal?.aborted) {
      throw new OctetError('ERR_OCTET_ABORTED', `calibration was aborted after ${index}${total > 0 ? ` of ${total}` : ''} samples`, { cause: options.signal.reason });
    }
  };
  try {
    checkAborted();
    for await (const raw of data as AsyncIterable<CalibrationSample>) {
      checkAborted();
      if (options.maxSamples !== undefined && index >= options.maxSamples) break;
      const sample = checkSample(model, raw, index);
      const bad = Object.keys(sample).find((k) => hasNonFinite(sample[k]));
      if (bad !== undefined) {
        warn(`Calibration sample ${index}: input '${bad}' holds NaN or Infinity; skipped`);
        skipped++;
        index++;
        progress?.tick();
        continue;
      }
      const outputs = fromRun.length > 0 ? await exec.run(sample, fromRun) : {};
      checkAborted();
      for (const t of tensors) {
        const value = inputNames.has(t) ? sample[t] : outputs[t];
        if (!value) throw calibrationError(`The executor returned no output '${t}'`);
        if (!(value.data instanceof Float32Array)) continue;
        observers.get(t)!.observe(value.data, value.dims);
      }
      samples++;
      index++;
      progress?.tick();
    }
  } finally {
    progress?.done();
    if (owned) await exec.release?.();
  }
  if (index === 0) throw calibrationError('Calibration data is empty: no samples');
  if (samples === 0) throw calibrationError(`All ${index} calibration samples were skipped (NaN or Infinity in every one)`);
  if (skipped > 0) warn(`${skipped} of ${index} calibration samples skipped (NaN or Infinity)`);

  const ranges = new Map<string, TensorRange>();
  let nonFiniteValues = 0;
  for (const [t, o] of observers) {
    const r = o.range();
    ranges.set(t, { min: r.min, max: r.max, count: o.count, nonFinite: o.nonFinite });
    nonFiniteValues += o.nonFinite;
  }
  if (nonFiniteValues > 0) warn(`${nonFiniteValues} NaN or Infinity activation values were skipped while calibrating`);
  return { ranges, samples, skippedSamples: skipped, nonFiniteValues, warnings };
}
