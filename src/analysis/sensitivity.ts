/**
 * analyzeSensitivity(fp32, int8, { samples }) → SensitivityReport: how far every quantized node of an int8
 * model is from the fp32 model, measured on octet's own runtime.
 *
 *   fp32 model + the compared tensors and the isolation inputs as extra outputs ─┐
 *   int8 model + every quantized node's dequantized result as extra outputs ─────┼─ one run each per sample
 *   isolation model (every quantized node alone, fed the fp32 activations) ──────┘
 *   per sample: add Σ ref², Σ (ref − test)², max |ref − test| and histogram counts per tensor, drop the tensors
 *
 * "accumulated" is the whole int8 model up to the node (earlier errors included); "isolated" is the node alone
 * (see isolate.ts). Memory holds one sample's tensors at a time, whatever the number of samples.
 */
import type { ProgressOptions } from '../calibration/progress.js';
import { createProgress } from '../calibration/progress.js';
import { invalidParameterError, OctetError } from '../errors.js';
import { Model } from '../ir/model.js';
import type { Tensor as IrTensor } from '../ir/tensor.js';
import { DataType } from '../onnx/dtype.js';
import type { Node } from '../ir/node.js';
import type { ValueType } from '../ir/value.js';
import { expandQOperator } from '../lower/expand-qoperator.js';
import { loadModel, serializeModel } from '../onnx/io.js';
import { canonicalize } from '../passes/manager.js';
import { checkSample, feedInputs, withExtraOutputs, type CalibrationData } from '../quantize/calibrate.js';
import { openCalibrationFolder, type ImageSourceOptions } from '../quantize/data.js';
import type { CalibrationExecutor, CalibrationSample } from '../quantize/executor.js';
import { detectQuantized } from '../quantize/ingest.js';
import { expectKnownKeys, isPlainObject } from '../validate.js';
import { buildIsolationModel, findQuantizedNodes, type QuantizedNode } from './isolate.js';
import { graphMacs } from './macs.js';
import { ErrorAccumulator, SharedHistogram } from './stats.js';
import type { GraphNodeSummary, LayerSensitivity, SensitivityReport, TensorHistogram } from './types.js';

export interface AnalyzeOptions {
  /** Evaluation samples: a folder (.npy files, subfolders of <input>.npy, or images) or an iterable of samples. */
  samples?: CalibrationData | string;
  /** The same as `samples` (the name quantize() uses); give one of the two. */
  calibration?: CalibrationData | string;
  /** Image decoding options when the samples are a folder of images. */
  image?: ImageSourceOptions;
  /** Use at most this many samples. */
  maxSamples?: number;
  /** Input shapes for the fp32 model (default: the int8 model's input shapes when they are static). */
  inputShapes?: Record<string, readonly (number | string | null)[]>;
  /** Inputs of the fp32 model to freeze (as quantize()'s option of the same name did for the int8 model). */
  freezeInputs?: Record<string, number | bigint | readonly number[] | IrTensor>;
  /** How many of the worst layers get fp32/int8 histograms (default 4; 0 for none). */
  histograms?: number;
  /** Bins of those histograms (default 64). */
  histogramBins?: number;
  /** Names for the two models in the report (default: the file names, or 'fp32' and 'int8'). */
  labels?: { fp32?: string; int8?: string };
  /** Progress bar options; false for none. */
  progress?: false | ProgressOptions;
  /** Called with each warning (a skipped sample, ...). */
  onWarning?: (message: string) => void;
}

const OPTION_KEYS = ['samples', 'calibration', 'image', 'maxSamples', 'inputShapes', 'freezeInputs', 'histograms', 'histogramBins', 'labels', 'progress', 'onWarning'] as const;

function analysisError(message: string): OctetError {
  return new OctetError('ERR_OCTET_ANALYSIS', message);
}

function expectCount(name: string, v: unknown, min: number): void {
  if (v === undefined) return;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw invalidParameterError(name, min === 0 ? 'non-negative integer' : 'positive integer', v, typeof v === 'number');
  }
}

function isSampleSource(v: unknown): boolean {
  if (typeof v === 'string') return v !== '';
  return typeof v === 'object' && v !== null && !ArrayBuffer.isView(v) && (Symbol.asyncIterator in v || Symbol.iterator in v);
}

