/**
 * int8 Conv / FullyConnected on oneDNN where it has no int8 dot product (AVX2, AVX-512 without VNNI): its u8·s8
 * products go through vpmaddubsw, whose pair sums x₁·w₁ + x₂·w₂ saturate at 16 bits, so octet runs a layer there
 * only when its source is uint8 and every weight is within [-64, 64] (255·(64 + 64) = 32640 ≤ 32767). These
 * cases check that such layers give exactly XNNPACK's integers, and the reference's within requantization
 * rounding, including the worst case for the pair sums (every source code 255, weights ±64, long reductions),
 * and that anything wider is refused. (On a CPU with VNNI the same layers run on oneDNN too, exactly.)
 */
import { describe, expect, it } from 'vitest';

import { backends, onednnInt8Support } from '../../../src/backends.js';
import { FullyConnectedInt8, OctetError } from '../../../src/index.js';
import { createPlan, type Plan, type PlanAttr, type PlanBackend } from '../../../src/runtime/plan.js';
import { runReference } from '../../../src/runtime/reference/interpreter.js';
import { count, expectQuantClose, quant, randomFloat, randomInts, single } from './helpers.js';

const support = onednnInt8Support();
const isa = backends().find((b) => b.name === 'onednn')?.isa;

interface Layer {
  op: 'Conv' | 'FullyConnected';
  x: number[];
  w: number[];
  y: number[];
  attrs?: Record<string, PlanAttr>;
  perChannel?: boolean;
  /** Every source code 255 and weights ±64: the largest pair sums vpmaddubsw can see. */
  worst?: boolean;
  zeroPoint?: number;
}

/** Weights ±64, a different share of them negative in each output channel (channels lead in OHWI and [N, K]). */
function worstWeights(n: number, oc: number, seed: number): Int8Array {
  const coin = randomFloat(n, seed, 0, 1);
  return Int8Array.from(coin, (r, i) => (r < (Math.floor(i / (n / oc)) + 1) / (oc + 1) ? -64 : 64));
}

/** The layer as a one-node plan on `backend`, its output parameters set so that the real range fills uint8. */
function layerPlan(c: Layer, seed: number, backend: PlanBackend, x: Uint8Array, w: Int8Array): Plan {
  const oc = c.w[0];
  const wq = c.perChannel === false ? quant(0.004) : quant(Array.from(randomFloat(oc, seed + 3, 0.002, 0.01)), 0, 0);
  const bias = Int32Array.from(randomFloat(oc, seed + 2, -3000, 3000), Math.round);
  const make = (y: { dtype: 'uint8' | 'float32'; quant?: ReturnType<typeof quant> }): Plan =>
    single(c.op, [{ dtype: 'uint8', shape: c.x, quant: quant(0.02, c.zeroPoint ?? 130) }, { dtype: 'int8', shape: c.w, quant: wq, data: w }, { dtype: 'int32', shape: [oc], data: bias }], [{ shape: c.y, ...y }], c.attrs ?? {}, backend);
  const [real] = runReference(make({ dtype: 'float32' }), [x]) as Float64Array[];
  let lo = 0, hi = 0;
  for (const v of real) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const scale = (hi - lo) / 255 || 1;
  return make({ dtype: 'uint8', quant: quant(scale, Math.max(0, Math.min(255, Math.round(-lo / scale)))) });
}

/** Runs the layer on oneDNN and on XNNPACK: identical integers, close to the float64 reference. */
async function expectExact(c: Layer, seed: number, impl: RegExp): Promise<void> {
  const x = c.worst ? new Uint8Array(count(c.x)).fill(255) : (randomInts(count(c.x), seed, 0, 255, Uint8Array) as Uint8Array);
  const w = c.worst ? worstWeights(count(c.w), c.w[0], seed + 1) : (randomInts(count(c.w), seed + 1, -64, 64) as Int8Array);
  const outs: Uint8Array[] = [];
  for (const backend of ['onednn', 'xnnpack'] as const) {
    const plan = layerPlan(c, seed, backend, x, w);
    const p = createPlan(plan);
    outs.push((await p.run([x]))[0] as Uint8Array);
    expect(p.implementations[0]).toMatch(backend === 'onednn' ? impl : /^xnnpack:/);
    p.release();
  }
  expect(Array.from(outs[0])).toEqual(Array.from(outs[1]));
  const want = runReference(layerPlan(c, seed, 'onednn', x, w), [x])[0] as Uint8Array;
  expectQuantClose(outs[0], want, 0.02);
  // Not degenerate: the outputs take many values.
  expect(new Set(outs[0]).size).toBeGreaterThan(Math.min(8, outs[0].length / 4));
}

