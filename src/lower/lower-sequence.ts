/**
 * Lowering of LayerNormalization and the recurrent ops (LSTM, GRU, RNN) to their plan ops (own float32 kernels,
 * native/runtime/ops/layer_norm.cc and recurrent.cc). Both run on the ONNX layout.
 */
import { OnnxError } from '../onnx/errors.js';
import type { Node } from '../ir/node.js';
import type { Value } from '../ir/value.js';
import type { PlanAttr } from '../runtime/plan.js';
import { staticShape } from './builder.js';
import type { Lowering } from './lower.js';

export const SEQUENCE_OPS = ['LayerNormalization', 'LSTM', 'GRU', 'RNN'] as const;

const GATES: Record<string, number> = { LSTM: 4, GRU: 3, RNN: 1 };
const ACTIVATIONS_PER_DIRECTION: Record<string, number> = { LSTM: 3, GRU: 2, RNN: 1 };
const DEFAULT_ACTIVATIONS: Record<string, string[]> = { LSTM: ['Sigmoid', 'Tanh', 'Tanh'], GRU: ['Sigmoid', 'Tanh'], RNN: ['Tanh'] };
/** Activation functions of the recurrent ops and the alpha / beta each takes, with ONNX's defaults. */
const ACTIVATION_PARAMS: Record<string, [alpha?: number, beta?: number]> = {
  Relu: [], Tanh: [], Sigmoid: [], Softsign: [], Softplus: [],
  Affine: [1, 0], LeakyRelu: [0.01], ThresholdedRelu: [1], ScaledTanh: [1, 1], HardSigmoid: [0.2, 0.5], Elu: [1],
};

/** Why the runtime cannot run `n` (one of SEQUENCE_OPS), or undefined. */
export function sequenceUnsupportedReason(n: Node, fedAtRun: (v: Value | null) => boolean): string | undefined {
  const op = n.opType;
  if (op === 'LayerNormalization') {
    if (n.getInt('stash_type', 1) !== 1) return `${op} with stash_type ${n.getInt('stash_type', 1)} (float32 statistics only)`;
    const xs = n.input(0)?.shape;
    if (xs && xs.every((d) => typeof d === 'number')) {
      const axis = normAxis(n.getInt('axis', -1), xs.length);
      const inner = (xs as number[]).slice(axis).reduce((a, b) => a * b, 1);
      for (const i of [1, 2]) {
        const v = n.input(i);
        const count = v?.shape?.every((d) => typeof d === 'number') ? (v.shape as number[]).reduce((a, b) => a * b, 1) : undefined;
        if (v && count !== inner && fedAtRun(v)) return `${op} with a broadcast Scale or B given at run time`;
      }
    }
    return undefined;
  }
  const acts = n.getStrings('activations', []);
  for (const a of acts) if (!canonicalActivation(a)) return `${op} with activation '${a}'`;
  if (n.input(0)?.shape && n.input(0)!.shape!.length !== 3) return `${op} on ${n.input(0)!.shape!.length}-D input`;
  return undefined;
}

function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

function canonicalActivation(name: string): string | undefined {
  return Object.keys(ACTIVATION_PARAMS).find((k) => k.toLowerCase() === name.toLowerCase());
}

export function lowerSequenceOp(l: Lowering, node: Node, name: string): void {
  if (node.opType === 'LayerNormalization') lowerLayerNorm(l, node, name);
  else lowerRecurrent(l, node, name);
}

