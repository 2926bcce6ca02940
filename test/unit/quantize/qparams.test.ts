import { describe, expect, it } from 'vitest';

import {
  chooseQParams,
  chooseQParamsPerAxis,
  MIN_SCALE,
  perAxis,
  perTensor,
  qRange,
  QuantSpec,
  type ChooseQParamsOptions,
  type QuantDType,
} from '../../../src/quantize/index.js';
import { rng } from '../../helpers/random.js';

describe('chooseQParams: invalid arguments', () => {
  it('rejects non-finite or inverted ranges, naming the argument', () => {
    expect(() => chooseQParams('0' as unknown as number, 1)).toThrow(new TypeError("Expected finite number for min but received '0' of type string"));
    expect(() => chooseQParams(Number.NaN, 1)).toThrow(new RangeError('Expected finite number for min but received NaN of type number'));
    expect(() => chooseQParams(0, Number.POSITIVE_INFINITY)).toThrow(new RangeError('Expected finite number for max but received Infinity of type number'));
    expect(() => chooseQParams(2, 1)).toThrow(new RangeError('Expected number >= min (2) for max but received 1 of type number'));
  });

  it('rejects unknown dtypes and non-boolean flags', () => {
    expect(() => chooseQParams(0, 1, { dtype: 'int4' as QuantDType })).toThrow(
      new RangeError("Expected one of 'int8', 'uint8', 'int16', 'uint16', 'int32' for dtype but received 'int4' of type string"),
    );
    expect(() => chooseQParams(0, 1, { symmetric: 'yes' as unknown as boolean })).toThrow(
      new TypeError("Expected boolean for symmetric but received 'yes' of type string"),
    );
    expect(() => chooseQParams(0, 1, { narrow: 1 as unknown as boolean })).toThrow(new TypeError('Expected boolean for narrow but received 1 of type number'));
    expect(() => chooseQParams(0, 1, { dtype: 'int32', reduceRange: true })).toThrow(
      new RangeError('Expected false (int32 has no reduced range) for reduceRange but received true of type boolean'),
    );
  });

  it('per axis: rejects mismatched or bad arrays', () => {
    expect(() => chooseQParamsPerAxis([0] as unknown as Float32Array, Float32Array.of(1))).toThrow(
      new TypeError('Expected Float32Array for mins but received Array of length 1'),
    );
    expect(() => chooseQParamsPerAxis(Float32Array.of(0, 0), Float32Array.of(1))).toThrow(
      new RangeError('Expected Float32Array of length mins.length = 2 for maxs but received Float32Array of length 1'),
    );
    expect(() => chooseQParamsPerAxis(Float32Array.of(0, 0), Float32Array.of(1, Number.NaN))).toThrow(
      new RangeError('Expected finite number for maxs[1] but received NaN of type number'),
    );
    expect(() => chooseQParamsPerAxis(Float32Array.of(0, 3), Float32Array.of(1, 2))).toThrow(
      new RangeError('Expected number >= mins[1] (3) for maxs[1] but received 2 of type number'),
    );
  });
});

describe('qRange', () => {
  it('gives the code ranges of each type, narrow and reduced', () => {
    expect(qRange('int8')).toEqual({ qmin: -128, qmax: 127 });
    expect(qRange('int8', { narrow: true })).toEqual({ qmin: -127, qmax: 127 });
    expect(qRange('int8', { reduceRange: true })).toEqual({ qmin: -64, qmax: 63 });
    expect(qRange('int8', { narrow: true, reduceRange: true })).toEqual({ qmin: -63, qmax: 63 });
    expect(qRange('uint8')).toEqual({ qmin: 0, qmax: 255 });
    expect(qRange('uint8', { narrow: true })).toEqual({ qmin: 1, qmax: 255 });
    expect(qRange('uint8', { reduceRange: true })).toEqual({ qmin: 0, qmax: 127 });
    expect(qRange('int16')).toEqual({ qmin: -32768, qmax: 32767 });
    expect(qRange('int16', { narrow: true })).toEqual({ qmin: -32767, qmax: 32767 });
    expect(qRange('uint16')).toEqual({ qmin: 0, qmax: 65535 });
    expect(qRange('uint16', { narrow: true })).toEqual({ qmin: 1, qmax: 65535 });
    expect(() => qRange('uint16', { reduceRange: true })).toThrow(new RangeError('Expected false (uint16 has no reduced range) for reduceRange but received true of type boolean'));
    expect(qRange('int32')).toEqual({ qmin: -2147483648, qmax: 2147483647 });
    expect(qRange('int32', { narrow: true })).toEqual({ qmin: -2147483647, qmax: 2147483647 });
  });
});

