/**
 * Indexing and broadcasting data movement on stored values (8-bit data keeps its quant): GatherElements,
 * ScatterElements, GatherND, ScatterND, Trilu, Expand, Tile, OneHot, TopK. Clear loops over multi-indices.
 */
import type { PlanValue } from '../plan.js';
import { broadcastIndex, count, strides, unravel, type RefTensor } from './tensor.js';
import { num, str, type RefOp } from './types.js';

function tensor(out: PlanValue, data: Float64Array): RefTensor {
  return { dtype: out.dtype, shape: out.shape.slice(), data, quant: out.quant };
}

function wrap(k: number, dim: number, op: string): number {
  const w = k < 0 ? k + dim : k;
  if (w < 0 || w >= dim) throw new RangeError(`reference ${op}: index ${k} out of range`);
  return w;
}

const COMBINE: Record<string, (a: number, b: number) => number> = {
  none: (_a, b) => b,
  add: (a, b) => a + b,
  mul: (a, b) => a * b,
  max: Math.max,
  min: Math.min,
};

/** A reduced value as the native kernel stores it: float32 rounds each step, integers wrap. */
function store(v: number, dtype: PlanValue['dtype']): number {
  if (dtype === 'float32') return Math.fround(v);
  if (dtype === 'int32') return v | 0;
  if (dtype === 'int8') return ((v + 128) & 255) - 128;
  if (dtype === 'uint8') return v & 255;
  return v;
}

function elements(scatter: boolean): RefOp {
  return ([x, idx, upd], [out], attrs) => {
    const rank = x!.shape.length;
    let axis = num(attrs, 'axis', 0);
    if (axis < 0) axis += rank;
    const xs = strides(x!.shape);
    const data = scatter ? Float64Array.from(x!.data) : new Float64Array(count(out.shape));
    const f = COMBINE[str(attrs, 'reduction', 'none')];
    for (let i = 0; i < idx!.data.length; i++) {
      const at = unravel(i, idx!.shape);
      at[axis] = wrap(idx!.data[i], x!.shape[axis], scatter ? 'ScatterElements' : 'GatherElements');
      const o = at.reduce((s, v, d) => s + v * xs[d], 0);
      if (scatter) data[o] = store(f(data[o], upd!.data[i]), out.dtype);
      else data[i] = x!.data[o];
    }
    return [tensor(out, data)];
  };
}

function nd(scatter: boolean): RefOp {
  return ([x, idx, upd], [out], attrs) => {
    const b = num(attrs, 'batchDims', 0);
    const q = idx!.shape.length;
    const k = idx!.shape[q - 1];
    const xs = strides(x!.shape);
    const batches = count(idx!.shape.slice(0, b));
    const lookups = count(idx!.shape.slice(b, q - 1));
    const slice = count(x!.shape.slice(b + k));
    const block = b > 0 ? xs[b - 1] : count(x!.shape);
    const data = scatter ? Float64Array.from(x!.data) : new Float64Array(count(out.shape));
    const f = COMBINE[str(attrs, 'reduction', 'none')];
    for (let bi = 0; bi < batches; bi++)
      for (let m = 0; m < lookups; m++) {
        const row = bi * lookups + m;
        let at = bi * block;
        for (let j = 0; j < k; j++) at += wrap(idx!.data[row * k + j], x!.shape[b + j], scatter ? 'ScatterND' : 'GatherND') * xs[b + j];
        for (let e = 0; e < slice; e++) {
          if (scatter) data[at + e] = store(f(data[at + e], upd!.data[row * slice + e]), out.dtype);
          else data[row * slice + e] = x!.data[at + e];
        }
      }
    return [tensor(out, data)];
  };
}

const trilu: RefOp = ([x], [out], attrs) => {
  const upper = num(attrs, 'upper', 1) !== 0;
  const k = num(attrs, 'k', 0);
  const rank = x!.shape.length;
  const zero = out.quant && (out.dtype === 'int8' || out.dtype === 'uint8') ? out.quant.zeroPoint[0] : 0;
  const data = x!.data.map((v, i) => {
    const idx = unravel(i, x!.shape);
    const d = idx[rank - 1] - idx[rank - 2];
    return (upper ? d >= k : d <= k) ? v : zero;
  });
  return [tensor(out, data)];
};

const expand: RefOp = ([x], [out]) => {
  const data = new Float64Array(count(out.shape));
  for (let i = 0; i < data.length; i++) data[i] = x!.data[broadcastIndex(unravel(i, out.shape), x!.shape)];
  return [tensor(out, data)];
};

const tile: RefOp = ([x], [out]) => {
  const xs = strides(x!.shape);
  const data = new Float64Array(count(out.shape));
  for (let i = 0; i < data.length; i++) data[i] = x!.data[unravel(i, out.shape).reduce((s, v, d) => s + (v % x!.shape[d]) * xs[d], 0)];
  return [tensor(out, data)];
};

const oneHot: RefOp = ([idx, values], [out], attrs) => {
  const rank = out.shape.length;
  let axis = num(attrs, 'axis', -1);
  if (axis < 0) axis += rank;
  const depth = out.shape[axis];
  const data = new Float64Array(count(out.shape));
  for (let i = 0; i < data.length; i++) {
    const at = unravel(i, out.shape);
    const d = at.splice(axis, 1)[0];
    let k = Math.trunc(idx!.data[at.reduce((s, v, j) => s + v * strides(idx!.shape)[j], 0)]);
    if (k < 0) k += depth;
    data[i] = values!.data[k === d ? 1 : 0];
  }
  return [tensor(out, data)];
};

const topK: RefOp = ([x], [vals, inds], attrs) => {
  const rank = x!.shape.length;
  let axis = num(attrs, 'axis', -1);
  if (axis < 0) axis += rank;
  const largest = num(attrs, 'largest', 1) !== 0;
  const k = vals.shape[axis];
  const dim = x!.shape[axis];
  const inner = strides(x!.shape)[axis];
  const outer = count(x!.shape) / (dim * inner);
  const v = new Float64Array(count(vals.shape));
  const ix = new Float64Array(v.length);
  for (let o = 0; o < outer; o++)
    for (let i = 0; i < inner; i++) {
      const at = (j: number) => x!.data[o * dim * inner + j * inner + i];
      // Array.prototype.sort is stable: ties keep the lower index first.
      const order = [...Array(dim).keys()].sort((a, b) => (largest ? at(b) - at(a) : at(a) - at(b)));
      for (let j = 0; j < k; j++) {
        v[(o * k + j) * inner + i] = at(order[j]);
        ix[(o * k + j) * inner + i] = order[j];
      }
    }
  return [tensor(vals, v), tensor(inds, ix)];
};

export const INDEXING_OPS: Record<string, RefOp> = {
  GatherElements: elements(false),
  ScatterElements: elements(true),
  GatherND: nd(false),
  ScatterND: nd(true),
  Trilu: trilu,
  Expand: expand,
  Tile: tile,
  OneHot: oneHot,
  TopK: topK,
};
