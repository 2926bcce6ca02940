import { describe, expect, it } from 'vitest';

import { Histogram, HistogramObserver, quantile, type HistogramSnapshot } from '../../../src/calibration/index.js';
import { concat, exactQuantile, gaussian, laplace, uniform } from './distributions.js';

/** The histogram of x on the grid of h, by brute force. */
function bruteForce(x: Float32Array, h: HistogramSnapshot): Float64Array {
  const n = h.counts.length;
  const out = new Float64Array(n);
  for (let v of x) {
    if (!Number.isFinite(v)) continue;
    if (h.mode === 'abs') v = Math.abs(v);
    const j = Math.min(n - 1, Math.max(0, Math.floor(((v - h.lo) / (h.hi - h.lo)) * n)));
    out[j]++;
  }
  return out;
}

function sumAbsDiff(a: Float64Array, b: Float64Array): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d += Math.abs(a[i] - b[i]);
  return d;
}

describe('HistogramObserver: invalid arguments', () => {
  it('rejects bad bins and modes', () => {
    expect(() => new HistogramObserver(0)).toThrow(new RangeError('Expected integer between 1 and 1048576 for bins but received 0 of type number'));
    expect(() => new HistogramObserver(16, 'log' as never)).toThrow(new RangeError("Expected 'signed' or 'abs' for mode but received 'log' of type string"));
  });
});

describe('HistogramObserver', () => {
  for (const mode of ['signed', 'abs'] as const) {
    it(`${mode}: streaming batches of growing range gives the histogram of the concatenation on the final grid`, () => {
      const batches = [
        uniform(5000, 1, -0.1, 0.3),
        gaussian(5000, 2, 1),
        laplace(5000, 3, 2),
        uniform(5000, 4, -0.05, 0.05), // inside the range: no widening
        gaussian(5000, 5, 30),
      ];
      const streamed = new HistogramObserver(2048, mode);
      for (const b of batches) streamed.observe(b);
      const all = concat(batches);
      const h = streamed.histogram();
      expect(h.total).toBe(all.length);
      // Integer-factor widening moves whole bins: only values within float rounding of an edge may differ.
      expect(sumAbsDiff(h.counts, bruteForce(all, h))).toBeLessThanOrEqual(2);
      // And against a one-shot observer of the concatenation (another grid): quantiles agree within a bin of
      // the coarser grid.
      const oneShot = new HistogramObserver(2048, mode);
      oneShot.observe(all);
      const o = oneShot.histogram();
      const bin = Math.max((h.hi - h.lo) / 2048, (o.hi - o.lo) / 2048);
      for (const q of [0.001, 0.01, 0.1, 0.5, 0.9, 0.99, 0.999]) {
        expect(Math.abs(quantile(h, q) - quantile(o, q))).toBeLessThanOrEqual(bin);
      }
      expect([streamed.min, streamed.max]).toEqual([oneShot.min, oneShot.max]);
    });
  }

  it('keeps a fixed number of bins and flat memory over 1000 observe() calls', () => {
    const o = new HistogramObserver(1024, 'signed');
    const x = gaussian(1000, 9);
    for (let k = 0; k < 1000; k++) {
      // Scale some batches up so that the range keeps widening now and then.
      if (k % 100 === 0) for (let i = 0; i < x.length; i++) x[i] *= 1.5;
      o.observe(x);
    }
    const h = o.histogram();
    expect(h.counts.length).toBe(1024);
    expect(h.total).toBe(1_000_000);
    expect(o.count).toBe(1_000_000);
    // The data still occupy a good part of the grid after the widenings (at least about half).
    let first = 0;
    while (h.counts[first] === 0) first++;
    let last = 1023;
    while (h.counts[last] === 0) last--;
    expect(last - first + 1).toBeGreaterThan(400);
  });

  it('handles a point mass first (all zeros, e.g. a dead Relu) and widens from it exactly', () => {
    const o = new HistogramObserver(100, 'signed');
    o.observe(new Float32Array(50));
    expect(o.histogram()).toMatchObject({ lo: 0, hi: 0, total: 50 });
    o.observe(Float32Array.of(-1, 1));
    const h = o.histogram();
    expect([h.lo, h.hi, h.total]).toEqual([-1, 1, 52]);
    expect(h.counts[50]).toBe(50); // 0 lies in bin 50 of [-1, 1]
    expect(h.counts[0] + h.counts[99]).toBe(2);
    const a = new HistogramObserver(100, 'abs');
    a.observe(Float32Array.of(-3, -3));
    a.observe(Float32Array.of(5)); // the grid [0, 3] doubles to [0, 6]
    expect(a.histogram()).toMatchObject({ lo: 0, hi: 6, total: 3 });
    // |−3| sat on the closed top edge of [0, 3], in its last bin: now in bin 49 of [0, 6] (within a bin).
    expect([a.histogram().counts[49], a.histogram().counts[83]]).toEqual([2, 1]);
  });

  it('skips NaN and ±Infinity and counts them', () => {
    const o = new HistogramObserver(16, 'signed');
    o.observe(Float32Array.of(Number.NaN, Number.POSITIVE_INFINITY, 1, 2, Number.NEGATIVE_INFINITY));
    o.observe(Float32Array.of(Number.NaN));
    expect([o.count, o.nonFinite, o.histogram().total]).toEqual([2, 4, 2]);
    expect(o.range()).toEqual({ min: 1, max: 2 });
  });

  it('merge() of observers with unrelated grids matches a one-shot histogram within a bin', () => {
    const a = new HistogramObserver(2048, 'signed');
    const b = new HistogramObserver(2048, 'signed');
    const xa = gaussian(50_000, 21, 1);
    const xb = laplace(50_000, 22, 3);
    a.observe(xa);
    b.observe(xb);
    a.merge(b);
    const oneShot = new HistogramObserver(2048, 'signed');
    oneShot.observe(concat([xa, xb]));
    const h = a.histogram();
    const o = oneShot.histogram();
    expect(h.total).toBeCloseTo(100_000, 6);
    expect([a.min, a.max, a.count]).toEqual([oneShot.min, oneShot.max, 100_000]);
    const bin = Math.max((h.hi - h.lo) / 2048, (o.hi - o.lo) / 2048);
    // (Not the extreme tails: with a handful of samples there, one sample more or less moves a quantile by many bins.)
    for (const q of [0.001, 0.01, 0.25, 0.5, 0.75, 0.99, 0.999]) {
      expect(Math.abs(quantile(h, q) - quantile(o, q))).toBeLessThanOrEqual(2 * bin);
      expect(Math.abs(quantile(h, q) - exactQuantile(concat([xa, xb]), q))).toBeLessThanOrEqual(2 * bin);
    }
  });

  it('Histogram.addHistogram splits counts by overlap', () => {
    const h = new Histogram(4, 'signed');
    h.cover(0, 4);
    h.addValues(Float32Array.of(0.5));
    h.addHistogram({ mode: 'signed', counts: Float64Array.of(2), lo: 1.5, hi: 2.5, total: 2 });
    expect(Array.from(h.counts)).toEqual([1, 1, 1, 0]);
    expect(h.total).toBe(3);
  });
});
