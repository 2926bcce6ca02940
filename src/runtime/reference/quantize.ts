/** QuantizeLinear, DequantizeLinear and DynamicQuantizeLinear (ONNX semantics, round half to even). */
import { encode, real, roundHalfEven } from './tensor.js';
import type { RefOp } from './types.js';

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
