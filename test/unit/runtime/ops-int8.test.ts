/**
 * int8/uint8 ops against the float64 reference. Documented tolerance: the vendors requantize in float32 or fixed
 * point, the reference in float64 with round half to even, so an output within float32 error of a .5 tie may
 * round the other way: every element within ±1, and at most 2 % of elements off by one (XNNPACK's fixed-point
 * requantization of qs8 add/multiply is coarser: there ±1 on at most 10 %).
 */
import { describe, expect, it } from 'vitest';

import { backends, onednnHasInt8Dot, onednnInt8Support } from '../../../src/backends.js';
import { transposeData } from '../../../src/lower/builder.js';
import { createPlan, type Plan, type PlanBackend, type PlanDType, type PlanQuant, type PlanTypedArray } from '../../../src/runtime/plan.js';
import { runReference } from '../../../src/runtime/reference/interpreter.js';
import { count, expectQuantClose, quant, randomFloat, randomInts, single } from './helpers.js';

const hasOnednn = backends().some((b) => b.name === 'onednn' && b.available);
/**
 * oneDNN's int8 is exact everywhere with VNNI/AMX; without (AVX2), for uint8 sources with weights in [-64, 64]: the
 * oneDNN cases below run there as 7-bit uint8 versions, other plans asking for it are refused (tested below).
 */
const onednnInt8 = onednnHasInt8Dot();
const sevenBit = onednnInt8Support() === 'sevenBit';

/** Sets the (8-bit) output's quant so that the reference's real output range fills the dtype. */
function calibrateOutput(plan: Plan, inputs: PlanTypedArray[], dtype: PlanDType): Plan {
  const floatPlan: Plan = { ...plan, values: plan.values.map((v, i) => (plan.outputs.includes(i) ? { name: v.name, dtype: 'float32', shape: v.shape } : v)) };
  const [real] = runReference(floatPlan, inputs) as Float64Array[];
  let lo = 0, hi = 0;
  for (const v of real) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const scale = (hi - lo) / 255 || 1;
  const qmin = dtype === 'int8' ? -128 : 0;
  const zp = Math.max(qmin, Math.min(qmin + 255, Math.round(qmin - lo / scale)));
  return { ...plan, values: plan.values.map((v, i) => (plan.outputs.includes(i) ? { ...v, quant: quant(scale, zp) } : v)) };
}

async function check(plan: Plan, inputs: PlanTypedArray[], impl?: RegExp, fraction = 0.02): Promise<string[]> {
  const p = createPlan(plan);
  const got = await p.run(inputs);
  const want = runReference(plan, inputs);
  got.forEach((g, i) => expectQuantClose(g as Int8Array, want[i] as Int8Array, fraction));
  // Not degenerate: the outputs use a good part of the range.
  const distinct = new Set(Array.from(got[0] as Int8Array)).size;
  expect(distinct).toBeGreaterThan(Math.min(16, (got[0] as Int8Array).length / 4));
  const impls = p.implementations;
  if (impl) expect(impls.join(',')).toMatch(impl);
  p.release();
  return impls;
}

const q8 = (dtype: PlanDType, shape: number[], q: PlanQuant, data?: PlanTypedArray) => ({ dtype, shape, quant: q, ...(data ? { data } : {}) });

interface ConvCase {
  x: number[];
  w: number[];
  y: number[];
  attrs: Record<string, number | number[]>;
  perChannel: boolean;
  dtype: 'int8' | 'uint8';
  backend?: PlanBackend;
  /** Largest weight magnitude (127; 64 for oneDNN without VNNI). */
  weightMax?: number;
}

