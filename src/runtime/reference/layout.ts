/** Data movement (on raw values: 8-bit inputs and outputs share quant), Cast and Resize. */
import { count, encode, real, strides, unravel, type RefTensor } from './tensor.js';
import { num, nums, str, type RefOp } from './types.js';

const raw = (t: RefTensor, shape: number[], data: Float64Array): RefTensor => ({ dtype: t.dtype, shape, data, quant: t.quant });

export const reshape: RefOp = ([x], [y]) => [raw(x!, y.shape.slice(), Float64Array.from(x!.data))];

export const transpose: RefOp = ([x], [y], attrs) => {
  const rank = x!.shape.length;
  const perm = nums(attrs, 'perm', Array.from({ length: rank }, (_, i) => rank - 1 - i));
  const s = strides(x!.shape);
  const out = new Float64Array(x!.data.length);
  for (let i = 0; i < out.length; i++) {
    const idx = unravel(i, y.shape);
    let src = 0;
    for (let d = 0; d < rank; d++) src += idx[d] * s[perm[d]];
    out[i] = x!.data[src];
  }
  return [raw(x!, y.shape.slice(), out)];
};

export const concat: RefOp = (xs, [y], attrs) => {
  const rank = y.shape.length;
  let axis = num(attrs, 'axis', 0);
  if (axis < 0) axis += rank;
  const out = new Float64Array(count(y.shape));
  const so = strides(y.shape);
  let offset = 0;
  for (const x of xs) {
    for (let i = 0; i < x!.data.length; i++) {
      const idx = unravel(i, x!.shape);
      idx[axis] += offset;
      out[idx.reduce((a, v, d) => a + v * so[d], 0)] = x!.data[i];
    }
    offset += x!.shape[axis];
  }
  return [raw(xs[0]!, y.shape.slice(), out)];
};

export const split: RefOp = ([x], ys, attrs) => {
  const rank = x!.shape.length;
  let axis = num(attrs, 'axis', 0);
  if (axis < 0) axis += rank;
  const sx = strides(x!.shape);
  let offset = 0;
  return ys.map((y) => {
    const out = new Float64Array(count(y.shape));
    for (let i = 0; i < out.length; i++) {
      const idx = unravel(i, y.shape);
      idx[axis] += offset;
      out[i] = x!.data[idx.reduce((a, v, d) => a + v * sx[d], 0)];
    }
    offset += y.shape[axis];
    return raw(x!, y.shape.slice(), out);
  });
};

export const slice: RefOp = ([x], [y], attrs) => {
  const rank = x!.shape.length;
  const starts = nums(attrs, 'starts', []);
  const axes = nums(attrs, 'axes', starts.map((_, i) => i)).map((a) => (a < 0 ? a + rank : a));
  const steps = nums(attrs, 'steps', starts.map(() => 1));
  const begin = new Array<number>(rank).fill(0), step = new Array<number>(rank).fill(1);
  axes.forEach((a, i) => {
    const dim = x!.shape[a];
    let s = starts[i] < 0 ? starts[i] + dim : starts[i];
    s = steps[i] > 0 ? Math.min(Math.max(s, 0), dim) : Math.min(Math.max(s, -1), dim - 1);
    begin[a] = s;
    step[a] = steps[i];
  });
  const sx = strides(x!.shape);
  const out = new Float64Array(count(y.shape));
  for (let i = 0; i < out.length; i++) {
    const idx = unravel(i, y.shape);
    out[i] = x!.data[idx.reduce((acc, v, d) => acc + (begin[d] + v * step[d]) * sx[d], 0)];
  }
  return [raw(x!, y.shape.slice(), out)];
};

export const pad: RefOp = ([x], [y], attrs) => {
  const rank = x!.shape.length;
  const pads = nums(attrs, 'pads', []);
  const fill = encode([num(attrs, 'value', 0)], { ...y, shape: [1] }).data[0];
  const out = new Float64Array(count(y.shape)).fill(fill);
  const so = strides(y.shape);
  for (let i = 0; i < x!.data.length; i++) {
    const idx = unravel(i, x!.shape);
    let o = 0;
    for (let d = 0; d < rank; d++) o += (idx[d] + pads[d]) * so[d];
    out[o] = x!.data[i];
  }
  return [raw(x!, y.shape.slice(), out)];
};

export const gather: RefOp = ([x, indices], [y], attrs) => {
  let axis = num(attrs, 'axis', 0);
  if (axis < 0) axis += x!.shape.length;
  const dim = x!.shape[axis];
  const outer = count(x!.shape.slice(0, axis)), inner = count(x!.shape.slice(axis + 1));
  const k = indices!.data.length;
  const out = new Float64Array(outer * k * inner);
  for (let b = 0; b < outer; b++)
    for (let j = 0; j < k; j++) {
      let idx = indices!.data[j];
      if (idx < 0) idx += dim;
      if (idx < 0 || idx >= dim) throw new RangeError(`reference Gather: index ${indices!.data[j]} out of range`);
      for (let i = 0; i < inner; i++) out[(b * k + j) * inner + i] = x!.data[(b * dim + idx) * inner + i];
    }
  return [raw(x!, y.shape.slice(), out)];
};

