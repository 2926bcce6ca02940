/** Elementwise binary and unary ops, Softmax and reductions, in float64 on real values. */
import { broadcastIndex, count, encode, real, strides, unravel } from './tensor.js';
import { activation, num, nums, str, type RefOp } from './types.js';

const BINARY: Record<string, (a: number, b: number) => number> = {
  Add: (a, b) => a + b,
  Sub: (a, b) => a - b,
  Mul: (a, b) => a * b,
  Div: (a, b) => a / b,
  Max: (a, b) => Math.max(a, b),
  Min: (a, b) => Math.min(a, b),
  Pow: (a, b) => Math.pow(a, b),
  Equal: (a, b) => Number(a === b),
  Less: (a, b) => Number(a < b),
  Greater: (a, b) => Number(a > b),
  LessOrEqual: (a, b) => Number(a <= b),
  GreaterOrEqual: (a, b) => Number(a >= b),
  And: (a, b) => Number(a !== 0 && b !== 0),
  Or: (a, b) => Number(a !== 0 || b !== 0),
  Xor: (a, b) => Number((a !== 0) !== (b !== 0)),
  PRelu: (a, b) => (a < 0 ? a * b : a),
};

/** BitShift on uint8: shifting by 8 or more gives 0. */
export const bitShift: RefOp = (ins, outs, attrs) => {
  const left = str(attrs, 'direction', '') === 'LEFT';
  return binary('BitShift', (a, b) => (b >= 8 ? 0 : left ? (a << b) & 255 : a >> b))(ins, outs, attrs);
};

/** Mod: fmod 1 keeps the dividend's sign (C fmod), fmod 0 the divisor's (Python); integer division by 0 throws. */
export const mod: RefOp = ([a, b], [y], attrs) => {
  const fmod = num(attrs, 'fmod', 0) !== 0;
  return binary('Mod', (x, d) => {
    if (y.dtype !== 'float32' && d === 0) throw new RangeError('reference Mod: integer division by zero');
    const r = x % d;
    return !fmod && r !== 0 && r < 0 !== d < 0 ? r + d : r;
  })([a, b], [y], attrs);
};

/** Where(cond, x, y) with three-way broadcasting. */
export const where: RefOp = ([c, x, yv], [out]) => {
  const xr = real(x!), yr = real(yv!);
  const data = new Float64Array(count(out.shape));
  for (let i = 0; i < data.length; i++) {
    const idx = unravel(i, out.shape);
    data[i] = c!.data[broadcastIndex(idx, c!.shape)] ? xr[broadcastIndex(idx, x!.shape)] : yr[broadcastIndex(idx, yv!.shape)];
  }
  return [encode(data, out)];
};

export function binary(op: string, fn?: (a: number, b: number) => number): RefOp {
  const f = fn ?? BINARY[op];
  return ([a, b], [y], attrs) => {
    const ar = real(a!), br = real(b!);
    const out = new Float64Array(count(y.shape));
    for (let i = 0; i < out.length; i++) {
      const idx = unravel(i, y.shape);
      out[i] = f(ar[broadcastIndex(idx, a!.shape)], br[broadcastIndex(idx, b!.shape)]);
    }
    return [encode(out, y, activation(attrs))];
  };
}