async function conv(c: ConvCase, seed: number, impl: RegExp): Promise<void> {
  const Ctor = c.dtype === 'int8' ? Int8Array : Uint8Array;
  const [lo, hi] = c.dtype === 'int8' ? [-128, 127] : [0, 255];
  const xq = quant(0.02, c.dtype === 'int8' ? 5 : 130);
  const oc = c.w[0];
  const wq = c.perChannel ? quant(Array.from(randomFloat(oc, seed + 3, 0.002, 0.01)), 0, 0) : quant(0.005);
  const w = randomInts(count(c.w), seed + 1, -(c.weightMax ?? 127), c.weightMax ?? 127);
  const bias = Int32Array.from(randomFloat(oc, seed + 2, -3000, 3000), Math.round);
  const x = randomInts(count(c.x), seed, lo, hi, Ctor);
  let plan = single('Conv', [q8(c.dtype, c.x, xq), q8('int8', c.w, wq, w), { dtype: 'int32', shape: [oc], data: bias }], [q8(c.dtype, c.y, quant(1))], c.attrs, c.backend);
  plan = calibrateOutput(plan, [x], c.dtype);
  await check(plan, [x], impl);
  // OIHW codes (`weightLayout: 'OIHW'`): the same integers.
  const wv = plan.values[plan.nodes[0].inputs[1]];
  const [o, kh, kw, ci] = wv.shape;
  const oihw: Plan = {
    ...plan,
    values: plan.values.map((v) => (v === wv ? { ...wv, shape: [o, ci, kh, kw], data: transposeData(wv.data as Int8Array, wv.shape, [0, 3, 1, 2]) } : v)),
    nodes: [{ ...plan.nodes[0], attrs: { ...plan.nodes[0].attrs, weightLayout: 'OIHW' } }],
  };
  const [a, b] = [createPlan(plan), createPlan(oihw)];
  expect(Array.from(b.runSync([x])[0] as Int8Array)).toEqual(Array.from(a.runSync([x])[0] as Int8Array));
  expect(b.implementations).toEqual(a.implementations);
  a.release();
  b.release();
}

describe('Conv int8 on XNNPACK', () => {
  it('per-tensor weights (qs8), 3x3 pads 1', () =>
    conv({ x: [1, 8, 8, 16], w: [24, 3, 3, 16], y: [1, 8, 8, 24], attrs: { pads: [1, 1, 1, 1] }, perChannel: false, dtype: 'int8' }, 1, /convolution2d_nhwc_qs8/));
  it('per-channel weights (qc8), stride 2', () =>
    conv({ x: [2, 9, 9, 8], w: [16, 3, 3, 8], y: [2, 4, 4, 16], attrs: { strides: [2, 2] }, perChannel: true, dtype: 'int8' }, 2, /convolution2d_nhwc_qc8/));
  it('per-channel depthwise with fused ReLU6 clamp', () =>
    conv({ x: [1, 10, 10, 12], w: [12, 3, 3, 1], y: [1, 10, 10, 12], attrs: { group: 12, pads: [1, 1, 1, 1], activationMin: 0, activationMax: 6 }, perChannel: true, dtype: 'int8' }, 3, /qc8/));
  it('uint8 activations (shifted onto the signed kernels)', () =>
    conv({ x: [1, 6, 6, 8], w: [8, 3, 3, 8], y: [1, 4, 4, 8], attrs: {}, perChannel: true, dtype: 'uint8' }, 4, /qc8/));
});

describe.runIf(onednnInt8 || sevenBit)('Conv int8 on oneDNN', () => {
  // Without VNNI: the same layers with uint8 sources and 7-bit weights (the int8-source ones switch to uint8).
  const on = { backend: 'onednn', ...(sevenBit ? { weightMax: 64 } : {}) } as const;
  const s8: 'int8' | 'uint8' = sevenBit ? 'uint8' : 'int8';
  it(`per-channel ${s8}, 3x3 pads 1, src/dst zero points`, () =>
    conv({ x: [1, 8, 8, 32], w: [32, 3, 3, 32], y: [1, 8, 8, 32], attrs: { pads: [1, 1, 1, 1] }, perChannel: true, dtype: s8, ...on }, 5, /^onednn:/));
  it('per-tensor u8 1x1 stride 2 with clamp', () =>
    conv({ x: [2, 8, 8, 16], w: [24, 1, 1, 16], y: [2, 4, 4, 24], attrs: { strides: [2, 2], activationMin: 0 }, perChannel: false, dtype: 'uint8', ...on }, 6, /^onednn:/));
  it('depthwise and grouped', async () => {
    await conv({ x: [1, 9, 9, 16], w: [16, 3, 3, 1], y: [1, 9, 9, 16], attrs: { group: 16, pads: [1, 1, 1, 1] }, perChannel: true, dtype: s8, ...on }, 7, /^onednn:/);
    await conv({ x: [1, 7, 7, 8], w: [12, 3, 3, 4], y: [1, 5, 5, 12], attrs: { group: 2, dilations: [1, 1] }, perChannel: true, dtype: 'uint8', ...on }, 8, /^onednn:/);
  });
});

