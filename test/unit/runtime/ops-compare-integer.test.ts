/**
 * Comparisons, logic, Where, IsNaN/IsInf and integer arithmetic (compare.cc, integer_binary.cc) against the
 * float64 reference interpreter on random tensors with broadcasting; bad plans and run-time failures first.
 */
import { describe, expect, it } from 'vitest';

import { createPlan, type Plan, type PlanDType, type PlanTypedArray } from '../../../src/runtime/plan.js';
import { runReference } from '../../../src/runtime/reference/interpreter.js';
import { quant, randomFloat, randomInts, single } from './helpers.js';
import { rng } from '../../helpers/random.js';

const v = (dtype: PlanDType, shape: number[], data?: PlanTypedArray) => ({ dtype, shape, ...(data ? { data } : {}) });

function ints(dtype: 'int32' | 'int64', n: number, seed: number, lo: number, hi: number): Int32Array | BigInt64Array {
  const next = rng(seed);
  const a = Array.from({ length: n }, () => lo + Math.floor(next() * (hi - lo + 1)));
  return dtype === 'int64' ? BigInt64Array.from(a, (x) => BigInt(x)) : Int32Array.from(a);
}

function bools(n: number, seed: number): Uint8Array {
  const next = rng(seed);
  return Uint8Array.from({ length: n }, () => (next() < 0.5 ? 1 : 0));
}

/** Native result equals the reference exactly (async and sync runs). */
async function exact(plan: Plan, inputs: PlanTypedArray[], impl?: RegExp): Promise<void> {
  const p = createPlan(plan);
  const got = await p.run(inputs);
  const want = runReference(plan, inputs);
  got.forEach((g, i) => {
    expect(Array.from(g as ArrayLike<number | bigint>, Number)).toEqual(Array.from(want[i] as ArrayLike<number | bigint>, Number));
    expect(Array.from(p.runSync(inputs)[i] as ArrayLike<number | bigint>, Number)).toEqual(Array.from(g as ArrayLike<number | bigint>, Number));
  });
  if (impl) expect(p.implementations.join(',')).toMatch(impl);
  p.release();
}

describe('invalid plans', () => {
  it('a comparison must output bool', () => {
    expect(() => createPlan(single('Less', [v('float32', [3]), v('float32', [3])], [v('float32', [3])]))).toThrow(
      "node 'less0' (Less): expected bool for output 'y0' but it is float32",
    );
  });
  it('And takes bool inputs', () => {
    expect(() => createPlan(single('And', [v('int32', [3]), v('int32', [3])], [v('bool', [3])]))).toThrow("node 'and0' (And): expected bool for A 'x0' but it is int32");
  });
  it('float32 Mod requires fmod 1', () => {
    expect(() => createPlan(single('Mod', [v('float32', [3]), v('float32', [3])], [v('float32', [3])]))).toThrow("node 'mod0' (Mod): float32 Mod requires fmod 1");
  });
  it('Where needs a bool condition and broadcastable shapes', () => {
    expect(() => createPlan(single('Where', [v('float32', [2]), v('float32', [2]), v('float32', [2])], [v('float32', [2])]))).toThrow("node 'where0' (Where): expected bool for condition 'x0' but it is float32");
    expect(() => createPlan(single('Where', [v('bool', [2]), v('float32', [3]), v('float32', [2])], [v('float32', [3])]))).toThrow(/shapes \[2\] and \[3\] do not broadcast/);
  });
  it('integer division by zero rejects the run naming the node', async () => {
    const p = createPlan(single('Div', [v('int32', [2]), v('int32', [2])], [v('int32', [2])]));
    await expect(p.run([Int32Array.of(4, 5), Int32Array.of(2, 0)])).rejects.toMatchObject({
      code: 'ERR_OCTET_DIVISION_BY_ZERO',
      message: "node 'div0' (Div): integer division by zero",
    });
    p.release();
  });
});

describe('comparisons and logic (bool output, broadcasting)', () => {
  for (const op of ['Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual'] as const) {
    it(`${op} float32, int32 and int64`, async () => {
      const a = randomFloat(24, 1, -2, 2).map((x) => Math.round(x * 2) / 2);
      const b = randomFloat(4, 2, -2, 2).map((x) => Math.round(x * 2) / 2);
      await exact(single(op, [v('float32', [2, 3, 4]), v('float32', [4])], [v('bool', [2, 3, 4])]), [a, b], /own:compare/);
      for (const t of ['int32', 'int64'] as const) {
        await exact(single(op, [v(t, [3, 1]), v(t, [1, 5])], [v('bool', [3, 5])]), [ints(t, 3, 3, -3, 3), ints(t, 5, 4, -3, 3)]);
      }
    });
  }
  it('Less on int8 values with different quant compares real values', async () => {
    const plan = single('Less', [{ dtype: 'int8', shape: [64], quant: quant(0.1, 3) }, { dtype: 'int8', shape: [64], quant: quant(0.05, -7) }], [v('bool', [64])]);
    await exact(plan, [randomInts(64, 1, -40, 40), randomInts(64, 2, -80, 80)]);
  });
  for (const op of ['And', 'Or', 'Xor'] as const) {
    it(op, () => exact(single(op, [v('bool', [4, 6]), v('bool', [6])], [v('bool', [4, 6])]), [bools(24, 1), bools(6, 2)]));
  }
  it('Not, IsNaN, IsInf (detectNegative 0)', async () => {
    await exact(single('Not', [v('bool', [10])], [v('bool', [10])]), [bools(10, 3)], /own:not/);
    const x = Float32Array.of(1, Number.NaN, Infinity, -Infinity, 0, -3);
    await exact(single('IsNaN', [v('float32', [6])], [v('bool', [6])]), [x]);
    const p = createPlan(single('IsInf', [v('float32', [6])], [v('bool', [6])], { detectNegative: 0 }));
    expect(Array.from(p.runSync([x])[0] as Uint8Array)).toEqual([0, 0, 1, 0, 0, 0]);
    await exact(single('IsInf', [v('float32', [6])], [v('bool', [6])], { detectNegative: 0 }), [x]);
  });
  it('Where with three-way broadcasting, float32 and int64', async () => {
    await exact(single('Where', [v('bool', [3, 1]), v('float32', [1, 4]), v('float32', [3, 4])], [v('float32', [3, 4])]), [bools(3, 1), randomFloat(4, 2), randomFloat(12, 3)], /own:where/);
    await exact(single('Where', [v('bool', [5]), v('int64', [5]), v('int64', [])], [v('int64', [5])]), [bools(5, 4), ints('int64', 5, 5, -9, 9), BigInt64Array.of(-1n)]);
  });
});

