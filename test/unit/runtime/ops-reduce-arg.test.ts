/** The added reductions (reduce.cc), ArgMax/ArgMin and Hardmax (arg_reduce.cc) against the float64 reference. */
import { describe, expect, it } from 'vitest';

import { createPlan, type Plan, type PlanTypedArray } from '../../../src/runtime/plan.js';
import { runReference } from '../../../src/runtime/reference/interpreter.js';
import { expectClose, quant, randomFloat, randomInts, single } from './helpers.js';

const f32 = (shape: number[]) => ({ dtype: 'float32' as const, shape });
const i64 = (shape: number[]) => ({ dtype: 'int64' as const, shape });

async function check(plan: Plan, inputs: PlanTypedArray[], impl?: RegExp): Promise<void> {
  const p = createPlan(plan);
  const got = await p.run(inputs);
  const want = runReference(plan, inputs);
  got.forEach((g, i) => {
    if (g instanceof Float32Array) expectClose(g, want[i] as Float64Array, 1e-5, 1e-6);
    else expect(Array.from(g as BigInt64Array, Number)).toEqual(Array.from(want[i] as BigInt64Array, Number));
  });
  if (impl) expect(p.implementations.join(',')).toMatch(impl);
  p.release();
}

describe('invalid plans', () => {
  it('ArgMax outputs int64 with the reduced shape', () => {
    expect(() => createPlan(single('ArgMax', [f32([3, 4])], [f32([3])], { axis: 1, keepdims: 0 }))).toThrow("node 'argmax0' (ArgMax): expected int64 for output 'y0' but it is float32");
    expect(() => createPlan(single('ArgMax', [f32([3, 4])], [i64([3])], { axis: 1 }))).toThrow(/node 'argmax0' \(ArgMax\): expected shape \[3, 1\] for output 'y0'/);
  });
  it('an axis out of range fails at creation', () => {
    expect(() => createPlan(single('Hardmax', [f32([3, 4])], [f32([3, 4])], { axis: 2 }))).toThrow("node 'hardmax0' (Hardmax): attribute 'axis' = 2 is out of range for rank 2");
  });
});

describe('reductions', () => {
  for (const op of ['ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceSumSquare', 'ReduceLogSum', 'ReduceLogSumExp'] as const) {
    it(`${op} over axes [0, 2] keepdims and over all axes`, async () => {
      const lo = op === 'ReduceLogSum' ? 0.1 : -2;
      await check(single(op, [f32([3, 4, 5])], [f32([1, 4, 1])], { axes: [0, -1] }), [randomFloat(60, 1, lo, 2)], /own:reduce/);
      await check(single(op, [f32([2, 3])], [f32([])], { keepdims: 0 }), [randomFloat(6, 2, lo + 0.5, 1.5)]);
    });
  }
  it('ReduceL2 on int8 requantizes', async () => {
    const x = randomInts(24, 3, -100, 100);
    const plan = single('ReduceL2', [{ dtype: 'int8', shape: [4, 6], quant: quant(0.02, 0) }], [{ dtype: 'int8', shape: [4, 1], quant: quant(0.05, -128) }], { axes: [1] });
    const p = createPlan(plan);
    expect(Array.from(p.runSync([x])[0] as Int8Array)).toEqual(Array.from(runReference(plan, [x])[0] as Int8Array));
  });
});

describe('ArgMax, ArgMin, Hardmax', () => {
  for (const op of ['ArgMax', 'ArgMin'] as const) {
    it(`${op} with ties, first and last index, keepdims 0 and 1`, async () => {
      // Values on a coarse grid so that ties occur.
      const x = randomFloat(60, 4, -2, 2).map((v) => Math.round(v));
      for (const selectLastIndex of [0, 1]) {
        await check(single(op, [f32([3, 4, 5])], [i64([3, 5])], { axis: 1, keepdims: 0, selectLastIndex }), [x], new RegExp(`own:${op.toLowerCase()}`));
        await check(single(op, [f32([3, 4, 5])], [i64([3, 4, 1])], { axis: -1, selectLastIndex }), [x]);
      }
      await check(single(op, [{ dtype: 'int32', shape: [6, 2] }], [i64([1, 2])], { axis: 0 }), [Int32Array.of(3, -1, 7, 2, 7, 2, -4, 9, 0, 0, 1, 9)]);
    });
  }
  it('ArgMax picks the first maximum unless selectLastIndex', () => {
    const x = Float32Array.of(1, 5, 5, 2);
    expect(Array.from(createPlan(single('ArgMax', [f32([4])], [i64([])], { keepdims: 0 })).runSync([x])[0] as BigInt64Array)).toEqual([1n]);
    expect(Array.from(createPlan(single('ArgMax', [f32([4])], [i64([])], { keepdims: 0, selectLastIndex: 1 })).runSync([x])[0] as BigInt64Array)).toEqual([2n]);
  });
  it('Hardmax along an inner axis and the last one', async () => {
    const x = randomFloat(60, 5, -2, 2).map((v) => Math.round(v));
    await check(single('Hardmax', [f32([3, 4, 5])], [f32([3, 4, 5])], { axis: 1 }), [x], /own:hardmax/);
    await check(single('Hardmax', [f32([3, 4, 5])], [f32([3, 4, 5])]), [x]);
  });
});