describe.runIf(hasOnednn && !onednnInt8)('oneDNN on a CPU without an int8 dot product', () => {
  it('refuses a plan node on oneDNN, naming the node and the ISA', () => {
    const isa = backends().find((b) => b.name === 'onednn')!.isa;
    const plan = single('Conv', [q8('int8', [1, 4, 4, 8], quant(0.03, -3)), q8('int8', [8, 3, 3, 8], quant(0.01), randomInts(576, 2, -127, 127))], [q8('int8', [1, 2, 2, 8], quant(1))], {}, 'onednn');
    expect(() => createPlan(plan)).toThrow(
      `backend 'onednn' cannot run node '${plan.nodes[0].name}' (Conv) exactly on this CPU (oneDNN ISA '${isa}'): its source is int8 (oneDNN halves ` +
        `int8-source weights here). Without an int8 dot product (AVX-512 VNNI, AVX-VNNI or AMX) its u8·s8 pair sums saturate at 16 bits unless ` +
        `the source is uint8 and every weight is within [-64, 64] (quantize with reduceRange); use backend 'xnnpack' or 'auto'`,
    );
  });
});

describe('ConvTranspose int8 (qs8, per-tensor weights)', () => {
  it('stride 2', async () => {
    const x = randomInts(1 * 4 * 4 * 8, 1, -128, 127);
    let plan = single('ConvTranspose', [q8('int8', [1, 4, 4, 8], quant(0.03, -3)), q8('int8', [6, 3, 3, 8], quant(0.01), randomInts(432, 2, -127, 127))], [q8('int8', [1, 7, 7, 6], quant(1))], { strides: [2, 2], pads: [1, 1, 1, 1], outputPadding: [0, 0] });
    plan = calibrateOutput(plan, [x], 'int8');
    await check(plan, [x], /deconvolution2d_nhwc_qs8/);
  });
});

describe('FullyConnected / MatMul int8', () => {
  const backendsToTest: PlanBackend[] = onednnInt8 ? ['xnnpack', 'onednn'] : ['xnnpack'];
  for (const backend of backendsToTest) {
    it(`FullyConnected per-channel on ${backend}`, async () => {
      const x = randomInts(6 * 40, 1, -128, 127);
      let plan = single('FullyConnected', [q8('int8', [2, 3, 40], quant(0.02, 1)), q8('int8', [20, 40], quant(Array.from(randomFloat(20, 3, 0.003, 0.01)), 0, 0), randomInts(800, 2, -127, 127)), { dtype: 'int32', shape: [20], data: Int32Array.from(randomFloat(20, 4, -500, 500), Math.round) }], [q8('int8', [2, 3, 20], quant(1))], {}, backend);
      plan = calibrateOutput(plan, [x], 'int8');
      await check(plan, [x], new RegExp(`^${backend}:`));
    });
  }
  it('MatMul with constant B quantized per column (axis 1) runs as FullyConnected', async () => {
    const x = randomInts(5 * 24, 1, 0, 255, Uint8Array);
    let plan = single('MatMul', [q8('uint8', [5, 24], quant(0.02, 128)), q8('int8', [24, 9], quant(Array.from(randomFloat(9, 3, 0.003, 0.01)), 0, 1), randomInts(216, 2, -127, 127))], [q8('uint8', [5, 9], quant(1))]);
    plan = calibrateOutput(plan, [x], 'uint8');
    await check(plan, [x], /xnnpack:/);
  });
  it('batched MatMul of two int8 activations (own kernel; oneDNN sgemm on the dequantized operands where it runs)', async () => {
    const a = randomInts(2 * 4 * 8, 1, -128, 127), b = randomInts(2 * 8 * 5, 2, -128, 127);
    const onednn = backends().some((x) => x.name === 'onednn' && x.available);
    for (const backend of ['own', undefined] as const) {
      let plan = single('MatMul', [q8('int8', [2, 4, 8], quant(0.05, 2)), q8('int8', [2, 8, 5], quant(0.04, -1))], [q8('int8', [2, 4, 5], quant(1))], {}, backend);
      plan = calibrateOutput(plan, [a, b], 'int8');
      await check(plan, [a, b], backend === 'own' || !onednn ? /^own:matmul$/ : /^onednn:sgemm$/);
    }
  });
});

