import { mulberry32 } from '../../src/bench/inputs.js';

/** Deterministic pseudo-random data for kernel unit tests (mulberry32). */
export const rng: (seed: number) => () => number = mulberry32;

export function randomInt8(n: number, next: () => number, lo = -128, hi = 127): Int8Array {
  const a = new Int8Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + Math.floor(next() * (hi - lo + 1));
  return a;
}

export function randomUint8(n: number, next: () => number): Uint8Array {
  const a = new Uint8Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.floor(next() * 256);
  return a;
}
