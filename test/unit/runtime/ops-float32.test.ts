/** Each op in float32 against the float64 reference interpreter (tolerance 1e-5 relative + 1e-5 absolute). */
import { describe, expect, it } from 'vitest';

import { backends } from '../../../src/backends.js';
import { createPlan, type Plan, type PlanBackend, type PlanTypedArray } from '../../../src/runtime/plan.js';
import { runReference } from '../../../src/runtime/reference/interpreter.js';
import { transposeData } from '../../../src/lower/builder.js';
import { count, expectClose, randomFloat, single } from './helpers.js';

const f32 = (shape: number[], data?: Float32Array) => ({ dtype: 'float32' as const, shape, ...(data ? { data } : {}) });

async function check(plan: Plan, inputs: PlanTypedArray[], impl?: RegExp, rtol = 1e-5, atol = 1e-5): Promise<void> {
  const p = createPlan(plan);
  const got = await p.run(inputs);
  const sync = p.runSync(inputs);
  const want = runReference(plan, inputs);
  got.forEach((g, i) => {
    expectClose(g as Float32Array, want[i] as Float64Array, rtol, atol);
    expect(Array.from(sync[i] as Float32Array)).toEqual(Array.from(g as Float32Array));
  });
  if (impl) expect(p.implementations.join(',')).toMatch(impl);
  p.release();
}

// float32 Conv / FullyConnected run on XNNPACK or oneDNN (where built in): each case runs on both, and 'auto'
// (no node backend) picks oneDNN wherever it runs.
const ONEDNN = backends().some((b) => b.name === 'onednn' && b.available);
const FLOAT_BACKENDS: [PlanBackend | undefined, RegExp][] = [
  ['xnnpack', /^xnnpack:/],
  ...(ONEDNN ? ([['onednn', /^onednn:/]] as [PlanBackend, RegExp][]) : []),
  [undefined, ONEDNN ? /^onednn:/ : /^xnnpack:/],
];

/** The same Conv with its weights in ONNX's OIHW order (`weightLayout: 'OIHW'`). */
function asOihw(plan: Plan): Plan {
  const w = plan.values[plan.nodes[0].inputs[1]];
  const [o, kh, kw, c] = w.shape;
  const values = plan.values.map((v) => (v === w ? { ...w, shape: [o, c, kh, kw], data: transposeData(w.data as Float32Array, w.shape, [0, 3, 1, 2]) } : v));
  return { ...plan, values, nodes: [{ ...plan.nodes[0], attrs: { ...plan.nodes[0].attrs, weightLayout: 'OIHW' } }] };
}

async function conv(x: number[], w: number[], y: number[], attrs: Record<string, number | number[] | string>, bias = true, seed = 1): Promise<void> {
  const ins = [f32(x), f32(w, randomFloat(count(w), seed + 1))];
  if (bias) ins.push(f32([w[0]], randomFloat(w[0], seed + 2)));
  const input = randomFloat(count(x), seed);
  for (const [backend, impl] of FLOAT_BACKENDS) {
    const plan = single('Conv', ins, [f32(y)], attrs, backend);
    await check(plan, [input], impl);
    // OIHW weights: the reference agrees, and the kernel gives the same bits as with OHWI.
    await check(asOihw(plan), [input], impl);
    const [a, b] = [createPlan(plan), createPlan(asOihw(plan))];
    expect(Array.from(b.runSync([input])[0] as Float32Array)).toEqual(Array.from(a.runSync([input])[0] as Float32Array));
    a.release();
    b.release();
  }
}

