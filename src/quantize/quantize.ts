/**
 * quantize(model | path | bytes, options) → { model, report }: the whole flow in one call.
 *
 *   load (a copy) → already quantized? (no-op) → canonicalize (opset ≥ 13, BN folded, activations tagged)
 *   static:      [equalize] → plan QDQ → calibrate the planned activations on the executor → [bias correction]
 *                → insert Q/DQ → [QOperator]
 *   dynamic:     weights offline + DynamicQuantizeLinear/MatMulInteger (no executor, no data)
 *   weight-only: [equalize] → int8 weights + DequantizeLinear (no executor, no data; [bias correction] needs both)
 *
 * The input model is never modified; the result is verified before it is returned.
 */
import type { CalibrationMethod } from '../calibration/observer.js';
import { CALIBRATION_METHODS } from '../calibration/observer.js';
import type { ProgressOptions } from '../calibration/progress.js';
import { invalidParameterError, OctetError } from '../errors.js';
import { Model } from '../ir/model.js';
import { inferShapes } from '../ir/shape-inference.js';
import { tensorType, type Dim } from '../ir/value.js';
import type { Tensor } from '../ir/tensor.js';
import { verifyModel } from '../ir/verify.js';
import { loadModel, serializeModel } from '../onnx/io.js';
import { equalizeCrossLayer } from '../passes/equalize-cross-layer.js';
import { canonicalize } from '../passes/manager.js';
import { expectKnownKeys, expectOneOf, isPlainObject } from '../validate.js';
import { correctBiases, type BiasCorrectionResult } from './bias-correction.js';
import { calibrate, type CalibrationData, type CalibrationResult } from './calibrate.js';
import type { MixedPrecisionSummary } from '../analysis/types.js';
import { holdOut, openCalibrationFolder, type ImageSourceOptions } from './data.js';
import { DYNAMIC_OP_TYPES, dynamicRoles, quantizeDynamic, type DynamicOptions } from './dynamic.js';
import { gptqWeights, type GptqLayer, type GptqResult } from './gptq.js';
import { getDefaultExecutorFactory, type CalibrationExecutor, type CalibrationSample, type ExecutorFactory } from './executor.js';
import { detectQuantized } from './ingest.js';
import { activationQParams, applyQdq, planQdq, rangeMarginFor, STATIC_OP_TYPES, type ActivationQParams, type QdqOptions, type SkippedNode, type TensorOverride, type TensorReport } from './qdq.js';
import { toQOperator } from './qoperator.js';
import { ACTIVATION_DTYPES, is16Bit, type ActivationDType } from './qparams.js';

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
  /**
   * Activation type (default 'uint8'); weights are always int8 in static mode. 'uint16' / 'int16' (A16W8) keep
   * 256x finer activations for models that 8 bits cannot hold (text detection); the model is raised to opset 21,
   * and runtimes (octet's included) compute those layers in float32 with 16-bit rounding: the file is as small as
   * int8's, the time 1.3-2x fp32's in octet. Not with format 'qoperator' or dynamic mode.
   */
  activationType?: ActivationDType;
  /** Symmetric activations (default false: asymmetric). */
  symmetricActivations?: boolean;
  /**
   * Widen each calibrated activation range by this factor about zero before choosing its scale (≥ 1). Default 2
   * for 16-bit activations (headroom for inputs unlike the calibration data, at a cost of one of their 16 bits),
   * 1 for 8-bit ones. Ranges given in `overrides` are used as they are.
   */
  rangeMargin?: number;
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
  /**
   * 7-bit weights: int8 [−63, 63] (uint8 [0, 127]) instead of [−127, 127]. Only for models that will run on
   * onnxruntime (or another u8·s8 runtime) on x86 CPUs without VNNI, whose 16-bit pair sums saturate otherwise;
   * costs about 6 dB of weight SQNR. octet's own runtime is exact without it. Default false.
   */
  reduceRange?: boolean;
  /** The fp32 executor for calibration, or a factory creating one from model bytes. Default: the registered one. */
  executor?: CalibrationExecutor | ExecutorFactory;
  /** Image decoding options when `calibration` is a folder of images. */
  image?: ImageSourceOptions;
  /** Passed to canonicalize(): graph inputs to freeze (e.g. `{ sr: 16000 }`) and input shapes. */
  freezeInputs?: Record<string, number | bigint | readonly number[] | Tensor>;
  inputShapes?: Record<string, readonly (number | string | null)[]>;
  /**
   * Cross-layer equalization before quantizing (static and weight-only): consecutive Convs with only a Relu-like
   * op between them get equal per-channel weight ranges; the float function is unchanged. Default false.
   */
  equalize?: boolean;
  /**
   * Empirical bias correction (static and weight-only; needs calibration data, read a second time): each
   * quantized Conv/ConvTranspose/Gemm's bias absorbs the mean output shift its quantization causes. Default false.
   */
  biasCorrection?: boolean;
  /**
   * GPTQ weight rounding (static and weight-only; needs calibration data, read one more time): each quantized
   * Conv/Gemm/MatMul's weight codes are chosen column by column so that the layer's output on the calibration
   * data moves least, instead of rounding each weight to its nearest code. Same scales and format; slower to
   * quantize (one more pass and a K × K solve per layer). Default false.
   */
  gptq?: boolean;
  /** Progress bar options; false for none. */
  progress?: false | ProgressOptions;
  /** Called with each warning as it happens (they are also in the report). */
  onWarning?: (message: string) => void;
  /**
   * Mixed precision: keep the most sensitive nodes in fp32 until the worst graph output reaches this SQNR (dB)
   * on the held-out samples (see holdOutEvery). Static mode only.
   */
  targetSqnr?: number;
  /** Mixed precision: the most of the model's MACs (0..1) that may stay in fp32. Alone: the best model within it. */
  maxFp32Fraction?: number;
  /** Mixed precision: every k-th calibration sample (k−1, 2k−1, ...) is held out to verify on (default 4; at least one). */
  holdOutEvery?: number;
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
  calibration?: { method: CalibrationMethod; samples: number; skippedSamples: number; nonFiniteValues: number; tensors: number; heldOutSamples?: number };
  /** What the mixed-precision search decided (with options.targetSqnr or options.maxFp32Fraction). */
  mixedPrecision?: MixedPrecisionSummary;
  /** With options.gptq: per layer, the output SQNR of its weights on the calibration inputs, nearest vs GPTQ. */
  gptq?: GptqLayer[];
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
  'rangeMargin',
  'opTypes',
  'exclude',
  'overrides',
  'dynamic',
  'weightOnly',
  'weightType',
  'reduceRange',
  'executor',
  'image',
  'freezeInputs',
  'inputShapes',
  'equalize',
  'biasCorrection',
  'gptq',
  'progress',
  'onWarning',
  'targetSqnr',
  'maxFp32Fraction',
  'holdOutEvery',
  'signal',
] as const;

