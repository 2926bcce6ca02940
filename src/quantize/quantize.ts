/**
 * quantize(model | path | bytes, options) → { model, report }: the whole flow in one call.
 *
 *   load (a copy) → already quantized? (no-op) → canonicalize (opset ≥ 13, BN folded, activations tagged)
 *   static:      plan QDQ → calibrate the planned activations on the executor → insert Q/DQ → [QOperator]
 *   dynamic:     weights offline + DynamicQuantizeLinear/MatMulInteger (no executor, no data)
 *   weight-only: int8 weights + DequantizeLinear (no executor, no data)
 *
 * The input model is never modified; the result is verified before it is returned.
 */
import type { CalibrationMethod } from '../calibration/observer.js';
import { CALIBRATION_METHODS } from '../calibration/observer.js';
import type { ProgressOptions } from '../calibration/progress.js';
import { invalidParameterError, OctetError } from '../errors.js';
import { Model } from '../ir/model.js';
import { inferShapes } from '../ir/shape-inference.js';
import type { Tensor } from '../ir/tensor.js';
import { verifyModel } from '../ir/verify.js';
import { loadModel, serializeModel } from '../onnx/io.js';
import { canonicalize } from '../passes/manager.js';
import { expectKnownKeys, expectOneOf, isPlainObject } from '../validate.js';
import { calibrate, type CalibrationData, type CalibrationResult } from './calibrate.js';
import { openCalibrationFolder, type ImageSourceOptions } from './data.js';
import { DYNAMIC_OP_TYPES, quantizeDynamic } from './dynamic.js';
import { getDefaultExecutorFactory, type CalibrationExecutor, type ExecutorFactory } from './executor.js';
import { detectQuantized } from './ingest.js';
import { activationQParams, applyQdq, planQdq, STATIC_OP_TYPES, type ActivationQParams, type QdqOptions, type SkippedNode, type TensorOverride, type TensorReport } from './qdq.js';
import { toQOperator } from './qoperator.js';

export interface QuantizeOptions {
  /** Calibration samples (sync/async iterable of { inputName: { data, dims } }) or a folder of .npy files or images. */
  calibration?: CalibrationData | string;
  /** Observer used on activations. Default 'minmax'. */
  method?: CalibrationMethod;
  /** Options of the observer (e.g. `{ bins: 2048 }`). */
  methodOptions?: Record<string, unknown>;
  /** Use at most this many calibration samples. */
  maxSamples?: number;
  /** 'qdq' (default) or 'qoperator' (QLinearConv, QLinearMatMul, com.microsoft QLinearAdd, ...). */
  format?: 'qdq' | 'qoperator';
  /** Per-channel weights for Conv/ConvTranspose/Gemm/MatMul (default true). */
  perChannel?: boolean;
  /** Activation type (default 'uint8'); weights are always int8 in static mode. */
  activationType?: 'int8' | 'uint8';
  /** Symmetric activations (default false: asymmetric). */
  symmetricActivations?: boolean;
  /** Op types to quantize (default all supported). */
  opTypes?: string[];
  /** Node names to leave in fp32. */
  exclude?: string[];
  /** Per-tensor overrides of dtype, symmetry or range. */
  overrides?: Record<string, TensorOverride>;
  /** Dynamic quantization (weights offline, activations at run time). */
  dynamic?: boolean;
  /** Quantize weights only (static, no calibration). */
  weightOnly?: boolean;
  /** Weight type in dynamic mode (default 'int8'). */
  weightType?: 'int8' | 'uint8';
  /** The fp32 executor for calibration, or a factory creating one from model bytes. Default: the registered one. */
  executor?: CalibrationExecutor | ExecutorFactory;
  /** Image decoding options when `calibration` is a folder of images. */
  image?: ImageSourceOptions;
  /** Passed to canonicalize(): graph inputs to freeze (e.g. `{ sr: 16000 }`) and input shapes. */
  freezeInputs?: Record<string, number | bigint | readonly number[] | Tensor>;
  inputShapes?: Record<string, readonly (number | string | null)[]>;
  /** Progress bar options; false for none. */
  progress?: false | ProgressOptions;
  /** Called with each warning as it happens (they are also in the report). */
  onWarning?: (message: string) => void;
  /** Aborts calibration between samples: quantize() then rejects with OctetError ERR_OCTET_ABORTED. */
  signal?: AbortSignal;
}