describe('Conv float32 (NHWC, OHWI) on each backend', () => {
  it('3x3, pads 1, bias', () => conv([1, 7, 6, 5], [8, 3, 3, 5], [1, 7, 6, 8], { pads: [1, 1, 1, 1] }));
  it('strides 2, asymmetric pads, no bias', () => conv([2, 9, 8, 3], [4, 3, 3, 3], [2, 4, 4, 4], { strides: [2, 2], pads: [1, 0, 0, 1] }, false));
  it('dilations 2', () => conv([1, 9, 9, 4], [6, 3, 3, 4], [1, 5, 5, 6], { dilations: [2, 2] }));
  it('groups 2', () => conv([1, 6, 6, 8], [6, 3, 3, 4], [1, 6, 6, 6], { group: 2, pads: [1, 1, 1, 1] }));
  it('depthwise with multiplier 2 and fused clamp', () =>
    conv([1, 8, 8, 4], [8, 3, 3, 1], [1, 8, 8, 8], { group: 4, pads: [1, 1, 1, 1], activationMin: 0, activationMax: 0.5 }));
  it('depthwise 3x3 stride 2 with ReLU (min 0, no max)', () =>
    conv([1, 9, 9, 16], [16, 3, 3, 1], [1, 5, 5, 16], { group: 16, strides: [2, 2], pads: [1, 1, 1, 1], activationMin: 0 }));
  it('1x1', () => conv([3, 4, 4, 16], [32, 1, 1, 16], [3, 4, 4, 32], {}));
  it('1x1 with a one-sided clamp (max only)', () => conv([1, 5, 5, 24], [40, 1, 1, 24], [1, 5, 5, 40], { activationMax: 0.3 }));
  it('7x7 stride 2 over 3 channels (a stem)', () => conv([1, 20, 20, 3], [16, 7, 7, 3], [1, 10, 10, 16], { strides: [2, 2], pads: [3, 3, 3, 3] }));
  it('an empty batch runs (on XNNPACK)', () =>
    check(single('Conv', [f32([0, 4, 4, 2]), f32([3, 1, 1, 2], randomFloat(6, 1))], [f32([0, 4, 4, 3])]), [new Float32Array(0)], /^xnnpack:/));
});

describe('Conv float32 epilogue (activation HardSwish, affineScale, affineBias) on each backend', () => {
  it('HardSwish after a clamp, then an affine', () =>
    conv([1, 6, 6, 8], [8, 3, 3, 1], [1, 6, 6, 8], { group: 8, pads: [1, 1, 1, 1], activationMax: 2, activation: 'HardSwish', affineScale: 0.75, affineBias: -0.125 }));
  it('HardSwish alone on a 1x1 (inputs reaching both sides of the -3..3 knee)', async () => {
    const w = randomFloat(12 * 10, 3, -2, 2);
    for (const [backend, impl] of FLOAT_BACKENDS) {
      await check(single('Conv', [f32([2, 4, 5, 10]), f32([12, 1, 1, 10], w)], [f32([2, 4, 5, 12])], { activation: 'HardSwish' }, backend), [randomFloat(400, 4, -2, 2)], impl);
    }
  });
  it('affine alone (scale only, bias only)', async () => {
    await conv([1, 5, 5, 4], [6, 3, 3, 4], [1, 3, 3, 6], { affineScale: -1.5 });
    await conv([1, 5, 5, 4], [6, 3, 3, 4], [1, 3, 3, 6], { affineBias: 0.5 }, true, 7);
  });
  it('rejects another activation and a non-finite affine, naming the node', () => {
    const ins = [f32([1, 3, 3, 2]), f32([2, 1, 1, 2], randomFloat(4, 1))];
    expect(() => createPlan(single('Conv', ins, [f32([1, 3, 3, 2])], { activation: 'Gelu' }))).toThrow(/node 'conv0' \(Conv\): activation must be 'HardSwish' \(or absent\), got 'Gelu'/);
    expect(() => createPlan(single('Conv', ins, [f32([1, 3, 3, 2])], { affineScale: Infinity }))).toThrow(/affineScale and affineBias must be finite/);
    expect(() => createPlan(single('Conv', ins, [f32([1, 3, 3, 2])], { weightLayout: 'HWIO' }))).toThrow(/node 'conv0' \(Conv\): weightLayout must be 'OHWI' or 'OIHW', got 'HWIO'/);
  });
});

