/**
 * LayerNormalization, LSTM / GRU / RNN and cubic Resize plan ops (own kernels) against the float64 reference
 * interpreter, on random tensors; invalid plans first.
 */
import { describe, expect, it } from 'vitest';

import { OctetError } from '../../../src/errors.js';
import { createPlan, type Plan, type PlanAttr, type PlanTypedArray } from '../../../src/runtime/plan.js';
import { runReference } from '../../../src/runtime/reference/interpreter.js';
import { count, expectClose, expectQuantClose, quant, randomFloat, randomInts, single } from './helpers.js';

const f32 = (shape: number[], data?: Float32Array) => ({ dtype: 'float32' as const, shape, ...(data ? { data } : {}) });

async function check(plan: Plan, inputs: PlanTypedArray[], impl: RegExp, rtol = 1e-5, atol = 1e-5): Promise<void> {
  const p = createPlan(plan);
  const got = await p.run(inputs);
  const want = runReference(plan, inputs);
  got.forEach((g, i) => expectClose(g as Float32Array, want[i] as Float64Array, rtol, atol));
  expect(p.implementations.join(',')).toMatch(impl);
  p.release();
}

function planError(plan: Plan): OctetError {
  try {
    createPlan(plan).release();
  } catch (e) {
    return e as OctetError;
  }
  throw new Error('expected createPlan to throw');
}

describe('LayerNormalization float32', () => {
  it('refuses a Scale of the wrong size and a non-float input, naming the node', () => {
    const e = planError(single('LayerNormalization', [f32([2, 3, 4]), f32([3])], [f32([2, 3, 4])], { axis: 1 }));
    expect(e.code).toBe('ERR_OCTET_INVALID_PLAN');
    expect(e.message).toBe("node 'layernormalization0' (LayerNormalization): Scale must have 12 elements (X.shape[axis:])");
    const e2 = planError(single('LayerNormalization', [{ dtype: 'int32', shape: [2, 3] }, f32([3])], [{ dtype: 'int32', shape: [2, 3] }], {}));
    expect(e2.message).toBe("node 'layernormalization0' (LayerNormalization): unsupported dtype int32 (float32 only)");
  });

  for (const [shape, axis] of [
    [[4, 37], -1],
    [[2, 3, 5, 8], 1],
    [[3, 64], 0],
    [[2, 5, 300], 2],
  ] as [number[], number][]) {
    it(`shape [${shape}] axis ${axis}, with Mean and InvStdDev`, async () => {
      const a = axis < 0 ? axis + shape.length : axis;
      const inner = count(shape.slice(a));
      const stat = shape.map((d, i) => (i < a ? d : 1));
      const plan = single(
        'LayerNormalization',
        [f32(shape), f32(shape.slice(a), randomFloat(inner, 2, 0.5, 1.5)), f32(shape.slice(a), randomFloat(inner, 3))],
        [f32(shape), f32(stat), f32(stat)],
        { axis, epsilon: 1e-3 },
      );
      // An offset mean, as activations have: the two-pass variance keeps the precision.
      await check(plan, [randomFloat(count(shape), 1, 2, 6)], /own:layer_norm_f32/, 1e-4, 1e-5);
    });
  }

  it('without B and with one output', () =>
    check(single('LayerNormalization', [f32([6, 16]), f32([16], randomFloat(16, 2))], [f32([6, 16])]), [randomFloat(96, 1, -3, 3)], /layer_norm/, 1e-4));
});

type Cell = 'LSTM' | 'GRU' | 'RNN';
const GATES: Record<Cell, number> = { LSTM: 4, GRU: 3, RNN: 1 };

interface RnnCase {
  seq: number;
  batch: number;
  input: number;
  hidden: number;
  direction?: 'forward' | 'reverse' | 'bidirectional';
  layout?: 0 | 1;
  bias?: boolean;
  lens?: number[];
  initial?: boolean;
  peepholes?: boolean;
  attrs?: Record<string, PlanAttr>;
}

