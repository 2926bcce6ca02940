/**
 * The native plan executor on plans a hostile model could lead to: the addon is called directly (the binding,
 * bypassing src/runtime/plan.ts's checks) to show that it validates on its own, and plans at the edges of the
 * size and arithmetic limits run without undefined behaviour (the sanitizer job runs this file under
 * AddressSanitizer + UndefinedBehaviorSanitizer).
 */
import { describe, expect, it } from 'vitest';

import { getBinding } from '../../../src/binding.js';
import { createPlan } from '../../../src/runtime/plan.js';
import { PlanBuilder, single } from './helpers.js';

const T40 = 2 ** 40;

function nativeError(plan: object): { code?: string; message: string } {
  try {
    new (getBinding().Plan)(plan).release();
  } catch (err) {
    return err as { code?: string; message: string };
  }
  throw new Error('expected the native plan to be refused');
}

describe('native plan validation, without the TypeScript checks in front', () => {
  it('bounds the product of the non-zero dims too: an empty tensor cannot carry overflowing strides', () => {
    const b = new PlanBuilder();
    const x = b.input('x', 'float32', [0, T40, T40]);
    const y = b.value('y', 'float32', [0, T40, T40]);
    b.node('Relu', [x], [y]).output(y);
    expect(nativeError(b.build())).toMatchObject({ code: 'ERR_OCTET_INVALID_PLAN', message: "value 0 'x': shape [0, 1099511627776, 1099511627776] has more than 2^40 elements" });
  });

  it('refuses an arena above 2^44 bytes before allocating anything', () => {
    // Five float32 values of 2^40 elements alive at once (the output shape is wrong too, but layout comes first):
    // 5 * 2^42 bytes.
    const b = new PlanBuilder();
    const xs = Array.from({ length: 4 }, (_, i) => b.input(`x${i}`, 'float32', [T40]));
    const y = b.value('y', 'float32', [T40]);
    b.node('Concat', xs, [y], { axis: 0 }).output(y);
    const err = nativeError(b.build());
    expect(err.code).toBe('ERR_OCTET_OUT_OF_MEMORY');
    expect(err.message).toMatch(/^the plan needs more than 2\^44 bytes of activation memory \(value \d+ '.*' does not fit\)$/);
  });

  it('memoryLimit refuses a plan whose arena is larger, with the sizes, before allocating', () => {
    const plan = single('Relu', [{ dtype: 'float32', shape: [1, 1024] }], [{ dtype: 'float32', shape: [1, 1024] }]);
    expect(() => createPlan({ ...plan, memoryLimit: 4096 })).toThrow('the plan needs 8320 bytes of activation memory, more than the limit of 4096');
    expect(nativeError({ ...plan, memoryLimit: 4096 })).toMatchObject({ code: 'ERR_OCTET_MEMORY_LIMIT' });
    // Two 4 KiB values (each padded for XNNPACK's over-reads and aligned to 64 bytes) that are alive together.
    createPlan({ ...plan, memoryLimit: 8320 }).release();
    expect(() => createPlan({ ...plan, memoryLimit: -1 })).toThrow(new RangeError('Expected integer between 0 and 9007199254740991 for plan.memoryLimit but received -1 of type number'));
  });
});

describe('arithmetic at the limits', () => {
  it('Slice with a step of 2^50 that takes one element (stride * step would overflow int64)', () => {
    const plan = single('Slice', [{ dtype: 'float32', shape: [4, 6] }], [{ dtype: 'float32', shape: [1, 2] }], { starts: [2, 1], ends: [3, 4], axes: [0, 1], steps: [2 ** 50, 2] });
    const x = Float32Array.from({ length: 24 }, (_, i) => i);
    expect(Array.from(createPlan(plan).runSync([x])[0] as Float32Array)).toEqual([13, 15]);
  });

  it('Resize nearest with scales of 1e-300: source coordinates far beyond int64 clamp to the last row and column', () => {
    const plan = single('Resize', [{ dtype: 'float32', shape: [1, 2, 3, 1] }], [{ dtype: 'float32', shape: [1, 4, 4, 1] }], {
      mode: 'nearest',
      coordinateTransformationMode: 'asymmetric',
      nearestMode: 'floor',
      scales: [1e-300, 1e-300],
    });
    const x = Float32Array.of(1, 2, 3, 4, 5, 6);
    const y = Array.from(createPlan(plan).runSync([x])[0] as Float32Array);
    // Output row/column 0 maps to source 0; every other one lands at 1e300 and clamps to the last row (1) or
    // column (2). (A plain cast of 1e300 to int64 is undefined; on x86 it gave INT64_MIN, clamped to 0.)
    expect(y).toEqual([1, 3, 3, 3, 4, 6, 6, 6, 4, 6, 6, 6, 4, 6, 6, 6]);
  });

  it('MatMulInteger whose int32 sum overflows wraps like the vendors (2^32 modular), without signed overflow', () => {
    const k = 40000;
    const plan = single('MatMulInteger', [{ dtype: 'uint8', shape: [1, k] }, { dtype: 'uint8', shape: [k, 1] }], [{ dtype: 'int32', shape: [1, 1] }]);
    const ones = new Uint8Array(k).fill(255);
    const y = createPlan(plan).runSync([ones, ones])[0] as Int32Array;
    // 40000 * 255 * 255 = 2601000000 = 2^32 - 1693967296.
    expect(y[0]).toBe(2601000000 - 2 ** 32);
  });
});
