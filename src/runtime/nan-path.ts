/**
 * NaN-preserving execution. XNNPACK's float kernels end in an output clamp (even an unbounded one) that turns
 * NaN into a number (Conv, FullyConnected, pooling, Relu/Clip ... give ±inf or a bound), whereas onnxruntime
 * lets NaN flow through arithmetic. A run whose float32 inputs contain NaN therefore runs the plan on the
 * float64 reference interpreter instead (same plan, same layouts; NaN propagates as in IEEE arithmetic), and
 * its float outputs are rounded to float32. Runs without NaN pay one scan of the inputs.
 */
import type { Plan, PlanTypedArray } from './plan.js';
import { runReference } from './reference/interpreter.js';

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

export function runPreservingNaN(plan: Plan, inputs: PlanTypedArray[]): PlanTypedArray[] {
  return runReference(plan, inputs).map((y) => (y instanceof Float64Array ? Float32Array.from(y) : y));
}
