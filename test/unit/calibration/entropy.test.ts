import { describe, expect, it } from 'vitest';

import { EntropyObserver, MinMaxObserver } from '../../../src/calibration/index.js';
import { gaussian, roundTrip, uniform, withOutliers } from './distributions.js';

function observeInBatches(o: { observe(x: Float32Array): void }, x: Float32Array, batch: number): void {
  for (let i = 0; i < x.length; i += batch) o.observe(x.subarray(i, i + batch));
}

describe('EntropyObserver', () => {
  it('on a Gaussian with rare outliers: threshold well below the max, and a better SQNR than MinMax', () => {
    const x = withOutliers(gaussian(1_000_000, 31), 5, 10, 32);
    const entropy = new EntropyObserver();
    const minmax = new MinMaxObserver();
    observeInBatches(entropy, x, 100_000);
    observeInBatches(minmax, x, 100_000);
    const max = Math.max(-minmax.range().min, minmax.range().max);
    const t = entropy.threshold();
    expect(t).toBeLessThan(0.35 * max);
    expect(t).toBeGreaterThan(3); // a Gaussian's bulk (σ = 1) is not clipped
    expect(entropy.range()).toEqual({ min: -t, max: t });
    const e = roundTrip(x, entropy.range());
    const m = roundTrip(x, minmax.range());
    expect(e.sqnr).toBeGreaterThan(m.sqnr + 2);
  });

  it('on uniform data keeps (nearly) the whole range', () => {
    const x = uniform(200_000, 33, -2, 2);
    const o = new EntropyObserver();
    o.observe(x);
    expect(o.threshold()).toBeGreaterThan(0.95 * 2);
    const r = o.range();
    expect(r.min).toBeGreaterThanOrEqual(-2);
    expect(r.max).toBeLessThanOrEqual(2);
  });

  it('non-negative data (after Relu): range [min, t] with 256 levels asymmetric, 128 symmetric; the zeros do not drag t down', () => {
    const x = gaussian(200_000, 34).map((v) => Math.max(0, v)); // half the values exactly 0
    const asym = new EntropyObserver({ dtype: 'uint8' });
    asym.observe(x);
    expect(asym.levels()).toBe(256);
    expect(asym.zeros).toBeGreaterThan(90_000);
    const r = asym.range();
    expect(r.min).toBe(0);
    expect(r.max).toBeGreaterThan(3);
    expect(r.max).toBeLessThanOrEqual(asym.max);
    expect(roundTrip(x, r, { dtype: 'uint8' }).sqnr).toBeGreaterThan(40);
    const sym = new EntropyObserver({ symmetric: true });
    sym.observe(x);
    expect(sym.levels()).toBe(128);
    expect(new EntropyObserver({ narrow: true, symmetric: true }).levels()).toBe(127);
    expect(new EntropyObserver({ reduceRange: true }).levels()).toBe(64);
  });

  it('clamps to the data: a one-sided negative range stays one-sided', () => {
    const o = new EntropyObserver();
    o.observe(Float32Array.from(gaussian(100_000, 35), (v) => -Math.abs(v) - 1));
    const r = o.range();
    expect(r.max).toBeLessThanOrEqual(o.max);
    expect(r.min).toBeLessThan(-3);
  });

  it('with no more bins than levels there is one candidate: the MinMax range', () => {
    const x = withOutliers(gaussian(10_000, 36), 3, 20, 37);
    const o = new EntropyObserver({ bins: 128 });
    o.observe(x);
    expect(o.range()).toEqual({ min: o.min, max: o.max });
  });

  it('skips NaN/Inf, counts them, and merges', () => {
    const a = new EntropyObserver();
    const b = new EntropyObserver();
    const x = gaussian(100_000, 38);
    a.observe(x.subarray(0, 50_000));
    const y = Float32Array.from(x.subarray(50_000));
    y[0] = Number.NaN;
    y[1] = Number.POSITIVE_INFINITY;
    b.observe(y);
    a.merge(b);
    expect([a.count, a.nonFinite]).toEqual([99_998, 2]);
    const one = new EntropyObserver();
    one.observe(x);
    expect(Math.abs(a.threshold() - one.threshold())).toBeLessThan(0.1);
    a.reset();
    expect([a.count, a.nonFinite, a.zeros, a.threshold()]).toEqual([0, 0, 0, 0]);
  });
});
