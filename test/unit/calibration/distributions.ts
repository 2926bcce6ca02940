/** Deterministic synthetic activations for the observer tests. */
import { chooseQParams, dequantizeAffine, quantizeAffine, sqnr, mse, type ChooseQParamsOptions } from '../../../src/quantize/index.js';
import type { CalibrationRange } from '../../../src/calibration/index.js';
import { rng } from '../../helpers/random.js';

export function gaussian(n: number, seed: number, sigma = 1): Float32Array {
  const next = rng(seed);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - next())) * sigma;
    const t = 2 * Math.PI * next();
    x[i] = r * Math.cos(t);
    if (i + 1 < n) x[i + 1] = r * Math.sin(t);
  }
  return x;
}

export function laplace(n: number, seed: number, b = 1): Float32Array {
  const next = rng(seed);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = next() - 0.5;
    x[i] = -b * Math.sign(u) * Math.log(1 - 2 * Math.abs(u));
  }
  return x;
}

export function uniform(n: number, seed: number, lo: number, hi: number): Float32Array {
  const next = rng(seed);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = lo + (hi - lo) * next();
  return x;
}

/** Sets `count` values (at deterministic positions) to ±magnitude·(1..2). */
export function withOutliers(x: Float32Array, count: number, magnitude: number, seed: number): Float32Array {
  const next = rng(seed);
  const y = Float32Array.from(x);
  for (let k = 0; k < count; k++) y[Math.floor(next() * y.length)] = (next() < 0.5 ? -1 : 1) * magnitude * (1 + next());
  return y;
}

export function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Quantizes x to the range with chooseQParams(options) and back: the SQNR (dB) and MSE of the round trip. */
export function roundTrip(x: Float32Array, range: CalibrationRange, options: ChooseQParamsOptions = { dtype: 'int8' }): { sqnr: number; mse: number } {
  const { scale, zeroPoint } = chooseQParams(range.min, range.max, options);
  const dtype = options.dtype ?? 'int8';
  const back = dequantizeAffine(quantizeAffine(x, scale, zeroPoint, dtype), scale, zeroPoint);
  return { sqnr: sqnr(x, back), mse: mse(x, back) };
}

/** The exact q-quantile of x (nearest rank on the sorted finite values). */
export function exactQuantile(x: Float32Array, q: number): number {
  const sorted = Float64Array.from(x.filter((v) => Number.isFinite(v))).sort();
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}
