/** Conv, ConvTranspose and pooling on NHWC data with OHWI weights (Conv: or OIHW), in float64 on real values. */
import { encode, real, type RefTensor } from './tensor.js';
import { activation, num, nums, str, type RefOp } from './types.js';

interface Geometry {
  n: number; h: number; w: number; c: number; oh: number; ow: number;
  kh: number; kw: number; sh: number; sw: number; dh: number; dw: number; pt: number; pl: number;
}

function geometry(x: RefTensor, out: number[], kh: number, kw: number, attrs: Record<string, unknown>): Geometry {
  const [sh, sw] = nums(attrs as never, 'strides', [1, 1]);
  const [dh, dw] = nums(attrs as never, 'dilations', [1, 1]);
  const [pt, pl] = nums(attrs as never, 'pads', [0, 0, 0, 0]);
  return { n: x.shape[0], h: x.shape[1], w: x.shape[2], c: x.shape[3], oh: out[1], ow: out[2], kh, kw, sh, sw, dh, dw, pt, pl };
}

/** Bias in real units: int32 bias of an int8 conv has scale x_scale * w_scale[o]. */
function realBias(bias: RefTensor | undefined, x: RefTensor, w: RefTensor, oc: number): Float64Array {
  const b = new Float64Array(oc);
  if (!bias) return b;
  for (let o = 0; o < oc; o++) {
    if (bias.dtype === 'int32' && w.quant && x.quant) {
      const ws = w.quant.scale.length === 1 ? w.quant.scale[0] : w.quant.scale[o];
      b[o] = bias.data[o] * x.quant.scale[0] * ws;
    } else {
      b[o] = bias.data[o];
    }
  }
  return b;
}

export const conv: RefOp = ([x, w, bias], [y], attrs) => {
  const xr = real(x!);
  const oihw = str(attrs, 'weightLayout', 'OHWI') === 'OIHW';
  const oc = w!.shape[0];
  const [kh, kw, gi] = oihw ? [w!.shape[2], w!.shape[3], w!.shape[1]] : [w!.shape[1], w!.shape[2], w!.shape[3]];
  // Index of weight (o, ky, kx, ci) in either layout.
  const wr = real(w!);
  const wAt = oihw ? (o: number, ky: number, kx: number, ci: number) => ((o * gi + ci) * kh + ky) * kw + kx : (o: number, ky: number, kx: number, ci: number) => ((o * kh + ky) * kw + kx) * gi + ci;
  const groups = num(attrs, 'group', 1);
  const go = oc / groups;
  const g = geometry(x!, y.shape, kh, kw, attrs);
  const b = realBias(bias, x!, w!, oc);
  const out = new Float64Array(g.n * g.oh * g.ow * oc);
  for (let n = 0; n < g.n; n++)
    for (let oy = 0; oy < g.oh; oy++)
      for (let ox = 0; ox < g.ow; ox++)
        for (let o = 0; o < oc; o++) {
          const grp = Math.floor(o / go);
          let acc = b[o];
          for (let ky = 0; ky < kh; ky++) {
            const iy = oy * g.sh - g.pt + ky * g.dh;
            if (iy < 0 || iy >= g.h) continue;
            for (let kx = 0; kx < kw; kx++) {
              const ix = ox * g.sw - g.pl + kx * g.dw;
              if (ix < 0 || ix >= g.w) continue;
              for (let ci = 0; ci < gi; ci++) {
                acc += xr[((n * g.h + iy) * g.w + ix) * g.c + grp * gi + ci] * wr[wAt(o, ky, kx, ci)];
              }
            }
          }
          out[((n * g.oh + oy) * g.ow + ox) * oc + o] = acc;
        }
  // float32 epilogue: clamp, then HardSwish, then y * affineScale + affineBias.
  const hardSwish = str(attrs, 'activation', '') === 'HardSwish';
  const scale = num(attrs, 'affineScale', 1), shift = num(attrs, 'affineBias', 0);
  if (!hardSwish && scale === 1 && shift === 0) return [encode(out, y, activation(attrs))];
  const { min, max } = activation(attrs);
  for (let i = 0; i < out.length; i++) {
    let v = Math.min(Math.max(out[i], min), max);
    if (hardSwish) v = (v * Math.min(Math.max(v + 3, 0), 6)) / 6;
    out[i] = v * scale + shift;
  }
  return [encode(out, y, { min: -Infinity, max: Infinity })];
};

