/**
 * InferenceSession: load → canonicalize (with the input sizes) → lower → native plan, one plan per distinct
 * set of input sizes (cached), run in one native call per run().
 */
import { readFile } from 'node:fs/promises';
import { totalmem } from 'node:os';
import path from 'node:path';

import { backends, onednnInt8Inexact, onednnInt8Support, onednnRefusal } from '../backends.js';
import { invalidParameterError, OctetError } from '../errors.js';
import type { Model } from '../ir/model.js';
import { Tensor as IrTensor } from '../ir/tensor.js';
import type { Value } from '../ir/value.js';
import { expandQOperator } from '../lower/expand-qoperator.js';
import { int8WeightedLayers } from '../lower/int8-patterns.js';
import { lowerModel, unsupportedMessage, unsupportedNodes, type LoweredModel } from '../lower/lower.js';
import { loadModel } from '../onnx/io.js';
import { OnnxError } from '../onnx/errors.js';
import { canonicalize } from '../passes/manager.js';
import { expectInteger, expectKnownKeys, expectOneOf, isPlainObject } from '../validate.js';
import type {
  FeedsType,
  InferenceSession as InferenceSessionInterface,
  ReturnType as RunResult,
  RunOptions,
  SessionOptions,
  ValueMetadata,
} from './inference-session.js';
import { containsNaN, isFloatPlan, runPreservingNaN } from './nan-path.js';
import { createPlan, type Plan, type PlanDType, type PlanNodeProfile, type PlanTypedArray, type PreparedPlan } from './plan.js';
import { Tensor, type TensorType } from './tensor.js';

/**
 * Scalar integer inputs (a VAD's sample rate, a flag) are folded into the plan: each value seen gets its own
 * plan, and If nodes on them disappear. True when `node` only depends on such inputs and constants.
 */
function isControlInput(v: Value): boolean {
  const shape = v.shape;
  return (v.elemType === 7 || v.elemType === 6 || v.elemType === 9) && shape !== undefined && shape.length === 0;
}

/**
 * Input slots whose values the plan bakes in (weights, quantization parameters, axes, pads, shapes). A graph
 * input read only through such slots is frozen into the plan, like a scalar control input: each distinct value
 * gets its own plan. (Models normally hold these as initializers; the ONNX test suite feeds them.)
 */
const PARAMETER_SLOTS: Record<string, number[]> = {
  QuantizeLinear: [1, 2], DequantizeLinear: [1, 2], QLinearConv: [1, 2, 3, 4, 5, 6, 7, 8], QLinearMatMul: [1, 2, 3, 4, 5, 6, 7],
  Conv: [1, 2], ConvTranspose: [1, 2], Slice: [1, 2, 3, 4], Pad: [1, 2, 3], Clip: [1, 2], Resize: [1, 2, 3],
  ReduceMean: [1], ReduceSum: [1], ReduceMax: [1], ReduceMin: [1], Reshape: [1], Squeeze: [1], Unsqueeze: [1], Split: [1],
  MatMulInteger: [2, 3], ConvInteger: [1, 2, 3],
  ReduceProd: [1], ReduceL1: [1], ReduceL2: [1], ReduceSumSquare: [1], ReduceLogSum: [1], ReduceLogSumExp: [1],
  Trilu: [1], TopK: [1], OneHot: [1], Tile: [1], Expand: [1], Range: [0, 1, 2], ConstantOfShape: [0],
};

function isParameterInput(v: Value): boolean {
  if (v.consumers.length === 0 || v.isGraphOutput) return false;
  return v.consumers.every((c) => {
    const slots = PARAMETER_SLOTS[c.opType] ?? [];
    return c.inputs.every((x, i) => x !== v || slots.includes(i));
  });
}

const ONNX_DTYPE_OF: Record<TensorType, number> = { float32: 1, uint8: 2, int8: 3, int32: 6, int64: 7, bool: 9 };

/** A runtime tensor as an IR tensor (for freezing an input into the model). */
function toIrTensor(name: string, t: Tensor): IrTensor {
  if (t.type === 'int64') return IrTensor.fromInt64(name, t.dims, t.data as BigInt64Array);
  if (t.type === 'float32') return IrTensor.fromFloat32(name, t.dims, t.data as Float32Array);
  return IrTensor.fromNumbers(name, ONNX_DTYPE_OF[t.type], t.dims, t.data as ArrayLike<number>);
}

