/**
 * InferenceSession: load → canonicalize (with the input sizes) → lower → native plan, one plan per distinct
 * set of input sizes (cached), run in one native call per run().
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';

import { defaultBackend } from '../backends.js';
import { invalidParameterError, OctetError } from '../errors.js';
import type { Model } from '../ir/model.js';
import type { Value } from '../ir/value.js';
import { lowerModel, unsupportedMessage, unsupportedNodes } from '../lower/lower.js';
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
import { createPlan, type PlanDType, type PlanNodeProfile, type PlanTypedArray, type PreparedPlan } from './plan.js';
import { Tensor, type TensorType } from './tensor.js';

/**
 * Scalar integer inputs (a VAD's sample rate, a flag) are folded into the plan: each value seen gets its own
 * plan, and If nodes on them disappear. True when `node` only depends on such inputs and constants.
 */
function isControlInput(v: Value): boolean {
  const shape = v.shape;
  return (v.elemType === 7 || v.elemType === 6 || v.elemType === 9) && shape !== undefined && shape.length === 0;
}

function foldableOnceFrozen(model: Model, node: import('../ir/node.js').Node): boolean {
  const known = new Set<Value>(model.graph.inputs.filter((v) => !v.initializer && isControlInput(v)));
  const ok = (v: Value | null): boolean => v === null || v.isConstant || known.has(v);
  for (const n of model.graph.topologicalOrder()) {
    if (n.inputs.every(ok)) n.outputs.forEach((o) => o && known.add(o));
    if (n === node) return n.inputs.every(ok);
  }
  return false;
}

const ONNX_TYPE_NAMES: Record<number, TensorType> = { 1: 'float32', 2: 'uint8', 3: 'int8', 6: 'int32', 7: 'int64', 9: 'bool' };
const SESSION_KEYS = ['threads', 'backend', 'freeDimensions'] as const;
/** Plans kept per session for distinct input sizes. */
const MAX_PLANS = 4;

interface Prepared {
  plan: PreparedPlan;
  outputShapes: number[][];
  outputTypes: PlanDType[];
  int8Nodes: number;
}

type ValidOptions = Required<Pick<SessionOptions, 'threads' | 'backend'>> & { freeDimensions: Record<string, number> };

