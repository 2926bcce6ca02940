/**
 * Indexing and broadcasting data movement (indexing.cc) against the reference interpreter on random tensors:
 * GatherElements, ScatterElements, GatherND, ScatterND, Trilu, Expand, Tile, OneHot, TopK. Invalid plans and
 * run-time index errors first.
 */
import { describe, expect, it } from 'vitest';

import { createPlan, type Plan, type PlanDType, type PlanTypedArray } from '../../../src/runtime/plan.js';
import { runReference } from '../../../src/runtime/reference/interpreter.js';
import { quant, randomFloat, randomInts, single } from './helpers.js';
import { rng } from '../../helpers/random.js';

const v = (dtype: PlanDType, shape: number[], data?: PlanTypedArray) => ({ dtype, shape, ...(data ? { data } : {}) });

function indices(n: number, seed: number, lo: number, hi: number): BigInt64Array {
  const next = rng(seed);
  return BigInt64Array.from({ length: n }, () => BigInt(lo + Math.floor(next() * (hi - lo + 1))));
}

async function exact(plan: Plan, inputs: PlanTypedArray[], impl?: RegExp): Promise<void> {
  const p = createPlan(plan);
  const got = await p.run(inputs);
  const want = runReference(plan, inputs);
  got.forEach((g, i) => {
    const w = want[i] instanceof Float64Array ? Array.from(want[i] as Float64Array, Math.fround) : Array.from(want[i] as ArrayLike<number | bigint>, Number);
    expect(Array.from(g as ArrayLike<number | bigint>, Number)).toEqual(w);
  });
  if (impl) expect(p.implementations.join(',')).toMatch(impl);
  p.release();
}

describe('invalid plans and run-time index errors', () => {
  it('GatherElements indices must have the data rank', () => {
    expect(() => createPlan(single('GatherElements', [v('float32', [3, 4]), v('int64', [3])], [v('float32', [3])]))).toThrow(
      "node 'gatherelements0' (GatherElements): indices must have the rank of data (2)",
    );
  });
  it('an unknown scatter reduction fails at creation', () => {
    expect(() => createPlan(single('ScatterND', [v('float32', [4]), v('int64', [1, 1]), v('float32', [1])], [v('float32', [4])], { reduction: 'sub' }))).toThrow(
      "node 'scatternd0' (ScatterND): reduction must be 'none', 'add', 'mul', 'max' or 'min'",
    );
  });
  it('an out-of-range index rejects the run naming the node', async () => {
    const p = createPlan(single('GatherElements', [v('float32', [2, 3]), v('int64', [2, 1])], [v('float32', [2, 1])], { axis: 1 }));
    await expect(p.run([randomFloat(6, 1), BigInt64Array.of(0n, 3n)])).rejects.toMatchObject({
      code: 'ERR_OCTET_INDEX_OUT_OF_RANGE',
      message: "node 'gatherelements0' (GatherElements): index 3 is out of range [-3, 3)",
    });
    const q = createPlan(single('GatherND', [v('float32', [2, 3]), v('int64', [1, 2])], [v('float32', [1])]));
    await expect(q.run([randomFloat(6, 1), BigInt64Array.of(-3n, 0n)])).rejects.toMatchObject({ code: 'ERR_OCTET_INDEX_OUT_OF_RANGE' });
  });
  it('Tile output must be a multiple of the input', () => {
    expect(() => createPlan(single('Tile', [v('float32', [2, 3])], [v('float32', [4, 4])]))).toThrow("node 'tile0' (Tile): output [4, 4] is not a tiling of [2, 3]");
  });
});