describe('ConvTranspose float32', () => {
  it('stride 2, pads, outputPadding', async () => {
    const w = randomFloat(6 * 3 * 3 * 4, 5);
    const plan = single('ConvTranspose', [f32([1, 4, 5, 4]), f32([6, 3, 3, 4], w), f32([6], randomFloat(6, 6))], [f32([1, 8, 10, 6])], {
      strides: [2, 2],
      pads: [1, 1, 1, 1],
      outputPadding: [1, 1],
    });
    await check(plan, [randomFloat(80, 7)], /deconvolution2d_nhwc_f32/);
  });
  it('groups 2, kernel 2x2 stride 2', async () => {
    const plan = single('ConvTranspose', [f32([1, 3, 3, 4]), f32([4, 2, 2, 2], randomFloat(32, 8))], [f32([1, 6, 6, 4])], { strides: [2, 2], group: 2 });
    await check(plan, [randomFloat(36, 9)]);
  });
});

describe('FullyConnected and MatMul float32 on each backend', () => {
  for (const [backend, impl] of FLOAT_BACKENDS) {
    it(`FullyConnected [..., K] x [N, K] + bias, clamp (${backend ?? 'auto'})`, () =>
      check(single('FullyConnected', [f32([2, 3, 16]), f32([10, 16], randomFloat(160, 2)), f32([10], randomFloat(10, 3))], [f32([2, 3, 10])], { activationMin: -0.2 }, backend), [randomFloat(96, 1)], impl));
    it(`FullyConnected without bias, ReLU (${backend ?? 'auto'})`, () =>
      check(single('FullyConnected', [f32([5, 33]), f32([17, 33], randomFloat(561, 4))], [f32([5, 17])], { activationMin: 0 }, backend), [randomFloat(165, 5)], impl));
    it(`MatMul with a constant 2-D B runs as FullyConnected (${backend ?? 'auto'})`, () =>
      check(single('MatMul', [f32([4, 12]), f32([12, 7], randomFloat(84, 2))], [f32([4, 7])], {}, backend), [randomFloat(48, 1)], impl));
  }
  it('batched MatMul of two activations with broadcasting (attention): own kernel, and oneDNN sgemm where it runs', async () => {
    const plan = (backend?: PlanBackend) => single('MatMul', [f32([2, 3, 5, 8]), f32([3, 8, 6])], [f32([2, 3, 5, 6])], { activationMax: 1.5 }, backend);
    const ins = [randomFloat(240, 1), randomFloat(144, 2)];
    await check(plan('own'), ins, /^own:matmul$/);
    await check(plan(), ins, ONEDNN ? /^onednn:sgemm$/ : /^own:matmul$/);
    await check(single('MatMul', [f32([4, 33, 70]), f32([4, 70, 17])], [f32([4, 33, 17])]), [randomFloat(4 * 33 * 70, 3), randomFloat(4 * 70 * 17, 4)], ONEDNN ? /^onednn:sgemm$/ : /^own:matmul$/);
  });
});

describe('elementwise binary float32 with broadcasting', () => {
  for (const op of ['Add', 'Sub', 'Mul', 'Div', 'Max', 'Min'] as const) {
    it(`${op}`, async () => {
      const b = op === 'Div' ? randomFloat(8, 2, 0.5, 2) : randomFloat(8, 2);
      await check(single(op, [f32([2, 3, 4, 8]), f32([1, 1, 8])], [f32([2, 3, 4, 8])]), [randomFloat(192, 1), b], /xnnpack:/);
    });
  }
  it('PRelu with a per-channel slope (own kernel)', () =>
    check(single('PRelu', [f32([2, 3, 4, 5]), f32([1, 1, 5])], [f32([2, 3, 4, 5])]), [randomFloat(120, 1), randomFloat(5, 2, -0.5, 0.5)], /own:binary_f32/));
  it('Pow by a constant 2 is an exact square (XNNPACK multiply of x by itself)', async () => {
    const x = randomFloat(24, 3, -3, 3);
    const plan = single('Pow', [f32([2, 3, 4]), f32([1], Float32Array.of(2))], [f32([2, 3, 4])]);
    await check(plan, [x], /^xnnpack:multiply_nd_f32\(square\)$/);
    const [y] = createPlan(plan).runSync([x]);
    expect(Array.from(y as Float32Array)).toEqual(Array.from(x, (v) => Math.fround(v * v)));
  });
  it('Pow (own kernel)', () => check(single('Pow', [f32([3, 4]), f32([4])], [f32([3, 4])]), [randomFloat(12, 1, 0.1, 2), randomFloat(4, 2, -2, 2)], /own:binary_f32/));
  it('Add with fused clamp and a constant operand', () =>
    check(single('Add', [f32([5, 6]), f32([5, 1], randomFloat(5, 3))], [f32([5, 6])], { activationMin: 0, activationMax: 1 }), [randomFloat(30, 1)]));
  it('scalar operand', () => check(single('Mul', [f32([]), f32([2, 3])], [f32([2, 3])]), [Float32Array.of(1.5), randomFloat(6, 2)]));
});