export interface QuantizeReport {
  mode: 'static' | 'dynamic' | 'weight-only' | 'none';
  format: 'qdq' | 'qoperator';
  /** Every quantized tensor with its parameters. */
  tensors: TensorReport[];
  /** Nodes of supported op types left in fp32, with the reason. */
  skipped: SkippedNode[];
  notes: string[];
  warnings: string[];
  /** Node counts of the result by op type, and how many nodes were quantized. */
  counts: { quantizedNodes: number; nodes: number; byOpType: Record<string, number> };
  calibration?: { method: CalibrationMethod; samples: number; skippedSamples: number; nonFiniteValues: number; tensors: number };
}

export interface QuantizeResult {
  model: Model;
  report: QuantizeReport;
}

const OPTION_KEYS = [
  'calibration',
  'method',
  'methodOptions',
  'maxSamples',
  'format',
  'perChannel',
  'activationType',
  'symmetricActivations',
  'opTypes',
  'exclude',
  'overrides',
  'dynamic',
  'weightOnly',
  'weightType',
  'executor',
  'image',
  'freezeInputs',
  'inputShapes',
  'progress',
  'onWarning',
  'signal',
] as const;

function expectBoolean(name: string, v: unknown): void {
  if (v !== undefined && typeof v !== 'boolean') throw invalidParameterError(name, 'boolean', v);
}

function expectStringList(name: string, v: unknown, allowed?: readonly string[]): string[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) throw invalidParameterError(name, 'array of strings', v);
  v.forEach((s, i) => {
    if (typeof s !== 'string') throw invalidParameterError(`${name}[${i}]`, 'string', s);
    if (allowed && !allowed.includes(s)) throw invalidParameterError(`${name}[${i}]`, `one of ${allowed.join(', ')}`, s, true);
  });
  return v as string[];
}