describe('gather and scatter', () => {
  it('GatherElements on each axis with negative indices', async () => {
    const data = [3, 4, 5];
    for (const axis of [0, 1, 2]) {
      const shape = data.map((d, i) => (i === axis ? 6 : d));
      const idx = indices(shape.reduce((a, b) => a * b), axis + 2, -data[axis], data[axis] - 1);
      await exact(single('GatherElements', [v('float32', data), v('int64', shape)], [v('float32', shape)], { axis }), [randomFloat(60, 1), idx], /own:gather_elements/);
    }
  });
  it('ScatterElements none / add / max, int8 bytes keep their quant', async () => {
    const x = randomFloat(20, 3);
    for (const reduction of ['none', 'add', 'max']) {
      await exact(single('ScatterElements', [v('float32', [4, 5]), v('int64', [2, 5]), v('float32', [2, 5])], [v('float32', [4, 5])], { axis: 0, reduction }), [x, indices(10, 4, -4, 3), randomFloat(10, 5)], /own:scatter_elements/);
    }
    const q = quant(0.1, 3);
    await exact(single('ScatterElements', [{ dtype: 'int8', shape: [6], quant: q }, v('int64', [3]), { dtype: 'int8', shape: [3], quant: q }], [{ dtype: 'int8', shape: [6], quant: q }]), [randomInts(6, 1, -50, 50), BigInt64Array.of(5n, 0n, 2n), randomInts(3, 2, -50, 50)]);
  });
  it('GatherND with batchDims 0 and 1', async () => {
    await exact(single('GatherND', [v('float32', [3, 4, 5]), v('int64', [2, 2])], [v('float32', [2, 5])]), [randomFloat(60, 1), BigInt64Array.of(2n, 3n, -1n, 0n)], /own:gather_nd/);
    await exact(single('GatherND', [v('float32', [3, 4, 5]), v('int64', [3, 2, 1])], [v('float32', [3, 2, 5])], { batchDims: 1 }), [randomFloat(60, 2), indices(6, 3, -4, 3)]);
  });
  it('ScatterND rows and elements, with mul', async () => {
    await exact(single('ScatterND', [v('float32', [4, 3]), v('int64', [2, 1]), v('float32', [2, 3])], [v('float32', [4, 3])]), [randomFloat(12, 1), BigInt64Array.of(3n, 1n), randomFloat(6, 2)], /own:scatter_nd/);
    await exact(single('ScatterND', [v('int32', [4, 3]), v('int64', [2, 2]), v('int32', [2])], [v('int32', [4, 3])], { reduction: 'mul' }), [Int32Array.from({ length: 12 }, (_, i) => i - 5), BigInt64Array.of(3n, 2n, 3n, 2n), Int32Array.of(3, -2)]);
  });
});

describe('Trilu, Expand, Tile, OneHot, TopK', () => {
  it('Trilu upper/lower with k on a batch of matrices; int8 zero is the zero point', async () => {
    for (const [upper, k] of [[1, 0], [1, -1], [0, 2], [0, -3]]) {
      await exact(single('Trilu', [v('float32', [2, 4, 5])], [v('float32', [2, 4, 5])], { upper, k }), [randomFloat(40, upper + 3 * k + 10)], /own:trilu/);
    }
    const q = quant(0.1, -7);
    const p = createPlan(single('Trilu', [{ dtype: 'int8', shape: [2, 2], quant: q }], [{ dtype: 'int8', shape: [2, 2], quant: q }]));
    expect(Array.from(p.runSync([Int8Array.of(1, 2, 3, 4)])[0] as Int8Array)).toEqual([1, 2, -7, 4]);
  });
  it('Expand and Tile', async () => {
    await exact(single('Expand', [v('float32', [3, 1])], [v('float32', [2, 3, 4])]), [randomFloat(3, 1)], /own:expand/);
    await exact(single('Tile', [v('int64', [2, 3])], [v('int64', [4, 9])]), [indices(6, 2, -9, 9)], /own:tile/);
  });
  it('OneHot with float and int64 indices, negative and out-of-range ones', async () => {
    await exact(single('OneHot', [v('int64', [2, 3]), v('float32', [2])], [v('float32', [2, 5, 3])], { axis: 1 }), [BigInt64Array.of(0n, 4n, -1n, -5n, 5n, 2n), Float32Array.of(-1, 3)], /own:one_hot/);
    await exact(single('OneHot', [v('float32', [4]), v('int32', [2])], [v('int32', [4, 6])], { axis: -1 }), [Float32Array.of(1.7, 5, -2, 9), Int32Array.of(0, 1)]);
  });
  it('TopK largest and smallest along an inner axis, ties by lower index', async () => {
    const x = randomFloat(60, 7, -3, 3).map((a) => Math.round(a));
    for (const largest of [0, 1]) {
      await exact(single('TopK', [v('float32', [3, 4, 5])], [v('float32', [3, 2, 5]), v('int64', [3, 2, 5])], { axis: 1, largest }), [x], /own:topk/);
    }
    const p = createPlan(single('TopK', [v('float32', [5])], [v('float32', [3]), v('int64', [3])]));
    const [vals, idx] = p.runSync([Float32Array.of(1, 4, 4, 2, 4)]);
    expect(Array.from(vals as Float32Array)).toEqual([4, 4, 4]);
    expect(Array.from(idx as BigInt64Array)).toEqual([1n, 2n, 4n]);
  });
});