/** Calibration samples mixed precision keeps to rank nodes on (the held-out ones only verify). */
const RANKING_SAMPLES = 2;

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
  if (o.activationType !== undefined) expectOneOf('options.activationType', o.activationType, ACTIVATION_DTYPES);
  if (o.weightType !== undefined) expectOneOf('options.weightType', o.weightType, ['int8', 'uint8'] as const);
  if (o.activationType !== undefined && is16Bit(o.activationType) && (o.format === 'qoperator' || o.dynamic)) {
    const why = o.dynamic ? 'in dynamic mode (activations are quantized to uint8 at run time)' : "with format 'qoperator' (QLinearConv and the other QOperator ops take 8-bit tensors only)";
    throw invalidParameterError('options.activationType', `'int8' or 'uint8' ${why}`, o.activationType, true);
  }
  for (const k of ['perChannel', 'symmetricActivations', 'dynamic', 'weightOnly', 'reduceRange', 'equalize', 'biasCorrection', 'gptq'] as const) expectBoolean(`options.${k}`, o[k]);
  if (o.dynamic && o.weightOnly) throw invalidParameterError('options.weightOnly', 'false when options.dynamic is true', o.weightOnly, true);
  // Equalization works on Conv pairs and bias correction on calibrated static layers; dynamic mode has neither.
  if (o.dynamic && o.equalize) throw invalidParameterError('options.equalize', 'false when options.dynamic is true', o.equalize, true);
  if (o.dynamic && o.biasCorrection) throw invalidParameterError('options.biasCorrection', 'false when options.dynamic is true', o.biasCorrection, true);
  if (o.rangeMargin !== undefined && (typeof o.rangeMargin !== 'number' || !Number.isFinite(o.rangeMargin) || o.rangeMargin < 1)) {
    throw invalidParameterError('options.rangeMargin', 'finite number >= 1', o.rangeMargin, typeof o.rangeMargin === 'number');
  }
  if (o.rangeMargin !== undefined && (o.dynamic || o.weightOnly)) {
    throw invalidParameterError('options.rangeMargin', `undefined in ${o.dynamic ? 'dynamic' : 'weight-only'} mode (it widens calibrated activation ranges)`, o.rangeMargin, true);
  }
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
      if (ov.dtype !== undefined) expectOneOf(`${at}.dtype`, ov.dtype, ACTIVATION_DTYPES);
      if (typeof ov.dtype === 'string' && is16Bit(ov.dtype) && o.format === 'qoperator') {
        throw invalidParameterError(`${at}.dtype`, "'int8' or 'uint8' with format 'qoperator' (its ops take 8-bit tensors only)", ov.dtype, true);
      }
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
  if (o.targetSqnr !== undefined && (typeof o.targetSqnr !== 'number' || !Number.isFinite(o.targetSqnr))) {
    throw invalidParameterError('options.targetSqnr', 'finite number (dB)', o.targetSqnr, typeof o.targetSqnr === 'number');
  }
  const f = o.maxFp32Fraction;
  if (f !== undefined && (typeof f !== 'number' || !(f >= 0 && f <= 1))) throw invalidParameterError('options.maxFp32Fraction', 'number between 0 and 1', f, typeof f === 'number');
  const mixed = o.targetSqnr !== undefined ? 'targetSqnr' : f !== undefined ? 'maxFp32Fraction' : undefined;
  if (o.holdOutEvery !== undefined) {
    if (!mixed) throw invalidParameterError('options.holdOutEvery', 'undefined without options.targetSqnr or options.maxFp32Fraction', o.holdOutEvery, true);
    if (typeof o.holdOutEvery !== 'number' || !Number.isInteger(o.holdOutEvery) || o.holdOutEvery < 2) {
      throw invalidParameterError('options.holdOutEvery', 'integer >= 2', o.holdOutEvery, typeof o.holdOutEvery === 'number');
    }
  }
  if (mixed && (o.dynamic || o.weightOnly)) {
    throw invalidParameterError(`options.${mixed}`, `undefined in ${o.dynamic ? 'dynamic' : 'weight-only'} mode (mixed precision searches static quantization)`, o[mixed], true);
  }
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) throw invalidParameterError('options.signal', 'AbortSignal', o.signal);
  const cal = o.calibration as unknown;
  if (cal !== undefined && typeof cal !== 'string') {
    const iterable = typeof cal === 'object' && cal !== null && (Symbol.asyncIterator in cal || Symbol.iterator in cal);
    if (!iterable || Array.isArray(cal) === false && ArrayBuffer.isView(cal)) throw invalidParameterError('options.calibration', 'folder path or iterable of samples', cal);
  }
  if (cal === '') throw invalidParameterError('options.calibration', 'folder path or iterable of samples', cal, true);
  for (const pass of ['biasCorrection', 'gptq'] as const) {
    if (!o[pass]) continue;
    // Bias correction and GPTQ read the data again: a generator (an iterator) would be empty by then.
    if (cal !== undefined && typeof cal === 'object' && typeof (cal as { next?: unknown }).next === 'function') {
      throw invalidParameterError('options.calibration', `folder path or re-iterable samples (an array, not an iterator) when options.${pass} is true`, cal, true);
    }
    if (o.executor !== undefined && typeof o.executor !== 'function') {
      throw invalidParameterError('options.executor', `ExecutorFactory (a function) when options.${pass} is true`, o.executor);
    }
  }
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