function validate(options: unknown): QuantizeOptions {
  if (!isPlainObject(options)) throw invalidParameterError('options', 'object', options);
  expectKnownKeys('options', options, OPTION_KEYS);
  const o = options as QuantizeOptions & Record<string, unknown>;
  if (o.method !== undefined) expectOneOf('options.method', o.method, CALIBRATION_METHODS);
  if (o.format !== undefined) expectOneOf('options.format', o.format, ['qdq', 'qoperator'] as const);
  if (o.activationType !== undefined) expectOneOf('options.activationType', o.activationType, ['int8', 'uint8'] as const);
  if (o.weightType !== undefined) expectOneOf('options.weightType', o.weightType, ['int8', 'uint8'] as const);
  for (const k of ['perChannel', 'symmetricActivations', 'dynamic', 'weightOnly'] as const) expectBoolean(`options.${k}`, o[k]);
  if (o.dynamic && o.weightOnly) throw invalidParameterError('options.weightOnly', 'false when options.dynamic is true', o.weightOnly, true);
  if (o.maxSamples !== undefined && (typeof o.maxSamples !== 'number' || !Number.isInteger(o.maxSamples) || o.maxSamples < 1)) {
    throw invalidParameterError('options.maxSamples', 'positive integer', o.maxSamples, typeof o.maxSamples === 'number');
  }
  const allowed = o.dynamic ? DYNAMIC_OP_TYPES : STATIC_OP_TYPES;
  expectStringList('options.opTypes', o.opTypes, allowed);
  expectStringList('options.exclude', o.exclude);
  if (o.methodOptions !== undefined && !isPlainObject(o.methodOptions)) throw invalidParameterError('options.methodOptions', 'object', o.methodOptions);
  if (o.overrides !== undefined) {
    if (!isPlainObject(o.overrides)) throw invalidParameterError('options.overrides', 'object', o.overrides);
    for (const [name, ov] of Object.entries(o.overrides)) {
      const at = `options.overrides['${name}']`;
      if (!isPlainObject(ov)) throw invalidParameterError(at, 'object', ov);
      expectKnownKeys(at, ov, ['dtype', 'symmetric', 'range']);
      if (ov.dtype !== undefined) expectOneOf(`${at}.dtype`, ov.dtype, ['int8', 'uint8'] as const);
      expectBoolean(`${at}.symmetric`, ov.symmetric);
      if (ov.range !== undefined) {
        const r = ov.range as unknown;
        const ok = Array.isArray(r) && r.length === 2 && r.every((x) => typeof x === 'number' && Number.isFinite(x)) && r[0] <= r[1];
        if (!ok) throw invalidParameterError(`${at}.range`, '[min, max] of finite numbers with min <= max', r, Array.isArray(r));
      }
    }
  }
  if (o.executor !== undefined && typeof o.executor !== 'function' && !(isPlainObject(o.executor) && typeof (o.executor as { run?: unknown }).run === 'function')) {
    throw invalidParameterError('options.executor', 'CalibrationExecutor or factory function', o.executor);
  }
  if (o.onWarning !== undefined && typeof o.onWarning !== 'function') throw invalidParameterError('options.onWarning', 'function', o.onWarning);
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) throw invalidParameterError('options.signal', 'AbortSignal', o.signal);
  const cal = o.calibration as unknown;
  if (cal !== undefined && typeof cal !== 'string') {
    const iterable = typeof cal === 'object' && cal !== null && (Symbol.asyncIterator in cal || Symbol.iterator in cal);
    if (!iterable || Array.isArray(cal) === false && ArrayBuffer.isView(cal)) throw invalidParameterError('options.calibration', 'folder path or iterable of samples', cal);
  }
  if (cal === '') throw invalidParameterError('options.calibration', 'folder path or iterable of samples', cal, true);
  return o;
}

