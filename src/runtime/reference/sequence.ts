/** LayerNormalization and the recurrent ops (LSTM, GRU, RNN) in float64, written from the ONNX equations. */
import { count, encode } from './tensor.js';
import { num, nums, str, type RefOp } from './types.js';

export const layerNormalization: RefOp = ([x, scale, bias], outs, attrs) => {
  const rank = x!.shape.length;
  let axis = num(attrs, 'axis', -1);
  if (axis < 0) axis += rank;
  const eps = num(attrs, 'epsilon', 1e-5);
  const inner = count(x!.shape.slice(axis));
  const outer = x!.data.length / inner;
  const y = new Float64Array(x!.data.length);
  const mean = new Float64Array(outer);
  const inv = new Float64Array(outer);
  for (let o = 0; o < outer; o++) {
    const row = x!.data.subarray(o * inner, (o + 1) * inner);
    const m = row.reduce((s, v) => s + v, 0) / inner;
    const variance = row.reduce((s, v) => s + (v - m) * (v - m), 0) / inner;
    const r = 1 / Math.sqrt(variance + eps);
    for (let i = 0; i < inner; i++) y[o * inner + i] = (row[i] - m) * r * scale!.data[i] + (bias ? bias.data[i] : 0);
    mean[o] = m;
    inv[o] = r;
  }
  return [y, mean, inv].slice(0, outs.length).map((d, i) => encode(d, outs[i]));
};

function activation(name: string, alpha: number, beta: number): (x: number) => number {
  switch (name) {
    case 'Relu': return (x) => Math.max(0, x);
    case 'Tanh': return Math.tanh;
    case 'Sigmoid': return (x) => 1 / (1 + Math.exp(-x));
    case 'Affine': return (x) => alpha * x + beta;
    case 'LeakyRelu': return (x) => (x >= 0 ? x : alpha * x);
    case 'ThresholdedRelu': return (x) => (x > alpha ? x : 0);
    case 'ScaledTanh': return (x) => alpha * Math.tanh(beta * x);
    case 'HardSigmoid': return (x) => Math.max(0, Math.min(1, alpha * x + beta));
    case 'Elu': return (x) => (x >= 0 ? x : alpha * (Math.exp(x) - 1));
    case 'Softsign': return (x) => x / (1 + Math.abs(x));
    case 'Softplus': return (x) => Math.log(1 + Math.exp(x));
    default: throw new Error(`reference: no activation ${name}`);
  }
}

