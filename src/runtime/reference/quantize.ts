/**
 * QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear (ONNX semantics, round half to even) and
 * QuantizeDequantize (a 16-bit QuantizeLinear → DequantizeLinear pair whose codes are never stored).
 */
import { axisIndex, encode, real, roundHalfEven } from './tensor.js';
import { num, nums, type RefOp } from './types.js';

export const quantizeLinear: RefOp = ([x], [y]) => [encode(x!.data, y)];

export const dequantizeLinear: RefOp = ([x], [y]) => [{ dtype: 'float32', shape: y.shape.slice(), data: real(x!) }];

export const dynamicQuantizeLinear: RefOp = ([x], [y, ys, yz]) => {
  const d = x!.data;
  let lo = 0, hi = 0;
  for (const v of d) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  let scale = Math.fround((hi - lo) / 255);
  if (!(scale > 0)) scale = 1;
  const zp = Math.min(255, Math.max(0, roundHalfEven(-lo / scale)));
  const q = d.map((v) => Math.min(255, Math.max(0, roundHalfEven(v / scale) + zp)));
  return [
    { dtype: 'uint8', shape: y.shape.slice(), data: q },
    { dtype: 'float32', shape: ys.shape.slice(), data: Float64Array.of(scale) },
    { dtype: 'uint8', shape: yz.shape.slice(), data: Float64Array.of(zp) },
  ];
};

/** Y = (clamp(round(X / s) + z, qmin, qmax) − z′) · s′, per tensor (axis −1) or per slice along `axis`; s, s′ float32. */
export const quantizeDequantize: RefOp = ([x], [y], attrs) => {
  const scale = nums(attrs, 'scale', []).map(Math.fround);
  const zp = nums(attrs, 'zeroPoint', []);
  const dqScale = nums(attrs, 'dqScale', scale).map(Math.fround);
  const dqZp = nums(attrs, 'dqZeroPoint', zp);
  const [lo, hi] = [num(attrs, 'qmin', 0), num(attrs, 'qmax', 0)];
  const axis = num(attrs, 'axis', -1);
  const ax = axisIndex(x!.shape, axis < 0 ? undefined : axis);
  const data = x!.data.map((v, i) => {
    const c = ax(i);
    let q = roundHalfEven(Math.fround(v / scale[c])) + zp[c]; // x / s in float32, as ONNX divides
    if (!(q >= lo)) q = lo; // NaN → qmin, as the native kernel
    if (q > hi) q = hi;
    return (q - dqZp[c]) * dqScale[c];
  });
  return [{ dtype: 'float32', shape: y.shape.slice(), data }];
};
