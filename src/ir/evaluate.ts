/**
 * A small reference evaluator for the operators of shape computations (Shape, Gather, Concat, Slice, Cast,
 * integer arithmetic, ...) and cheap float elementwise ops: enough to fold constant subgraphs and to propagate
 * values during shape inference. Returns undefined for anything it does not handle, never guesses.
 */
import { byteLengthOf, DataType } from '../onnx/dtype.js';
import type { Node } from './node.js';
import { sizeOf, Tensor } from './tensor.js';

/** Results larger than this many elements are not materialized. */
export const MAX_FOLD_ELEMENTS = 1 << 20;

type Num = number | bigint;

function isIntType(dtype: number): boolean {
  return [DataType.INT8, DataType.UINT8, DataType.INT16, DataType.UINT16, DataType.INT32, DataType.UINT32, DataType.INT64, DataType.UINT64, DataType.BOOL].includes(dtype as 2);
}

function values(t: Tensor): Num[] {
  return t.dtype === DataType.INT64 || t.dtype === DataType.UINT64 ? t.toBigInts() : t.toNumbers();
}

function make(dtype: number, dims: number[], vals: Num[]): Tensor {
  if (dtype === DataType.INT64) return Tensor.fromInt64('', dims, vals.map((v) => (typeof v === 'bigint' ? v : BigInt(Math.trunc(v)))));
  if (dtype === DataType.UINT64) {
    const a = BigUint64Array.from(vals.map((v) => BigInt.asUintN(64, typeof v === 'bigint' ? v : BigInt(Math.trunc(v)))));
    return new Tensor({ dtype, dims, data: new Uint8Array(a.buffer) });
  }
  return Tensor.fromNumbers('', dtype, dims, vals.map(Number));
}

function strides(dims: readonly number[]): number[] {
  const s = new Array<number>(dims.length).fill(1);
  for (let i = dims.length - 2; i >= 0; i--) s[i] = s[i + 1] * dims[i + 1];
  return s;
}

export function broadcastDims(a: readonly number[], b: readonly number[]): number[] | undefined {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) return undefined;
    out.push(x === 1 ? y : x);
  }
  return out;
}

/** Index of each output element into a broadcast input. */
function broadcastIndex(outDims: number[], inDims: readonly number[]): number[] {
  const total = sizeOf(outDims);
  const os = strides(outDims);
  const padded = [...new Array(outDims.length - inDims.length).fill(1), ...inDims];
  const is = strides(padded);
  const idx = new Array<number>(total);
  for (let k = 0; k < total; k++) {
    let rem = k;
    let off = 0;
    for (let d = 0; d < outDims.length; d++) {
      const c = Math.floor(rem / os[d]);
      rem -= c * os[d];
      if (padded[d] !== 1) off += c * is[d];
    }
    idx[k] = off;
  }
  return idx;
}

function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

function toInt(v: Num): number {
  return typeof v === 'bigint' ? (v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : v < BigInt(Number.MIN_SAFE_INTEGER) ? Number.MIN_SAFE_INTEGER : Number(v)) : v;
}

