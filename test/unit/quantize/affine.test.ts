import { describe, expect, it } from 'vitest';

import { roundHalfEven } from '../../../src/kernels/reference.js';
import {
  chooseQParams,
  chooseQParamsPerAxis,
  dequantizeAffine,
  maxAbsError,
  quantizeAffine,
  quantizeBias,
  QuantSpec,
  type QuantDType,
} from '../../../src/quantize/index.js';
import { rng } from '../../helpers/random.js';

function randomFloats(n: number, seed: number, lo: number, hi: number): Float32Array {
  const next = rng(seed);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = lo + (hi - lo) * next();
  return x;
}

describe('quantizeAffine / dequantizeAffine: invalid arguments', () => {
  const x = new Float32Array(24);
  it('rejects bad data, scales and zero points', () => {
    expect(() => quantizeAffine([1, 2, 3] as unknown as Float32Array, 1, 0, 'int8')).toThrow(
      new TypeError('Expected Float32Array for x but received Array of length 3'),
    );
    expect(() => quantizeAffine(x, 0, 0, 'int8')).toThrow(new RangeError('Expected positive finite number for scale but received 0 of type number'));
    expect(() => quantizeAffine(x, 1e-50, 0, 'int8')).toThrow(new RangeError('Expected positive finite number for scale but received 1e-50 of type number'));
    expect(() => quantizeAffine(x, '1' as unknown as number, 0, 'int8')).toThrow(
      new TypeError("Expected positive finite number or Float32Array for scale but received '1' of type string"),
    );
    expect(() => quantizeAffine(x, 1, 128, 'int8')).toThrow(new RangeError('Expected integer between -128 and 127 for zeroPoint but received 128 of type number'));
    expect(() => quantizeAffine(x, 1, -1, 'uint8')).toThrow(new RangeError('Expected integer between 0 and 255 for zeroPoint but received -1 of type number'));
    expect(() => quantizeAffine(x, 1, 0.5, 'int8')).toThrow(new RangeError('Expected integer between -128 and 127 for zeroPoint but received 0.5 of type number'));
    expect(() => quantizeAffine(x, 1, 0, 'int4' as QuantDType)).toThrow(
      new RangeError("Expected one of 'int8', 'uint8', 'int16', 'uint16', 'int32' for dtype but received 'int4' of type string"),
    );
    expect(() => quantizeAffine(x, 1, 70000, 'uint16')).toThrow(new RangeError('Expected integer between 0 and 65535 for zeroPoint but received 70000 of type number'));
    expect(() => dequantizeAffine(new Uint32Array(3) as never, 1, 0)).toThrow(
      new TypeError('Expected Int8Array, Uint8Array, Int16Array, Uint16Array or Int32Array for q but received Uint32Array of length 3'),
    );
  });

  it('per axis: needs a shape matching the data and one scale per index along the axis', () => {
    const s = Float32Array.of(1, 1, 1);
    expect(() => quantizeAffine(x, s, undefined, 'int8')).toThrow(
      new TypeError('Expected array of dimensions (needed for per-axis scales) for options.shape but received undefined'),
    );
    expect(() => quantizeAffine(x, s, undefined, 'int8', { shape: [2, 3] })).toThrow(
      new RangeError('Expected dimensions whose product is the data length 24 for options.shape but received Array of length 2'),
    );
    expect(() => quantizeAffine(x, s, undefined, 'int8', { shape: [2, 4, 3], axis: 3 })).toThrow(
      new RangeError('Expected integer between -3 and 2 for options.axis but received 3 of type number'),
    );
    expect(() => quantizeAffine(x, s, undefined, 'int8', { shape: [2, 4, 3] })).toThrow(
      new RangeError('Expected Float32Array of length shape[1] = 4 for scale but received Float32Array of length 3'),
    );
    expect(() => quantizeAffine(x, s, [0, 0], 'int8', { shape: [2, 4, 3], axis: 2 })).toThrow(
      new RangeError('Expected array of length shape[2] = 3 for zeroPoint but received Array of length 2'),
    );
    expect(() => quantizeAffine(x, Float32Array.of(1, 0, 1), undefined, 'int8', { shape: [2, 4, 3], axis: -1 })).toThrow(
      new RangeError('Expected positive finite number for scale[1] but received 0 of type number'),
    );
    expect(() => quantizeAffine(x, s, Int32Array.of(0, 300, 0), 'uint8', { shape: [2, 4, 3], axis: 2 })).toThrow(
      new RangeError('Expected integer between 0 and 255 for zeroPoint[1] but received 300 of type number'),
    );
  });
});