/** Ops the constant folder evaluates, plus If (inlined once its condition is constant). */
const FOLDABLE = new Set([
  'If', 'Constant', 'Identity', 'Shape', 'Cast', 'Gather', 'Concat', 'Unsqueeze', 'Squeeze', 'Reshape', 'Flatten',
  'Slice', 'ConstantOfShape', 'Expand', 'Transpose', 'Where', 'Size', 'Equal', 'Less', 'Greater',
  'LessOrEqual', 'GreaterOrEqual', 'And', 'Or', 'Not', 'Add', 'Sub', 'Mul', 'Div', 'Range',
]);

function foldableOnceFrozen(model: Model, node: import('../ir/node.js').Node): boolean {
  if (!FOLDABLE.has(node.opType)) return false;
  // An If is inlined as one of its branches: both must be runnable.
  if (node.opType === 'If') {
    for (const name of ['then_branch', 'else_branch']) {
      const branch = node.getGraph(name);
      if (!branch || unsupportedNodes(branch).some((n) => !FOLDABLE.has(n.opType))) return false;
    }
  }
  const known = new Set<Value>(model.graph.inputs.filter((v) => !v.initializer && isControlInput(v)));
  const ok = (v: Value | null): boolean => v === null || v.isConstant || known.has(v);
  for (const n of model.graph.topologicalOrder()) {
    if (FOLDABLE.has(n.opType) && n.inputs.every(ok)) n.outputs.forEach((o) => o && known.add(o));
    if (n === node) return n.inputs.every(ok);
  }
  return false;
}

const ONNX_TYPE_NAMES: Record<number, TensorType> = { 1: 'float32', 2: 'uint8', 3: 'int8', 6: 'int32', 7: 'int64', 9: 'bool' };
const SESSION_KEYS = ['threads', 'backend', 'freeDimensions', 'memoryLimit'] as const;
/** Ops whose float32 kernel a session's explicit `backend` chooses. */
const FLOAT_BACKEND_OPS = new Set(['Conv', 'FullyConnected', 'MatMul']);
/** Plans kept per session for distinct input sizes. */
const MAX_PLANS = 4;

interface Prepared {
  plan: PreparedPlan;
  outputShapes: number[][];
  outputTypes: PlanDType[];
  int8Nodes: number;
  /** No 8-bit values: a run with NaN inputs takes the NaN-preserving path (nan-path.ts). */
  floatOnly: boolean;
  /** The same plan with its constants, lowered again on first use: for the NaN-preserving path only. */
  referencePlan: () => Plan;
}

type ValidOptions = Required<Pick<SessionOptions, 'threads' | 'backend' | 'memoryLimit'>> & { freeDimensions: Record<string, number> };

function validateOptions(options: unknown): ValidOptions {
  const memoryLimit = Math.floor(totalmem() / 2);
  if (options === undefined) return { threads: 1, backend: 'auto', freeDimensions: {}, memoryLimit };
  if (!isPlainObject(options)) throw invalidParameterError('options', 'object', options);
  expectKnownKeys('options', options, SESSION_KEYS);
  const threads = expectInteger('options.threads', options.threads ?? 1, 1, 1024);
  const backend = expectOneOf('options.backend', options.backend ?? 'auto', ['auto', 'xnnpack', 'onednn'] as const);
  const free = options.freeDimensions ?? {};
  if (!isPlainObject(free)) throw invalidParameterError('options.freeDimensions', 'object of dim name → size', free);
  for (const [k, v] of Object.entries(free)) expectInteger(`options.freeDimensions.${k}`, v, 1, 2 ** 31);
  const limit = options.memoryLimit ?? memoryLimit;
  if (limit !== Infinity) expectInteger('options.memoryLimit', limit, 1, Number.MAX_SAFE_INTEGER);
  return { threads, backend, freeDimensions: free as Record<string, number>, memoryLimit: limit as number };
}

/**
 * An explicit `backend: 'onednn'` where oneDNN has no int8 dot product: accepted when oneDNN computes every int8
 * Conv / Gemm / MatMul exactly (uint8 sources with 7-bit weights, see onednnInt8Support), otherwise
 * ERR_OCTET_BACKEND_UNAVAILABLE naming the first layer that is not. Checked on the QDQ form of the model before
 * any input size is known, so dynamic-shape models fail at create() too.
 */