describe.runIf(support !== 'none')('int8 on oneDNN with uint8 sources and 7-bit weights: exact', () => {
  it('dense 3x3 over 256 channels (a 2304-long reduction), per channel, pads 1', async () => {
    const c: Layer = { op: 'Conv', x: [1, 6, 6, 256], w: [24, 3, 3, 256], y: [1, 6, 6, 24], attrs: { pads: [1, 1, 1, 1] } };
    await expectExact(c, 1, /^onednn:(?!ref)/);
    await expectExact({ ...c, worst: true }, 1, /^onednn:(?!ref)/);
    await expectExact({ ...c, worst: true, zeroPoint: 0 }, 1, /^onednn:(?!ref)/);
  });
  it('per-tensor 1x1 stride 2 with a fused ReLU, batch 2', async () => {
    const c: Layer = { op: 'Conv', x: [2, 8, 8, 64], w: [40, 1, 1, 64], y: [2, 4, 4, 40], attrs: { strides: [2, 2], activationMin: 0 }, perChannel: false };
    await expectExact(c, 2, /^onednn:(?!ref)/);
    await expectExact({ ...c, worst: true }, 2, /^onednn:(?!ref)/);
  });
  it('depthwise 3x3 stride 2 and 5x5, and grouped', async () => {
    for (const [k, c] of (
      [
        { op: 'Conv', x: [1, 9, 9, 32], w: [32, 3, 3, 1], y: [1, 5, 5, 32], attrs: { group: 32, pads: [1, 1, 1, 1], strides: [2, 2] } },
        { op: 'Conv', x: [1, 9, 9, 13], w: [13, 5, 5, 1], y: [1, 9, 9, 13], attrs: { group: 13, pads: [2, 2, 2, 2] } },
        { op: 'Conv', x: [1, 7, 7, 32], w: [32, 3, 3, 16], y: [1, 5, 5, 32], attrs: { group: 2 } },
      ] as Layer[]
    ).entries()) {
      await expectExact(c, 3 + k, /^onednn:(?!ref)/);
      await expectExact({ ...c, worst: true }, 3 + k, /^onednn:(?!ref)/);
    }
  });
  it('7x7 stride 2 on 3 channels, asymmetric pads, dilation 2', async () => {
    await expectExact({ op: 'Conv', x: [1, 16, 16, 3], w: [16, 7, 7, 3], y: [1, 8, 8, 16], attrs: { strides: [2, 2], pads: [3, 3, 3, 3] }, worst: true }, 6, /^onednn:(?!ref)/);
    await expectExact({ op: 'Conv', x: [1, 16, 16, 3], w: [16, 3, 3, 3], y: [1, 8, 8, 16], attrs: { strides: [2, 2], pads: [0, 0, 1, 1] } }, 7, /^onednn:(?!ref)/);
    await expectExact({ op: 'Conv', x: [1, 12, 12, 8], w: [10, 3, 3, 8], y: [1, 8, 8, 10], attrs: { dilations: [2, 2] }, worst: true }, 8, /^onednn:(?!ref)/);
  });
  it('FullyConnected with a batch of 2x3 rows over K = 1000, per channel and per tensor', async () => {
    const c: Layer = { op: 'FullyConnected', x: [2, 3, 1000], w: [20, 1000], y: [2, 3, 20] };
    await expectExact(c, 9, /^onednn:/);
    await expectExact({ ...c, worst: true }, 9, /^onednn:/);
    await expectExact({ ...c, worst: true, perChannel: false, zeroPoint: 0 }, 9, /^onednn:/);
  });
  it("fallback 'xnnpack' moves a convolution oneDNN has only a reference kernel for to XNNPACK", async () => {
    // A depthwise multiplier of 2 has no JIT kernel in oneDNN 2.6 on AVX2 (on AVX-512 it may).
    const c: Layer = { op: 'Conv', x: [1, 9, 9, 8], w: [16, 3, 3, 1], y: [1, 9, 9, 16], attrs: { group: 8, pads: [1, 1, 1, 1] } };
    const x = randomInts(count(c.x), 10, 0, 255, Uint8Array) as Uint8Array;
    const w = randomInts(count(c.w), 11, -64, 64) as Int8Array;
    const plain = createPlan(layerPlan(c, 10, 'onednn', x, w));
    const moved = createPlan(layerPlan({ ...c, attrs: { ...c.attrs, fallback: 'xnnpack' } }, 10, 'onednn', x, w));
    const onednnRef = plain.implementations[0].startsWith('onednn:ref');
    expect(moved.implementations[0]).toMatch(onednnRef ? /^xnnpack:convolution2d_nhwc_qc8$/ : /^onednn:/);
    expect(Array.from((await moved.run([x]))[0] as Uint8Array)).toEqual(Array.from((await plain.run([x]))[0] as Uint8Array));
    plain.release();
    moved.release();
    expect(() => createPlan(layerPlan({ ...c, attrs: { ...c.attrs, fallback: 'own' } }, 10, 'onednn', x, w))).toThrow("fallback must be 'xnnpack' (or absent), got 'own'");
  });
});