function validate(options: unknown): AnalyzeOptions & { data: CalibrationData | string } {
  if (!isPlainObject(options)) throw invalidParameterError('options', 'object', options);
  expectKnownKeys('options', options, OPTION_KEYS);
  const o = options as AnalyzeOptions;
  if (o.samples !== undefined && o.calibration !== undefined) throw invalidParameterError('options.calibration', 'undefined when options.samples is given', o.calibration);
  const key = o.samples !== undefined ? 'samples' : 'calibration';
  const data = o.samples ?? o.calibration;
  if (data === undefined) throw invalidParameterError('options.samples', 'folder path or iterable of samples', data);
  if (!isSampleSource(data)) throw invalidParameterError(`options.${key}`, 'folder path or iterable of samples', data, data === '');
  expectCount('options.maxSamples', o.maxSamples, 1);
  expectCount('options.histograms', o.histograms, 0);
  expectCount('options.histogramBins', o.histogramBins, 2);
  if (o.image !== undefined && !isPlainObject(o.image)) throw invalidParameterError('options.image', 'object', o.image);
  if (o.inputShapes !== undefined && !isPlainObject(o.inputShapes)) throw invalidParameterError('options.inputShapes', 'object', o.inputShapes);
  if (o.freezeInputs !== undefined && !isPlainObject(o.freezeInputs)) throw invalidParameterError('options.freezeInputs', 'object', o.freezeInputs);
  if (o.labels !== undefined) {
    if (!isPlainObject(o.labels)) throw invalidParameterError('options.labels', 'object', o.labels);
    expectKnownKeys('options.labels', o.labels, ['fp32', 'int8']);
    for (const k of ['fp32', 'int8'] as const) if (o.labels[k] !== undefined && typeof o.labels[k] !== 'string') throw invalidParameterError(`options.labels.${k}`, 'string', o.labels[k]);
  }
  if (o.onWarning !== undefined && typeof o.onWarning !== 'function') throw invalidParameterError('options.onWarning', 'function', o.onWarning);
  if (o.progress !== undefined && o.progress !== false && !isPlainObject(o.progress)) throw invalidParameterError('options.progress', 'false or object', o.progress);
  return { ...o, data };
}

function loadCopy(name: string, model: unknown): Model {
  if (model instanceof Model) return loadModel(serializeModel(model), { baseDir: model.baseDir });
  if (typeof model === 'string' || model instanceof Uint8Array) return loadModel(model);
  throw invalidParameterError(name, 'Model, path string or Uint8Array', model);
}

function label(model: unknown, fallback: string): string {
  return typeof model === 'string' ? (model.split(/[\\/]/).pop() ?? model) : fallback;
}

/** Per-tensor sums of one measurement. */
export interface Measurement {
  nodes: QuantizedNode[];
  isolated: Map<string, ErrorAccumulator>;
  accumulated: Map<string, ErrorAccumulator>;
  outputs: Map<string, ErrorAccumulator>;
  histograms: Map<string, SharedHistogram>;
  /** The first sample measured (its dims size MACs when the model's shapes are not static). */
  first: CalibrationSample | undefined;
  samples: number;
}

export interface MeasureOptions {
  /** Run the int8 model too (accumulated errors, outputs, histograms); default true. */
  accumulated?: boolean;
  /** Histogram bins per quantized node (0: none). */
  histogramBins?: number;
  maxSamples?: number;
  progress?: false | ProgressOptions;
  onWarning?: (message: string) => void;
}

type ExecutorFactory = (bytes: Uint8Array) => Promise<CalibrationExecutor>;

async function octetExecutorFactory(): Promise<ExecutorFactory> {
  return (await import('../runtime/calibration-executor.js')).createOctetExecutor;
}

function hasNonFinite(sample: CalibrationSample): string | undefined {
  for (const [name, t] of Object.entries(sample)) {
    const d = t.data;
    if (!(d instanceof Float32Array) && !(d instanceof Float64Array)) continue;
    for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i])) return name;
  }
  return undefined;
}

/**
 * Measures the quantized nodes of `int8` against `fp32` (both canonical, main graphs matching by tensor name)
 * over `data`. Throws an OctetError when the models do not correspond or the data is empty.
 */
