/**
 * quantize(): argument checks first (exact messages), then the executor and calibration-data requirements.
 */
import { describe, expect, it } from 'vitest';

import { serializeModel } from '../../../src/onnx/io.js';
import { getDefaultExecutorFactory, setDefaultExecutorFactory } from '../../../src/quantize/executor.js';
import { quantize } from '../../../src/quantize/quantize.js';
import { createOnnxruntimeExecutor } from './helpers/ort-executor.js';
import { smallModel, smallSamples } from './helpers/small.js';

describe('quantize() arguments', () => {
  it('rejects a model that is not a Model, path or bytes', async () => {
    await expect(quantize(42 as never)).rejects.toThrow(new TypeError('Expected Model, path string or Uint8Array for model but received 42 of type number'));
  });
  it('rejects options that are not an object, and misspelled names', async () => {
    const m = smallModel();
    await expect(quantize(m, 'x' as never)).rejects.toThrow(new TypeError("Expected object for options but received 'x' of type string"));
    await expect(quantize(m, { perChanel: true } as never)).rejects.toThrow(new TypeError("Unknown option 'perChanel' in options; did you mean 'perChannel'?"));
  });
  it('checks each option', async () => {
    const m = smallModel();
    await expect(quantize(m, { method: 'kl' as never })).rejects.toThrow(new RangeError("Expected one of 'minmax', 'entropy', 'percentile', 'mse' for options.method but received 'kl' of type string"));
    await expect(quantize(m, { format: 'qop' as never })).rejects.toThrow(new RangeError("Expected one of 'qdq', 'qoperator' for options.format but received 'qop' of type string"));
    await expect(quantize(m, { activationType: 'int4' as never })).rejects.toThrow(new RangeError("Expected one of 'int8', 'uint8', 'int16', 'uint16' for options.activationType but received 'int4' of type string"));
    await expect(quantize(m, { perChannel: 1 as never })).rejects.toThrow(new TypeError('Expected boolean for options.perChannel but received 1 of type number'));
    await expect(quantize(m, { dynamic: true, weightOnly: true })).rejects.toThrow(new RangeError('Expected false when options.dynamic is true for options.weightOnly but received true of type boolean'));
    await expect(quantize(m, { maxSamples: 0 })).rejects.toThrow(new RangeError('Expected positive integer for options.maxSamples but received 0 of type number'));
    await expect(quantize(m, { opTypes: ['Softmax'] })).rejects.toThrow(new RangeError("Expected one of Conv, ConvTranspose, Gemm, MatMul, Add, Mul, Concat, AveragePool, GlobalAveragePool, Relu, Clip, Sigmoid, HardSigmoid, MaxPool, Transpose, Reshape, Resize for options.opTypes[0] but received 'Softmax' of type string"));
    await expect(quantize(m, { dynamic: true, opTypes: ['Conv'] })).rejects.toThrow(new RangeError("Expected one of MatMul, Gemm for options.opTypes[0] but received 'Conv' of type string"));
    await expect(quantize(m, { exclude: 'conv' as never })).rejects.toThrow(new TypeError("Expected array of strings for options.exclude but received 'conv' of type string"));
    await expect(quantize(m, { overrides: { c: { range: [1, 0] } } })).rejects.toThrow(new RangeError("Expected [min, max] of finite numbers with min <= max for options.overrides['c'].range but received Array of length 2"));
    await expect(quantize(m, { overrides: { c: { dtpye: 'int8' } as never } })).rejects.toThrow(new TypeError("Unknown option 'dtpye' in options.overrides['c']; did you mean 'dtype'?"));
    await expect(quantize(m, { executor: {} as never })).rejects.toThrow(new TypeError('Expected CalibrationExecutor or factory function for options.executor but received Object of type object'));
    await expect(quantize(m, { calibration: 5 as never })).rejects.toThrow(new TypeError('Expected folder path or iterable of samples for options.calibration but received 5 of type number'));
  });
  it('static mode without a registered executor calibrates on octet\'s own runtime; dynamic and weight-only need none', async () => {
    const saved = getDefaultExecutorFactory();
    setDefaultExecutorFactory(undefined);
    try {
      const { report } = await quantize(smallModel(), { calibration: smallSamples(2), progress: false });
      expect(report.mode).toBe('static');
      expect(report.tensors.some((t) => t.role === 'activation')).toBe(true);
      await expect(quantize(smallModel(), { weightOnly: true })).resolves.toBeDefined();
      await expect(quantize(smallModel(), { dynamic: true })).resolves.toBeDefined();
    } finally {
      setDefaultExecutorFactory(saved);
    }
  });
  it('static mode without calibration data is a clear OctetError', async () => {
    await expect(quantize(smallModel(), { executor: createOnnxruntimeExecutor })).rejects.toThrow(
      'Static quantization needs calibration data: pass options.calibration (a folder or an iterable of samples), or use options.dynamic / options.weightOnly',
    );
  });
  it('does not modify the model it is given, and takes bytes too', async () => {
    const m = smallModel();
    const before = serializeModel(m);
    const { model } = await quantize(m, { executor: createOnnxruntimeExecutor, calibration: smallSamples(2), progress: false });
    expect(serializeModel(m)).toEqual(before);
    expect(model).not.toBe(m);
    const again = await quantize(before, { executor: createOnnxruntimeExecutor, calibration: smallSamples(2), progress: false });
    expect(serializeModel(again.model)).toEqual(serializeModel(model));
  });
});
