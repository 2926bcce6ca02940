import { describe, expect, it } from 'vitest';

import {
  createObserver,
  EntropyObserver,
  MinMaxObserver,
  MseObserver,
  PercentileObserver,
  type CalibrationMethod,
} from '../../../src/calibration/index.js';
import { perAxis } from '../../../src/quantize/index.js';

describe('createObserver: invalid arguments', () => {
  it('rejects unknown methods and non-object options', () => {
    expect(() => createObserver('kl' as CalibrationMethod)).toThrow(
      new RangeError("Expected one of 'minmax', 'entropy', 'percentile', 'mse' for method but received 'kl' of type string"),
    );
    expect(() => createObserver(undefined as unknown as CalibrationMethod)).toThrow(
      new TypeError("Expected one of 'minmax', 'entropy', 'percentile', 'mse' for method but received undefined"),
    );
    expect(() => createObserver('minmax', 3 as never)).toThrow(new TypeError('Expected object for options but received 3 of type number'));
  });

  it('catches misspelled option names, per method', () => {
    expect(() => createObserver('entropy', { bin: 1024 } as never)).toThrow(new TypeError("Unknown option 'bin' in entropy options; did you mean 'bins'?"));
    expect(() => createObserver('percentile', { percentil: 99.9 } as never)).toThrow(
      new TypeError("Unknown option 'percentil' in percentile options; did you mean 'percentile'?"),
    );
    expect(() => createObserver('minmax', { averagingConst: 0.1 } as never)).toThrow(
      new TypeError("Unknown option 'averagingConst' in minmax options; did you mean 'averagingConstant'?"),
    );
    expect(() => createObserver('mse', { symetric: true } as never)).toThrow(new TypeError("Unknown option 'symetric' in mse options; did you mean 'symmetric'?"));
    // An option of another method is unknown here.
    expect(() => createObserver('minmax', { bins: 128 } as never)).toThrow(new TypeError("Unknown option 'bins' in minmax options"));
    expect(() => createObserver('percentile', { dtype: 'int8' } as never)).toThrow(new TypeError("Unknown option 'dtype' in percentile options"));
  });

  it('checks option values', () => {
    expect(() => createObserver('entropy', { bins: 0 })).toThrow(new RangeError('Expected integer between 1 and 1048576 for bins but received 0 of type number'));
    expect(() => createObserver('mse', { bins: 10.5 })).toThrow(new RangeError('Expected integer between 1 and 1048576 for bins but received 10.5 of type number'));
    expect(() => createObserver('entropy', { bins: '2048' as unknown as number })).toThrow(
      new TypeError("Expected integer between 1 and 1048576 for bins but received '2048' of type string"),
    );
    expect(() => createObserver('percentile', { percentile: 0 })).toThrow(new RangeError('Expected number in (0, 100] for percentile but received 0 of type number'));
    expect(() => createObserver('percentile', { percentile: 100.5 })).toThrow(
      new RangeError('Expected number in (0, 100] for percentile but received 100.5 of type number'),
    );
    expect(() => createObserver('percentile', { symmetric: 1 as unknown as boolean })).toThrow(
      new TypeError('Expected boolean for symmetric but received 1 of type number'),
    );
    expect(() => createObserver('minmax', { averagingConstant: 0 })).toThrow(
      new RangeError('Expected number in (0, 1] for averagingConstant but received 0 of type number'),
    );
    expect(() => createObserver('minmax', { averagingConstant: Number.NaN })).toThrow(
      new RangeError('Expected number in (0, 1] for averagingConstant but received NaN of type number'),
    );
    expect(() => createObserver('minmax', { granularity: { kind: 'per-channel' } as never })).toThrow(
      new RangeError("Expected 'per-tensor' or 'per-axis' for granularity.kind but received 'per-channel' of type string"),
    );
    expect(() => createObserver('entropy', { dtype: 'int4' as never })).toThrow(
      new RangeError("Expected one of 'int8', 'uint8', 'int16', 'uint16', 'int32' for dtype but received 'int4' of type string"),
    );
    expect(() => createObserver('mse', { reduceRange: 'yes' as never })).toThrow(new TypeError("Expected boolean for reduceRange but received 'yes' of type string"));
  });

  it('observe() and merge() check their arguments', () => {
    for (const method of ['minmax', 'entropy', 'percentile', 'mse'] as const) {
      const o = createObserver(method);
      expect(() => o.observe([1, 2] as unknown as Float32Array)).toThrow(new TypeError('Expected Float32Array for x but received Array of length 2'));
      expect(() => o.observe(new Float64Array(2) as unknown as Float32Array)).toThrow(
        new TypeError('Expected Float32Array for x but received Float64Array of length 2'),
      );
    }
    const axis = createObserver('minmax', { granularity: perAxis(1) });
    expect(() => axis.observe(new Float32Array(6))).toThrow(
      new TypeError('Expected array of dimensions (per-axis observer) for shape but received undefined'),
    );
    expect(() => axis.observe(new Float32Array(6), [2, 2])).toThrow(
      new RangeError('Expected dimensions whose product is x.length = 6 for shape but received Array of length 2'),
    );
    expect(() => axis.observe(new Float32Array(6), [6])).toThrow(
      new RangeError('Expected integer between -1 and 0 for granularity.axis but received 1 of type number'),
    );
    axis.observe(new Float32Array(6), [2, 3]);
    expect(() => axis.observe(new Float32Array(8), [2, 4])).toThrow(
      new RangeError('Expected 3 (the channel count of earlier batches) for shape[1] but received 4 of type number'),
    );
    expect(() => createObserver('entropy').merge(createObserver('mse'))).toThrow(
      new TypeError('Expected EntropyObserver for other but received MseObserver of type object'),
    );
    expect(() => createObserver('entropy').merge(createObserver('entropy', { bins: 512 }))).toThrow(
      new TypeError('merge() needs observers with the same mode and bins (abs/2048 vs abs/512)'),
    );
    expect(() => createObserver('minmax', { averagingConstant: 0.1 }).merge(createObserver('minmax'))).toThrow(
      new TypeError('merge() is not defined for moving-average MinMaxObservers (averagingConstant)'),
    );
    expect(() => createObserver('minmax').rangePerAxis()).toThrow(new TypeError('rangePerAxis() needs an observer created with granularity perAxis(axis)'));
  });
});

describe('createObserver', () => {
  it('builds the observer of each method with its options', () => {
    const m = createObserver('minmax', { averagingConstant: 0.01 });
    expect(m).toBeInstanceOf(MinMaxObserver);
    expect(m.averagingConstant).toBe(0.01);
    const e = createObserver('entropy', { bins: 4096, dtype: 'uint8' });
    expect(e).toBeInstanceOf(EntropyObserver);
    expect([e.bins, e.mode, e.target.dtype]).toEqual([4096, 'abs', 'uint8']);
    const p = createObserver('percentile', { percentile: 99.99, symmetric: true });
    expect(p).toBeInstanceOf(PercentileObserver);
    expect([p.percentile, p.mode]).toEqual([99.99, 'abs']);
    const s = createObserver('mse');
    expect(s).toBeInstanceOf(MseObserver);
    expect([s.bins, s.mode, s.method]).toEqual([2048, 'signed', 'mse']);
    for (const method of ['minmax', 'entropy', 'percentile', 'mse'] as const) {
      const o = createObserver(method);
      expect(o.method).toBe(method);
      // Nothing observed yet: a zero range and zero counts.
      expect(o.range()).toEqual({ min: 0, max: 0 });
      expect([o.count, o.nonFinite]).toEqual([0, 0]);
    }
  });
});
