import { describe, expect, it } from 'vitest';

import { maxAbsError, mse, sqnr } from '../../../src/quantize/index.js';

describe('metrics: invalid arguments', () => {
  it('rejects non-float arrays and length mismatches', () => {
    expect(() => sqnr([1] as unknown as Float32Array, Float32Array.of(1))).toThrow(
      new TypeError('Expected Float32Array or Float64Array for ref but received Array of length 1'),
    );
    expect(() => mse(Float32Array.of(1), Int8Array.of(1) as never)).toThrow(
      new TypeError('Expected Float32Array or Float64Array for test but received Int8Array of length 1'),
    );
    expect(() => maxAbsError(Float32Array.of(1, 2), Float32Array.of(1))).toThrow(
      new RangeError('Expected array of length ref.length = 2 for test but received Float32Array of length 1'),
    );
  });
});

describe('sqnr, mse, maxAbsError', () => {
  it('sqnr is 10·log10(Σref² / Σ(ref − test)²)', () => {
    const ref = Float64Array.of(1, -2, 3, 4);
    const test = Float64Array.of(1.1, -2, 2.9, 4);
    expect(sqnr(ref, test)).toBeCloseTo(10 * Math.log10(30 / 0.02), 9);
    expect(mse(ref, test)).toBeCloseTo(0.02 / 4, 12);
    expect(maxAbsError(ref, test)).toBeCloseTo(0.1, 12);
    // 1 % relative noise → 40 dB.
    expect(sqnr(Float32Array.of(100), Float32Array.of(99))).toBeCloseTo(40, 9);
  });

  it('documented edge cases: identical → +Infinity, no signal → −Infinity, NaN → NaN, empty → +Infinity / 0', () => {
    expect(sqnr(Float32Array.of(1, 2), Float32Array.of(1, 2))).toBe(Number.POSITIVE_INFINITY);
    expect(sqnr(new Float32Array(3), new Float32Array(3))).toBe(Number.POSITIVE_INFINITY);
    expect(sqnr(new Float32Array(2), Float32Array.of(0, 1))).toBe(Number.NEGATIVE_INFINITY);
    expect(sqnr(Float32Array.of(1, Number.NaN), Float32Array.of(1, 1))).toBeNaN();
    expect(maxAbsError(Float32Array.of(Number.NaN, 1), Float32Array.of(1, 1))).toBeNaN();
    expect(sqnr(new Float32Array(0), new Float32Array(0))).toBe(Number.POSITIVE_INFINITY);
    expect(mse(new Float32Array(0), new Float32Array(0))).toBe(0);
    expect(maxAbsError(new Float32Array(0), new Float32Array(0))).toBe(0);
  });
});
