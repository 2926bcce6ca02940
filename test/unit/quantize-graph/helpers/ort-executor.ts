/**
 * createOnnxruntimeExecutor: a CalibrationExecutor on onnxruntime-node, for tests only (the library never
 * imports onnxruntime-node; its default executor will be octet's own runtime).
 */
import * as ort from 'onnxruntime-node';

import { loadModel } from '../../../../src/onnx/io.js';
import type { CalibrationExecutor, CalibrationSample, CalibrationTensor } from '../../../../src/quantize/executor.js';
import { createOctetExecutor } from '../../../../src/runtime/calibration-executor.js';

const ORT_TYPE = new Map<unknown, ort.Tensor.Type>([
  [Float32Array, 'float32'],
  [Float64Array, 'float64'],
  [Int32Array, 'int32'],
  [BigInt64Array, 'int64'],
  [Uint8Array, 'uint8'],
  [Int8Array, 'int8'],
  [Int16Array, 'int16'],
  [Uint16Array, 'uint16'],
]);

export function toOrt(t: CalibrationTensor): ort.Tensor {
  return new ort.Tensor(ORT_TYPE.get(t.data.constructor)! as 'float32', t.data as Float32Array, [...t.dims]);
}

export async function createOnnxruntimeExecutor(bytes: Uint8Array): Promise<CalibrationExecutor> {
  const session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'disabled', intraOpNumThreads: 2 });
  return {
    async run(feeds: CalibrationSample, outputNames: readonly string[]) {
      const inputs: Record<string, ort.Tensor> = {};
      for (const name of session.inputNames) inputs[name] = toOrt(feeds[name]);
      const res = await session.run(inputs, [...outputNames]);
      const out: Record<string, { data: Float32Array; dims: readonly number[] }> = {};
      for (const name of outputNames) out[name] = { data: res[name].data as Float32Array, dims: res[name].dims };
      return out;
    },
    async release() {
      await session.release();
    },
  };
}

/** Runs a model (all outputs) with full graph optimizations, as a user would. */
export async function runModel(bytes: Uint8Array, feeds: CalibrationSample): Promise<Record<string, ort.Tensor>> {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 2 });
  try {
    const inputs: Record<string, ort.Tensor> = {};
    for (const name of session.inputNames) inputs[name] = toOrt(feeds[name]);
    return await session.run(inputs);
  } finally {
    await session.release();
  }
}

/** Runs a model (all outputs) on octet's own runtime, the same feeds as runModel. */
export async function runOctet(bytes: Uint8Array, feeds: CalibrationSample): Promise<Record<string, { data: Float32Array; dims: readonly number[] }>> {
  const executor = await createOctetExecutor(bytes);
  try {
    const names = loadModel(bytes).graph.outputs.map((v) => v.name);
    return await executor.run(feeds, names);
  } finally {
    await executor.release?.();
  }
}

export { ort };