/** The ONNX definitions; erf by Abramowitz–Stegun would be too coarse, so a series/continued fraction. */
function erf(x: number): number {
  const t = Math.abs(x);
  if (t < 2.5) {
    // Maclaurin series: converges fast enough for |x| < 2.5 in float64.
    let sum = t, term = t;
    for (let k = 1; k < 80; k++) {
      term *= (-t * t) / k;
      sum += term / (2 * k + 1);
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  // Continued fraction for erfc.
  let f = 0;
  for (let k = 60; k >= 1; k--) f = k / 2 / (t + f);
  const erfc = Math.exp(-t * t) / Math.sqrt(Math.PI) / (t + f);
  return Math.sign(x) * (1 - erfc);
}

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Selu's ONNX defaults (the float32 values the spec gives). */
export const SELU_ALPHA = 1.67326319217681884765625;
export const SELU_GAMMA = 1.05070102214813232421875;

export function unaryFn(op: string, attrs: Record<string, unknown>): (x: number) => number {
  const a = (name: string, def: number) => num(attrs as never, name, def);
  switch (op) {
    case 'Relu': return (x) => Math.max(x, 0);
    case 'Clip': { const lo = a('min', -Infinity), hi = a('max', Infinity); return (x) => Math.min(Math.max(x, lo), hi); }
    case 'Sigmoid': return (x) => 1 / (1 + Math.exp(-x));
    case 'Tanh': return Math.tanh;
    case 'HardSigmoid': { const al = a('alpha', 0.2), be = a('beta', 0.5); return (x) => Math.max(0, Math.min(1, al * x + be)); }
    case 'HardSwish': return (x) => x * Math.max(0, Math.min(1, x / 6 + 0.5));
    case 'LeakyRelu': { const al = a('alpha', 0.01); return (x) => (x >= 0 ? x : al * x); }
    case 'Elu': { const al = a('alpha', 1); return (x) => (x >= 0 ? x : al * (Math.exp(x) - 1)); }
    case 'Sqrt': return Math.sqrt;
    case 'Exp': return Math.exp;
    case 'Log': return Math.log;
    case 'Abs': return Math.abs;
    case 'Neg': return (x) => -x;
    case 'Erf': return erf;
    case 'Floor': return Math.floor;
    case 'Ceil': return Math.ceil;
    case 'Round': return roundHalfEven;
    case 'Reciprocal': return (x) => 1 / x;
    case 'Sign': return (x) => (x > 0 ? 1 : x < 0 ? -1 : x);
    case 'Sin': return Math.sin;
    case 'Cos': return Math.cos;
    case 'Tan': return Math.tan;
    case 'Asin': return Math.asin;
    case 'Acos': return Math.acos;
    case 'Atan': return Math.atan;
    case 'Sinh': return Math.sinh;
    case 'Cosh': return Math.cosh;
    case 'Asinh': return Math.asinh;
    case 'Acosh': return Math.acosh;
    case 'Atanh': return Math.atanh;
    case 'Softplus': return (x) => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)));
    case 'Softsign': return (x) => x / (1 + Math.abs(x));
    case 'Selu': { const al = a('alpha', SELU_ALPHA), g = a('gamma', SELU_GAMMA); return (x) => g * (x > 0 ? x : al * (Math.exp(x) - 1)); }
    case 'ThresholdedRelu': { const al = a('alpha', 1); return (x) => (x > al ? x : 0); }
    case 'Celu': { const al = a('alpha', 1); return (x) => Math.max(0, x) + Math.min(0, al * (Math.exp(x / al) - 1)); }
    case 'Shrink': { const l = a('lambd', 0.5), b = a('bias', 0); return (x) => (x < -l ? x + b : x > l ? x - b : 0); }
    case 'Not': return (x) => Number(x === 0);
    case 'IsNaN': return (x) => Number(Number.isNaN(x));
    case 'IsInf': { const pos = a('detectPositive', 1), neg = a('detectNegative', 1); return (x) => Number((x === Infinity && pos !== 0) || (x === -Infinity && neg !== 0)); }
    default: throw new Error(`reference: no unary op ${op}`);
  }
}

export function unary(op: string): RefOp {
  return ([x], [y], attrs) => {
    const f = unaryFn(op, attrs);
    return [encode(real(x!).map(f), y)];
  };
}

export function softmax(log: boolean): RefOp {
  return ([x], [y], attrs) => {
    const xr = real(x!);
    const rank = x!.shape.length;
    let axis = num(attrs, 'axis', -1);
    if (axis < 0) axis += rank;
    const dim = x!.shape[axis];
    const inner = strides(x!.shape)[axis];
    const outer = xr.length / (dim * inner);
    const out = new Float64Array(xr.length);
    for (let o = 0; o < outer; o++)
      for (let i = 0; i < inner; i++) {
        const at = (d: number) => o * dim * inner + d * inner + i;
        let m = -Infinity;
        for (let d = 0; d < dim; d++) m = Math.max(m, xr[at(d)]);
        let sum = 0;
        for (let d = 0; d < dim; d++) sum += Math.exp(xr[at(d)] - m);
        for (let d = 0; d < dim; d++) out[at(d)] = log ? xr[at(d)] - m - Math.log(sum) : Math.exp(xr[at(d)] - m) / sum;
      }
    return [encode(out, y)];
  };
}