/** Quantize one real value the way quantizeAffine does (float32 division, ties to even, saturation). */
function q1(r: number, scale: number, zp: number, qmin: number, qmax: number): number {
  const v = Math.fround(r / scale);
  const rounded = Math.abs(v % 1) === 0.5 ? 2 * Math.round(v / 2) : Math.round(v);
  return Math.min(qmax, Math.max(qmin, rounded + zp));
}

const CASES: ChooseQParamsOptions[] = [];
for (const dtype of ['int8', 'uint8', 'int16', 'uint16'] as const)
  for (const symmetric of [false, true])
    for (const narrow of [false, true])
      for (const reduceRange of dtype.endsWith('16') ? [false] : [false, true]) CASES.push({ dtype, symmetric, narrow, reduceRange });

describe('chooseQParams: properties', () => {
  const next = rng(7);
  const ranges: [number, number][] = [
    [-1, 1],
    [0, 6],
    [-3, 0],
    [0.5, 2], // positive only: widened to include 0
    [-7.25, -0.01],
    [-1e-3, 5e4],
    [-0.3, 0.9],
  ];
  for (let i = 0; i < 20; i++) {
    const a = (next() - 0.7) * 10 ** (next() * 6 - 3);
    const b = a + next() * 10 ** (next() * 6 - 3);
    ranges.push([a, b]);
  }

  for (const o of CASES) {
    it(`${o.dtype} symmetric=${o.symmetric} narrow=${o.narrow} reduceRange=${o.reduceRange}: zero exact, range covered, float32 scale`, () => {
      const { qmin, qmax } = qRange(o.dtype!, o);
      for (const [min, max] of ranges) {
        const { scale, zeroPoint } = chooseQParams(min, max, o);
        expect(scale).toBeGreaterThan(0);
        expect(Math.fround(scale)).toBe(scale);
        expect(Number.isInteger(zeroPoint)).toBe(true);
        expect(zeroPoint).toBeGreaterThanOrEqual(qmin);
        expect(zeroPoint).toBeLessThanOrEqual(qmax);
        // Zero is exactly a code.
        expect((q1(0, scale, zeroPoint, qmin, qmax) - zeroPoint) * scale).toBe(0);
        // Both ends (and 0-widened ends) quantize within half a step.
        for (const r of [Math.min(min, 0), Math.max(max, 0), min, max]) {
          const back = (q1(r, scale, zeroPoint, qmin, qmax) - zeroPoint) * scale;
          expect(Math.abs(back - r)).toBeLessThanOrEqual(scale / 2 + Math.abs(r) * 1e-6);
        }
        if (o.symmetric) {
          const middle = { int8: 0, int16: 0, uint8: o.reduceRange ? 64 : 128, uint16: 32768 }[o.dtype as 'int8'];
          expect(zeroPoint).toBe(middle);
        }
      }
    });
  }

  it('symmetric int8 maps ±max(|min|, |max|) onto ±127 exactly (h = 127, not 127.5)', () => {
    const { scale, zeroPoint } = chooseQParams(-0.5, 2.54, { dtype: 'int8', symmetric: true });
    expect(zeroPoint).toBe(0);
    expect(scale).toBe(Math.fround(2.54 / 127) >= 2.54 / 127 ? Math.fround(2.54 / 127) : scale);
    expect(scale).toBeGreaterThanOrEqual(2.54 / 127);
    expect(q1(2.54, scale, 0, -128, 127)).toBe(127);
    expect(q1(-2.54, scale, 0, -128, 127)).toBe(-127);
    const narrow = chooseQParams(-2.54, 1, { dtype: 'int8', symmetric: true, narrow: true });
    expect(narrow.scale).toBe(scale);
  });

  it('asymmetric: the textbook formulas', () => {
    // [-1, 3] on uint8: S = 4/255, Z = 0 − round(−1/S) = round(63.75) = 64.
    const u = chooseQParams(-1, 3, { dtype: 'uint8' });
    expect(u.scale).toBe(Math.fround(4 / 255) >= 4 / 255 ? Math.fround(4 / 255) : u.scale);
    expect(u.zeroPoint).toBe(64);
    const s = chooseQParams(-1, 3, { dtype: 'int8' });
    expect(s.scale).toBe(u.scale);
    expect(s.zeroPoint).toBe(64 - 128);
    // Non-negative data (after Relu): Z = qmin.
    expect(chooseQParams(0, 6, { dtype: 'uint8' }).zeroPoint).toBe(0);
    expect(chooseQParams(0, 6, { dtype: 'int8' }).zeroPoint).toBe(-128);
    // Non-positive data: Z = qmax.
    expect(chooseQParams(-6, -1, { dtype: 'uint8' }).zeroPoint).toBe(255);
    // reduce_range halves the resolution.
    const r = chooseQParams(-1, 3, { dtype: 'uint8', reduceRange: true });
    expect(r.scale).toBeCloseTo(4 / 127, 7);
  });

  it('degenerate ranges: all-zero gets scale 1, a constant gets a scale covering it, tiny ranges stay normal float32', () => {
    expect(chooseQParams(0, 0)).toEqual({ scale: 1, zeroPoint: -128 });
    expect(chooseQParams(0, 0, { dtype: 'uint8' })).toEqual({ scale: 1, zeroPoint: 0 });
    expect(chooseQParams(0, 0, { symmetric: true })).toEqual({ scale: 1, zeroPoint: 0 });
    expect(chooseQParams(0, 0, { dtype: 'uint8', symmetric: true })).toEqual({ scale: 1, zeroPoint: 128 });
    const c = chooseQParams(3.5, 3.5, { dtype: 'uint8' });
    expect(c.zeroPoint).toBe(0);
    expect(Math.abs((q1(3.5, c.scale, 0, 0, 255) - 0) * c.scale - 3.5)).toBeLessThanOrEqual(c.scale / 2);
    const neg = chooseQParams(-2, -2, { dtype: 'int8', symmetric: true });
    expect(q1(-2, neg.scale, 0, -128, 127)).toBe(-127);
    const tiny = chooseQParams(-1e-42, 1e-42);
    expect(tiny.scale).toBe(MIN_SCALE);
    expect(chooseQParams(-1e-42, 1e-42, { symmetric: true }).scale).toBe(MIN_SCALE);
  });

  it('per axis equals per tensor slice by slice', () => {
    const mins = Float32Array.of(-1, 0, -0.25, 0, 2);
    const maxs = Float32Array.of(1, 6, 0.75, 0, 3);
    for (const o of CASES) {
      const p = chooseQParamsPerAxis(mins, maxs, o);
      expect(p.scale).toBeInstanceOf(Float32Array);
      expect(p.zeroPoint).toBeInstanceOf(Int32Array);
      for (let i = 0; i < mins.length; i++) {
        expect({ scale: p.scale[i], zeroPoint: p.zeroPoint[i] }).toEqual(chooseQParams(mins[i], maxs[i], o));
      }
    }
  });
});