describe('integer arithmetic', () => {
  for (const t of ['int32', 'int64'] as const) {
    for (const op of ['Add', 'Sub', 'Mul', 'Div', 'Max', 'Min', 'Pow'] as const) {
      it(`${op} ${t}`, async () => {
        const b = op === 'Pow' ? ints(t, 4, 2, 0, 3) : ints(t, 4, 2, 1, 9);
        await exact(single(op, [v(t, [3, 4]), v(t, [4])], [v(t, [3, 4])]), [ints(t, 12, 1, -20, 20), b], new RegExp(`own:binary_${t}`));
      });
    }
  }
  it('Div truncates toward zero', () => {
    const p = createPlan(single('Div', [v('int32', [4]), v('int32', [4])], [v('int32', [4])]));
    expect(Array.from(p.runSync([Int32Array.of(7, -7, 7, -7), Int32Array.of(2, 2, -2, -2)])[0] as Int32Array)).toEqual([3, -3, -3, 3]);
  });
  it('Mod: fmod 0 takes the divisor sign, fmod 1 the dividend sign; float32 fmod', async () => {
    const a = Int32Array.of(-4, 7, 5, 4, -7, 8), b = Int32Array.of(2, -3, 8, -2, 3, 5);
    const p = createPlan(single('Mod', [v('int32', [6]), v('int32', [6])], [v('int32', [6])]));
    expect(Array.from(p.runSync([a, b])[0] as Int32Array)).toEqual([0, -2, 5, 0, 2, 3]);
    const q = createPlan(single('Mod', [v('int32', [6]), v('int32', [6])], [v('int32', [6])], { fmod: 1 }));
    expect(Array.from(q.runSync([a, b])[0] as Int32Array)).toEqual([0, 1, 5, 0, -1, 3]);
    for (const fmod of [0, 1]) await exact(single('Mod', [v('int64', [2, 5]), v('int64', [5])], [v('int64', [2, 5])], { fmod }), [ints('int64', 10, 5, -50, 50), ints('int64', 5, 6, 1, 9)]);
    await exact(single('Mod', [v('float32', [8]), v('float32', [8])], [v('float32', [8])], { fmod: 1 }), [randomFloat(8, 7, -5, 5), randomFloat(8, 8, 0.5, 2)], /own:fmod_f32/);
  });
  it('BitShift on uint8 left and right, shifts of 8 or more give 0', async () => {
    const a = Uint8Array.of(1, 255, 16, 3, 128, 7), b = Uint8Array.of(1, 1, 3, 7, 8, 0);
    const left = createPlan(single('BitShift', [v('uint8', [6]), v('uint8', [6])], [v('uint8', [6])], { direction: 'LEFT' }));
    expect(Array.from(left.runSync([a, b])[0] as Uint8Array)).toEqual([2, 254, 128, 128, 0, 7]);
    await exact(single('BitShift', [v('uint8', [6]), v('uint8', [6])], [v('uint8', [6])], { direction: 'RIGHT' }), [a, b]);
    await exact(single('BitShift', [v('uint8', [6]), v('uint8', [6])], [v('uint8', [6])], { direction: 'LEFT' }), [a, b]);
    expect(() => createPlan(single('BitShift', [v('uint8', [6]), v('uint8', [6])], [v('uint8', [6])], { direction: 'left' }))).toThrow("node 'bitshift0' (BitShift): direction must be 'LEFT' or 'RIGHT'");
  });
  it('PRelu on int32 is refused at creation', () => {
    expect(() => createPlan(single('PRelu', [v('int32', [3]), v('int32', [3])], [v('int32', [3])]))).toThrow("node 'prelu0' (PRelu): PRelu is not supported on int32");
  });
  it('int8 / uint8 without quant are plain integers (wrap around)', async () => {
    const p = createPlan(single('Add', [v('uint8', [3]), v('uint8', [3])], [v('uint8', [3])]));
    expect(Array.from(p.runSync([Uint8Array.of(250, 1, 7), Uint8Array.of(10, 2, 3)])[0] as Uint8Array)).toEqual([4, 3, 10]);
    await exact(single('Max', [v('int8', [16]), v('int8', [16])], [v('int8', [16])]), [randomInts(16, 1, -100, 100), randomInts(16, 2, -100, 100)], /own:binary_int8/);
  });
});