function validateOptions(options: unknown): ValidOptions {
  if (options === undefined) return { threads: 1, backend: 'auto', freeDimensions: {} };
  if (!isPlainObject(options)) throw invalidParameterError('options', 'object', options);
  expectKnownKeys('options', options, SESSION_KEYS);
  const threads = expectInteger('options.threads', options.threads ?? 1, 1, 1024);
  const backend = expectOneOf('options.backend', options.backend ?? 'auto', ['auto', 'xnnpack', 'onednn'] as const);
  const free = options.freeDimensions ?? {};
  if (!isPlainObject(free)) throw invalidParameterError('options.freeDimensions', 'object of dim name → size', free);
  for (const [k, v] of Object.entries(free)) expectInteger(`options.freeDimensions.${k}`, v, 1, 2 ** 31);
  return { threads, backend, freeDimensions: free as Record<string, number> };
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
  readonly #int8Backend: 'xnnpack' | 'onednn';
  readonly #plans = new Map<string, Prepared>();
  readonly #controlInputs: Set<string>;
  #released = false;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(bytes: Uint8Array, baseDir: string | undefined, model: Model, options: ValidOptions) {
    this.#bytes = bytes;
    this.#baseDir = baseDir;
    this.#options = options;
    this.#int8Backend = options.backend === 'auto' ? defaultBackend() : options.backend;
    const meta = (v: Value): ValueMetadata => ({
      name: v.name,
      type: ONNX_TYPE_NAMES[v.elemType ?? 0] ?? `onnx:${v.elemType}`,
      shape: (v.shape ?? []).map((d, i) => (typeof d === 'number' ? d : (d ?? `${v.name}_dim${i}`))),
    });
    const inputs = model.graph.inputs.filter((v) => !v.initializer);
    this.#controlInputs = new Set(inputs.filter(isControlInput).map((v) => v.name));
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
    const bytes = typeof pathOrBytes === 'string' ? new Uint8Array(await readFile(pathOrBytes)) : pathOrBytes;
    const baseDir = typeof pathOrBytes === 'string' ? path.dirname(path.resolve(pathOrBytes)) : undefined;
    const model = loadModel(bytes, { baseDir });
    canonicalize(model);
    const bad = unsupportedNodes(model.graph).filter((n) => !foldableOnceFrozen(model, n));
    if (bad.length > 0) throw new OnnxError(unsupportedMessage(bad), { node: bad[0].id });
    const session = new InferenceSessionImpl(bytes, baseDir, model, opts);
    for (const m of session.inputMetadata) {
      if (!['float32', 'int8', 'uint8', 'int32', 'int64', 'bool'].includes(m.type)) {
        throw new OnnxError(`input '${m.name}' has element type ${m.type}, which the runtime does not support`, { tensor: m.name });
      }
    }
    const fixed = session.inputMetadata.map((m) => m.shape.map((d) => (typeof d === 'number' ? d : opts.freeDimensions[d])));
    const noControl = !model.graph.inputs.some((v) => !v.initializer && isControlInput(v));
    if (noControl && fixed.every((s) => s.every((d) => d !== undefined))) session.#prepare(fixed as number[][]);
    return session;
  }

  /** The kernels the plan for these input sizes runs (for inspection and benchmarks). */
  implementations(): string[] {
    const first = this.#plans.values().next().value as Prepared | undefined;
    return first ? first.plan.implementations : [];
  }

  #prepare(shapes: number[][], control: Record<string, number | bigint> = {}): Prepared {
    const key = shapes.map((s) => s.join('x')).join(';') + JSON.stringify(control, (_, v) => (typeof v === 'bigint' ? v.toString() : v));
    const hit = this.#plans.get(key);
    if (hit) {
      // Move to the back: most recently used.
      this.#plans.delete(key);
      this.#plans.set(key, hit);
      return hit;
    }
    const model = loadModel(this.#bytes, { baseDir: this.#baseDir });
    const inputShapes: Record<string, number[]> = {};
    this.inputNames.forEach((n, i) => {
      if (!(n in control)) inputShapes[n] = shapes[i];
    });
    canonicalize(model, { inputShapes, ...(Object.keys(control).length > 0 ? { freezeInputs: control } : {}) });
    const lowered = lowerModel(model, { threads: this.#options.threads, int8Backend: this.#int8Backend });
    const plan = createPlan(lowered.plan);
    const prepared: Prepared = {
      plan,
      outputShapes: lowered.outputIds.map((id) => lowered.plan.values[id].shape),
      outputTypes: lowered.outputIds.map((id) => lowered.plan.values[id].dtype),
      int8Nodes: lowered.int8Nodes,
    };
    if (this.#plans.size >= MAX_PLANS) {
      const oldest = this.#plans.keys().next().value as string;
      this.#plans.get(oldest)!.plan.release();
      this.#plans.delete(oldest);
    }
    this.#plans.set(key, prepared);
    return prepared;
  }

  /** Checks feeds against the inputs: names, types, ranks and fixed dims. Returns the data and the shapes. */
  #checkFeeds(feeds: unknown): { data: PlanTypedArray[]; shapes: number[][]; control: Record<string, number | bigint> } {
    if (!isPlainObject(feeds)) throw invalidParameterError('feeds', 'object of input name → Tensor', feeds);
    for (const name of Object.keys(feeds)) {
      if (!this.inputNames.includes(name)) {
        throw new RangeError(`Unknown input '${name}' in feeds; the model's inputs are ${this.inputNames.map((n) => `'${n}'`).join(', ')}`);
      }
    }
    const data: PlanTypedArray[] = [];
    const shapes: number[][] = [];
    const control: Record<string, number | bigint> = {};
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
        if (d === 0) throw invalidParameterError(`feeds['${m.name}'].dims[${i}]`, 'a size >= 1', d, true);
        return d;
      });
      if (this.#controlInputs.has(m.name)) {
        const v = (t.data as ArrayLike<number | bigint>)[0];
        control[m.name] = typeof v === 'bigint' ? v : Number(v);
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