export async function measure(fp32: Model, int8: Model, data: CalibrationData, options: MeasureOptions = {}): Promise<Measurement> {
  const withInt8 = options.accumulated !== false;
  const bins = options.histogramBins ?? 0;
  const nodes = findQuantizedNodes(int8.graph);
  if (nodes.length === 0) throw analysisError('The int8 model has no quantized nodes (no DequantizeLinear feeds a Conv, MatMul, Add, ... node)');
  const fg = fp32.graph;
  const fp32Inputs = new Set(feedInputs(fp32).map((v) => v.name));
  const int8Inputs = feedInputs(int8).map((v) => v.name);
  for (const name of int8Inputs) {
    if (!fp32Inputs.has(name)) throw analysisError(`The int8 model's input '${name}' is not an input of the fp32 model (its inputs: ${[...fp32Inputs].join(', ')})`);
  }
  for (const v of int8.graph.outputs) {
    if (!fg.values.has(v.name)) throw analysisError(`The int8 model's output '${v.name}' is not a tensor of the fp32 model (are the two models the same network?)`);
  }
  for (const qn of nodes) {
    if (!fg.values.has(qn.tensor)) throw analysisError(`The result '${qn.tensor}' of node '${qn.id}' in the int8 model is not a tensor of the fp32 model (are the two models the same network?)`);
  }
  const fp32Type = (name: string): ValueType | undefined | null => {
    const v = fg.values.get(name);
    return v ? (v.type ?? undefined) : null;
  };
  const iso = buildIsolationModel(int8, nodes, fp32Type);
  const wanted = new Set<string>([...iso.inputs, ...nodes.map((n) => n.tensor), ...int8.graph.outputs.map((v) => v.name)]);
  const fromFp32 = [...wanted].filter((t) => !fp32Inputs.has(t));
  const int8Wanted = [...new Set([...nodes.map((n) => n.int8Tensor), ...int8.graph.outputs.map((v) => v.name)])];

  const factory = await octetExecutorFactory();
  const execs: CalibrationExecutor[] = [];
  const open = async (bytes: Uint8Array): Promise<CalibrationExecutor> => {
    const e = await factory(bytes);
    execs.push(e);
    return e;
  };
  const result: Measurement = { nodes, isolated: new Map(), accumulated: new Map(), outputs: new Map(), histograms: new Map(), first: undefined, samples: 0 };
  for (const qn of nodes) {
    result.isolated.set(qn.id, new ErrorAccumulator());
    if (withInt8) result.accumulated.set(qn.id, new ErrorAccumulator());
    if (withInt8 && bins > 0) result.histograms.set(qn.id, new SharedHistogram(bins));
  }
  if (withInt8) for (const v of int8.graph.outputs) result.outputs.set(v.name, new ErrorAccumulator());

  const total = options.maxSamples ?? (typeof data.length === 'number' ? data.length : 0);
  const progress = options.progress === false ? undefined : createProgress(total, 'analyzing', options.progress ?? {});
  let index = 0;
  let skipped = 0;
  try {
    const fpExec = await open(withExtraOutputs(fp32, fromFp32));
    const isoExec = await open(serializeModel(iso.model));
    const qExec = withInt8 ? await open(withExtraOutputs(int8, int8Wanted)) : undefined;
    for await (const raw of data as AsyncIterable<CalibrationSample>) {
      if (options.maxSamples !== undefined && index >= options.maxSamples) break;
      const sample = checkSample(fp32, raw, index);
      const bad = hasNonFinite(sample);
      if (bad !== undefined) {
        options.onWarning?.(`Sample ${index}: input '${bad}' holds NaN or Infinity; skipped`);
        skipped++;
        index++;
        progress?.tick();
        continue;
      }
      const ref = await fpExec.run(sample, fromFp32);
      const value = (name: string): { data: Float32Array; dims: readonly number[] } => {
        const v = ref[name] ?? sample[name];
        if (!v) throw analysisError(`The fp32 run returned no tensor '${name}'`);
        if (!(v.data instanceof Float32Array)) return { data: Float32Array.from(v.data as ArrayLike<number>), dims: v.dims };
        return v as { data: Float32Array; dims: readonly number[] };
      };
      if (result.samples === 0) result.first = sample;
      const isoFeeds: CalibrationSample = {};
      for (const name of iso.inputs) isoFeeds[name] = ref[name] ?? sample[name];
      const isoOut = await isoExec.run(isoFeeds, [...iso.outputs.values()]);
      for (const qn of nodes) {
        result.isolated.get(qn.id)!.add(value(qn.tensor).data, isoOut[iso.outputs.get(qn.id)!].data, `Tensor '${qn.tensor}' (node '${qn.id}' alone)`);
      }
      if (qExec) {
        const int8Feeds: CalibrationSample = {};
        for (const name of int8Inputs) int8Feeds[name] = sample[name];
        const got = await qExec.run(int8Feeds, int8Wanted);
        for (const qn of nodes) {
          const a = value(qn.tensor).data;
          const b = got[qn.int8Tensor].data;
          result.accumulated.get(qn.id)!.add(a, b, `Tensor '${qn.tensor}' (node '${qn.id}')`);
          result.histograms.get(qn.id)?.add(a, b);
        }
        for (const [name, acc] of result.outputs) acc.add(value(name).data, got[name].data, `Output '${name}'`);
      }
      result.samples++;
      index++;
      progress?.tick();
    }
  } finally {
    progress?.done();
    for (const e of execs) await e.release?.();
  }
  if (index === 0) throw analysisError('The evaluation data is empty: no samples');
  if (result.samples === 0) throw analysisError(`All ${index} samples were skipped (NaN or Infinity in every one)`);
  if (skipped > 0) options.onWarning?.(`${skipped} of ${index} samples skipped (NaN or Infinity)`);
  return result;
}

