/** Quantization primitives: granularity, qparams, specs, affine quantize/dequantize, bias, metrics. */
export { perAxis, perTensor, resolveAxis, type Granularity, type PerAxis, type PerTensor } from './granularity.js';
export {
  chooseQParams,
  chooseQParamsPerAxis,
  computeQParams,
  MIN_SCALE,
  qRange,
  QUANT_DTYPES,
  ACTIVATION_DTYPES,
  symmetricZeroPoint,
  type AffineQParams,
  type ChooseQParamsOptions,
  type PerAxisQParams,
  type QRange,
  type QRangeOptions,
  type QuantDType,
  type ActivationDType,
} from './qparams.js';
export { QuantSpec, type QuantSpecOptions } from './spec.js';
export { dequantizeAffine, quantizeAffine, quantizeBias, type AffineOptions, type QuantizedArray, type QuantizedBias } from './affine.js';
export { disagreement, maxAbsError, mse, sqnr } from './metrics.js';
