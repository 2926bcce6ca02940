/**
 * The plan format: a whole lowered graph that the native executor prepares once and runs in one call
 * (see docs/plan-format.md). `createPlan()` validates the structure here, with messages naming the value or
 * node, then hands it to the native layer, which re-checks everything and validates each op's shapes and
 * attributes (OctetError `ERR_OCTET_INVALID_PLAN`, naming the node).
 */
import { checkInt8Backend } from '../backends.js';
import { getBinding, type NativePlan } from '../binding.js';
import { callNative, callNativeAsync, invalidParameterError, OctetError } from '../errors.js';
import { expectInteger, expectKnownKeys, expectObject, expectOneOf, isPlainObject } from '../validate.js';

export type PlanDType = 'float32' | 'int8' | 'uint8' | 'int32' | 'int64' | 'bool';
export type PlanBackend = 'xnnpack' | 'onednn' | 'own';

/** real = (q − zeroPoint[c]) · scale[c]; one entry per tensor, or shape[axis] entries along `axis`. */
export interface PlanQuant {
  scale: Float32Array;
  zeroPoint: Int32Array;
  axis?: number;
}

export interface PlanValue {
  name: string;
  dtype: PlanDType;
  /** Fully static. 4-D conv/pool data is NHWC; conv weights are OHWI. */
  shape: number[];
  /** Constant payload (weights); absent for graph inputs and activations. */
  data?: PlanTypedArray;
  /** Required on int8/uint8 values used by arithmetic ops; int32 bias is implied to have scale x·w, zero 0. */
  quant?: PlanQuant;
}

export type PlanAttr = number | number[] | string;

export interface PlanNode {
  name: string;
  op: PlanOp;
  /** Value ids; -1 marks an absent optional input. */
  inputs: number[];
  outputs: number[];
  attrs?: Record<string, PlanAttr>;
  /** Which library runs the node; default: XNNPACK where it has the op, else an own kernel. */
  backend?: PlanBackend;
}

export interface Plan {
  values: PlanValue[];
  /** In execution order: every non-constant input of a node is a graph input or an earlier node's output. */
  nodes: PlanNode[];
  inputs: number[];
  outputs: number[];
  /** Threads for XNNPACK's pthreadpool and oneDNN's OpenMP. Default 1. */
  threads?: number;
  /**
   * Most bytes of activation memory (the arena, after buffer reuse) the plan may allocate; more throws
   * ERR_OCTET_MEMORY_LIMIT before anything is allocated. Default: no limit below the executor's 2^44 bytes.
   */
  memoryLimit?: number;
}

export type PlanTypedArray = Float32Array | Int8Array | Uint8Array | Int32Array | BigInt64Array;

/** The ops the native executor implements (kept equal to native/runtime/ops/registry.cc by a test). */
export const PLAN_OPS = [
  'Abs', 'Add', 'AveragePool', 'Cast', 'Ceil', 'Clip', 'Concat', 'Conv', 'ConvTranspose', 'DequantizeLinear', 'Div',
  'DynamicQuantizeLinear', 'Elu', 'Erf', 'Exp', 'Flatten', 'Floor', 'FullyConnected', 'Gather', 'GlobalAveragePool',
  'HardSigmoid', 'HardSwish', 'Identity', 'LeakyRelu', 'Log', 'LogSoftmax', 'MatMul', 'MatMulInteger', 'Max',
  'MaxPool', 'Min', 'Mul', 'Neg', 'Pad', 'Pow', 'QuantizeLinear', 'ReduceMax', 'ReduceMean', 'ReduceMin', 'ReduceSum',
  'Relu', 'Reshape', 'Resize', 'Round', 'Sigmoid', 'Slice', 'Softmax', 'Split', 'Sqrt', 'Squeeze', 'Sub', 'Tanh',
  'Transpose', 'Unsqueeze',
  // Unary math (unary.cc)
  'Reciprocal', 'Sign', 'Sin', 'Cos', 'Tan', 'Asin', 'Acos', 'Atan', 'Sinh', 'Cosh', 'Asinh', 'Acosh', 'Atanh',
  'Softplus', 'Softsign', 'Selu', 'ThresholdedRelu', 'Celu',
  // Integer arithmetic, comparisons, logic (integer_binary.cc, compare.cc)
  'Mod', 'Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'And', 'Or', 'Xor', 'Not', 'IsNaN', 'IsInf', 'Where',
  // Reductions (reduce.cc, arg_reduce.cc)
  'ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceSumSquare', 'ReduceLogSum', 'ReduceLogSumExp', 'ArgMax', 'ArgMin', 'Hardmax',
  // Indexing and broadcasting data movement (indexing.cc)
  'GatherElements', 'ScatterElements', 'GatherND', 'ScatterND', 'Trilu', 'Expand', 'Tile', 'OneHot', 'TopK',
  'PRelu', 'Shrink', 'BitShift',
  'LayerNormalization', 'LSTM', 'GRU', 'RNN',
  // 16-bit activations: a QuantizeLinear -> DequantizeLinear pair computed in float (quantize.cc)
  'QuantizeDequantize',
] as const;
export type PlanOp = (typeof PLAN_OPS)[number];