function rnnPlan(op: Cell, c: RnnCase, seed = 1): { plan: Plan; inputs: PlanTypedArray[] } {
  const d = c.direction === 'bidirectional' ? 2 : 1;
  const g = GATES[op];
  const { seq: t, batch: b, input: i, hidden: h } = c;
  const xShape = c.layout ? [b, t, i] : [t, b, i];
  const state = c.layout ? [b, d, h] : [d, b, h];
  const ins: { dtype: 'float32' | 'int32'; shape: number[]; data?: PlanTypedArray }[] = [
    f32(xShape),
    f32([d, g * h, i], randomFloat(d * g * h * i, seed + 1, -0.6, 0.6)),
    f32([d, g * h, h], randomFloat(d * g * h * h, seed + 2, -0.6, 0.6)),
  ];
  const inputs: PlanTypedArray[] = [randomFloat(t * b * i, seed, -2, 2)];
  const absent: number[] = [];
  const add = (k: number, v: (typeof ins)[number] | undefined, fed?: PlanTypedArray) => {
    while (ins.length < k) {
      absent.push(ins.length);
      ins.push(f32([1]));
    }
    if (!v) return;
    ins.push(v);
    if (fed) inputs.push(fed);
  };
  if (c.bias) add(3, f32([d, 2 * g * h], randomFloat(d * 2 * g * h, seed + 3, -0.5, 0.5)));
  if (c.lens) add(4, { dtype: 'int32', shape: [b] }, Int32Array.from(c.lens));
  if (c.initial) add(5, f32(state), randomFloat(d * b * h, seed + 4));
  if (c.initial && op === 'LSTM') add(6, f32(state), randomFloat(d * b * h, seed + 5));
  if (c.peepholes) add(7, f32([d, 3 * h], randomFloat(d * 3 * h, seed + 6, -0.5, 0.5)));
  const outs = [f32(c.layout ? [b, t, d, h] : [t, d, b, h]), f32(state), ...(op === 'LSTM' ? [f32(state)] : [])];
  const plan = single(op, ins, outs, { hiddenSize: h, direction: c.direction ?? 'forward', layout: c.layout ?? 0, ...(c.attrs ?? {}) });
  // Placeholders stand for absent optional inputs (-1), and are not plan inputs.
  const node = plan.nodes[0];
  for (const k of absent) {
    const id = node.inputs[k];
    node.inputs[k] = -1;
    plan.inputs = plan.inputs.filter((x) => x !== id);
  }
  return { plan, inputs };
}

