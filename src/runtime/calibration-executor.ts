/**
 * octet's own runtime as the calibration executor: quantize() runs the fp32 model (with the activations it
 * observes added as outputs) on InferenceSession, so quantizing needs no other runtime.
 */
import type { CalibrationExecutor, CalibrationSample } from '../quantize/executor.js';
import { InferenceSessionImpl } from './inference-session-impl.js';
import { Tensor, type TensorType } from './tensor.js';

function toTensor(type: string, t: CalibrationSample[string]): Tensor {
  const n = t.data.length;
  switch (type as TensorType) {
    case 'float32':
      return new Tensor('float32', t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as ArrayLike<number>), t.dims);
    case 'int64':
      return new Tensor('int64', t.data instanceof BigInt64Array ? t.data : BigInt64Array.from(Array.from(t.data as ArrayLike<number>, (v) => BigInt(v))), t.dims);
    case 'int32':
      return new Tensor('int32', t.data instanceof Int32Array ? t.data : Int32Array.from(t.data as ArrayLike<number>), t.dims);
    case 'int8':
      return new Tensor('int8', t.data instanceof Int8Array ? t.data : Int8Array.from(t.data as ArrayLike<number>), t.dims);
    case 'uint8':
    case 'bool':
      return new Tensor(type as 'uint8', t.data instanceof Uint8Array ? t.data : Uint8Array.from(t.data as ArrayLike<number>), t.dims);
    default:
      throw new TypeError(`calibration input of type ${type} (${n} elements) is not supported`);
  }
}

/** An ExecutorFactory (see setDefaultExecutorFactory) backed by InferenceSession. */
export async function createOctetExecutor(modelBytes: Uint8Array): Promise<CalibrationExecutor> {
  const session = await InferenceSessionImpl.create(modelBytes);
  const types = new Map(session.inputMetadata.map((m) => [m.name, m.type]));
  return {
    async run(feeds, outputNames) {
      const inputs: Record<string, Tensor> = {};
      for (const [name, t] of Object.entries(feeds)) inputs[name] = toTensor(types.get(name) ?? 'float32', t);
      const out = await session.run(inputs);
      const result: Record<string, { data: Float32Array; dims: readonly number[] }> = {};
      for (const name of outputNames) {
        const t = out[name];
        if (!t) throw new RangeError(`the model has no output '${name}'`);
        // Shape arithmetic left in a model with free dims yields int64 tensors; they travel as float32 like the rest.
        const data = t.data instanceof Float32Array ? t.data : t.data instanceof BigInt64Array ? Float32Array.from(t.data, Number) : Float32Array.from(t.data as ArrayLike<number>);
        result[name] = { data, dims: t.dims };
      }
      return result;
    },
    release: () => session.release(),
  };
}