describe('granularity', () => {
  it('perTensor() and perAxis(axis) are small frozen value types', () => {
    expect(perTensor()).toEqual({ kind: 'per-tensor' });
    expect(perAxis(1)).toEqual({ kind: 'per-axis', axis: 1 });
    expect(perAxis(-1)).toEqual({ kind: 'per-axis', axis: -1 });
    expect(Object.isFrozen(perAxis(0))).toBe(true);
    expect(() => perAxis(1.5)).toThrow(new RangeError('Expected integer for axis but received 1.5 of type number'));
    expect(() => perAxis('0' as unknown as number)).toThrow(new TypeError("Expected integer for axis but received '0' of type string"));
  });
});

describe('QuantSpec: invalid arguments', () => {
  it('catches misspelled option names', () => {
    expect(() => new QuantSpec({ granularty: perTensor() } as never)).toThrow(
      new TypeError("Unknown option 'granularty' in QuantSpec options; did you mean 'granularity'?"),
    );
    expect(() => new QuantSpec({ reduce_range: true } as never)).toThrow(
      new TypeError("Unknown option 'reduce_range' in QuantSpec options; did you mean 'reduceRange'?"),
    );
  });

  it('rejects bad types and inconsistent combinations', () => {
    expect(() => new QuantSpec({ dtype: 'float8' as QuantDType })).toThrow(
      new RangeError("Expected one of 'int8', 'uint8', 'int16', 'uint16', 'int32' for dtype but received 'float8' of type string"),
    );
    expect(() => new QuantSpec({ dtype: 'int32' })).toThrow(
      new RangeError('Expected true (int32 is for biases, whose zero point is 0) for symmetric but received undefined'),
    );
    expect(() => new QuantSpec({ dtype: 'int32', symmetric: true, reduceRange: true })).toThrow(
      new RangeError('Expected false (int32 has no reduced range) for reduceRange but received true of type boolean'),
    );
    expect(() => new QuantSpec({ granularity: { kind: 'per-channel' } as never })).toThrow(
      new RangeError("Expected 'per-tensor' or 'per-axis' for granularity.kind but received 'per-channel' of type string"),
    );
    expect(() => new QuantSpec({ granularity: 'per-tensor' as never })).toThrow(
      new TypeError("Expected perTensor() or perAxis(axis) for granularity but received 'per-tensor' of type string"),
    );
    expect(() => new QuantSpec({ granularity: { kind: 'per-axis', axis: 0.5 } as never })).toThrow(
      new RangeError('Expected integer for granularity.axis but received 0.5 of type number'),
    );
  });

  it('checks a per-axis axis against the rank when applied', () => {
    const w = QuantSpec.weights(0);
    expect(w.axisFor(4)).toBe(0);
    expect(QuantSpec.weights(-1).axisFor(2)).toBe(1);
    expect(() => QuantSpec.weights(4).axisFor(4)).toThrow(
      new RangeError('Expected integer between -4 and 3 for granularity.axis but received 4 of type number'),
    );
    expect(() => QuantSpec.weights(-3).axisFor(2)).toThrow(
      new RangeError('Expected integer between -2 and 1 for granularity.axis but received -3 of type number'),
    );
    expect(QuantSpec.activations().axisFor(4)).toBe(-1);
  });
});