/** Ascending SQNR, NaN last. */
export function bySqnr(a: number, b: number): number {
  const x = Number.isNaN(a) ? Infinity : a;
  const y = Number.isNaN(b) ? Infinity : b;
  return x === y ? 0 : x < y ? -1 : 1;
}

const QDQ_OPS = new Set(['QuantizeLinear', 'DequantizeLinear', 'DynamicQuantizeLinear']);

function graphSummary(int8: Model, nodes: readonly QuantizedNode[]): GraphNodeSummary[] {
  const quantized = new Set<Node>();
  for (const qn of nodes) {
    quantized.add(qn.node);
    for (const c of qn.chain) if (!QDQ_OPS.has(c.opType)) quantized.add(c);
  }
  return int8.graph.topologicalOrder().map((n) => ({
    name: n.id,
    opType: n.opType,
    precision: QDQ_OPS.has(n.opType) ? 'qdq' : quantized.has(n) ? 'int8' : n.outputs.some((v) => v?.elemType === DataType.FLOAT) ? 'fp32' : 'other',
    inputs: n.inputs.filter((v) => v !== null).map((v) => v!.name),
    outputs: n.outputs.filter((v) => v !== null).map((v) => v!.name),
  }));
}

/** MACs of the quantized nodes (matched in the fp32 graph by name, else by result tensor) and of the whole fp32 model. */
export function macsOf(fp32: Model, nodes: readonly QuantizedNode[], sample?: CalibrationSample): { byNode: Map<string, number>; total: number } {
  const { byNode: fpMacs, total } = graphMacs(fp32, sample);
  const byOutput = new Map<string, Node>();
  for (const n of fp32.graph.nodes) {
    const y = n.output(0);
    if (y) byOutput.set(y.name, n);
  }
  const byNode = new Map<string, number>();
  for (const qn of nodes) {
    const name = qn.node.name !== '' && fpMacs.has(qn.node.name) ? qn.node.name : byOutput.get(qn.node.output(0)?.name ?? '')?.name;
    byNode.set(qn.id, name !== undefined ? (fpMacs.get(name) ?? 0) : 0);
  }
  return { byNode, total };
}

/** Loads, copies and canonicalizes the two models the same way quantize() does. */
export function prepareModels(
  fp32Source: unknown,
  int8Source: unknown,
  options: Pick<AnalyzeOptions, 'inputShapes' | 'freezeInputs'> = {},
): { fp32: Model; int8: Model } {
  const fp32 = loadCopy('fp32Model', fp32Source);
  const int8 = loadCopy('int8Model', int8Source);
  const info = detectQuantized(int8);
  if (!info) throw analysisError('The int8 model holds no quantization ops (QuantizeLinear, DequantizeLinear, QLinearConv, ...)');
  if (detectQuantized(fp32)) throw analysisError(`The fp32 model is already quantized (${detectQuantized(fp32)!.description})`);
  // The fp32 model takes the int8 model's static input shapes unless told otherwise; given shapes apply to both,
  // so that shape arithmetic folds the same way in the two (an int8 model with a free batch keeps its Shape nodes).
  let inputShapes = options.inputShapes as Record<string, (number | string | null)[]> | undefined;
  if (inputShapes === undefined) {
    const fixed: Record<string, number[]> = {};
    const fpInputs = new Set(fp32.graph.inputs.map((v) => v.name));
    for (const v of feedInputs(int8)) {
      const s = v.shape;
      if (s && s.every((d) => typeof d === 'number') && fpInputs.has(v.name)) fixed[v.name] = s as number[];
    }
    if (Object.keys(fixed).length > 0) inputShapes = fixed;
  }
  const int8Names = new Set(feedInputs(int8).map((v) => v.name));
  const int8Shapes = inputShapes && Object.fromEntries(Object.entries(inputShapes).filter(([n]) => int8Names.has(n)));
  canonicalize(int8, { inputShapes: int8Shapes });
  if (info.format === 'qoperator') {
    expandQOperator(int8.graph);
    canonicalize(int8, { inputShapes: int8Shapes });
  }
  canonicalize(fp32, { inputShapes, freezeInputs: options.freezeInputs });
  return { fp32, int8 };
}