describe('quantizeAffine: ONNX QuantizeLinear semantics', () => {
  it('rounds ties to even, like roundHalfEven', () => {
    const x = Float32Array.of(-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5, 0.49999997, -0.49999997);
    expect(Array.from(quantizeAffine(x, 1, 0, 'int8'))).toEqual([-2, -2, 0, 0, 2, 2, 4, 0, 0]);
    expect(Array.from(quantizeAffine(x, 1, 0, 'int8'))).toEqual(Array.from(x, (v) => roundHalfEven(v) + 0));
    // Ties in x / scale after float32 division: 0.75 / 0.5 = 1.5 → 2, 1.25 / 0.5 = 2.5 → 2.
    expect(Array.from(quantizeAffine(Float32Array.of(0.75, 1.25), 0.5, 10, 'uint8'))).toEqual([12, 12]);
  });

  it('saturates outside the type, and maps ±Infinity to the ends and NaN to the zero point', () => {
    const x = Float32Array.of(-1000, 1000, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY, Number.NaN, 3e38);
    expect(Array.from(quantizeAffine(x, 0.1, 5, 'int8'))).toEqual([-128, 127, -128, 127, 5, 127]);
    expect(Array.from(quantizeAffine(x, 0.1, 5, 'uint8'))).toEqual([0, 255, 0, 255, 5, 255]);
    expect(Array.from(quantizeAffine(x, 1e-30, 0, 'int32'))).toEqual([-2147483648, 2147483647, -2147483648, 2147483647, 0, 2147483647]);
    expect(quantizeAffine(x, 1, 0, 'uint8')).toBeInstanceOf(Uint8Array);
    expect(quantizeAffine(x, 1, 0, 'int32')).toBeInstanceOf(Int32Array);
  });

  it('round trip: error ≤ scale/2 inside the range for every type and scheme', () => {
    const x = randomFloats(10_000, 3, -2.7, 5.3);
    for (const dtype of ['int8', 'uint8', 'int16', 'uint16'] as const) {
      for (const symmetric of [false, true]) {
        const { scale, zeroPoint } = chooseQParams(-2.7, 5.3, { dtype, symmetric });
        const q = quantizeAffine(x, scale, zeroPoint, dtype);
        const back = dequantizeAffine(q, scale, zeroPoint);
        expect(maxAbsError(x, back)).toBeLessThanOrEqual(scale / 2 + 1e-6);
      }
    }
    const { scale } = chooseQParams(-2.7, 5.3, { dtype: 'int32', symmetric: true });
    const q32 = quantizeAffine(x, scale, 0, 'int32');
    expect(maxAbsError(x, dequantizeAffine(q32, scale, 0))).toBeLessThanOrEqual(1e-6);
  });

  it('dequantizes (q − Z)·S in float32', () => {
    const d = dequantizeAffine(Int8Array.of(-128, 0, 3, 127), 0.1, 3);
    expect(Array.from(d)).toEqual([Math.fround(-131 * Math.fround(0.1)), Math.fround(-3 * Math.fround(0.1)), 0, Math.fround(124 * Math.fround(0.1))]);
    expect(Array.from(dequantizeAffine(Uint8Array.of(0, 128, 255), 2, 128))).toEqual([-256, 0, 254]);
    expect(Array.from(dequantizeAffine(Int32Array.of(-5, 7), 0.5, undefined))).toEqual([-2.5, 3.5]);
  });
});