function countOps(model: Model): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of model.graph.allNodes()) {
    const key = n.domain && n.domain !== 'ai.onnx' ? `${n.domain}.${n.opType}` : n.opType;
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

function copyModel(model: Model | string | Uint8Array): Model {
  if (model instanceof Model) return loadModel(serializeModel(model), { baseDir: model.baseDir });
  if (typeof model === 'string' || model instanceof Uint8Array) return loadModel(model);
  throw invalidParameterError('model', 'Model, path string or Uint8Array', model);
}

/**
 * Quantizes a model. See QuantizeOptions; the input is not modified. Throws a TypeError/RangeError for bad
 * options, an OnnxError for a bad model, an OctetError for calibration problems (no executor, no data, ...).
 */
export async function quantize(model: Model | string | Uint8Array, options: QuantizeOptions = {}): Promise<QuantizeResult> {
  if (!(model instanceof Model) && typeof model !== 'string' && !(model instanceof Uint8Array)) {
    throw invalidParameterError('model', 'Model, path string or Uint8Array', model);
  }
  const o = validate(options);
  const m = copyModel(model);
  const warnings: string[] = [];
  const warn = (msg: string): void => {
    warnings.push(msg);
    o.onWarning?.(msg);
  };
  const format = o.format ?? 'qdq';
  const mode: QuantizeReport['mode'] = o.dynamic ? 'dynamic' : o.weightOnly ? 'weight-only' : 'static';
  const finish = (report: Omit<QuantizeReport, 'counts' | 'warnings'>, quantizedNodes: number): QuantizeResult => {
    const errors = verifyModel(m).filter((i) => i.severity === 'error');
    if (errors.length > 0) throw new OctetError('ERR_OCTET_QUANTIZE', `The quantized model does not verify: ${errors[0].message}`);
    let nodes = 0;
    for (const _ of m.graph.allNodes()) nodes++;
    return { model: m, report: { ...report, warnings, counts: { quantizedNodes, nodes, byOpType: countOps(m) } } };
  };

  const already = detectQuantized(m);
  if (already) {
    return finish({ mode: 'none', format: already.format, tensors: [], skipped: [], notes: [`The model is already quantized (${already.description}); left unchanged`] }, 0);
  }

  canonicalize(m, { freezeInputs: o.freezeInputs, inputShapes: o.inputShapes });

  if (mode === 'dynamic') {
    const r = quantizeDynamic(m, {
      opTypes: new Set(o.opTypes ?? DYNAMIC_OP_TYPES),
      exclude: new Set(o.exclude ?? []),
      perChannel: o.perChannel ?? true,
      weightType: o.weightType ?? 'int8',
    });
    inferShapes(m, { strict: false });
    return finish({ mode, format: 'qdq', tensors: r.tensors, skipped: r.skipped, notes: r.notes }, r.quantizedNodes);
  }

  const qdqOptions: QdqOptions = {
    opTypes: new Set(o.opTypes ?? STATIC_OP_TYPES),
    exclude: new Set(o.exclude ?? []),
    perChannel: o.perChannel ?? true,
    activationType: o.activationType ?? 'uint8',
    symmetricActivations: o.symmetricActivations ?? false,
    weightOnly: mode === 'weight-only',
    overrides: new Map(Object.entries(o.overrides ?? {})),
  };
  const plan = planQdq(m, qdqOptions);
  const notes = [...plan.notes];
  for (const name of qdqOptions.exclude) {
    if (![...m.graph.nodes].some((n) => n.name === name)) warn(`options.exclude names no node '${name}'`);
  }
  const qparams = new Map<string, ActivationQParams>();
  let calibration: QuantizeReport['calibration'];
  const toCalibrate = plan.activations.filter((t) => !qdqOptions.overrides.get(t)?.range);
  for (const t of plan.activations) {
    const r = qdqOptions.overrides.get(t)?.range;
    if (r) qparams.set(t, activationQParams(t, r[0], r[1], qdqOptions));
  }
  if (mode === 'static' && toCalibrate.length > 0) {
    // Default: the registered factory, else octet's own runtime (loaded lazily: dynamic and weight-only
    // quantization need no native addon).
    const executor = o.executor ?? getDefaultExecutorFactory() ?? (await import('../runtime/calibration-executor.js')).createOctetExecutor;
    if (o.calibration === undefined) {
      throw new OctetError('ERR_OCTET_CALIBRATION', 'Static quantization needs calibration data: pass options.calibration (a folder or an iterable of samples), or use options.dynamic / options.weightOnly');
    }
    const data = typeof o.calibration === 'string' ? openCalibrationFolder(o.calibration, m, o.image) : o.calibration;
    const method = o.method ?? 'minmax';
    const result: CalibrationResult = await calibrate(m, toCalibrate, data, executor, {
      method,
      methodOptions: o.methodOptions as never,
      maxSamples: o.maxSamples,
      progress: o.progress,
      onWarning: warn,
      signal: o.signal,
    });
    for (const t of toCalibrate) {
      const r = result.ranges.get(t)!;
      if (r.count === 0) notes.push(`Tensor '${t}' saw no finite value while calibrating; quantized with the range [0, 0]`);
      qparams.set(t, activationQParams(t, r.min, r.max, qdqOptions));
    }
    calibration = { method, samples: result.samples, skippedSamples: result.skippedSamples, nonFiniteValues: result.nonFiniteValues, tensors: toCalibrate.length };
  }
  const tensors = applyQdq(m, plan, qparams, qdqOptions);
  if (format === 'qoperator') notes.push(...toQOperator(m));
  const written = format === 'qoperator' ? 'qdq' : format;
  inferShapes(m, { strict: false });
  return finish({ mode, format: written, tensors, skipped: plan.skipped, notes, calibration }, plan.roles.length);
}