/** Turns a measurement into the report's layers (worst isolated SQNR first), outputs and histograms. */
export function toReport(
  fp32: Model,
  int8: Model,
  m: Measurement,
  extra: { labels: { fp32: string; int8: string }; histograms: number; seconds: number },
): SensitivityReport {
  const macs = macsOf(fp32, m.nodes, m.first);
  const layers: LayerSensitivity[] = m.nodes.map((qn) => ({
    node: qn.id,
    opType: qn.node.opType,
    tensor: qn.tensor,
    macs: macs.byNode.get(qn.id) ?? 0,
    accumulated: (m.accumulated.get(qn.id) ?? new ErrorAccumulator()).stats(),
    isolated: m.isolated.get(qn.id)!.stats(),
  }));
  layers.sort((a, b) => bySqnr(a.isolated.sqnr, b.isolated.sqnr));
  const histograms: TensorHistogram[] = [];
  for (const l of layers) {
    if (histograms.length >= extra.histograms) break;
    const h = m.histograms.get(l.node);
    if (!h || h.hi <= h.lo) continue;
    histograms.push({ node: l.node, tensor: l.tensor, range: [h.lo, h.hi], fp32: Array.from(h.a), int8: Array.from(h.b) });
  }
  return {
    models: extra.labels,
    samples: m.samples,
    layers,
    outputs: [...m.outputs].map(([name, acc]) => ({ name, ...acc.stats() })),
    histograms,
    graph: graphSummary(int8, m.nodes),
    totalMacs: macs.total,
    seconds: extra.seconds,
  };
}

/**
 * Compares every quantized node of `int8Model` with `fp32Model` over the samples. See AnalyzeOptions and
 * SensitivityReport. Throws a TypeError/RangeError for bad arguments, an OctetError (ERR_OCTET_ANALYSIS,
 * ERR_OCTET_CALIBRATION for bad samples) when the models or the data do not fit.
 */
export async function analyzeSensitivity(fp32Model: Model | string | Uint8Array, int8Model: Model | string | Uint8Array, options: AnalyzeOptions): Promise<SensitivityReport> {
  const start = Date.now();
  if (!(fp32Model instanceof Model) && typeof fp32Model !== 'string' && !(fp32Model instanceof Uint8Array)) throw invalidParameterError('fp32Model', 'Model, path string or Uint8Array', fp32Model);
  if (!(int8Model instanceof Model) && typeof int8Model !== 'string' && !(int8Model instanceof Uint8Array)) throw invalidParameterError('int8Model', 'Model, path string or Uint8Array', int8Model);
  const o = validate(options);
  const { fp32, int8 } = prepareModels(fp32Model, int8Model, o);
  const data = typeof o.data === 'string' ? openCalibrationFolder(o.data, fp32, o.image) : o.data;
  const histograms = o.histograms ?? 4;
  const m = await measure(fp32, int8, data, {
    histogramBins: histograms > 0 ? (o.histogramBins ?? 64) : 0,
    maxSamples: o.maxSamples,
    progress: o.progress,
    onWarning: o.onWarning,
  });
  return toReport(fp32, int8, m, {
    labels: { fp32: o.labels?.fp32 ?? label(fp32Model, 'fp32'), int8: o.labels?.int8 ?? label(int8Model, 'int8') },
    histograms,
    seconds: (Date.now() - start) / 1000,
  });
}
