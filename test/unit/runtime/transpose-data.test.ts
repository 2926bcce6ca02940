/**
 * transposeData (src/lower/builder.ts), which lays out every weight a plan packs (OIHW -> OHWI, [K, N] -> [N, K])
 * and transposes constants: its tiled batch-of-2-D path and its generic path against a plain index computation,
 * over every permutation of ranks 1-4 and shapes with size-1 dims, for float and int8 data.
 */
import { describe, expect, it } from 'vitest';

import { transposeData } from '../../../src/lower/builder.js';

function permutations(n: number): number[][] {
  if (n === 0) return [[]];
  return permutations(n - 1).flatMap((p) => Array.from({ length: n }, (_, i) => [...p.slice(0, i), n - 1, ...p.slice(i)]));
}

/** out[i_perm] = in[i] by explicit multi-indices. */
function naive(data: ArrayLike<number>, shape: number[], perm: number[]): number[] {
  const outShape = perm.map((p) => shape[p]);
  const total = shape.reduce((a, d) => a * d, 1);
  const out = new Array<number>(total);
  for (let o = 0; o < total; o++) {
    const oi: number[] = [];
    let r = o;
    for (let d = outShape.length - 1; d >= 0; d--) {
      oi[d] = r % outShape[d];
      r = Math.floor(r / outShape[d]);
    }
    const ii: number[] = [];
    perm.forEach((p, d) => (ii[p] = oi[d]));
    let idx = 0;
    for (let d = 0; d < shape.length; d++) idx = idx * shape[d] + ii[d];
    out[o] = data[idx];
  }
  return out;
}

describe('transposeData', () => {
  it('equals the index computation for every permutation of ranks 1-4 (tiled and generic paths)', () => {
    const shapes = [[7], [5, 3], [1, 9], [33, 40], [3, 1, 4], [2, 35, 37], [6, 5, 3, 3], [8, 3, 1, 1], [1, 4, 1, 5], [4, 34, 3, 2]];
    let checked = 0;
    for (const shape of shapes) {
      const n = shape.reduce((a, d) => a * d, 1);
      const f = Float32Array.from({ length: n }, (_, i) => i * 0.5 - 3);
      const q = Int8Array.from({ length: n }, (_, i) => ((i * 37) % 255) - 127);
      for (const perm of permutations(shape.length)) {
        expect(Array.from(transposeData(f, shape, perm))).toEqual(naive(f, shape, perm));
        const tq = transposeData(q, shape, perm);
        expect(tq).toBeInstanceOf(Int8Array);
        expect(Array.from(tq)).toEqual(naive(q, shape, perm));
        checked++;
      }
    }
    expect(checked).toBe(1 + 2 + 2 + 2 + 6 + 6 + 24 + 24 + 24 + 24);
  });
});