function equalizeNote(r: ReturnType<typeof equalizeCrossLayer>): string {
  if (r.pairs === 0) return 'Cross-layer equalization: no Conv pair with only a Relu-like op between them; nothing changed';
  return `Cross-layer equalization: ${r.pairs} Conv pair${r.pairs === 1 ? '' : 's'} equalized in ${r.rounds} rounds (largest channel scale ${r.largestScale.toPrecision(3)})`;
}

function gptqNote(r: GptqResult): string {
  const n = r.layers.length;
  const skipped = r.skipped.length > 0 ? `; ${r.skipped.length} left to nearest rounding (${[...new Set(r.skipped.map((s) => s.reason.replace(/'[^']*'/g, '…')))].join('; ')})` : '';
  if (n === 0) return `GPTQ: no Conv/Gemm/MatMul weights to round${skipped}`;
  const gain = r.layers.map((l) => l.gptqDb - l.nearestDb).filter(Number.isFinite);
  const median = gain.length ? [...gain].sort((a, b) => a - b)[gain.length >> 1] : 0;
  const worst = r.layers.reduce((a, l) => (l.gptqDb < a.gptqDb ? l : a), r.layers[0]);
  return `GPTQ: ${n} weight tensor${n === 1 ? '' : 's'} rounded over ${r.samples} samples; layer output SQNR from the weights +${median.toFixed(1)} dB (median), lowest ${worst.gptqDb.toFixed(1)} dB in '${worst.node}' (nearest ${worst.nearestDb.toFixed(1)})${skipped}`;
}