/** One recurrent op; `cell` maps (gate pre-activations from X, h, c, direction) to the new h and c. */
export function recurrent(op: 'LSTM' | 'GRU' | 'RNN'): RefOp {
  const gates = op === 'LSTM' ? 4 : op === 'GRU' ? 3 : 1;
  const k = op === 'LSTM' ? 3 : op === 'GRU' ? 2 : 1;
  return ([x, w, r, b, lens, h0, c0, p], outs, attrs) => {
    const layout = num(attrs, 'layout', 0);
    const [T, B, I] = layout ? [x!.shape[1], x!.shape[0], x!.shape[2]] : x!.shape;
    const H = num(attrs, 'hiddenSize', 0);
    const direction = str(attrs, 'direction', 'forward');
    const D = direction === 'bidirectional' ? 2 : 1;
    const clip = typeof attrs.clip === 'number' ? attrs.clip : Infinity;
    const cl = (v: number) => Math.min(clip, Math.max(-clip, v));
    let names = str(attrs, 'activations', op === 'LSTM' ? 'Sigmoid,Tanh,Tanh' : op === 'GRU' ? 'Sigmoid,Tanh' : 'Tanh').split(',');
    if (names.length === k && D === 2) names = [...names, ...names];
    const alphas = nums(attrs, 'activationAlpha', []);
    const betas = nums(attrs, 'activationBeta', []);
    const fns = names.map((n, i) => activation(n, alphas[i] ?? 0, betas[i] ?? 0));
    const lbr = num(attrs, 'linearBeforeReset', 0) !== 0;
    const inputForget = num(attrs, 'inputForget', 0) !== 0;
    const xAt = (t: number, bb: number, i: number) => x!.data[(layout ? bb * T + t : t * B + bb) * I + i];
    const stateAt = (d: number, bb: number) => (layout ? bb * D + d : d * B + bb) * H;
    const Y = new Float64Array(T * D * B * H);
    const Yh = new Float64Array(D * B * H);
    const Yc = new Float64Array(D * B * H);
    for (let d = 0; d < D; d++) {
      const reverse = direction === 'reverse' || d === 1;
      const [f, g, hf] = fns.slice(d * k, d * k + k);
      // W·x_t + Wb, and R·h + Rb, for gate row j of direction d.
      const wx = (j: number, t: number, bb: number) => {
        let s = b ? b.data[d * 2 * gates * H + j] : 0;
        for (let i = 0; i < I; i++) s += w!.data[(d * gates * H + j) * I + i] * xAt(t, bb, i);
        return s;
      };
      const rh = (j: number, h: ArrayLike<number>) => {
        let s = b ? b.data[d * 2 * gates * H + gates * H + j] : 0;
        for (let i = 0; i < H; i++) s += r!.data[(d * gates * H + j) * H + i] * h[i];
        return s;
      };
      for (let bb = 0; bb < B; bb++) {
        let h = Array.from({ length: H }, (_, i) => (h0 ? h0.data[stateAt(d, bb) + i] : 0));
        let c = Array.from({ length: H }, (_, i) => (c0 ? c0.data[stateAt(d, bb) + i] : 0));
        const len = lens ? lens.data[bb] : T;
        for (let s = 0; s < len; s++) {
          const t = reverse ? len - 1 - s : s;
          const nh = new Array<number>(H);
          const nc = new Array<number>(H);
          for (let i = 0; i < H; i++) {
            if (op === 'RNN') {
              nh[i] = f(cl(wx(i, t, bb) + rh(i, h)));
            } else if (op === 'LSTM') {
              const pv = (gate: number) => (p ? p.data[d * 3 * H + gate * H + i] : 0);
              const it = f(cl(wx(i, t, bb) + rh(i, h) + pv(0) * c[i]));
              const ft = inputForget ? 1 - it : f(cl(wx(2 * H + i, t, bb) + rh(2 * H + i, h) + pv(2) * c[i]));
              const ct = g(cl(wx(3 * H + i, t, bb) + rh(3 * H + i, h)));
              nc[i] = ft * c[i] + it * ct;
              const ot = f(cl(wx(H + i, t, bb) + rh(H + i, h) + pv(1) * nc[i]));
              nh[i] = ot * hf(nc[i]);
            } else {
              const z = f(cl(wx(i, t, bb) + rh(i, h)));
              // The reset gate of every unit is needed for h's candidate when the reset comes first.
              const rAll = Array.from({ length: H }, (_, m) => f(cl(wx(H + m, t, bb) + rh(H + m, h))));
              const cand = lbr ? wx(2 * H + i, t, bb) + rAll[i] * rh(2 * H + i, h) : wx(2 * H + i, t, bb) + rh(2 * H + i, h.map((v, m) => rAll[m] * v));
              nh[i] = (1 - z) * g(cl(cand)) + z * h[i];
            }
          }
          h = nh;
          if (op === 'LSTM') c = nc;
          const yo = layout ? ((bb * T + t) * D + d) * H : ((t * D + d) * B + bb) * H;
          for (let i = 0; i < H; i++) Y[yo + i] = h[i];
        }
        for (let i = 0; i < H; i++) {
          Yh[stateAt(d, bb) + i] = h[i];
          Yc[stateAt(d, bb) + i] = c[i];
        }
      }
    }
    return [Y, Yh, Yc].slice(0, outs.length).map((data, i) => encode(data, outs[i]));
  };
}