const BINARY: Record<string, (a: Num, b: Num, int: boolean) => Num> = {
  Add: (a, b) => (typeof a === 'bigint' ? a + (b as bigint) : (a as number) + (b as number)),
  Sub: (a, b) => (typeof a === 'bigint' ? a - (b as bigint) : (a as number) - (b as number)),
  Mul: (a, b) => (typeof a === 'bigint' ? a * (b as bigint) : (a as number) * (b as number)),
  Div: (a, b, int) => {
    if (typeof a === 'bigint') return (b as bigint) === 0n ? 0n : a / (b as bigint);
    return int ? Math.trunc((a as number) / (b as number)) : (a as number) / (b as number);
  },
  Max: (a, b) => (a > b ? a : b),
  Min: (a, b) => (a < b ? a : b),
  Equal: (a, b) => (a === b ? 1 : 0),
  Less: (a, b) => (a < b ? 1 : 0),
  Greater: (a, b) => (a > b ? 1 : 0),
  LessOrEqual: (a, b) => (a <= b ? 1 : 0),
  GreaterOrEqual: (a, b) => (a >= b ? 1 : 0),
  And: (a, b) => (a && b ? 1 : 0),
  Or: (a, b) => (a || b ? 1 : 0),
  Pow: (a, b) => (typeof a === 'bigint' ? a ** (b as bigint) : (a as number) ** (b as number)),
};
const MOD_TRUNC = (a: Num, b: Num): Num => (typeof a === 'bigint' ? a % (b as bigint) : (a as number) % (b as number));
const MOD_FLOOR = (a: Num, b: Num): Num => {
  const r = MOD_TRUNC(a, b);
  return Number(r) !== 0 && (r < 0) !== (b < 0) ? (typeof r === 'bigint' ? r + (b as bigint) : (r as number) + (b as number)) : r;
};
BINARY.Mod = MOD_TRUNC;
const COMPARE = new Set(['Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'And', 'Or']);

const UNARY: Record<string, (x: number) => number> = {
  Neg: (x) => -x,
  Abs: Math.abs,
  Sqrt: Math.sqrt,
  Reciprocal: (x) => 1 / x,
  Floor: Math.floor,
  Ceil: Math.ceil,
  Relu: (x) => Math.max(x, 0),
  Exp: Math.exp,
  Log: Math.log,
  Not: (x) => (x ? 0 : 1),
};

/**
 * Evaluates `node` on constant inputs (null for omitted optional ones). `opset` selects the attribute-vs-input
 * form of ops that changed (Squeeze/Unsqueeze axes, Slice starts/ends, ...).
 */
export function evaluateNode(node: Node, inputs: (Tensor | null)[], opset: number): Tensor[] | undefined {
  if (node.domain !== '' && node.domain !== 'ai.onnx') return undefined;
  const x = inputs[0];
  const intList = (i: number, attr: string): number[] | undefined => {
    const t = inputs[i];
    if (t) return values(t).map(toInt);
    return node.hasAttr(attr) ? node.getInts(attr) : undefined;
  };
  try {
    switch (node.opType) {
      case 'Constant': {
        const t = node.getTensor('value');
        if (t) return [t];
        if (node.hasAttr('value_float')) return [Tensor.fromNumbers('', DataType.FLOAT, [], [node.getFloat('value_float')])];
        if (node.hasAttr('value_floats')) { const v = node.getFloats('value_floats'); return [Tensor.fromNumbers('', DataType.FLOAT, [v.length], v)]; }
        if (node.hasAttr('value_int')) return [make(DataType.INT64, [], [(node.attr('value_int') as { value: bigint }).value])];
        if (node.hasAttr('value_ints')) { const v = (node.attr('value_ints') as { value: bigint[] }).value; return [make(DataType.INT64, [v.length], v)]; }
        return undefined;
      }
      case 'Identity':
        return x ? [x] : undefined;
      case 'Shape':
        return undefined; // needs the input's shape, handled by shape inference
      case 'Cast': {
        if (!x) return undefined;
        const to = node.getInt('to');
        if (!isIntType(to) && to !== DataType.FLOAT && to !== DataType.DOUBLE && to !== DataType.FLOAT16) return undefined;
        if (!isIntType(x.dtype) && x.dtype !== DataType.FLOAT && x.dtype !== DataType.DOUBLE && x.dtype !== DataType.FLOAT16) return undefined;
        let v = values(x);
        if (isIntType(to) && !isIntType(x.dtype)) v = v.map((e) => Math.trunc(e as number));
        if (to === DataType.BOOL) v = v.map((e) => (e ? 1 : 0));
        if (!isIntType(to)) v = v.map((e) => Number(e));
        return [make(to, x.dims, v)];
      }
      case 'Gather': {
        const idx = inputs[1];
        if (!x || !idx) return undefined;
        const axis = normAxis(node.getInt('axis', 0), x.rank);
        const iv = values(idx).map(toInt).map((i) => (i < 0 ? i + x.dims[axis] : i));
        const outDims = [...x.dims.slice(0, axis), ...idx.dims, ...x.dims.slice(axis + 1)];
        if (sizeOf(outDims) > MAX_FOLD_ELEMENTS) return undefined;
        const xv = values(x);
        const outer = sizeOf(x.dims.slice(0, axis));
        const inner = sizeOf(x.dims.slice(axis + 1));
        const out: Num[] = [];
        for (let o = 0; o < outer; o++) for (const i of iv) for (let k = 0; k < inner; k++) out.push(xv[(o * x.dims[axis] + i) * inner + k]);
        return [make(x.dtype, outDims, out)];
      }
      case 'Concat': {
        const ts = inputs.filter((t): t is Tensor => t !== null);
        if (ts.length !== inputs.length || ts.length === 0) return undefined;
        const rank = ts[0].rank;
        const axis = normAxis(node.getInt('axis'), rank);
        const outer = sizeOf(ts[0].dims.slice(0, axis));
        const out: Num[] = [];
        const vs = ts.map(values);
        for (let o = 0; o < outer; o++) {
          ts.forEach((t, j) => {
            const chunk = sizeOf(t.dims.slice(axis));
            for (let k = 0; k < chunk; k++) out.push(vs[j][o * chunk + k]);
          });
        }
        const dims = [...ts[0].dims];
        dims[axis] = ts.reduce((s, t) => s + t.dims[axis], 0);
        return [make(ts[0].dtype, dims, out)];
      }
      case 'Unsqueeze': {
        if (!x) return undefined;
        const axes = opset >= 13 ? intList(1, '') : node.getInts('axes');
        if (!axes) return undefined;
        const rank = x.rank + axes.length;
        const ax = new Set(axes.map((a) => normAxis(a, rank)));
        const dims: number[] = [];
        let j = 0;
        for (let i = 0; i < rank; i++) dims.push(ax.has(i) ? 1 : x.dims[j++]);
        return [reshaped(x, dims)];
      }
      case 'Squeeze': {
        if (!x) return undefined;
        const axes = opset >= 13 ? intList(1, '') : node.hasAttr('axes') ? node.getInts('axes') : undefined;
        const ax = axes ? new Set(axes.map((a) => normAxis(a, x.rank))) : new Set(x.dims.flatMap((d, i) => (d === 1 ? [i] : [])));
        return [reshaped(x, x.dims.filter((_, i) => !ax.has(i)))];
      }
      case 'Reshape': {
        const shape = inputs[1];
        if (!x || !shape) return undefined;
        const dims = resolveReshape(x.dims, values(shape).map(toInt), node.getInt('allowzero', 0) === 1);
        return dims ? [reshaped(x, dims)] : undefined;
      }
      case 'Flatten': {
        if (!x) return undefined;
        const axis = normAxis(node.getInt('axis', 1), x.rank);
        return [reshaped(x, [sizeOf(x.dims.slice(0, axis)), sizeOf(x.dims.slice(axis))])];
      }
      case 'Slice': {
        if (!x) return undefined;
        const starts = opset >= 10 ? intList(1, '') : node.getInts('starts');
        const ends = opset >= 10 ? intList(2, '') : node.getInts('ends');
        if (!starts || !ends) return undefined;
        const axes = (opset >= 10 ? intList(3, '') : node.hasAttr('axes') ? node.getInts('axes') : undefined) ?? starts.map((_, i) => i);
        const steps = (opset >= 10 ? intList(4, '') : undefined) ?? starts.map(() => 1);
        const st = x.dims.map(() => 0);
        const en = [...x.dims];
        const sp = x.dims.map(() => 1);
        axes.forEach((a0, i) => {
          const a = normAxis(a0, x.rank);
          const d = x.dims[a];
          const step = steps[i];
          if (step === 0) throw new RangeError('Slice step 0');
          const clamp = (v: number, lo: number, hi: number): number => Math.min(Math.max(v, lo), hi);
          let s = starts[i] < 0 ? starts[i] + d : starts[i];
          let e = ends[i] < 0 ? ends[i] + d : ends[i];
          if (step > 0) { s = clamp(s, 0, d); e = clamp(e, 0, d); }
          else { s = clamp(s, 0, d - 1); e = clamp(e, -1, d - 1); }
          st[a] = s; en[a] = e; sp[a] = step;
        });
        const outDims = x.dims.map((_, a) => Math.max(0, Math.ceil((en[a] - st[a]) / sp[a])));
        if (sizeOf(outDims) > MAX_FOLD_ELEMENTS) return undefined;
        const xv = values(x);
        const xs = strides(x.dims);
        const os = strides(outDims);
        const out: Num[] = new Array(sizeOf(outDims));
        for (let k = 0; k < out.length; k++) {
          let rem = k;
          let off = 0;
          for (let a = 0; a < outDims.length; a++) {
            const c = Math.floor(rem / os[a]);
            rem -= c * os[a];
            off += (st[a] + c * sp[a]) * xs[a];
          }
          out[k] = xv[off];
        }
        return [make(x.dtype, outDims, out)];
      }
      case 'ConstantOfShape': {
        if (!x) return undefined;
        const dims = values(x).map(toInt);
        if (sizeOf(dims) > MAX_FOLD_ELEMENTS) return undefined;
        const v = node.getTensor('value');
        const dtype = v?.dtype ?? DataType.FLOAT;
        const fill = v ? values(v)[0] : 0;
        return [make(dtype, dims, new Array(sizeOf(dims)).fill(fill))];
      }
      case 'Range': {
        const [s, l, d] = inputs;
        if (!s || !l || !d) return undefined;
        const start = Number(values(s)[0]);
        const limit = Number(values(l)[0]);
        const delta = Number(values(d)[0]);
        const n = Math.max(Math.ceil((limit - start) / delta), 0);
        if (n > MAX_FOLD_ELEMENTS) return undefined;
        return [make(s.dtype, [n], Array.from({ length: n }, (_, i) => start + i * delta))];
      }
      case 'Expand': {
        const shape = inputs[1];
        if (!x || !shape) return undefined;
        const dims = broadcastDims(x.dims, values(shape).map(toInt));
        if (!dims || sizeOf(dims) > MAX_FOLD_ELEMENTS) return undefined;
        const xv = values(x);
        return [make(x.dtype, dims, broadcastIndex(dims, x.dims).map((i) => xv[i]))];
      }
      case 'Transpose': {
        if (!x) return undefined;
        const perm = node.hasAttr('perm') ? node.getInts('perm') : x.dims.map((_, i) => x.rank - 1 - i);
        const outDims = perm.map((p) => x.dims[p]);
        const xv = values(x);
        const xs = strides(x.dims);
        const os = strides(outDims);
        const out: Num[] = new Array(xv.length);
        for (let k = 0; k < xv.length; k++) {
          let rem = k;
          let off = 0;
          for (let a = 0; a < outDims.length; a++) {
            const c = Math.floor(rem / os[a]);
            rem -= c * os[a];
            off += c * xs[perm[a]];
          }
          out[k] = xv[off];
        }
        return [make(x.dtype, outDims, out)];
      }
      case 'Where': {
        const [c, a, b] = inputs;
        if (!c || !a || !b) return undefined;
        const d1 = broadcastDims(c.dims, a.dims);
        const dims = d1 && broadcastDims(d1, b.dims);
        if (!dims || sizeOf(dims) > MAX_FOLD_ELEMENTS) return undefined;
        const cv = values(c), av = values(a), bv = values(b);
        const ci = broadcastIndex(dims, c.dims), ai = broadcastIndex(dims, a.dims), bi = broadcastIndex(dims, b.dims);
        return [make(a.dtype, dims, ci.map((_, k) => (cv[ci[k]] ? av[ai[k]] : bv[bi[k]])))];
      }
      case 'Size':
        return x ? [make(DataType.INT64, [], [BigInt(x.size)])] : undefined;
      default:
        break;
    }
    if (node.opType in BINARY) {
      const ts = inputs;
      if (ts.length !== 2 || !ts[0] || !ts[1]) return undefined;
      const [a, b] = ts as Tensor[];
      if (a.dtype !== b.dtype && !(node.opType === 'Pow')) return undefined;
      const numeric = isIntType(a.dtype) || a.dtype === DataType.FLOAT || a.dtype === DataType.DOUBLE;
      if (!numeric) return undefined;
      const dims = broadcastDims(a.dims, b.dims);
      if (!dims || sizeOf(dims) > MAX_FOLD_ELEMENTS) return undefined;
      let av = values(a);
      let bv = values(b);
      if (node.opType === 'Pow' && (typeof av[0] === 'bigint') !== (typeof bv[0] === 'bigint')) {
        av = av.map(Number);
        bv = bv.map(Number);
      }
      const ai = broadcastIndex(dims, a.dims);
      const bi = broadcastIndex(dims, b.dims);
      const int = isIntType(a.dtype);
      let f = BINARY[node.opType];
      if (node.opType === 'Mod') {
        // fmod 0 (integers only): the sign of the divisor, as Python's %; fmod 1: the sign of the dividend, as C's fmod.
        const fmod = node.getInt('fmod', 0) === 1;
        if ((!fmod && !int) || bv.some((v) => Number(v) === 0)) return undefined;
        f = fmod ? MOD_TRUNC : MOD_FLOOR;
      }
      const out = ai.map((_, k) => f(av[ai[k]], bv[bi[k]], int));
      return [make(COMPARE.has(node.opType) ? DataType.BOOL : a.dtype, dims, out)];
    }
    if (node.opType in UNARY) {
      if (!x || (x.dtype !== DataType.FLOAT && x.dtype !== DataType.DOUBLE && !(isIntType(x.dtype) && ['Neg', 'Abs', 'Relu', 'Not'].includes(node.opType)))) return undefined;
      const f = UNARY[node.opType];
      return [make(x.dtype, x.dims, values(x).map((v) => (typeof v === 'bigint' ? BigInt(f(Number(v))) : f(v))))];
    }
  } catch (err) {
    if (err instanceof RangeError || err instanceof TypeError) return undefined;
    throw err;
  }
  return undefined;
}

function reshaped(x: Tensor, dims: number[]): Tensor {
  const t = new Tensor({ dtype: x.dtype, dims, data: x.data, strings: x.dtype === DataType.STRING ? x.strings : undefined });
  if (byteLengthOf(x.dtype, sizeOf(dims)) !== x.data.length && x.dtype !== DataType.STRING) throw new RangeError('bad reshape');
  return t;
}

/** Output dims of Reshape(data of `dims`, shape), resolving 0 and -1; undefined when inconsistent. */
export function resolveReshape(dims: readonly number[], shape: readonly number[], allowzero: boolean): number[] | undefined {
  const out = shape.map((s, i) => (s === 0 && !allowzero ? dims[i] : s));
  const minus = out.filter((d) => d === -1).length;
  if (minus > 1 || out.some((d) => d === undefined || d < -1)) return undefined;
  const total = sizeOf(dims);
  if (minus === 1) {
    const known = sizeOf(out.filter((d) => d !== -1));
    if (known === 0 || total % known !== 0) return undefined;
    out[out.indexOf(-1)] = total / known;
  }
  return sizeOf(out) === total ? out : undefined;
}