function lowerLayerNorm(l: Lowering, node: Node, name: string): void {
  const x = node.input(0)!;
  const xs = staticShape(x);
  const axis = normAxis(node.getInt('axis', -1), xs.length);
  const normalized = xs.slice(axis);
  const inner = normalized.reduce((a, b) => a * b, 1);
  const param = (i: number): number => {
    const v = node.input(i)!;
    const c = l.floatConstant(v);
    if (c && c.data.length !== inner) {
      // Unidirectional broadcast of a constant Scale / B to X.shape[axis:], done once here.
      const data = new Float32Array(inner);
      const dims = [...Array(normalized.length - c.dims.length).fill(1), ...c.dims];
      for (let k = 0; k < inner; k++) {
        let rem = k;
        let src = 0;
        let stride = 1;
        for (let d = normalized.length - 1; d >= 0; d--) {
          const idx = rem % normalized[d];
          rem = Math.floor(rem / normalized[d]);
          if (dims[d] !== 1) src += idx * stride;
          stride *= dims[d];
        }
        data[k] = c.data[src];
      }
      return l.b.addConstant(`${v.name}:${name}:expanded`, 'float32', normalized, data);
    }
    return l.b.get(v, 'plain');
  };
  const inputs = [l.b.get(x, 'plain'), param(1), ...(node.input(2) ? [param(2)] : [])];
  const stat = xs.map((d, i) => (i < axis ? d : 1));
  // Trailing absent outputs are dropped; an absent Mean before a present InvStdDev gets a scratch value.
  const last = node.outputs.reduce((k, v, i) => (v ? i : k), 0);
  const outputs: number[] = [];
  for (let i = 0; i <= last; i++) {
    const v = node.output(i);
    outputs.push(v ? l.out(v, 'plain') : l.b.addValue({ name: `${name}:unused${i}`, dtype: 'float32', shape: stat }));
  }
  l.b.addNode(name, 'LayerNormalization', inputs, outputs, { axis, epsilon: node.getFloat('epsilon', 1e-5) });
}

function lowerRecurrent(l: Lowering, node: Node, name: string): void {
  const op = node.opType as 'LSTM' | 'GRU' | 'RNN';
  const xs = staticShape(node.input(0)!);
  const ws = staticShape(node.input(1)!);
  const layout = node.getInt('layout', 0);
  const direction = node.getString('direction', 'forward');
  const dirs = direction === 'bidirectional' ? 2 : 1;
  const hidden = node.getInt('hidden_size', ws[1] / GATES[op]);
  const [seq, batch] = layout ? [xs[1], xs[0]] : [xs[0], xs[1]];
  const inputs = node.inputs.map((v) => (v ? l.b.get(v, 'plain') : -1));
  while (inputs.length > 3 && inputs[inputs.length - 1] < 0) inputs.pop();
  const state = layout ? [batch, dirs, hidden] : [dirs, batch, hidden];
  const shapes = [layout ? [batch, seq, dirs, hidden] : [seq, dirs, batch, hidden], state, state];
  const outputs = shapes.slice(0, op === 'LSTM' ? 3 : 2).map((shape, i) => {
    const v = node.output(i);
    return v ? l.out(v, 'plain') : l.b.addValue({ name: `${name}:unused${i}`, dtype: 'float32', shape });
  });
  // Activations with their alpha / beta resolved: ONNX consumes the lists in order, only for the functions
  // that take them, and falls back to each function's default.
  const k = ACTIVATIONS_PER_DIRECTION[op];
  let acts = node.getStrings('activations', []).map((a) => canonicalActivation(a)!);
  if (acts.length === 0) acts = DEFAULT_ACTIVATIONS[op];
  if (acts.length === k && dirs === 2) acts = [...acts, ...acts];
  if (acts.length !== k * dirs) throw new OnnxError(`${node.label}: expected ${k * dirs} activations, got ${acts.length}`, { node: node.id });
  const alphaList = node.getFloats('activation_alpha', []);
  const betaList = node.getFloats('activation_beta', []);
  let ai = 0;
  let bi = 0;
  const alpha: number[] = [];
  const beta: number[] = [];
  for (const a of acts) {
    const [da, db] = ACTIVATION_PARAMS[a];
    alpha.push(da === undefined ? 0 : ai < alphaList.length ? alphaList[ai++] : da);
    beta.push(db === undefined ? 0 : bi < betaList.length ? betaList[bi++] : db);
  }
  const attrs: Record<string, PlanAttr> = {
    hiddenSize: hidden, direction, layout, activations: acts.join(','), activationAlpha: alpha, activationBeta: beta,
  };
  const clip = node.getFloat('clip', 0);
  if (node.hasAttr('clip')) attrs.clip = clip;
  if (op === 'GRU') attrs.linearBeforeReset = node.getInt('linear_before_reset', 0);
  if (op === 'LSTM') attrs.inputForget = node.getInt('input_forget', 0);
  l.b.addNode(name, op, inputs, outputs, attrs);
}