describe('unary float32', () => {
  const cases: [string, Record<string, number>, number, number][] = [
    ['Relu', {}, -3, 3],
    ['Clip', { min: -0.5, max: 0.25 }, -3, 3],
    ['Sigmoid', {}, -6, 6],
    ['Tanh', {}, -3, 3],
    ['HardSigmoid', { alpha: 0.3, beta: 0.4 }, -4, 4],
    ['HardSwish', {}, -5, 5],
    ['LeakyRelu', { alpha: 0.1 }, -3, 3],
    ['Elu', {}, -3, 3],
    ['Sqrt', {}, 0, 4],
    ['Exp', {}, -3, 3],
    ['Log', {}, 0.01, 4],
    ['Abs', {}, -3, 3],
    ['Neg', {}, -3, 3],
    ['Erf', {}, -3, 3],
    ['Floor', {}, -3, 3],
    ['Ceil', {}, -3, 3],
    ['Round', {}, -3, 3],
    ['Reciprocal', {}, 0.2, 3],
    ['Sign', {}, -3, 3],
    ['Sin', {}, -6, 6],
    ['Cos', {}, -6, 6],
    ['Tan', {}, -1.4, 1.4],
    ['Asin', {}, -0.99, 0.99],
    ['Acos', {}, -0.99, 0.99],
    ['Atan', {}, -5, 5],
    ['Sinh', {}, -3, 3],
    ['Cosh', {}, -3, 3],
    ['Asinh', {}, -5, 5],
    ['Acosh', {}, 1, 5],
    ['Atanh', {}, -0.95, 0.95],
    ['Softplus', {}, -30, 30],
    ['Softsign', {}, -5, 5],
    ['Selu', {}, -3, 3],
    ['Selu', { alpha: 2, gamma: 3 }, -3, 3],
    ['ThresholdedRelu', { alpha: 0.5 }, -3, 3],
    ['Celu', { alpha: 2 }, -3, 3],
    ['Shrink', { lambd: 0.7, bias: 0.2 }, -3, 3],
  ];
  for (const [op, attrs, lo, hi] of cases) {
    it(`${op}`, () => check(single(op as 'Relu', [f32([4, 33])], [f32([4, 33])], attrs), [randomFloat(132, 3, lo, hi)], undefined, 2e-5, 2e-6));
  }
  it('Round breaks ties to even', async () => {
    const p = createPlan(single('Round', [f32([4])], [f32([4])]));
    expect(Array.from(p.runSync([Float32Array.of(0.5, 1.5, 2.5, -0.5)])[0] as Float32Array)).toEqual([0, 2, 2, -0]);
  });
});