describe('LSTM, GRU, RNN float32', () => {
  it('refuses wrong weight shapes and unknown activations, naming the node', () => {
    const { plan } = rnnPlan('LSTM', { seq: 3, batch: 2, input: 4, hidden: 5 });
    Object.assign(plan.values[plan.nodes[0].inputs[2]], { shape: [1, 20, 4], data: new Float32Array(80) });
    expect(planError(plan).message).toBe("node 'lstm0' (LSTM): expected shape [1, 20, 5] for R 'c2' but it is [1, 20, 4]");
    const bad = rnnPlan('GRU', { seq: 3, batch: 2, input: 4, hidden: 5, attrs: { activations: 'Sigmoid,Cosh' } }).plan;
    expect(planError(bad).message).toBe("node 'gru0' (GRU): unsupported activation 'Cosh'");
  });

  it('a sequence length out of range rejects the run, naming the node', async () => {
    const { plan, inputs } = rnnPlan('RNN', { seq: 3, batch: 2, input: 4, hidden: 5, lens: [3, 4] });
    const p = createPlan(plan);
    await expect(p.run(inputs)).rejects.toMatchObject({ code: 'ERR_OCTET_INDEX_OUT_OF_RANGE', message: expect.stringContaining('sequence_lens[1] = 4 is out of range [0, 3]') });
    p.release();
  });

  const cases: [string, RnnCase][] = [
    ['forward, defaults', { seq: 5, batch: 3, input: 7, hidden: 6 }],
    ['reverse with bias and initial state', { seq: 4, batch: 2, input: 9, hidden: 8, direction: 'reverse', bias: true, initial: true }],
    ['bidirectional, layout 1, sequence lengths', { seq: 6, batch: 3, input: 5, hidden: 4, direction: 'bidirectional', layout: 1, bias: true, lens: [6, 2, 4], initial: true }],
    ['bidirectional, clip, other activations', { seq: 4, batch: 2, input: 3, hidden: 10, direction: 'bidirectional', bias: true, attrs: { clip: 0.7 } }],
  ];
  for (const op of ['LSTM', 'GRU', 'RNN'] as Cell[]) {
    for (const [label, c] of cases) {
      it(`${op} ${label}`, async () => {
        const k = op === 'LSTM' ? 3 : op === 'GRU' ? 2 : 1;
        const attrs = { ...(c.attrs ?? {}) };
        if (label.includes('other activations')) {
          const acts = ['HardSigmoid', 'Softsign', 'LeakyRelu'].slice(0, k);
          Object.assign(attrs, { activations: [...acts, ...acts].join(','), activationAlpha: [0.3, 0, 0.1, 0.3, 0, 0.1].slice(0, 2 * k), activationBeta: [0.4, 0, 0, 0.4, 0, 0].slice(0, 2 * k) });
        }
        const { plan, inputs } = rnnPlan(op, { ...c, attrs }, 11);
        await check(plan, inputs, new RegExp(`own:${op.toLowerCase()}_f32`), 1e-4, 1e-5);
      });
    }
  }
  it('LSTM with peepholes and input_forget; GRU with linear_before_reset', async () => {
    const l = rnnPlan('LSTM', { seq: 5, batch: 2, input: 6, hidden: 7, bias: true, initial: true, peepholes: true, attrs: { inputForget: 1 } }, 5);
    await check(l.plan, l.inputs, /own:lstm_f32/, 1e-4);
    const g = rnnPlan('GRU', { seq: 5, batch: 2, input: 6, hidden: 7, direction: 'bidirectional', bias: true, initial: true, attrs: { linearBeforeReset: 1 } }, 6);
    await check(g.plan, g.inputs, /own:gru_f32/, 1e-4);
  });
});

describe('Resize cubic', () => {
  const modes = ['half_pixel', 'asymmetric', 'align_corners', 'pytorch_half_pixel', 'tf_half_pixel_for_nn'];
  for (const coordinateTransformationMode of modes) {
    it(`float32 up and down, ${coordinateTransformationMode}, exclude_outside 0 and 1`, async () => {
      for (const [excludeOutside, cubicCoeffA] of [
        [0, -0.75],
        [1, -0.5],
      ]) {
        const attrs = { mode: 'cubic', coordinateTransformationMode, excludeOutside, cubicCoeffA };
        await check(single('Resize', [f32([1, 5, 6, 3])], [f32([1, 9, 13, 3])], attrs), [randomFloat(90, 1)], /own:resize_cubic_nhwc/);
        await check(single('Resize', [f32([2, 8, 7, 2])], [f32([2, 3, 4, 2])], { ...attrs, scales: [0.4, 0.6] }), [randomFloat(224, 2)], /own:resize_cubic_nhwc/);
      }
    });
  }

  it('int8 dequantizes, interpolates and requantizes', async () => {
    const x = randomInts(96, 3, -128, 127) as Int8Array;
    const plan = single('Resize', [{ dtype: 'int8', shape: [1, 4, 6, 4], quant: quant(0.1, 3) }], [{ dtype: 'int8', shape: [1, 8, 12, 4], quant: quant(0.12, -2) }], { mode: 'cubic' });
    const p = createPlan(plan);
    const got = await p.run([x]);
    expectQuantClose(got[0] as Int8Array, runReference(plan, [x])[0] as Int8Array, 0.01);
    expect(p.implementations).toEqual(['own:resize_cubic_nhwc']);
    p.release();
  });
});