describe('elementwise int8', () => {
  for (const dtype of ['int8', 'uint8'] as const) {
    for (const op of ['Add', 'Sub', 'Mul'] as const) {
      it(`${op} ${dtype} with broadcasting (XNNPACK)`, async () => {
        const [lo, hi] = dtype === 'int8' ? [-128, 127] : [0, 255];
        const Ctor = dtype === 'int8' ? Int8Array : Uint8Array;
        const a = randomInts(3 * 4 * 8, 1, lo, hi, Ctor), b = randomInts(8, 2, lo, hi, Ctor);
        let plan = single(op, [q8(dtype, [3, 4, 8], quant(0.03, lo + 120)), q8(dtype, [8], quant(0.05, lo + 130))], [q8(dtype, [3, 4, 8], quant(1))]);
        plan = calibrateOutput(plan, [a, b], dtype);
        await check(plan, [a, b], /xnnpack:/, 0.1);
      });
    }
  }
  it('Div and Max int8 (dequantize, compute, requantize)', async () => {
    const a = randomInts(24, 1, -128, 127), b = randomInts(24, 2, 10, 127);
    for (const op of ['Div', 'Max'] as const) {
      let plan = single(op, [q8('int8', [4, 6], quant(0.05)), q8('int8', [4, 6], quant(0.02))], [q8('int8', [4, 6], quant(1))]);
      plan = calibrateOutput(plan, [a, b], 'int8');
      await check(plan, [a, b], /own:binary_qs8/, 0);
    }
  });
});

describe('unary int8 through a 256-entry lookup table (exact)', () => {
  for (const op of ['Sigmoid', 'Tanh', 'HardSwish', 'HardSigmoid', 'LeakyRelu', 'Relu', 'Erf', 'Softplus', 'Sin', 'Selu', 'Softsign'] as const) {
    it(`${op}`, async () => {
      const x = randomInts(256, 1, -128, 127);
      for (let i = 0; i < 256; i++) x[i] = i - 128;
      let plan = single(op, [q8('int8', [256], quant(0.05, 10))], [q8('int8', [256], quant(1))]);
      plan = calibrateOutput(plan, [x], 'int8');
      await check(plan, [x], /own:lut_8bit/, 0);
    });
  }
  it('uint8 Sigmoid', async () => {
    const x = Uint8Array.from({ length: 256 }, (_, i) => i);
    const plan = single('Sigmoid', [q8('uint8', [256], quant(0.05, 128))], [q8('uint8', [256], quant(1 / 256, 0))]);
    await check(plan, [x], /lut/, 0);
  });
});

describe('pooling int8', () => {
  it('MaxPool s8 and u8 (XNNPACK, same quant in and out)', async () => {
    const p = createPlan(single('MaxPool', [q8('int8', [1, 6, 6, 4], quant(0.1, 3))], [q8('int8', [1, 3, 3, 4], quant(0.1, 3))], { kernelShape: [2, 2], strides: [2, 2] }));
    const x = randomInts(144, 1, -128, 127);
    const plan = single('MaxPool', [q8('int8', [1, 6, 6, 4], quant(0.1, 3))], [q8('int8', [1, 3, 3, 4], quant(0.1, 3))], { kernelShape: [2, 2], strides: [2, 2] });
    expect(Array.from(p.runSync([x])[0] as Int8Array)).toEqual(Array.from(runReference(plan, [x])[0] as Int8Array));
    expect(p.implementations).toEqual(['xnnpack:max_pooling2d_nhwc_s8']);
    const xu = randomInts(144, 2, 0, 255, Uint8Array);
    const planU = single('MaxPool', [q8('uint8', [1, 6, 6, 4], quant(0.1, 128))], [q8('uint8', [1, 3, 3, 4], quant(0.1, 128))], { kernelShape: [3, 3], pads: [1, 1, 1, 1], strides: [2, 2] });
    expect(Array.from(createPlan(planU).runSync([xu])[0] as Uint8Array)).toEqual(Array.from(runReference(planU, [xu])[0] as Uint8Array));
  });
  it('MaxPool rejects different quant on input and output', () => {
    expect(() => createPlan(single('MaxPool', [q8('int8', [1, 4, 4, 1], quant(0.1))], [q8('int8', [1, 2, 2, 1], quant(0.2))], { kernelShape: [2, 2], strides: [2, 2] }))).toThrow(
      /node 'maxpool0' \(MaxPool\): 'y0' must have the quant parameters of 'x0'/,
    );
  });
  it('AveragePool int8 (own)', async () => {
    const x = randomInts(2 * 7 * 7 * 3, 1, -128, 127);
    const plan = single('AveragePool', [q8('int8', [2, 7, 7, 3], quant(0.1, 3))], [q8('int8', [2, 3, 3, 3], quant(0.05, -2))], { kernelShape: [3, 3], strides: [2, 2] });
    await check(plan, [x], /own:average/, 0);
  });
  for (const dtype of ['int8', 'uint8'] as const) {
    it(`GlobalAveragePool ${dtype} (XNNPACK)`, async () => {
      const [lo, hi] = dtype === 'int8' ? [-128, 127] : [0, 255];
      const x = randomInts(2 * 5 * 5 * 16, 1, lo, hi, dtype === 'int8' ? Int8Array : Uint8Array);
      const plan = single('GlobalAveragePool', [q8(dtype, [2, 5, 5, 16], quant(0.1, lo + 128))], [q8(dtype, [2, 1, 1, 16], quant(0.01, lo + 128))]);
      await check(plan, [x], new RegExp(`global_average_pooling_nwc_${dtype === 'int8' ? 'qs8' : 'qu8'}`), 0.1);
    });
  }
});

