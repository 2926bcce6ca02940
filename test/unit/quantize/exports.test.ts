import { describe, expect, it } from 'vitest';

import * as octet from '../../../src/index.js';

describe('public API', () => {
  it('exports the quantization primitives and the observers', () => {
    for (const name of [
      'perTensor',
      'perAxis',
      'qRange',
      'chooseQParams',
      'chooseQParamsPerAxis',
      'QuantSpec',
      'quantizeAffine',
      'dequantizeAffine',
      'quantizeBias',
      'sqnr',
      'mse',
      'maxAbsError',
      'createObserver',
      'MinMaxObserver',
      'HistogramObserver',
      'EntropyObserver',
      'PercentileObserver',
      'MseObserver',
      'createProgress',
    ]) {
      expect(typeof (octet as Record<string, unknown>)[name], name).toBe('function');
    }
    const { scale, zeroPoint } = octet.chooseQParams(-1, 1, { dtype: 'uint8' });
    expect(octet.dequantizeAffine(octet.quantizeAffine(Float32Array.of(0), scale, zeroPoint, 'uint8'), scale, zeroPoint)[0]).toBe(0);
  });
});