export const cast: RefOp = ([x], [y]) => {
  const [lo, hi] =
    y.dtype === 'int8' ? [-128, 127] : y.dtype === 'uint8' ? [0, 255] : y.dtype === 'int32' ? [-(2 ** 31), 2 ** 31 - 1] : [-Infinity, Infinity];
  const data = x!.data.map((v) => {
    if (y.dtype === 'float32') return Math.fround(v);
    if (y.dtype === 'bool') return v !== 0 ? 1 : 0;
    if (Number.isNaN(v)) return 0;
    return Math.min(hi, Math.max(lo, Math.trunc(v)));
  });
  return [{ dtype: y.dtype, shape: y.shape.slice(), data, quant: y.quant }];
};

/** `outLen`: the resized length ONNX maps with (input length · scale when scales are given). */
function original(mode: string, x: number, scale: number, outLen: number, inLen: number): number {
  switch (mode) {
    case 'asymmetric': return x / scale;
    case 'align_corners': return outLen === 1 ? 0 : (x * (inLen - 1)) / (outLen - 1);
    case 'pytorch_half_pixel': return outLen > 1 ? (x + 0.5) / scale - 0.5 : 0;
    case 'tf_half_pixel_for_nn': return (x + 0.5) / scale;
    default: return (x + 0.5) / scale - 0.5;
  }
}

function nearest(mode: string, x: number, len: number): number {
  let r: number;
  if (mode === 'floor') r = Math.floor(x);
  else if (mode === 'ceil') r = Math.ceil(x);
  else if (mode === 'round_prefer_ceil') r = Math.round(x);
  else r = x === Math.floor(x) + 0.5 ? Math.floor(x) : Math.round(x);
  return Math.min(Math.max(r, 0), len - 1);
}

export const resize: RefOp = ([x], [y], attrs) => {
  const [n, h, w, c] = x!.shape;
  const [, oh, ow] = y.shape;
  const mode = str(attrs, 'mode', 'nearest');
  const coord = str(attrs, 'coordinateTransformationMode', 'half_pixel');
  const nm = str(attrs, 'nearestMode', 'round_prefer_floor');
  const [sh, sw] = nums(attrs, 'scales', [oh / h, ow / w]);
  // ONNX maps coordinates with input length · scale when scales are given (not the floored output length).
  const given = Array.isArray(attrs.scales);
  const [rh, rw] = given ? [h * sh, w * sw] : [oh, ow];
  const xr = mode === 'nearest' ? x!.data : real(x!);
  const at = (b: number, yy: number, xx: number, ch: number) => xr[((b * h + yy) * w + xx) * c + ch];
  const out = new Float64Array(n * oh * ow * c);
  const a = num(attrs, 'cubicCoeffA', -0.75);
  const exclude = num(attrs, 'excludeOutside', 0) !== 0;
  for (let b = 0; b < n; b++)
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++)
        for (let ch = 0; ch < c; ch++) {
          let fy = original(coord, oy, sh, rh, h), fx = original(coord, ox, sw, rw, w);
          let v: number;
          if (mode === 'nearest') {
            v = at(b, nearest(nm, fy, h), nearest(nm, fx, w), ch);
          } else if (mode === 'cubic') {
            const ty = cubicTaps(fy, h, a, exclude), tx = cubicTaps(fx, w, a, exclude);
            v = 0;
            for (const [iy, wy] of ty) for (const [ix, wx] of tx) v += wy * wx * at(b, iy, ix, ch);
          } else {
            fy = Math.min(Math.max(fy, 0), h - 1);
            fx = Math.min(Math.max(fx, 0), w - 1);
            const y0 = Math.floor(fy), x0 = Math.floor(fx);
            const y1 = Math.min(y0 + 1, h - 1), x1 = Math.min(x0 + 1, w - 1);
            const wy = fy - y0, wx = fx - x0;
            v = (at(b, y0, x0, ch) * (1 - wx) + at(b, y0, x1, ch) * wx) * (1 - wy) + (at(b, y1, x0, ch) * (1 - wx) + at(b, y1, x1, ch) * wx) * wy;
          }
          out[((b * oh + oy) * ow + ox) * c + ch] = v;
        }
  if (mode === 'nearest') return [raw(x!, y.shape.slice(), out)];
  return [encode(out, y)];
};

/**
 * Cubic interpolation along one axis as the ONNX reference states it: the 4 input positions nearest to x
 * (ties to the lower), Keys' weights of the distances, edge values outside the input (or, with exclude, those
 * positions dropped and the weights renormalised). Returns [clamped index, weight] pairs.
 */
function cubicTaps(x: number, len: number, a: number, exclude: boolean): [number, number][] {
  const kernel = (d: number): number => {
    d = Math.abs(d);
    if (d <= 1) return ((a + 2) * d - (a + 3)) * d * d + 1;
    if (d < 2) return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a;
    return 0;
  };
  const base = Math.floor(x);
  const candidates = [base - 2, base - 1, base, base + 1, base + 2, base + 3];
  const picked = candidates.sort((p, q) => Math.abs(x - p) - Math.abs(x - q) || p - q).slice(0, 4).sort((p, q) => p - q);
  let taps = picked.map((p): [number, number, boolean] => [Math.min(Math.max(p, 0), len - 1), kernel(x - p), p < 0 || p >= len]);
  if (exclude) {
    taps = taps.map(([i, wt, outside]) => [i, outside ? 0 : wt, outside]);
    const sum = taps.reduce((s, [, wt]) => s + wt, 0);
    taps = taps.map(([i, wt, o]) => [i, wt / sum, o]);
  }
  return taps.map(([i, wt]) => [i, wt]);
}