describe('pooling float32', () => {
  it('MaxPool 3x3 stride 2 pads 1', () =>
    check(single('MaxPool', [f32([2, 9, 9, 5])], [f32([2, 5, 5, 5])], { kernelShape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }), [randomFloat(810, 1)], /max_pooling2d_nhwc_f32/));
  it('MaxPool with dilations', () =>
    check(single('MaxPool', [f32([1, 8, 8, 3])], [f32([1, 4, 4, 3])], { kernelShape: [3, 3], dilations: [2, 2] }), [randomFloat(192, 1)]));
  it('AveragePool with pads excluded from the divisor (XNNPACK)', () =>
    check(single('AveragePool', [f32([1, 7, 7, 4])], [f32([1, 4, 4, 4])], { kernelShape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }), [randomFloat(196, 1)], /average_pooling2d_nhwc_f32/));
  it('AveragePool countIncludePad (own kernel)', () =>
    check(single('AveragePool', [f32([1, 7, 7, 4])], [f32([1, 4, 4, 4])], { kernelShape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], countIncludePad: 1 }), [randomFloat(196, 1)], /own:average/));
  it('GlobalAveragePool', () => check(single('GlobalAveragePool', [f32([2, 5, 6, 7])], [f32([2, 1, 1, 7])]), [randomFloat(420, 1)], /global_average_pooling_nwc_f32/));
});

describe('Softmax, ReduceMean, Resize float32', () => {
  it('Softmax last axis (XNNPACK)', () => check(single('Softmax', [f32([6, 10])], [f32([6, 10])]), [randomFloat(60, 1, -5, 5)], /softmax_nc_f32/));
  it('Softmax axis 1 of 3-D (own)', () => check(single('Softmax', [f32([2, 5, 3])], [f32([2, 5, 3])], { axis: 1 }), [randomFloat(30, 1, -5, 5)], /own:softmax/));
  it('LogSoftmax', () => check(single('LogSoftmax', [f32([3, 7])], [f32([3, 7])]), [randomFloat(21, 1, -5, 5)]));
  it('ReduceMean / ReduceMax / ReduceSum over the innermost axes (contiguous blocks)', async () => {
    await check(single('ReduceMean', [f32([3, 7, 33])], [f32([3, 7, 1])], { axes: [-1] }), [randomFloat(693, 1)], /^own:reduce\(inner\)$/);
    await check(single('ReduceMax', [f32([4, 5, 6])], [f32([4])], { axes: [1, 2], keepdims: 0 }), [randomFloat(120, 2)], /^own:reduce\(inner\)$/);
    await check(single('ReduceSum', [f32([2, 9])], [f32([2, 1])], { axes: [1] }), [randomFloat(18, 3)], /^own:reduce\(inner\)$/);
    await check(single('ReduceMin', [f32([2, 3, 4])], [f32([2, 3, 1])], { axes: [2] }), [randomFloat(24, 4)], /^own:reduce\(inner\)$/);
  });
  it('ReduceMean over H, W keepdims', () => check(single('ReduceMean', [f32([2, 4, 5, 3])], [f32([2, 1, 1, 3])], { axes: [1, 2] }), [randomFloat(120, 1)]));
  it('ReduceSum / ReduceMax without keepdims', async () => {
    await check(single('ReduceSum', [f32([2, 4, 5])], [f32([2, 5])], { axes: [-2], keepdims: 0 }), [randomFloat(40, 1)]);
    await check(single('ReduceMax', [f32([2, 4, 5])], [f32([])], { keepdims: 0 }), [randomFloat(40, 1)]);
  });
  for (const [mode, coord] of [
    ['nearest', 'asymmetric'],
    ['nearest', 'half_pixel'],
    ['linear', 'half_pixel'],
    ['linear', 'align_corners'],
    ['linear', 'pytorch_half_pixel'],
  ]) {
    it(`Resize ${mode} ${coord} up and down`, async () => {
      await check(single('Resize', [f32([1, 4, 5, 3])], [f32([1, 8, 10, 3])], { mode, coordinateTransformationMode: coord }), [randomFloat(60, 1)]);
      await check(single('Resize', [f32([1, 8, 6, 2])], [f32([1, 3, 4, 2])], { mode, coordinateTransformationMode: coord }), [randomFloat(96, 2)]);
    });
  }
});

