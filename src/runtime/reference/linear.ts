/** FullyConnected, MatMul and MatMulInteger, in float64 on real values (MatMulInteger on raw integers). */
import { broadcastIndex, broadcastShapes, count, encode, real, unravel, type RefTensor } from './tensor.js';
import { activation, type RefOp } from './types.js';

export const fullyConnected: RefOp = ([x, w, bias], [y], attrs) => {
  const xr = real(x!), wr = real(w!);
  const [n, k] = w!.shape;
  const m = xr.length / k;
  const out = new Float64Array(m * n);
  for (let j = 0; j < n; j++) {
    let b = 0;
    if (bias) {
      const ws = w!.quant ? (w!.quant.scale.length === 1 ? w!.quant.scale[0] : w!.quant.scale[j]) : 1;
      b = bias.dtype === 'int32' && x!.quant ? bias.data[j] * x!.quant.scale[0] * ws : bias.data[j];
    }
    for (let i = 0; i < m; i++) {
      let acc = b;
      for (let kk = 0; kk < k; kk++) acc += xr[i * k + kk] * wr[j * k + kk];
      out[i * n + j] = acc;
    }
  }
  return [encode(out, y, activation(attrs))];
};

/** Batched A [..., M, K] x B [..., K, N] over values `a`, `b` (already real or raw). */
export function batchedMatMul(a: RefTensor, ar: Float64Array, b: RefTensor, br: Float64Array): { shape: number[]; data: Float64Array } {
  const [m, k] = a.shape.slice(-2);
  const n = b.shape[b.shape.length - 1];
  const batchA = a.shape.slice(0, -2), batchB = b.shape.slice(0, -2);
  const batch = broadcastShapes(batchA, batchB)!;
  const nb = count(batch);
  const data = new Float64Array(nb * m * n);
  for (let bi = 0; bi < nb; bi++) {
    const idx = unravel(bi, batch);
    const ia = broadcastIndex(idx, batchA), ib = broadcastIndex(idx, batchB);
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let acc = 0;
        for (let kk = 0; kk < k; kk++) acc += ar[ia * m * k + i * k + kk] * br[ib * k * n + kk * n + j];
        data[bi * m * n + i * n + j] = acc;
      }
  }
  return { shape: [...batch, m, n], data };
}

export const matMul: RefOp = ([a, b], [y], attrs) => {
  const r = batchedMatMul(a!, real(a!), b!, real(b!));
  return [encode(r.data, y, activation(attrs))];
};

export const matMulInteger: RefOp = ([a, b, azp, bzp], [y]) => {
  const za = azp ? azp.data[0] : 0;
  const n = b!.shape[b!.shape.length - 1];
  const ar = a!.data.map((v) => v - za);
  const br = b!.data.map((v, i) => v - (bzp ? (bzp.data.length === 1 ? bzp.data[0] : bzp.data[i % n]) : 0));
  const r = batchedMatMul(a!, ar, b!, br);
  return [{ dtype: 'int32', shape: y.shape.slice(), data: r.data }];
};