export const PLAN_DTYPES: readonly PlanDType[] = ['float32', 'int8', 'uint8', 'int32', 'int64', 'bool'];

/** The typed array that holds one dtype. */
export function arrayTypeOf(dtype: PlanDType) {
  switch (dtype) {
    case 'float32':
      return Float32Array;
    case 'int8':
      return Int8Array;
    case 'uint8':
    case 'bool':
      return Uint8Array;
    case 'int32':
      return Int32Array;
    case 'int64':
      return BigInt64Array;
  }
}

export function allocate(value: Pick<PlanValue, 'dtype' | 'shape'>): PlanTypedArray {
  const Ctor = arrayTypeOf(value.dtype);
  return new Ctor(elementCount(value.shape));
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

const MAX_ELEMENTS = 2 ** 40;

function valueLabel(plan: Plan, id: number): string {
  return `values[${id}] '${plan.values[id]?.name ?? ''}'`;
}

/** Structural checks; throws TypeError/RangeError naming the value or node. */
export function validatePlan(plan: unknown): asserts plan is Plan {
  expectObject('plan', plan);
  expectKnownKeys('plan', plan, ['values', 'nodes', 'inputs', 'outputs', 'threads', 'memoryLimit']);
  if (!Array.isArray(plan.values)) throw invalidParameterError('plan.values', 'array', plan.values);
  if (!Array.isArray(plan.nodes)) throw invalidParameterError('plan.nodes', 'array', plan.nodes);
  const values = plan.values as unknown[];
  const n = values.length;
  values.forEach((v, id) => {
    const name = `plan.values[${id}]`;
    expectObject(name, v);
    expectKnownKeys(name, v, ['name', 'dtype', 'shape', 'data', 'quant']);
    const label = `${name} '${String(v.name)}'`;
    if (typeof v.name !== 'string') throw invalidParameterError(`${name}.name`, 'string', v.name);
    const dtype = expectOneOf(`${label}.dtype`, v.dtype, PLAN_DTYPES);
    if (!Array.isArray(v.shape) || v.shape.length > 8) throw invalidParameterError(`${label}.shape`, 'array of at most 8 integers', v.shape);
    let count = 1;
    (v.shape as unknown[]).forEach((d, i) => {
      count *= expectInteger(`${label}.shape[${i}]`, d, 0, MAX_ELEMENTS);
    });
    if (count > MAX_ELEMENTS) throw invalidParameterError(`${label}.shape`, `at most 2^40 elements`, v.shape, true);
    if (v.data !== undefined) {
      const Ctor = arrayTypeOf(dtype);
      if (!(v.data instanceof Ctor)) throw invalidParameterError(`${label}.data`, `${Ctor.name} (dtype ${dtype})`, v.data);
      if (v.data.length !== count) {
        throw invalidParameterError(`${label}.data`, `${Ctor.name} of length ${count} (shape [${(v.shape as number[]).join(', ')}])`, v.data, true);
      }
    }
    if (v.quant !== undefined) {
      const q = v.quant;
      expectObject(`${label}.quant`, q);
      expectKnownKeys(`${label}.quant`, q, ['scale', 'zeroPoint', 'axis']);
      if (dtype !== 'int8' && dtype !== 'uint8' && dtype !== 'int32') {
        throw invalidParameterError(`${label}.quant`, 'no quant on a value that is not int8, uint8 or int32', q);
      }
      if (!(q.scale instanceof Float32Array)) throw invalidParameterError(`${label}.quant.scale`, 'Float32Array', q.scale);
      if (!(q.zeroPoint instanceof Int32Array)) throw invalidParameterError(`${label}.quant.zeroPoint`, 'Int32Array', q.zeroPoint);
      const shape = v.shape as number[];
      let expected = 1;
      if (q.axis !== undefined) {
        const axis = expectInteger(`${label}.quant.axis`, q.axis, 0, Math.max(0, shape.length - 1));
        expected = shape[axis];
      }
      if (q.scale.length !== expected) throw invalidParameterError(`${label}.quant.scale`, `Float32Array of length ${expected}`, q.scale, true);
      if (q.zeroPoint.length !== expected) throw invalidParameterError(`${label}.quant.zeroPoint`, `Int32Array of length ${expected}`, q.zeroPoint, true);
      q.scale.forEach((s, i) => {
        if (!(s > 0) || !Number.isFinite(s)) throw invalidParameterError(`${label}.quant.scale[${i}]`, 'positive finite number', s, true);
      });
      const [lo, hi] = dtype === 'int8' ? [-128, 127] : dtype === 'uint8' ? [0, 255] : [-(2 ** 31), 2 ** 31 - 1];
      q.zeroPoint.forEach((z, i) => expectInteger(`${label}.quant.zeroPoint[${i}]`, z, lo, hi));
    }
  });
  const expectIds = (name: string, ids: unknown, allowAbsent: boolean): number[] => {
    if (!Array.isArray(ids)) throw invalidParameterError(name, 'array of value ids', ids);
    return ids.map((id, i) => expectInteger(`${name}[${i}]`, id, allowAbsent ? -1 : 0, n - 1));
  };
  (plan.nodes as unknown[]).forEach((node, k) => {
    const name = `plan.nodes[${k}]`;
    expectObject(name, node);
    expectKnownKeys(name, node, ['name', 'op', 'inputs', 'outputs', 'attrs', 'backend']);
    if (typeof node.name !== 'string') throw invalidParameterError(`${name}.name`, 'string', node.name);
    const label = `node '${node.name}'`;
    if (typeof node.op !== 'string') throw invalidParameterError(`${label}.op`, 'string', node.op);
    if (!(PLAN_OPS as readonly string[]).includes(node.op)) {
      const hint = PLAN_OPS.find((o) => o.toLowerCase() === (node.op as string).toLowerCase());
      throw new RangeError(`Unknown op '${node.op}' in ${label}${hint ? `; did you mean '${hint}'?` : ''}`);
    }
    const nlabel = `${label} (${node.op})`;
    const inputIds = expectIds(`${nlabel}.inputs`, node.inputs, true);
    expectIds(`${nlabel}.outputs`, node.outputs, false);
    if (node.backend !== undefined) expectOneOf(`${nlabel}.backend`, node.backend, ['xnnpack', 'onednn', 'own'] as const);
    // oneDNN's float32 kernels are exact everywhere; only its int8 ones need an int8 dot product.
    const floatNode = inputIds.length > 0 && (plan.values as { dtype?: unknown }[])[inputIds[0]]?.dtype === 'float32';
    if (node.backend === 'onednn' && !floatNode) {
      // Without VNNI, oneDNN is exact on uint8 sources with 7-bit weights (the weights are input 1 of Conv /
      // FullyConnected / MatMul): checkInt8Backend lets those through.
      const vals = plan.values as { dtype?: unknown; data?: unknown }[];
      const source = vals[inputIds[0]]?.dtype;
      const weights = vals[inputIds[1]]?.data;
      const known = (source === 'int8' || source === 'uint8') && weights instanceof Int8Array;
      checkInt8Backend('onednn', nlabel, known ? { source, weights } : undefined);
    }
    if (node.attrs !== undefined) {
      if (!isPlainObject(node.attrs)) throw invalidParameterError(`${nlabel}.attrs`, 'object', node.attrs);
      for (const [key, a] of Object.entries(node.attrs)) {
        const ok = typeof a === 'string' || (typeof a === 'number' && !Number.isNaN(a)) || (Array.isArray(a) && a.every((x) => typeof x === 'number'));
        if (!ok) throw invalidParameterError(`${nlabel}.attrs.${key}`, 'number, number[] or string', a);
      }
    }
  });
  const inputs = expectIds('plan.inputs', plan.inputs, false);
  expectIds('plan.outputs', plan.outputs, false);
  for (const id of inputs) {
    if ((values[id] as PlanValue).data !== undefined) {
      throw invalidParameterError('plan.inputs', `ids of non-constant values (${valueLabel(plan as unknown as Plan, id)} is a constant)`, id, true);
    }
  }
  if (plan.threads !== undefined) expectInteger('plan.threads', plan.threads, 1, 1024);
  if (plan.memoryLimit !== undefined) expectInteger('plan.memoryLimit', plan.memoryLimit, 0, Number.MAX_SAFE_INTEGER);
}

/** Per-node timing of one profiled run. */
export interface PlanNodeProfile {
  name: string;
  op: string;
  implementation: string;
  ms: number;
}

export interface PlanRunOptions {
  /** Preallocated outputs (reused across runs); allocated when absent. */
  outputs?: PlanTypedArray[];
}

/** A prepared plan: vendor operators created, weights packed, activation arena allocated. */
export class PreparedPlan {
  readonly plan: Plan;
  #native: NativePlan | undefined;

  /** @internal use createPlan() */
  constructor(plan: Plan, native: NativePlan) {
    this.plan = plan;
    this.#native = native;
  }

  /** The kernel each node runs on, in node order, e.g. `xnnpack:convolution2d_nhwc_qc8`. */
  get implementations(): string[] {
    return this.#live().implementations ?? [];
  }

  /** Bytes of activation memory after buffer reuse by liveness. */
  get arenaBytes(): number {
    return this.#live().arenaBytes ?? 0;
  }

  /**
   * Bytes of constants the native plan still holds. Weights that only packing kernels read (XNNPACK's packed,
   * oneDNN's reordered copies) are freed once packed, so they are not counted here.
   */
  get constantBytes(): number {
    return this.#live().constantBytes ?? 0;
  }

  /** Runs the whole plan on a worker thread (one native call); resolves with the outputs. */
  async run(inputs: PlanTypedArray[], options: PlanRunOptions = {}): Promise<PlanTypedArray[]> {
    const [x, y] = this.#prepare(inputs, options);
    const native = this.#live();
    await callNativeAsync(() => native.run(x, y, false));
    return y;
  }

  /** run() on the calling thread. */
  runSync(inputs: PlanTypedArray[], options: PlanRunOptions = {}): PlanTypedArray[] {
    const [x, y] = this.#prepare(inputs, options);
    const native = this.#live();
    callNative(() => native.runSync(x, y, false));
    return y;
  }

  /** run() that also times every node. */
  async profile(inputs: PlanTypedArray[], options: PlanRunOptions = {}): Promise<{ outputs: PlanTypedArray[]; nodes: PlanNodeProfile[] }> {
    const [x, y] = this.#prepare(inputs, options);
    const native = this.#live();
    const times = (await callNativeAsync(() => native.run(x, y, true))) as Float64Array;
    const impls = this.implementations;
    const nodes = this.plan.nodes.map((node, k) => ({ name: node.name, op: node.op, implementation: impls[k], ms: times[k] / 1e6 }));
    return { outputs: y, nodes };
  }

  /** Frees the native plan; later calls throw ERR_OCTET_RELEASED. Idempotent. */
  release(): void {
    this.#native?.release();
    this.#native = undefined;
  }

  #live(): NativePlan {
    if (!this.#native) throw new OctetError('ERR_OCTET_RELEASED', 'the plan was released');
    return this.#native;
  }

  #prepare(inputs: unknown, options: PlanRunOptions): [PlanTypedArray[], PlanTypedArray[]] {
    const plan = this.plan;
    if (!Array.isArray(inputs) || inputs.length !== plan.inputs.length) {
      throw invalidParameterError('inputs', `array of ${plan.inputs.length} typed arrays`, inputs, Array.isArray(inputs));
    }
    inputs.forEach((x, i) => {
      const v = plan.values[plan.inputs[i]];
      const Ctor = arrayTypeOf(v.dtype);
      if (!(x instanceof Ctor)) throw invalidParameterError(`inputs[${i}] '${v.name}'`, Ctor.name, x);
      const count = elementCount(v.shape);
      if (x.length !== count) throw invalidParameterError(`inputs[${i}] '${v.name}'`, `${Ctor.name} of length ${count}`, x, true);
    });
    let outputs = options.outputs;
    if (outputs === undefined) {
      outputs = plan.outputs.map((id) => allocate(plan.values[id]));
    } else {
      if (!Array.isArray(outputs) || outputs.length !== plan.outputs.length) {
        throw invalidParameterError('options.outputs', `array of ${plan.outputs.length} typed arrays`, outputs, Array.isArray(outputs));
      }
      outputs.forEach((y, i) => {
        const v = plan.values[plan.outputs[i]];
        const Ctor = arrayTypeOf(v.dtype);
        const count = elementCount(v.shape);
        if (!(y instanceof Ctor) || y.length !== count) {
          throw invalidParameterError(`options.outputs[${i}] '${v.name}'`, `${Ctor.name} of length ${count}`, y, y instanceof Ctor);
        }
      });
    }
    return [inputs as PlanTypedArray[], outputs];
  }
}

/** Validates the plan, then creates the vendor operators and packs weights (synchronously, once). */
export function createPlan(plan: Plan): PreparedPlan {
  validatePlan(plan);
  const binding = getBinding();
  const normalized: Plan = { ...plan, threads: plan.threads ?? 1 };
  const native = callNative(() => new binding.Plan(normalized));
  return new PreparedPlan(normalized, native);
}