export const convTranspose: RefOp = ([x, w, bias], [y], attrs) => {
  const xr = real(x!), wr = real(w!);
  const oc = w!.shape[0];
  const [kh, kw, gi] = [w!.shape[1], w!.shape[2], w!.shape[3]];
  const groups = num(attrs, 'group', 1);
  const go = oc / groups;
  const g = geometry(x!, y.shape, kh, kw, attrs);
  const b = realBias(bias, x!, w!, oc);
  const out = new Float64Array(g.n * g.oh * g.ow * oc);
  for (let i = 0; i < out.length; i++) out[i] = b[i % oc];
  for (let n = 0; n < g.n; n++)
    for (let iy = 0; iy < g.h; iy++)
      for (let ix = 0; ix < g.w; ix++)
        for (let o = 0; o < oc; o++) {
          const grp = Math.floor(o / go);
          for (let ky = 0; ky < kh; ky++) {
            const oy = iy * g.sh - g.pt + ky * g.dh;
            if (oy < 0 || oy >= g.oh) continue;
            for (let kx = 0; kx < kw; kx++) {
              const ox = ix * g.sw - g.pl + kx * g.dw;
              if (ox < 0 || ox >= g.ow) continue;
              let acc = 0;
              for (let ci = 0; ci < gi; ci++) {
                acc += xr[((n * g.h + iy) * g.w + ix) * g.c + grp * gi + ci] * wr[((o * kh + ky) * kw + kx) * gi + ci];
              }
              out[((n * g.oh + oy) * g.ow + ox) * oc + o] += acc;
            }
          }
        }
  return [encode(out, y, activation(attrs))];
};

function pool(kind: 'max' | 'avg'): RefOp {
  return ([x], [y], attrs) => {
    const xr = real(x!);
    const [kh, kw] = nums(attrs, 'kernelShape', [1, 1]);
    const g = geometry(x!, y.shape, kh, kw, attrs);
    const [, , pb, pr] = nums(attrs, 'pads', [0, 0, 0, 0]);
    const includePad = num(attrs, 'countIncludePad', 0) !== 0;
    const dh = kind === 'avg' ? 1 : g.dh, dw = kind === 'avg' ? 1 : g.dw;
    const out = new Float64Array(g.n * g.oh * g.ow * g.c);
    for (let n = 0; n < g.n; n++)
      for (let oy = 0; oy < g.oh; oy++)
        for (let ox = 0; ox < g.ow; ox++)
          for (let c = 0; c < g.c; c++) {
            let acc = kind === 'max' ? -Infinity : 0;
            let cnt = 0;
            for (let ky = 0; ky < kh; ky++)
              for (let kx = 0; kx < kw; kx++) {
                const iy = oy * g.sh - g.pt + ky * dh, ix = ox * g.sw - g.pl + kx * dw;
                const inside = iy >= 0 && iy < g.h && ix >= 0 && ix < g.w;
                if (!inside) {
                  if (includePad && iy < g.h + pb && ix < g.w + pr) cnt++;
                  continue;
                }
                const v = xr[((n * g.h + iy) * g.w + ix) * g.c + c];
                // onnxruntime's max (acc > v ? acc : v): a NaN survives only as the window's last element.
                acc = kind === 'max' ? (acc > v ? acc : v) : acc + v;
                cnt++;
              }
            out[((n * g.oh + oy) * g.ow + ox) * g.c + c] = kind === 'max' ? acc : cnt ? acc / cnt : 0;
          }
    return [encode(out, y, activation(attrs))];
  };
}

export const maxPool = pool('max');
export const averagePool = pool('avg');

export const globalAveragePool: RefOp = ([x], [y], attrs) => {
  const xr = real(x!);
  const [n, h, w, c] = x!.shape;
  const out = new Float64Array(n * c);
  for (let b = 0; b < n; b++)
    for (let i = 0; i < h * w; i++)
      for (let ch = 0; ch < c; ch++) out[b * c + ch] += xr[(b * h * w + i) * c + ch] / (h * w);
  return [encode(out, y, activation(attrs))];
};