describe.runIf(support === 'sevenBit')('int8 on oneDNN without an int8 dot product: what is refused', () => {
  const tail = ". Without an int8 dot product (AVX-512 VNNI, AVX-VNNI or AMX) its u8·s8 pair sums saturate at 16 bits unless the source is uint8 and every weight is within [-64, 64] (quantize with reduceRange); use backend 'xnnpack' or 'auto'";
  it('a weight of 65 or an int8 source, naming the node', () => {
    const c: Layer = { op: 'Conv', x: [1, 4, 4, 8], w: [8, 3, 3, 8], y: [1, 2, 2, 8] };
    const x = new Uint8Array(count(c.x));
    const w = randomInts(count(c.w), 12, -64, 64) as Int8Array;
    createPlan(layerPlan(c, 12, 'onednn', x, w)).release();
    w[100] = -65;
    expect(() => createPlan(layerPlan(c, 12, 'onednn', x, w))).toThrow(
      new OctetError('ERR_OCTET_BACKEND_UNAVAILABLE', `backend 'onednn' cannot run node 'conv0' (Conv) exactly on this CPU (oneDNN ISA '${isa}'): its weights reach ±65${tail}`),
    );
    const s8 = single('Conv', [{ dtype: 'int8', shape: c.x, quant: quant(0.02, 3) }, { dtype: 'int8', shape: c.w, quant: quant(0.01), data: randomInts(count(c.w), 13, -64, 64) }], [{ dtype: 'int8', shape: c.y, quant: quant(1) }], {}, 'onednn');
    expect(() => createPlan(s8)).toThrow(`backend 'onednn' cannot run node 'conv0' (Conv) exactly on this CPU (oneDNN ISA '${isa}'): its source is int8 (oneDNN halves int8-source weights here)${tail}`);
  });
  it("FullyConnectedInt8: 'auto' takes oneDNN for 7-bit weights on uint8, XNNPACK otherwise; 'onednn' refuses 8-bit weights", async () => {
    const base = { dtype: 'uint8' as const, inputChannels: 64, outputChannels: 8, weightScale: 0.01, input: { scale: 0.02, zeroPoint: 128 }, output: { scale: 0.5, zeroPoint: 128 } };
    const seven = randomInts(512, 14, -64, 64) as Int8Array;
    const eight = Int8Array.from(seven, (v, i) => (i === 7 ? 127 : v));
    const a = FullyConnectedInt8.create({ ...base, weights: seven });
    expect(a.backend).toBe('onednn');
    const x = randomInts(2 * 64, 15, 0, 255, Uint8Array) as Uint8Array;
    const b = FullyConnectedInt8.create({ ...base, weights: seven, backend: 'xnnpack' });
    expect(Array.from(await a.run(x))).toEqual(Array.from(await b.run(x)));
    a.release();
    b.release();
    const c = FullyConnectedInt8.create({ ...base, weights: eight });
    expect(c.backend).toBe('xnnpack');
    c.release();
    expect(FullyConnectedInt8.create({ ...base, dtype: 'int8', input: { scale: 0.02, zeroPoint: 0 }, output: { scale: 0.5, zeroPoint: 0 }, weights: seven }).backend).toBe('xnnpack');
    expect(() => FullyConnectedInt8.create({ ...base, weights: eight, backend: 'onednn' })).toThrow(
      `backend 'onednn' cannot run FullyConnectedInt8 exactly on this CPU (oneDNN ISA '${isa}'): its weights reach ±127${tail}`,
    );
  });
});
