/** Builders and comparisons shared by the plan executor tests. */
import { expect } from 'vitest';

import type { Plan, PlanAttr, PlanBackend, PlanDType, PlanNode, PlanOp, PlanQuant, PlanTypedArray, PlanValue } from '../../../src/runtime/plan.js';
import { rng } from '../../helpers/random.js';

export function quant(scale: number | number[], zeroPoint: number | number[] = 0, axis?: number): PlanQuant {
  const s = Array.isArray(scale) ? scale : [scale];
  const z = Array.isArray(zeroPoint) ? zeroPoint : s.map(() => zeroPoint as number);
  return { scale: Float32Array.from(s), zeroPoint: Int32Array.from(z), ...(axis === undefined ? {} : { axis }) };
}

export class PlanBuilder {
  values: PlanValue[] = [];
  nodes: PlanNode[] = [];
  inputs: number[] = [];
  outputs: number[] = [];

  value(name: string, dtype: PlanDType, shape: number[], q?: PlanQuant, data?: PlanTypedArray): number {
    this.values.push({ name, dtype, shape, ...(q ? { quant: q } : {}), ...(data ? { data } : {}) });
    return this.values.length - 1;
  }

  input(name: string, dtype: PlanDType, shape: number[], q?: PlanQuant): number {
    const id = this.value(name, dtype, shape, q);
    this.inputs.push(id);
    return id;
  }

  constant(name: string, dtype: PlanDType, shape: number[], data: PlanTypedArray, q?: PlanQuant): number {
    return this.value(name, dtype, shape, q, data);
  }

  node(op: PlanOp, inputs: number[], outputs: number[], attrs: Record<string, PlanAttr> = {}, backend?: PlanBackend): this {
    this.nodes.push({ name: `${op.toLowerCase()}${this.nodes.length}`, op, inputs, outputs, attrs, ...(backend ? { backend } : {}) });
    return this;
  }

  output(id: number): this {
    this.outputs.push(id);
    return this;
  }

  build(threads = 1): Plan {
    return { values: this.values, nodes: this.nodes, inputs: this.inputs, outputs: this.outputs, threads };
  }
}

/** A one-node plan: inputs are graph inputs unless given as constants. */
export function single(
  op: PlanOp,
  ins: { dtype: PlanDType; shape: number[]; quant?: PlanQuant; data?: PlanTypedArray }[],
  outs: { dtype: PlanDType; shape: number[]; quant?: PlanQuant }[],
  attrs: Record<string, PlanAttr> = {},
  backend?: PlanBackend,
): Plan {
  const b = new PlanBuilder();
  const inIds = ins.map((v, i) => (v.data ? b.constant(`c${i}`, v.dtype, v.shape, v.data, v.quant) : b.input(`x${i}`, v.dtype, v.shape, v.quant)));
  const outIds = outs.map((v, i) => b.value(`y${i}`, v.dtype, v.shape, v.quant));
  b.node(op, inIds, outIds, attrs, backend);
  outIds.forEach((id) => b.output(id));
  return b.build();
}

export function randomFloat(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const next = rng(seed);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * next());
}

export function randomInts(n: number, seed: number, lo: number, hi: number, Ctor: typeof Int8Array | typeof Uint8Array = Int8Array): Int8Array | Uint8Array {
  const next = rng(seed);
  const out = new Ctor(n);
  for (let i = 0; i < n; i++) out[i] = lo + Math.floor(next() * (hi - lo + 1));
  return out;
}

export function count(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** |got − want| <= atol + rtol·|want| everywhere; reports the first failure. */
export function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, rtol = 1e-5, atol = 1e-6): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const ok = Math.abs(got[i] - want[i]) <= atol + rtol * Math.abs(want[i]) || (Number.isNaN(got[i]) && Number.isNaN(want[i]));
    if (!ok) expect.fail(`element ${i}: got ${got[i]}, want ${want[i]} (rtol ${rtol}, atol ${atol})`);
  }
}

/**
 * Quantized outputs: every element within ±maxDiff, and at most `fraction` of them different at all.
 * The vendors requantize in float32 / fixed point and the reference in float64, so a value within float32
 * error of a .5 tie may round the other way: ±1, rarely.
 */
export function expectQuantClose(got: ArrayLike<number>, want: ArrayLike<number>, fraction = 0.01, maxDiff = 1): void {
  expect(got.length).toBe(want.length);
  let mismatches = 0;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    if (d > maxDiff) expect.fail(`element ${i}: got ${got[i]}, want ${want[i]} (more than ±${maxDiff})`);
    if (d !== 0) mismatches++;
  }
  expect(mismatches / Math.max(1, want.length)).toBeLessThanOrEqual(fraction);
}
