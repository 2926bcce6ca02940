import { describe, expect, it } from 'vitest';

import { PercentileObserver } from '../../../src/calibration/index.js';
import { exactQuantile, gaussian, laplace } from './distributions.js';

describe('PercentileObserver', () => {
  for (const p of [99, 99.9, 99.99, 99.999]) {
    it(`asymmetric ${p}: each tail clips (100 − p)/2 %, within one bin of the exact quantile`, () => {
      const x = laplace(400_000, 41, 1.5);
      const o = new PercentileObserver({ percentile: p });
      for (let i = 0; i < x.length; i += 100_000) o.observe(x.subarray(i, i + 100_000));
      const h = o.histogram();
      const bin = (h.hi - h.lo) / h.counts.length;
      const tail = (100 - p) / 200;
      const r = o.range();
      expect(Math.abs(r.min - exactQuantile(x, tail))).toBeLessThanOrEqual(bin);
      expect(Math.abs(r.max - exactQuantile(x, 1 - tail))).toBeLessThanOrEqual(bin);
    });
  }

  it('symmetric: t is the p-th percentile of |x|, within one bin', () => {
    const x = gaussian(300_000, 42, 2);
    const o = new PercentileObserver({ percentile: 99.99, symmetric: true });
    o.observe(x);
    const h = o.histogram();
    expect(h.mode).toBe('abs');
    const t = exactQuantile(x.map(Math.abs), 0.9999);
    const r = o.range();
    expect(Math.abs(r.max - t)).toBeLessThanOrEqual((h.hi - h.lo) / h.counts.length);
    expect(r.min).toBe(-r.max);
  });

  it('100 keeps the whole range; NaN/Inf are skipped and counted', () => {
    const o = new PercentileObserver({ percentile: 100 });
    o.observe(Float32Array.of(-3, Number.NaN, 1, 2, Number.NEGATIVE_INFINITY, 5));
    expect(o.range()).toEqual({ min: -3, max: 5 });
    expect([o.count, o.nonFinite]).toEqual([4, 2]);
  });
});
