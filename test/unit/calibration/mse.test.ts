import { describe, expect, it } from 'vitest';

import { MinMaxObserver, MseObserver } from '../../../src/calibration/index.js';
import { gaussian, laplace, roundTrip, uniform } from './distributions.js';

function ranges(x: Float32Array, options: ConstructorParameters<typeof MseObserver>[0] = {}) {
  const mseObs = new MseObserver(options);
  const minmax = new MinMaxObserver();
  for (let i = 0; i < x.length; i += 50_000) {
    mseObs.observe(x.subarray(i, i + 50_000));
    minmax.observe(x.subarray(i, i + 50_000));
  }
  return { mseObs, mse: mseObs.range(), minmax: minmax.range() };
}

describe('MseObserver', () => {
  it('beats MinMax on heavy-tailed (Laplace) data, asymmetric int8 and symmetric int8', () => {
    const x = laplace(300_000, 51);
    const a = ranges(x);
    expect(roundTrip(x, a.mse).mse).toBeLessThan(0.8 * roundTrip(x, a.minmax).mse);
    expect(a.mse.max).toBeLessThan(a.minmax.max);
    const s = ranges(x, { symmetric: true });
    const opts = { dtype: 'int8', symmetric: true } as const;
    expect(roundTrip(x, s.mse, opts).mse).toBeLessThan(0.8 * roundTrip(x, s.minmax, opts).mse);
  });

  it('on uniform data is never worse than MinMax by more than a tiny margin', () => {
    for (const [lo, hi] of [
      [-1, 1],
      [-1, 3],
      [0, 6],
    ]) {
      const x = uniform(200_000, 52 + hi, lo, hi);
      for (const dtype of ['int8', 'uint8'] as const) {
        const r = ranges(x, { dtype });
        expect(roundTrip(x, r.mse, { dtype }).mse).toBeLessThanOrEqual(1.02 * roundTrip(x, r.minmax, { dtype }).mse);
      }
    }
  });

  it('its error model predicts the measured error of a range', () => {
    const x = gaussian(200_000, 53);
    const { mseObs, mse } = ranges(x);
    for (const r of [mse, { min: -2, max: 2 }, { min: mseObs.min, max: mseObs.max }]) {
      const predicted = mseObs.expectedError(r.min, r.max) / x.length;
      const measured = roundTrip(x, r).mse;
      expect(predicted / measured).toBeGreaterThan(0.85);
      expect(predicted / measured).toBeLessThan(1.15);
    }
  });

  it('non-negative data keeps min at the data min; a Relu spike at 0 carries no rounding noise', () => {
    const x = gaussian(200_000, 54).map((v) => Math.max(0, v));
    const { mseObs, mse, minmax } = ranges(x, { dtype: 'uint8' });
    expect(mse.min).toBe(0);
    expect(mse.max).toBeLessThanOrEqual(minmax.max);
    expect(mseObs.zeros).toBeGreaterThan(90_000);
    expect(roundTrip(x, mse, { dtype: 'uint8' }).mse).toBeLessThanOrEqual(roundTrip(x, minmax, { dtype: 'uint8' }).mse);
  });

  it('a constant tensor and NaN/Inf', () => {
    const o = new MseObserver();
    o.observe(Float32Array.of(2, 2, Number.NaN, 2));
    expect(o.range()).toEqual({ min: 2, max: 2 });
    expect(o.nonFinite).toBe(1);
    const z = new MseObserver();
    z.observe(new Float32Array(10));
    expect(z.range()).toEqual({ min: 0, max: 0 });
  });
});