function checkOnednnLayers(bytes: Uint8Array, baseDir: string | undefined): void {
  const info = backends();
  const support = onednnInt8Support(info);
  const onednn = info.find((b) => b.name === 'onednn');
  if (support === 'all' || !onednn?.available) return; // unavailable: plan creation reports it
  const model = loadModel(bytes, { baseDir });
  expandQOperator(model.graph);
  canonicalize(model);
  for (const layer of int8WeightedLayers(model.graph)) {
    const why = onednnInt8Inexact(support, layer.source, layer.weights);
    if (why !== undefined) {
      throw new OctetError('ERR_OCTET_BACKEND_UNAVAILABLE', onednnRefusal(onednn.isa ?? '', `node '${layer.node.id}' (${layer.node.opType})`, why));
    }
  }
}

export class InferenceSessionImpl implements InferenceSessionInterface {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata: readonly ValueMetadata[];
  readonly outputMetadata: readonly ValueMetadata[];
  /** Per-node times of the last run with `{ profile: true }`. */
  lastProfile: PlanNodeProfile[] | undefined;
  readonly #bytes: Uint8Array;
  readonly #baseDir: string | undefined;
  readonly #options: ValidOptions;
  readonly #plans = new Map<string, Prepared>();
  readonly #controlInputs: Set<string>;
  #released = false;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(bytes: Uint8Array, baseDir: string | undefined, model: Model, options: ValidOptions) {
    this.#bytes = bytes;
    this.#baseDir = baseDir;
    this.#options = options;
    const meta = (v: Value): ValueMetadata => ({
      name: v.name,
      type: ONNX_TYPE_NAMES[v.elemType ?? 0] ?? `onnx:${v.elemType}`,
      shape: (v.shape ?? []).map((d, i) => (typeof d === 'number' ? d : (d ?? `${v.name}_dim${i}`))),
    });
    const inputs = model.graph.inputs.filter((v) => !v.initializer);
    this.#controlInputs = new Set(inputs.filter((v) => isControlInput(v) || isParameterInput(v)).map((v) => v.name));
    this.inputMetadata = inputs.map(meta);
    this.outputMetadata = model.graph.outputs.map(meta);
    this.inputNames = this.inputMetadata.map((m) => m.name);
    this.outputNames = this.outputMetadata.map((m) => m.name);
  }

  /**
   * Loads and checks the model. Unsupported operators and input types fail here, not at run(); when every
   * input size is known (fixed in the model or given by freeDimensions) the plan is prepared here too.
   */
  static async create(pathOrBytes: string | Uint8Array, options?: SessionOptions): Promise<InferenceSessionImpl> {
    if (typeof pathOrBytes !== 'string' && !(pathOrBytes instanceof Uint8Array)) {
      throw invalidParameterError('pathOrBytes', 'path string or Uint8Array', pathOrBytes);
    }
    const opts = validateOptions(options);
    if (pathOrBytes === '') throw invalidParameterError('pathOrBytes', 'non-empty path string or Uint8Array', pathOrBytes, true);
    let bytes = pathOrBytes as Uint8Array;
    if (typeof pathOrBytes === 'string') {
      try {
        bytes = new Uint8Array(await readFile(pathOrBytes));
      } catch (err) {
        throw new OnnxError(`Cannot read model file '${pathOrBytes}': ${(err as Error).message}`, { cause: err });
      }
    }
    const baseDir = typeof pathOrBytes === 'string' ? path.dirname(path.resolve(pathOrBytes)) : undefined;
    const model = loadModel(bytes, { baseDir });
    // Input types first: the passes assume tensor inputs (a hostile file may declare none, or a sequence).
    for (const v of model.graph.inputs) {
      if (v.initializer) continue;
      const t = v.elemType;
      if (t === undefined || !(t in ONNX_TYPE_NAMES)) {
        const what = t === undefined ? 'no tensor type' : `element type onnx:${t}`;
        throw new OnnxError(`input '${v.name}' has ${what}, which the runtime does not support`, { tensor: v.name });
      }
    }
    canonicalize(model);
    const frozen = new Set(model.graph.inputs.filter((v) => !v.initializer && (isControlInput(v) || isParameterInput(v))).map((v) => v.name));
    const bad = unsupportedNodes(model.graph, frozen).filter((n) => !foldableOnceFrozen(model, n));
    if (bad.length > 0) throw new OnnxError(unsupportedMessage(bad, frozen), { node: bad[0].id });
    if (opts.backend === 'onednn') checkOnednnLayers(bytes, baseDir);
    const session = new InferenceSessionImpl(bytes, baseDir, model, opts);
    const fixed = session.inputMetadata.map((m) => m.shape.map((d) => (typeof d === 'number' ? d : opts.freeDimensions[d])));
    if (session.#controlInputs.size === 0 && fixed.every((s) => s.every((d) => d !== undefined))) session.#prepare(fixed as number[][]);
    return session;
  }

  /** The kernels the plan for these input sizes runs (for inspection and benchmarks). */
  implementations(): string[] {
    const first = this.#plans.values().next().value as Prepared | undefined;
    return first ? first.plan.implementations : [];
  }

  /** Loads, canonicalizes and lowers the model for these input shapes (and frozen control inputs). */
  #lower(shapes: number[][], control: Record<string, IrTensor>): LoweredModel {
    const model = loadModel(this.#bytes, { baseDir: this.#baseDir });
    // QOperator nodes become QDQ before canonicalizing, so shape inference sees only standard operators.
    expandQOperator(model.graph);
    const inputShapes: Record<string, number[]> = {};
    this.inputNames.forEach((n, i) => {
      if (!(n in control)) inputShapes[n] = shapes[i];
    });
    canonicalize(model, { inputShapes, ...(Object.keys(control).length > 0 ? { freezeInputs: control } : {}) });
    const lowered = lowerModel(model, { threads: this.#options.threads, int8Backend: this.#options.backend });
    // An explicit backend also picks the library of the float32 Conv / FullyConnected / MatMul nodes ('auto' leaves
    // them to the runtime's rule: oneDNN on x86, XNNPACK elsewhere).
    if (this.#options.backend !== 'auto') {
      for (const node of lowered.plan.nodes) {
        const float = lowered.plan.values[node.inputs[0]]?.dtype === 'float32';
        if (node.backend === undefined && float && FLOAT_BACKEND_OPS.has(node.op)) node.backend = this.#options.backend;
      }
    }
    return lowered;
  }

  #prepare(shapes: number[][], control: Record<string, IrTensor> = {}): Prepared {
    const frozenKey = Object.entries(control).map(([k, t]) => `${k}:${t.dtype}:${t.dims.join('x')}:${Buffer.from(t.data).toString('base64')}`);
    const key = shapes.map((s) => s.join('x')).join(';') + frozenKey.join(';');
    const hit = this.#plans.get(key);
    if (hit) {
      // Move to the back: most recently used.
      this.#plans.delete(key);
      this.#plans.set(key, hit);
      return hit;
    }
    const lowered = this.#lower(shapes, control);
    const limit = this.#options.memoryLimit;
    let plan: PreparedPlan;
    try {
      plan = createPlan(limit === Infinity ? lowered.plan : { ...lowered.plan, memoryLimit: limit });
    } catch (err) {
      // The plan comes from the model, not from the caller: its argument checks failing means the model has
      // sizes or attributes the runtime cannot take (a NaN dim computed from a hostile attribute, ...).
      if (err instanceof TypeError || err instanceof RangeError) {
        throw new OnnxError(`The model cannot run with these input sizes: its lowered plan is invalid: ${err.message}`, { cause: err });
      }
      throw err;
    }
    let reference: Plan | undefined;
    const prepared: Prepared = {
      plan,
      outputShapes: lowered.outputIds.map((id) => lowered.plan.values[id].shape),
      outputTypes: lowered.outputIds.map((id) => lowered.plan.values[id].dtype),
      int8Nodes: lowered.int8Nodes,
      floatOnly: isFloatPlan(lowered.plan),
      referencePlan: () => (reference ??= this.#lower(shapes, control).plan),
    };
    // The native plan copied every constant (and packed the weights): the JS copies would stay alive with the
    // plan for nothing (ResNet-50: 100 MB). The NaN path, which needs them, lowers again on its
    // first run and keeps that plan (referencePlan).
    for (const v of lowered.plan.values) if (v.data && v.data.byteLength > 4096) delete v.data;
    if (this.#plans.size >= MAX_PLANS) {
      const oldest = this.#plans.keys().next().value as string;
      this.#plans.get(oldest)!.plan.release();
      this.#plans.delete(oldest);
    }
    this.#plans.set(key, prepared);
    return prepared;
  }

  /** Checks feeds against the inputs: names, types, ranks and fixed dims. Returns the data and the shapes. */
  #checkFeeds(feeds: unknown): { data: PlanTypedArray[]; shapes: number[][]; control: Record<string, IrTensor> } {
    if (!isPlainObject(feeds)) throw invalidParameterError('feeds', 'object of input name → Tensor', feeds);
    for (const name of Object.keys(feeds)) {
      if (!this.inputNames.includes(name)) {
        throw new RangeError(`Unknown input '${name}' in feeds; the model's inputs are ${this.inputNames.map((n) => `'${n}'`).join(', ')}`);
      }
    }
    const data: PlanTypedArray[] = [];
    const shapes: number[][] = [];
    const control: Record<string, IrTensor> = {};
    this.inputMetadata.forEach((m) => {
      const t = feeds[m.name];
      if (t === undefined) throw new RangeError(`Missing input '${m.name}' in feeds`);
      if (!(t instanceof Tensor)) throw invalidParameterError(`feeds['${m.name}']`, 'Tensor', t);
      if (t.type !== m.type) throw invalidParameterError(`feeds['${m.name}']`, `a ${m.type} Tensor`, `${t.type} Tensor` as unknown, false);
      if (t.dims.length !== m.shape.length) {
        throw invalidParameterError(`feeds['${m.name}'].dims`, `${m.shape.length} dims [${m.shape.join(', ')}]`, `[${t.dims.join(', ')}]`, true);
      }
      const shape = t.dims.map((d, i) => {
        const want = m.shape[i];
        const fixed = typeof want === 'number' ? want : this.#options.freeDimensions[want];
        if (fixed !== undefined && d !== fixed) {
          throw invalidParameterError(`feeds['${m.name}'].dims[${i}]`, `${fixed}`, d, true);
        }
        return d;
      });
      if (this.#controlInputs.has(m.name)) {
        control[m.name] = toIrTensor(m.name, t);
      } else {
        data.push(t.data as PlanTypedArray);
      }
      shapes.push(shape);
    });
    return { data, shapes, control };
  }

  async run(feeds: FeedsType, options?: RunOptions): Promise<RunResult> {
    if (this.#released) throw new OctetError('ERR_OCTET_RELEASED', 'the session was released');
    if (options !== undefined) {
      if (!isPlainObject(options)) throw invalidParameterError('options', 'object', options);
      expectKnownKeys('options', options, ['profile']);
    }
    const { data, shapes, control } = this.#checkFeeds(feeds);
    // One run at a time per session: plans share their arena between runs.
    const job = this.#queue.then(async () => {
      if (this.#released) throw new OctetError('ERR_OCTET_RELEASED', 'the session was released');
      const prepared = this.#prepare(shapes, control);
      let outputs: PlanTypedArray[];
      if (options?.profile) {
        const r = await prepared.plan.profile(data);
        outputs = r.outputs;
        this.lastProfile = r.nodes;
      } else if (prepared.floatOnly && containsNaN(data)) {
        outputs = await runPreservingNaN(prepared.referencePlan(), data);
      } else {
        outputs = await prepared.plan.run(data);
      }
      const result: RunResult = {};
      this.outputNames.forEach((name, i) => {
        result[name] = new Tensor(prepared.outputTypes[i] as TensorType, outputs[i] as never, prepared.outputShapes[i]);
      });
      return result;
    });
    this.#queue = job.catch(() => undefined);
    return job;
  }

  async release(): Promise<void> {
    this.#released = true;
    await this.#queue;
    for (const p of this.#plans.values()) p.plan.release();
    this.#plans.clear();
  }
}

/** `InferenceSession.create(pathOrBytes, options)`, as in onnxruntime-node. */
export const InferenceSession = {
  create(pathOrBytes: string | Uint8Array, options?: SessionOptions): Promise<InferenceSessionImpl> {
    return InferenceSessionImpl.create(pathOrBytes, options);
  },
};