describe('data movement', () => {
  it('Transpose NCHW -> NHWC', () => check(single('Transpose', [f32([2, 3, 4, 5])], [f32([2, 4, 5, 3])], { perm: [0, 2, 3, 1] }), [randomFloat(120, 1)]));
  it('Reshape / Flatten / Squeeze / Unsqueeze copy', async () => {
    for (const op of ['Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'Identity'] as const) {
      await check(single(op, [f32([2, 1, 6])], [f32([2, 6])]), [randomFloat(12, 1)]);
    }
  });
  it('Concat on the channel axis', () =>
    check(single('Concat', [f32([1, 2, 2, 3]), f32([1, 2, 2, 5])], [f32([1, 2, 2, 8])], { axis: -1 }), [randomFloat(12, 1), randomFloat(20, 2)]));
  it('Split into unequal parts', () => check(single('Split', [f32([4, 6])], [f32([4, 2]), f32([4, 4])], { axis: 1 }), [randomFloat(24, 1)]));
  it('Slice with steps, negative starts and a negative step', async () => {
    await check(single('Slice', [f32([5, 8])], [f32([2, 3])], { starts: [1, -7], ends: [5, 8], axes: [0, 1], steps: [2, 3] }), [randomFloat(40, 1)]);
    await check(single('Slice', [f32([6])], [f32([3])], { starts: [-1], ends: [-10], steps: [-2] }), [randomFloat(6, 1)]);
  });
  it('Pad constant', () => check(single('Pad', [f32([2, 3])], [f32([3, 7])], { pads: [0, 1, 1, 3], value: 1.5 }), [randomFloat(6, 1)]));
  it('Gather int64 and int32 indices, negative', async () => {
    const i64 = { dtype: 'int64' as const, shape: [2, 2] };
    const plan = single('Gather', [f32([3, 4, 2]), i64], [f32([3, 2, 2, 2])], { axis: 1 });
    await check(plan, [randomFloat(24, 1), BigInt64Array.of(0n, -1n, 2n, 1n)]);
    const plan32 = single('Gather', [f32([5, 3]), { dtype: 'int32', shape: [3], data: Int32Array.of(4, 0, -2) }], [f32([3, 3])]);
    await check(plan32, [randomFloat(15, 2)]);
  });
  it('Gather with an out-of-range index rejects with a typed error naming the node', async () => {
    const p = createPlan(single('Gather', [f32([3, 2]), { dtype: 'int32', shape: [1] }], [f32([1, 2])]));
    await expect(p.run([randomFloat(6, 1), Int32Array.of(3)])).rejects.toMatchObject({
      code: 'ERR_OCTET_INDEX_OUT_OF_RANGE',
      message: "node 'gather0' (Gather): index 3 is out of range [0, 3)",
    });
  });
  it('Cast between dtypes (float to int truncates and saturates)', async () => {
    const p = createPlan(single('Cast', [f32([5])], [{ dtype: 'int8', shape: [5] }]));
    expect(Array.from(p.runSync([Float32Array.of(1.7, -1.7, 300, -300, Number.NaN)])[0] as Int8Array)).toEqual([1, -1, 127, -128, 0]);
    const q = createPlan(single('Cast', [{ dtype: 'int64', shape: [3] }], [f32([3])]));
    expect(Array.from(q.runSync([BigInt64Array.of(-5n, 0n, 7n)])[0] as Float32Array)).toEqual([-5, 0, 7]);
    const r = createPlan(single('Cast', [{ dtype: 'uint8', shape: [3] }], [{ dtype: 'bool', shape: [3] }]));
    expect(Array.from(r.runSync([Uint8Array.of(0, 2, 255)])[0] as Uint8Array)).toEqual([0, 1, 1]);
    // int32 -> float32 rounds to nearest even once (2^24 + 1 is not a float32).
    const s = createPlan(single('Cast', [{ dtype: 'int32', shape: [4] }], [f32([4])]));
    const big = Int32Array.of(16777217, -16777219, 2147483647, -5);
    expect(Array.from(s.runSync([big])[0] as Float32Array)).toEqual(Array.from(big, (v) => Math.fround(v)));
  });
});