describe('QuantSpec', () => {
  it('has the DESIGN.md presets and chooses parameters with its own settings', () => {
    const w = QuantSpec.weights(0);
    expect([w.dtype, w.symmetric, w.narrow, w.qmin, w.qmax]).toEqual(['int8', true, true, -127, 127]);
    expect(w.granularity).toEqual(perAxis(0));
    expect(String(w)).toBe('QuantSpec(int8, symmetric, narrow, perAxis(0), [-127, 127])');
    const a = QuantSpec.activations('uint8');
    expect(String(a)).toBe('QuantSpec(uint8, asymmetric, perTensor(), [0, 255])');
    expect(a.chooseQParams(-1, 3)).toEqual(chooseQParams(-1, 3, { dtype: 'uint8' }));
    const p = w.chooseQParamsPerAxis(Float32Array.of(-1, -2), Float32Array.of(0.5, 1));
    expect(Array.from(p.zeroPoint)).toEqual([0, 0]);
    expect(p.scale[1]).toBe(chooseQParams(-2, 1, { symmetric: true, narrow: true }).scale);
    expect(Object.isFrozen(w)).toBe(true);
    const bias = new QuantSpec({ dtype: 'int32', symmetric: true });
    expect([bias.qmin, bias.qmax]).toEqual([-2147483648, 2147483647]);
    const su8 = new QuantSpec({ dtype: 'uint8', symmetric: true });
    expect(su8.chooseQParams(-1, 1).zeroPoint).toBe(128);
  });
});