/** Per reduce op: initial accumulator, step, and the final map (count = elements reduced into one). */
const REDUCERS: Record<string, { init: number; step: (acc: number, x: number) => number; end?: (acc: number, count: number) => number }> = {
  ReduceMean: { init: 0, step: (a, x) => a + x, end: (a, n) => a / n },
  ReduceSum: { init: 0, step: (a, x) => a + x },
  ReduceMax: { init: -Infinity, step: Math.max },
  ReduceMin: { init: Infinity, step: Math.min },
  ReduceProd: { init: 1, step: (a, x) => a * x },
  ReduceL1: { init: 0, step: (a, x) => a + Math.abs(x) },
  ReduceL2: { init: 0, step: (a, x) => a + x * x, end: Math.sqrt },
  ReduceSumSquare: { init: 0, step: (a, x) => a + x * x },
  ReduceLogSum: { init: 0, step: (a, x) => a + x, end: Math.log },
  ReduceLogSumExp: { init: 0, step: (a, x) => a + Math.exp(x), end: Math.log },
};

export const REDUCE_OPS = Object.keys(REDUCERS);

export function reduce(op: string): RefOp {
  const r = REDUCERS[op];
  return ([x], [y], attrs) => {
    const xr = real(x!);
    const rank = x!.shape.length;
    const axes = nums(attrs, 'axes', []).map((a) => (a < 0 ? a + rank : a));
    const reduced = x!.shape.map((_, d) => axes.length === 0 || axes.includes(d));
    const keptShape = x!.shape.map((s, d) => (reduced[d] ? 1 : s));
    const kept = strides(keptShape);
    const n = count(keptShape);
    const acc = new Float64Array(n).fill(r.init);
    for (let i = 0; i < xr.length; i++) {
      const idx = unravel(i, x!.shape);
      let o = 0;
      for (let d = 0; d < rank; d++) if (!reduced[d]) o += idx[d] * kept[d];
      acc[o] = r.step(acc[o], xr[i]);
    }
    if (r.end) for (let i = 0; i < n; i++) acc[i] = r.end(acc[i], xr.length / n);
    return [encode(acc, y)];
  };
}

/** [outer, dim, inner] around `axis`. */
function axisView(shape: readonly number[], axis: number): [number, number, number] {
  const inner = strides(shape)[axis];
  return [count(shape) / (shape[axis] * inner), shape[axis], inner];
}

/** Index of the extreme along a lane (first on ties, or last with `last`). */
function extreme(data: Float64Array, base: number, dim: number, inner: number, max: boolean, last: boolean): number {
  let best = 0;
  for (let k = 1; k < dim; k++) {
    const v = data[base + k * inner], b = data[base + best * inner];
    if (max ? (last ? v >= b : v > b) : last ? v <= b : v < b) best = k;
  }
  return best;
}

/** ArgMax / ArgMin on stored values (8-bit order equals real order). */
export function argReduce(max: boolean): RefOp {
  return ([x], [y], attrs) => {
    const rank = x!.shape.length;
    let axis = num(attrs, 'axis', 0);
    if (axis < 0) axis += rank;
    const [outer, dim, inner] = axisView(x!.shape, axis);
    const out = new Float64Array(outer * inner);
    for (let o = 0; o < outer; o++)
      for (let i = 0; i < inner; i++) out[o * inner + i] = extreme(x!.data, o * dim * inner + i, dim, inner, max, num(attrs, 'selectLastIndex', 0) !== 0);
    return [encode(out, y)];
  };
}

export const hardmax: RefOp = ([x], [y], attrs) => {
  const rank = x!.shape.length;
  let axis = num(attrs, 'axis', -1);
  if (axis < 0) axis += rank;
  const [outer, dim, inner] = axisView(x!.shape, axis);
  const xr = real(x!);
  const out = new Float64Array(xr.length);
  for (let o = 0; o < outer; o++)
    for (let i = 0; i < inner; i++) {
      const base = o * dim * inner + i;
      out[base + extreme(xr, base, dim, inner, true, false) * inner] = 1;
    }
  return [encode(out, y)];
};