describe('Softmax, Resize, data movement in int8', () => {
  it('Softmax int8 -> uint8-range output', async () => {
    const x = randomInts(4 * 20, 1, -128, 127);
    const plan = single('Softmax', [q8('int8', [4, 20], quant(0.08, 0))], [q8('int8', [4, 20], quant(1 / 256, -128))]);
    await check(plan, [x], /own:softmax/, 0);
  });
  it('Resize linear int8 and nearest uint8', async () => {
    const x = randomInts(1 * 3 * 4 * 2, 1, -128, 127);
    await check(single('Resize', [q8('int8', [1, 3, 4, 2], quant(0.1))], [q8('int8', [1, 6, 8, 2], quant(0.1))], { mode: 'linear' }), [x], /resize_linear/, 0);
  });
  it('Transpose, Concat, Slice keep the bytes', async () => {
    const x = randomInts(2 * 3 * 4, 1, -128, 127);
    const q = quant(0.1, 3);
    await check(single('Transpose', [q8('int8', [2, 3, 4], q)], [q8('int8', [4, 2, 3], q)], { perm: [2, 0, 1] }), [x], undefined, 0);
    await check(single('Concat', [q8('int8', [2, 3, 4], q), q8('int8', [2, 3, 4], q)], [q8('int8', [2, 6, 4], q)], { axis: 1 }), [x, x], undefined, 0);
  });
});