describe('quantizeAffine: per axis on 4-D tensors', () => {
  const shape = [4, 3, 2, 5]; // e.g. a Conv weight [M, C, kH, kW]
  const n = 4 * 3 * 2 * 5;

  function check(axis: number): void {
    const channels = shape[axis];
    const x = randomFloats(n, 11 + axis, -1, 1);
    // Give each slice a very different magnitude so that a wrong axis shows.
    const strides = [30, 10, 5, 1];
    for (let i = 0; i < n; i++) x[i] *= 10 ** Math.floor(i / strides[axis]) % channels;
    const mins = new Float32Array(channels).fill(Infinity);
    const maxs = new Float32Array(channels).fill(-Infinity);
    for (let i = 0; i < n; i++) {
      const c = Math.floor(i / strides[axis]) % channels;
      mins[c] = Math.min(mins[c], x[i]);
      maxs[c] = Math.max(maxs[c], x[i]);
    }
    const spec = QuantSpec.weights(axis);
    const { scale, zeroPoint } = spec.chooseQParamsPerAxis(mins, maxs);
    const q = quantizeAffine(x, scale, zeroPoint, 'int8', { axis, shape });
    const back = dequantizeAffine(q, scale, zeroPoint, { axis, shape });
    for (let i = 0; i < n; i++) {
      const c = Math.floor(i / strides[axis]) % channels;
      // Same as per-tensor quantization of the element with its own slice's parameters.
      expect(q[i]).toBe(quantizeAffine(Float32Array.of(x[i]), scale[c], zeroPoint[c], 'int8')[0]);
      expect(Math.abs(back[i] - x[i])).toBeLessThanOrEqual(scale[c] / 2 + Math.abs(x[i]) * 1e-6);
      expect(Math.abs(q[i])).toBeLessThanOrEqual(127);
    }
  }

  it('axis 0 (output channels of a Conv weight)', () => check(0));
  it('axis 1 (the ONNX default; MatMul weights per column)', () => check(1));
  it('the last axis, written as -1', () => {
    const x = randomFloats(n, 5, -1, 1);
    const s = chooseQParamsPerAxis(new Float32Array(5).fill(-1), new Float32Array(5).fill(1), { symmetric: true });
    expect(quantizeAffine(x, s.scale, s.zeroPoint, 'int8', { shape, axis: -1 })).toEqual(quantizeAffine(x, s.scale, s.zeroPoint, 'int8', { shape, axis: 3 }));
  });
});

describe('quantizeBias', () => {
  it('rejects bad arguments', () => {
    expect(() => quantizeBias(Float32Array.of(1, 2), 0, 1)).toThrow(new RangeError('Expected positive finite number for inputScale but received 0 of type number'));
    expect(() => quantizeBias(Float32Array.of(1, 2), 1, Float32Array.of(1, 1, 1))).toThrow(
      new RangeError('Expected number or Float32Array of length 1 or bias.length = 2 for weightScales but received Float32Array of length 3'),
    );
    expect(() => quantizeBias(Float32Array.of(1, 2), 1, Float32Array.of(1, -1))).toThrow(
      new RangeError('Expected positive finite number for weightScales[1] but received -1 of type number'),
    );
    expect(() => quantizeBias(Float32Array.of(1), 1e-30, 1e-20)).toThrow(
      new RangeError('Bias scale inputScale·weightScales = 1e-30·1e-20 underflows float32 (below 2^-126)'),
    );
  });

  it('uses S_bias = S_x·S_w[n] per channel and zero point 0', () => {
    const bias = Float32Array.of(0.5, -0.25, 1, 0);
    const sx = 0.02;
    const sw = Float32Array.of(0.01, 0.005, 0.1, 0.3);
    const b = quantizeBias(bias, sx, sw);
    expect(b.zeroPoint).toBe(0);
    expect(b.clipped).toBe(0);
    for (let n = 0; n < 4; n++) {
      expect(b.scale[n]).toBe(Math.fround(Math.fround(sx) * sw[n]));
      expect(b.data[n]).toBe(roundHalfEven(bias[n] / b.scale[n]));
      expect(Math.abs(b.data[n] * b.scale[n] - bias[n])).toBeLessThanOrEqual(b.scale[n] / 2);
    }
    expect(Array.from(b.data)).toEqual([2500, -2500, 500, 0]);
    const perTensor = quantizeBias(bias, sx, 0.01);
    expect(perTensor.scale.length).toBe(1);
    expect(Array.from(perTensor.data)).toEqual([2500, -1250, 5000, 0]);
  });

  it('saturates at int32 and counts the clipped values', () => {
    const b = quantizeBias(Float32Array.of(1e6, -1e6, 1, Number.NaN), 1e-3, 1e-4);
    expect(Array.from(b.data)).toEqual([2147483647, -2147483648, 10000000, 0]);
    expect(b.clipped).toBe(2);
  });
});
