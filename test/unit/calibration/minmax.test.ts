import { describe, expect, it } from 'vitest';

import { MinMaxObserver } from '../../../src/calibration/index.js';
import { perAxis } from '../../../src/quantize/index.js';
import { gaussian } from './distributions.js';

describe('MinMaxObserver', () => {
  it('is exact over many batches', () => {
    const o = new MinMaxObserver();
    let min = Infinity;
    let max = -Infinity;
    for (let b = 0; b < 20; b++) {
      const x = gaussian(1000, b, 1 + b / 10);
      for (const v of x) {
        min = Math.min(min, v);
        max = Math.max(max, v);
      }
      o.observe(x);
    }
    expect(o.range()).toEqual({ min, max });
    expect(o.count).toBe(20_000);
  });

  it('skips NaN and ±Infinity and counts them', () => {
    const o = new MinMaxObserver();
    o.observe(Float32Array.of(Number.NaN, 1, Number.POSITIVE_INFINITY, -2, Number.NEGATIVE_INFINITY));
    o.observe(Float32Array.of(Number.NaN, Number.NaN));
    expect(o.range()).toEqual({ min: -2, max: 1 });
    expect([o.count, o.nonFinite]).toEqual([2, 5]);
    o.reset();
    expect(o.range()).toEqual({ min: 0, max: 0 });
    expect([o.count, o.nonFinite]).toEqual([0, 0]);
  });

  it('moving average: the first batch sets the range, later ones move it by c·(batch − current)', () => {
    const o = new MinMaxObserver({ averagingConstant: 0.1 });
    o.observe(Float32Array.of(-1, 1));
    o.observe(Float32Array.of(-11, 21)); // an outlier batch moves the range by a tenth only
    expect(o.range().min).toBeCloseTo(-1 + 0.1 * (-11 + 1), 12);
    expect(o.range().max).toBeCloseTo(1 + 0.1 * (21 - 1), 12);
    o.observe(Float32Array.of(Number.NaN)); // a batch with nothing finite changes nothing
    expect(o.range().max).toBeCloseTo(3, 12);
  });

  it('per axis on NCHW activations (axis 1) equals the brute-force per-channel range', () => {
    const shape = [2, 3, 4, 5];
    const o = new MinMaxObserver({ granularity: perAxis(1) });
    const mins = [Infinity, Infinity, Infinity];
    const maxs = [-Infinity, -Infinity, -Infinity];
    for (let b = 0; b < 5; b++) {
      const x = gaussian(120, 100 + b);
      for (let i = 0; i < 120; i++) {
        const c = Math.floor(i / 20) % 3;
        x[i] *= c + 1;
        mins[c] = Math.min(mins[c], x[i]);
        maxs[c] = Math.max(maxs[c], x[i]);
      }
      if (b === 2) x[0] = Number.NaN;
      o.observe(x, shape);
    }
    const r = o.rangePerAxis();
    expect(Array.from(r.min)).toEqual(mins.map(Math.fround));
    expect(Array.from(r.max)).toEqual(maxs.map(Math.fround));
    expect(o.range()).toEqual({ min: Math.min(...mins), max: Math.max(...maxs) });
    expect(o.nonFinite).toBe(1);
    // Axis 0, written as -4, on the same data layout.
    const o0 = new MinMaxObserver({ granularity: perAxis(-4) });
    o0.observe(Float32Array.from({ length: 120 }, (_, i) => (i < 60 ? i : -i)), shape);
    expect(Array.from(o0.rangePerAxis().min)).toEqual([0, -119]);
    expect(Array.from(o0.rangePerAxis().max)).toEqual([59, -60]);
  });

  it('merge() takes the union, per tensor and per axis', () => {
    const a = new MinMaxObserver();
    const b = new MinMaxObserver();
    a.observe(Float32Array.of(-1, 2));
    b.observe(Float32Array.of(-3, 1, Number.NaN));
    a.merge(b);
    expect(a.range()).toEqual({ min: -3, max: 2 });
    expect([a.count, a.nonFinite]).toEqual([4, 1]);
    const pa = new MinMaxObserver({ granularity: perAxis(0) });
    const pb = new MinMaxObserver({ granularity: perAxis(0) });
    pa.observe(Float32Array.of(1, 2, 3, 4), [2, 2]);
    pb.observe(Float32Array.of(0, 5, 3, 3), [2, 2]);
    pa.merge(pb);
    expect(Array.from(pa.rangePerAxis().min)).toEqual([0, 3]);
    expect(Array.from(pa.rangePerAxis().max)).toEqual([5, 4]);
  });
});