function biasCorrectionNote(r: BiasCorrectionResult): string {
  const added = r.corrections.filter((c) => c.added).length;
  let largest = 0;
  let at = '';
  for (const c of r.corrections) {
    for (const x of c.shift) {
      if (Math.abs(x) > Math.abs(largest)) {
        largest = x;
        at = c.node;
      }
    }
  }
  const n = r.corrections.length;
  const skipped = r.skipped.length > 0 ? `; ${r.skipped.length} left (${[...new Set(r.skipped.map((s) => s.reason))].join('; ')})` : '';
  if (n === 0) return `Bias correction: no Conv/ConvTranspose/Gemm to correct${skipped}`;
  return `Bias correction: ${n} bias${n === 1 ? '' : 'es'} corrected${added ? ` (${added} added)` : ''} over ${r.samples} samples, largest shift ${largest.toPrecision(3)} in '${at}'${skipped}`;
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

  // Default executor: the registered factory, else octet's own runtime (loaded lazily: dynamic and weight-only
  // quantization need no native addon).
  const getExecutor = async (): Promise<CalibrationExecutor | ExecutorFactory> =>
    o.executor ?? getDefaultExecutorFactory() ?? (await import('../runtime/calibration-executor.js')).createOctetExecutor;
  let opened: CalibrationData | undefined;
  const openData = (): CalibrationData => (opened ??= typeof o.calibration === 'string' ? openCalibrationFolder(o.calibration, m, o.image) : o.calibration!);
  const declared = new Map(m.graph.inputs.map((v) => [v.name, v.shape]));
  canonicalize(m, { freezeInputs: o.freezeInputs, inputShapes: o.inputShapes });
  declareInputShapes(m, o.inputShapes, declared);

  if (mode === 'dynamic') {
    const dynamicOptions: DynamicOptions = {
      opTypes: new Set(o.opTypes ?? DYNAMIC_OP_TYPES),
      exclude: new Set(o.exclude ?? []),
      perChannel: o.perChannel ?? true,
      weightType: o.weightType ?? 'int8',
      reduceRange: o.reduceRange ?? false,
    };
    let gptq: GptqResult | undefined;
    if (o.gptq) {
      if (o.calibration === undefined) throw new OctetError('ERR_OCTET_CALIBRATION', 'GPTQ needs calibration data: pass options.calibration (a folder or an iterable of samples)');
      const roles = dynamicRoles(m, dynamicOptions);
      const weightType = dynamicOptions.weightType;
      const plan = { roles, ties: new Map<string, string>() };
      const asWeights = { weightOnly: true, overrides: new Map(roles.map((r) => [r.node.input(1)!.name, { dtype: weightType }])), reduceRange: dynamicOptions.reduceRange };
      const factory = (await getExecutor()) as ExecutorFactory;
      gptq = await gptqWeights(m, plan, new Map(), asWeights, openData(), factory, { maxSamples: o.maxSamples, progress: o.progress, onWarning: warn });
      dynamicOptions.precomputed = gptq.weights;
    }
    const r = quantizeDynamic(m, dynamicOptions);
    inferShapes(m, { strict: false });
    return finish({ mode, format: 'qdq', tensors: r.tensors, skipped: r.skipped, notes: [...r.notes, ...(gptq ? [gptqNote(gptq)] : [])], ...(gptq ? { gptq: gptq.layers } : {}) }, r.quantizedNodes);
  }

  const qdqOptions: QdqOptions = {
    opTypes: new Set(o.opTypes ?? STATIC_OP_TYPES),
    exclude: new Set(o.exclude ?? []),
    perChannel: o.perChannel ?? true,
    activationType: o.activationType ?? 'uint8',
    symmetricActivations: o.symmetricActivations ?? false,
    ...(o.rangeMargin !== undefined ? { rangeMargin: o.rangeMargin } : {}),
    weightOnly: mode === 'weight-only',
    overrides: new Map(Object.entries(o.overrides ?? {})),
    reduceRange: o.reduceRange ?? false,
  };
  const preNotes: string[] = [];
  if (o.equalize) preNotes.push(equalizeNote(equalizeCrossLayer(m)));
  let plan = planQdq(m, qdqOptions);
  const mixed = mode === 'static' && (o.targetSqnr !== undefined || o.maxFp32Fraction !== undefined);
  const notes = [...preNotes, ...plan.notes];
  for (const name of qdqOptions.exclude) {
    if (![...m.graph.nodes].some((n) => n.name === name)) warn(`options.exclude names no node '${name}'`);
  }
  const qparams = new Map<string, ActivationQParams>();
  let calibration: QuantizeReport['calibration'];
  const toCalibrate = plan.activations.filter((t) => !qdqOptions.overrides.get(t)?.range);
  const planned = toCalibrate.length;
  // Mixed precision re-plans with more nodes excluded: a pass-through output may then need its own range.
  if (mixed) for (const t of plan.ties.keys()) if (!qdqOptions.overrides.get(t)?.range) toCalibrate.push(t);
  const heldOut: CalibrationSample[] = [];
  const rankingSamples: CalibrationSample[] = [];
  let mixedPrecision: MixedPrecisionSummary | undefined;
  let gptqLayers: GptqLayer[] | undefined;
  for (const t of plan.activations) {
    const r = qdqOptions.overrides.get(t)?.range;
    if (r) qparams.set(t, activationQParams(t, r[0], r[1], qdqOptions));
  }
  const getData = openData;
  if (mode === 'static' && (toCalibrate.length > 0 || mixed)) {
    const executor = await getExecutor();
    if (o.calibration === undefined) {
      throw new OctetError('ERR_OCTET_CALIBRATION', 'Static quantization needs calibration data: pass options.calibration (a folder or an iterable of samples), or use options.dynamic / options.weightOnly');
    }
    const source = getData();
    const data = mixed ? holdOut(source, m, { every: o.holdOutEvery ?? 4, maxSamples: o.maxSamples, heldOut, kept: rankingSamples, keepCount: RANKING_SAMPLES }) : source;
    const method = o.method ?? 'minmax';
    // Entropy and MSE search the clipping that suits the type's resolution: tell them when it is 16 bits.
    const methodOptions = { ...o.methodOptions };
    if ((method === 'entropy' || method === 'mse') && is16Bit(qdqOptions.activationType) && methodOptions.dtype === undefined) methodOptions.dtype = qdqOptions.activationType;
    const result: CalibrationResult = await calibrate(m, toCalibrate, data, executor, {
      method,
      methodOptions: methodOptions as never,
      maxSamples: mixed ? undefined : o.maxSamples,
      progress: o.progress,
      onWarning: warn,
      signal: o.signal,
    });
    for (const t of toCalibrate) {
      const r = result.ranges.get(t)!;
      if (r.count === 0) notes.push(`Tensor '${t}' saw no finite value while calibrating; quantized with the range [0, 0]`);
      qparams.set(t, activationQParams(t, r.min, r.max, qdqOptions));
    }
    const margins = new Map<number, number>();
    for (const t of toCalibrate) {
      if (qdqOptions.overrides.get(t)?.range) continue;
      const k = rangeMarginFor(t, qdqOptions);
      margins.set(k, (margins.get(k) ?? 0) + 1);
    }
    for (const [k, n] of margins) if (k !== 1) notes.push(`${n} calibrated activation range${n === 1 ? '' : 's'} widened x${k} about zero${o.rangeMargin === undefined ? ' (the default for 16-bit activations; options.rangeMargin)' : ' (options.rangeMargin)'}`);
    calibration = { method, samples: result.samples, skippedSamples: result.skippedSamples, nonFiniteValues: result.nonFiniteValues, tensors: planned };
    if (mixed) calibration.heldOutSamples = heldOut.length;
  }
  if (o.gptq) {
    if (o.calibration === undefined) throw new OctetError('ERR_OCTET_CALIBRATION', 'GPTQ needs calibration data: pass options.calibration (a folder or an iterable of samples)');
    const factory = (await getExecutor()) as ExecutorFactory;
    const r = await gptqWeights(m, plan, qparams, qdqOptions, getData(), factory, { maxSamples: o.maxSamples, progress: o.progress, onWarning: warn });
    qdqOptions.precomputed = r.weights;
    notes.push(gptqNote(r));
    gptqLayers = r.layers;
  }
  if (mixed) {
    const { searchMixedPrecision } = await import('../analysis/mixed-precision.js');
    const found = await searchMixedPrecision({
      model: m,
      qdqOptions,
      qparams,
      heldOut,
      rankingSamples,
      targetSqnr: o.targetSqnr,
      maxFp32Fraction: o.maxFp32Fraction,
      progress: o.progress,
    });
    mixedPrecision = found.summary;
    const kept = new Set(found.fp32Nodes);
    if (kept.size > 0) {
      qdqOptions.exclude = new Set([...qdqOptions.exclude, ...kept]);
      plan = planQdq(m, qdqOptions);
      for (const s of plan.skipped) if (kept.has(s.node)) s.reason = 'kept in fp32 by mixed precision';
    }
    const mp = found.summary;
    if (o.targetSqnr !== undefined && !mp.met) warn(`Mixed precision did not reach ${o.targetSqnr} dB${o.maxFp32Fraction !== undefined ? ` within ${o.maxFp32Fraction} of the MACs in fp32` : ''}: the best found gives ${mp.after.toFixed(1)} dB`);
  }
  if (o.biasCorrection) {
    if (o.calibration === undefined) throw new OctetError('ERR_OCTET_CALIBRATION', 'Bias correction needs calibration data: pass options.calibration (a folder or an iterable of samples)');
    const factory = (await getExecutor()) as ExecutorFactory;
    const r = await correctBiases(m, plan, qparams, qdqOptions, getData(), factory, { maxSamples: o.maxSamples, progress: o.progress, onWarning: warn });
    notes.push(biasCorrectionNote(r));
  }
  const opsetBefore = m.opsetVersion('');
  const tensors = applyQdq(m, plan, qparams, qdqOptions);
  if (m.opsetVersion('') !== opsetBefore) notes.push(`Opset raised from ${opsetBefore} to ${m.opsetVersion('')}: its QuantizeLinear/DequantizeLinear take the 16-bit activations`);
  if (format === 'qoperator') notes.push(...toQOperator(m));
  inferShapes(m, { strict: false });
  return finish({ mode, format, tensors, skipped: plan.skipped, notes, calibration, ...(mixedPrecision ? { mixedPrecision } : {}), ...(gptqLayers ? { gptq: gptqLayers } : {}) }, plan.roles.length);
}

/**
 * Writes `inputShapes` into the emitted model's input declarations. Canonicalization folds shape arithmetic with
 * the dims it was given (a Reshape target computed from the batch size becomes a constant), so a model quantized
 * at batch 1 only runs at batch 1: its inputs must say so, and running it at another size then fails with an
 * error naming the input instead of a broadcast error deep inside. Dims given as names (or null) stay free.
 */
function declareInputShapes(m: Model, shapes: QuantizeOptions['inputShapes'], declared: Map<string, readonly Dim[] | undefined>): void {
  for (const [name, dims] of Object.entries(shapes ?? {})) {
    const v = m.graph.inputs.find((i) => i.name === name);
    if (!v) continue;
    const merged = dims.map((d, i) => (typeof d === 'number' ? d : (d ?? declared.get(name)?.[i] ?? null)));
    v.type = tensorType(v.elemType ?? 1, merged);
  }
}
