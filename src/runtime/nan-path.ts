/**
 * NaN-preserving execution. XNNPACK's float kernels end in an output clamp (even an unbounded one) that turns
 * NaN into a number (Conv, FullyConnected, pooling, Relu/Clip ... give ±inf or a bound), whereas onnxruntime
 * lets NaN flow through arithmetic. A run whose float32 inputs contain NaN therefore runs the plan on the
 * float64 reference interpreter instead (same plan, same layouts; NaN propagates as in IEEE arithmetic), and
 * its float outputs are rounded to float32. Runs without NaN pay one scan of the inputs.
 */
import type { Plan, PlanTypedArray } from './plan.js';
import { REFERENCE_OPS } from './reference/interpreter.js';
import { fromTyped, toTyped, type RefTensor } from './reference/tensor.js';

export function containsNaN(inputs: readonly PlanTypedArray[]): boolean {
  for (const x of inputs) {
    if (!(x instanceof Float32Array)) continue;
    for (let i = 0; i < x.length; i++) if (x[i] !== x[i]) return true;
  }
  return false;
}

/** Whether the NaN-preserving path applies: float plans only (8-bit execution quantizes NaN anyway). */
export function isFloatPlan(plan: Plan): boolean {
  return !plan.values.some((v) => v.dtype === 'int8' || v.dtype === 'uint8');
}

/**
 * runReference() that yields to the event loop between nodes (the path is slow: seconds on a detector), so
 * timers and I/O keep running while it works; float outputs are rounded to float32.
 */
export async function runPreservingNaN(plan: Plan, inputs: PlanTypedArray[]): Promise<PlanTypedArray[]> {
  const env = new Map<number, RefTensor>();
  plan.values.forEach((v, id) => {
    if (v.data) env.set(id, fromTyped(v.data, v));
  });
  plan.inputs.forEach((id, i) => env.set(id, fromTyped(inputs[i], plan.values[id])));
  for (const node of plan.nodes) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    const ins = node.inputs.map((id) => (id < 0 ? undefined : env.get(id)));
    const outs = REFERENCE_OPS[node.op](ins, node.outputs.map((id) => plan.values[id]), node.attrs ?? {});
    node.outputs.forEach((id, i) => env.set(id, outs[i]));
  }
  return plan.outputs.map((id) => {
    const y = toTyped(env.get(id)!);
    return y instanceof Float64Array ? Float32Array.from(y) : y;
  });
}