describe('QuantizeLinear / DequantizeLinear', () => {
  it('per tensor int8 and uint8 (XNNPACK convert)', async () => {
    for (const dtype of ['int8', 'uint8'] as const) {
      const zp = dtype === 'int8' ? -10 : 120;
      const x = randomFloat(1000, 1, -3, 3);
      const plan = single('QuantizeLinear', [{ dtype: 'float32', shape: [10, 100] }], [q8(dtype, [10, 100], quant(0.02, zp))]);
      await check(plan, [x], /convert_nc_f32_q/, 0.01);
      const deq = single('DequantizeLinear', [q8(dtype, [10, 100], quant(0.02, zp))], [{ dtype: 'float32', shape: [10, 100] }]);
      const xq = createPlan(plan).runSync([x])[0];
      const [got] = createPlan(deq).runSync([xq]);
      const [want] = runReference(deq, [xq]);
      expect(Array.from(got as Float32Array)).toEqual(Array.from(want as Float64Array, Math.fround));
    }
  });
  it('QuantizeLinear rounds half to even', () => {
    const plan = single('QuantizeLinear', [{ dtype: 'float32', shape: [6] }], [q8('int8', [6], quant(1, 0))]);
    expect(Array.from(createPlan(plan).runSync([Float32Array.of(0.5, 1.5, 2.5, -0.5, -1.5, 300)])[0] as Int8Array)).toEqual([0, 2, 2, 0, -2, 127]);
  });
  it('per axis (own kernel) on axis 1 of NHWC-like data, and int32 bias dequantization', async () => {
    const x = randomFloat(2 * 3 * 4, 1, -2, 2);
    const q = quant([0.01, 0.02, 0.03], [0, 5, -5], 1);
    const plan = single('QuantizeLinear', [{ dtype: 'float32', shape: [2, 3, 4] }], [q8('int8', [2, 3, 4], q)]);
    const p = createPlan(plan);
    expect(p.implementations).toEqual(['own:quantize_linear']);
    const [got] = p.runSync([x]);
    expect(Array.from(got as Int8Array)).toEqual(Array.from(runReference(plan, [x])[0] as Int8Array));
    const deq = single('DequantizeLinear', [{ dtype: 'int32', shape: [3], quant: quant([0.5, 0.25, 2], 0, 0) }], [{ dtype: 'float32', shape: [3] }]);
    expect(Array.from(createPlan(deq).runSync([Int32Array.of(3, -4, 7)])[0] as Float32Array)).toEqual([1.5, -1, 14]);
  });
  it('QuantizeDequantize (a 16-bit Q → DQ pair) equals the reference bit for bit: uint16 and int16, per tensor and per axis, over threads', async () => {
    const x = randomFloat(3 * 5 * 4000, 7, -4, 6);
    x[0] = 1e9; // clamps to qmax
    x[1] = -1e9; // clamps to qmin
    x[2] = Number.NaN; // the kernels' NaN → qmin, as their QuantizeLinear
    const shape = [3, 5, 4000];
    const cases: Record<string, number | number[]>[] = [
      { scale: [6 / 65535], zeroPoint: [26214], qmin: 0, qmax: 65535, axis: -1 },
      { scale: [4 / 32767], zeroPoint: [-3], qmin: -32768, qmax: 32767, axis: -1, dqScale: [4 / 32767], dqZeroPoint: [-3] },
      { scale: [1e-4, 2e-4, 3e-4, 4e-4, 5e-4], zeroPoint: [0, 10, 20, 30, 40], qmin: -32768, qmax: 32767, axis: 1 },
    ];
    for (const [i, attrs] of cases.entries()) {
      for (const threads of [1, 2]) {
        const plan = { ...single('QuantizeDequantize', [{ dtype: 'float32', shape }], [{ dtype: 'float32', shape }], attrs), threads };
        const p = createPlan(plan);
        expect(p.implementations).toEqual(['own:quantize_dequantize']);
        const [got] = (await p.run([x])) as Float32Array[];
        const [want] = runReference(plan, [x]) as Float64Array[];
        expect(Array.from(got), `case ${i}, ${threads} threads`).toEqual(Array.from(want, Math.fround));
        p.release();
      }
    }
    // The values sit on the 16-bit grid: 6 / 65535 apart (case 0), from −2.4 to 3.6.
    const [g0] = createPlan(single('QuantizeDequantize', [{ dtype: 'float32', shape: [5] }], [{ dtype: 'float32', shape: [5] }], cases[0])).runSync([Float32Array.of(0, 1e-5, 1, -100, 100)]) as Float32Array[];
    const step = 6 / 65535;
    expect(g0[0]).toBe(0);
    expect(g0[1]).toBe(0);
    expect(Math.abs(g0[2] - 1)).toBeLessThanOrEqual(step / 2 + 1e-7);
    expect(g0[3]).toBeCloseTo(-26214 * step, 5);
    expect(g0[4]).toBeCloseTo((65535 - 26214) * step, 5);
  });
  it('QuantizeDequantize refuses bad parameters, naming the node', () => {
    const f = (attrs: Record<string, number | number[]>) => () =>
      createPlan(single('QuantizeDequantize', [{ dtype: 'float32', shape: [2, 3] }], [{ dtype: 'float32', shape: [2, 3] }], { scale: [0.5], zeroPoint: [0], qmin: 0, qmax: 65535, ...attrs }));
    expect(f({ scale: [0] })).toThrow("node 'quantizedequantize0' (QuantizeDequantize): scale and dqScale must be positive and finite (index 0)");
    expect(f({ scale: [0.5, 0.5] })).toThrow("node 'quantizedequantize0' (QuantizeDequantize): scale and dqScale need 1 (per tensor) values");
    expect(f({ axis: 1 })).toThrow("node 'quantizedequantize0' (QuantizeDequantize): scale and dqScale need 3 (the axis' size) values");
    expect(f({ zeroPoint: [70000] })).toThrow("node 'quantizedequantize0' (QuantizeDequantize): zero points must lie in [qmin, qmax] (index 0)");
    expect(f({ qmin: 5, qmax: 5 })).toThrow("node 'quantizedequantize0' (QuantizeDequantize): qmin < qmax must hold, both within [-2^20, 2^20] (got 5, 5)");
    expect(f({ qmin: -(2 ** 31), qmax: 2 ** 31 - 1 })).toThrow(/within \[-2\^20, 2\^20\]/);
    expect(() => createPlan(single('QuantizeDequantize', [{ dtype: 'float32', shape: [2] }], [{ dtype: 'float32', shape: [2] }], { scale: [1], zeroPoint: [0], qmin: 0 }))).toThrow(
      /QuantizeDequantize.*qmax/,
    );
  });
  it('MatMulInteger with a constant B (packed int16 kernel) equals the reference and the own loop bit for bit', async () => {
    const { PlanBuilder } = await import('./helpers.js');
    // Odd rows and columns (kernel tails), K not a multiple of 16, a batch dim on A, uint8 and int8 B, per-column zb.
    const cases = [
      { a: [3, 5, 37], n: 7, bType: 'int8' as const, zb: [3] },
      { a: [2, 64], n: 13, bType: 'uint8' as const, zb: Array.from({ length: 13 }, (_, i) => 100 + i) },
      { a: [1, 9, 300], n: 4, bType: 'int8' as const, zb: undefined },
    ];
    for (const [i, c] of cases.entries()) {
      const k = c.a[c.a.length - 1];
      const rows = c.a.reduce((x, y) => x * y, 1) / k;
      const av = randomInts(rows * k, 10 + i, 0, 255, Uint8Array);
      const bv = c.bType === 'int8' ? randomInts(k * c.n, 20 + i, -128, 127) : randomInts(k * c.n, 20 + i, 0, 255, Uint8Array);
      const outputs = [];
      for (const backend of [undefined, 'own'] as const) {
        const b = new PlanBuilder();
        const ai = b.input('a', 'uint8', c.a);
        const bi = b.constant('b', c.bType, [k, c.n], bv);
        const azi = b.constant('a_zp', 'uint8', [], Uint8Array.of(131));
        const bzi = c.zb ? b.constant('b_zp', c.bType, [c.zb.length], c.bType === 'int8' ? Int8Array.from(c.zb) : Uint8Array.from(c.zb)) : -1;
        const y = b.value('y', 'int32', [...c.a.slice(0, -1), c.n]);
        b.node('MatMulInteger', [ai, bi, azi, bzi], [y], {}, backend).output(y);
        const plan = b.build();
        const p = createPlan(plan);
        expect(p.implementations[0]).toMatch(backend === 'own' ? /^own:matmul_integer$/ : /^own:matmul_integer_packed/);
        const [got] = p.runSync([av]);
        expect(Array.from(got as Int32Array)).toEqual(Array.from(runReference(plan, [av])[0] as Int32Array));
        outputs.push(Array.from(got as Int32Array));
      }
      expect(outputs[0]).toEqual(outputs[1]);
    }
  });
  it('DynamicQuantizeLinear + MatMulInteger (dynamic quantization path)', async () => {
    const x = randomFloat(3 * 16, 1, -1, 2);
    const w = randomInts(16 * 8, 2, -127, 127);
    const { PlanBuilder } = await import('./helpers.js');
    const b = new PlanBuilder();
    const xi = b.input('x', 'float32', [3, 16]);
    const xq = b.value('xq', 'uint8', [3, 16]);
    const xs = b.value('xs', 'float32', []);
    const xz = b.value('xz', 'uint8', []);
    const wi = b.constant('w', 'int8', [16, 8], w);
    const acc = b.value('acc', 'int32', [3, 8]);
    b.node('DynamicQuantizeLinear', [xi], [xq, xs, xz]).node('MatMulInteger', [xq, wi, xz, -1], [acc]);
    b.output(acc).output(xs).output(xz);
    const plan = b.build();
    const got = createPlan(plan).runSync([x]);
    const want = runReference(plan, [x]);
    expect(Array.from(got[0] as Int32Array)).toEqual(Array.from(want[0] as Int32Array));
    expect((got[1] as Float32Array)[0]).toBeCloseTo((want[1] as Float64Array)[0], 7);
    expect((got[2] as Uint8Array)[0]).toBe((want[2] as Uint8Array)[0]);
  });
});
