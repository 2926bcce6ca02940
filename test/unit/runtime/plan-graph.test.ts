/**
 * Multi-node plans: a small CNN in float32 and as an int8 QDQ chain, buffer reuse by liveness (skip
 * connections keep values alive), concurrent runs, the event loop during a long run, profiling, threads.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

import { describe, expect, it } from 'vitest';

import { backends, onednnHasInt8Dot } from '../../../src/backends.js';
import { createPlan, type Plan, type PlanBackend, type PlanTypedArray } from '../../../src/runtime/plan.js';
import { runReference } from '../../../src/runtime/reference/interpreter.js';
import { count, expectClose, expectQuantClose, PlanBuilder, quant, randomFloat, randomInts } from './helpers.js';

/** oneDNN runs int8 plans only where it has an int8 dot product (VNNI/AMX); elsewhere it refuses them. */
const hasOnednn = onednnHasInt8Dot();
/** float32 Conv / FullyConnected without a node backend run on oneDNN wherever it runs (x86), else on XNNPACK. */
const floatOnOnednn = backends().some((b) => b.name === 'onednn' && b.available);
const FLOAT_CONV = floatOnOnednn ? /^onednn:conv_f32:/ : /^xnnpack:convolution2d_nhwc_f32$/;
const FLOAT_FC = floatOnOnednn ? /^onednn:matmul_f32:/ : /^xnnpack:fully_connected_nc_f32$/;

/** NCHW input -> Transpose -> Conv+ReLU -> MaxPool -> Conv (+skip Add) -> GlobalAveragePool -> FC -> Softmax. */
function floatCnn(threads = 1): Plan {
  const b = new PlanBuilder();
  const x = b.input('x', 'float32', [1, 3, 16, 16]);
  const xt = b.value('x_nhwc', 'float32', [1, 16, 16, 3]);
  const w1 = b.constant('w1', 'float32', [8, 3, 3, 3], randomFloat(216, 11, -0.5, 0.5));
  const b1 = b.constant('b1', 'float32', [8], randomFloat(8, 12, -0.1, 0.1));
  const c1 = b.value('c1', 'float32', [1, 16, 16, 8]);
  const p1 = b.value('p1', 'float32', [1, 8, 8, 8]);
  const w2 = b.constant('w2', 'float32', [8, 3, 3, 8], randomFloat(576, 13, -0.3, 0.3));
  const c2 = b.value('c2', 'float32', [1, 8, 8, 8]);
  const s = b.value('skip', 'float32', [1, 8, 8, 8]);
  const g = b.value('gap', 'float32', [1, 1, 1, 8]);
  const f = b.value('flat', 'float32', [1, 8]);
  const wf = b.constant('wf', 'float32', [10, 8], randomFloat(80, 14));
  const bf = b.constant('bf', 'float32', [10], randomFloat(10, 15));
  const logits = b.value('logits', 'float32', [1, 10]);
  const prob = b.value('prob', 'float32', [1, 10]);
  b.node('Transpose', [x], [xt], { perm: [0, 2, 3, 1] })
    .node('Conv', [xt, w1, b1], [c1], { pads: [1, 1, 1, 1], activationMin: 0 })
    .node('MaxPool', [c1], [p1], { kernelShape: [2, 2], strides: [2, 2] })
    .node('Conv', [p1, w2], [c2], { pads: [1, 1, 1, 1] })
    .node('Add', [c2, p1], [s], { activationMin: 0 })
    .node('GlobalAveragePool', [s], [g])
    .node('Reshape', [g], [f])
    .node('FullyConnected', [f, wf, bf], [logits])
    .node('Softmax', [logits], [prob]);
  b.output(prob).output(logits);
  return b.build(threads);
}

describe('constants after packing', () => {
  it('frees the weights that only packing kernels read, keeps constants read at run time and biases oneDNN reads in place', async () => {
    const plan = floatCnn();
    const p = createPlan(plan);
    // w1, w2 and wf are packed (XNNPACK) or reordered (oneDNN) and freed; oneDNN reads b1 and bf in place.
    expect(p.constantBytes).toBe(floatOnOnednn ? (8 + 10) * 4 : 0);
    const x = randomFloat(768, 3);
    const [prob] = await p.run([x]);
    expectClose(prob as Float32Array, runReference(plan, [x])[0] as Float64Array, 1e-4, 1e-6);
    p.release();

    // A constant an elementwise op reads on every run stays.
    const b = new PlanBuilder();
    const xi = b.input('x', 'float32', [1, 4, 4, 3]);
    const w = b.constant('w', 'float32', [2, 1, 1, 3], randomFloat(6, 21));
    const c = b.value('c', 'float32', [1, 4, 4, 2]);
    const k = b.constant('k', 'float32', [1, 4, 4, 2], randomFloat(32, 22));
    const y = b.value('y', 'float32', [1, 4, 4, 2]);
    b.node('Conv', [xi, w], [c], {}).node('Add', [c, k], [y]);
    b.output(y);
    const small = b.build(1);
    const q = createPlan(small);
    expect(q.constantBytes).toBe(32 * 4);
    const xs = randomFloat(48, 23);
    const [out] = await q.run([xs]);
    expectClose(out as Float32Array, runReference(small, [xs])[0] as Float64Array, 1e-5, 1e-6);
    q.release();
  });
});

describe('a small CNN in float32', () => {
  it('matches the reference, reuses buffers, and is stable across runs', async () => {
    const plan = floatCnn();
    const p = createPlan(plan);
    const x = randomFloat(768, 1);
    const [prob, logits] = await p.run([x]);
    const [wantProb, wantLogits] = runReference(plan, [x]);
    expectClose(logits as Float32Array, wantLogits as Float64Array, 1e-4, 1e-5);
    expectClose(prob as Float32Array, wantProb as Float64Array, 1e-4, 1e-6);
    // Liveness: the arena is smaller than all activations side by side.
    const activations = plan.values.filter((v) => !v.data).reduce((a, v) => a + count(v.shape) * 4, 0);
    expect(p.arenaBytes).toBeLessThan(activations);
    // Rerunning with other data, then the first again, gives identical bits (no stale state).
    await p.run([randomFloat(768, 2)]);
    const [again] = p.runSync([x]);
    expect(Array.from(again as Float32Array)).toEqual(Array.from(prob as Float32Array));
    expect(p.implementations).toEqual([
      'own:transpose',
      expect.stringMatching(FLOAT_CONV),
      'xnnpack:max_pooling2d_nhwc_f32',
      expect.stringMatching(FLOAT_CONV),
      'xnnpack:add_nd_f32',
      'xnnpack:global_average_pooling_nwc_f32',
      'own:copy',
      expect.stringMatching(FLOAT_FC),
      'xnnpack:softmax_nc_f32',
    ]);
    p.release();
  });

  it('gives the same result on 2 threads', () => {
    const x = randomFloat(768, 3);
    const one = createPlan(floatCnn(1)).runSync([x]);
    const two = createPlan(floatCnn(2)).runSync([x]);
    expectClose(two[1] as Float32Array, one[1] as Float32Array, 1e-5, 1e-6);
  });

  it('profiles every node', async () => {
    const p = createPlan(floatCnn());
    const { outputs, nodes } = await p.profile([randomFloat(768, 4)]);
    expect(outputs).toHaveLength(2);
    expect(nodes.map((n) => n.op)).toEqual(['Transpose', 'Conv', 'MaxPool', 'Conv', 'Add', 'GlobalAveragePool', 'Reshape', 'FullyConnected', 'Softmax']);
    for (const n of nodes) {
      expect(n.ms).toBeGreaterThanOrEqual(0);
      expect(n.ms).toBeLessThan(1000);
    }
    expect(nodes[1].implementation).toMatch(FLOAT_CONV);
  });
});

/**
 * The same CNN as an int8 QDQ-style chain: QuantizeLinear at the entry, int8 Conv/MaxPool/Add/GAP/FC in the
 * middle, DequantizeLinear + Softmax at the exit. Intermediate scales come from the float reference.
 */
function int8Cnn(backend?: PlanBackend): { plan: Plan; x: Float32Array } {
  const x = randomFloat(1 * 16 * 16 * 3, 21);
  // Weights quantized per output channel, symmetric.
  const quantizeWeights = (w: Float32Array, oc: number) => {
    const per = w.length / oc;
    const scales: number[] = [];
    const q = new Int8Array(w.length);
    for (let o = 0; o < oc; o++) {
      let m = 0;
      for (let i = 0; i < per; i++) m = Math.max(m, Math.abs(w[o * per + i]));
      scales.push(m / 127 || 1);
      for (let i = 0; i < per; i++) q[o * per + i] = Math.round(w[o * per + i] / scales[o]);
    }
    return { q, scales };
  };
  const w1 = quantizeWeights(randomFloat(216, 11, -0.5, 0.5), 8);
  const w2 = quantizeWeights(randomFloat(576, 13, -0.3, 0.3), 8);
  const wf = quantizeWeights(randomFloat(80, 14), 10);
  // Activation scales from the float ranges of this input (as a calibrator would).
  const sx = 1 / 127, s1 = 0.02, s2 = 0.02, ss = 0.025, sg = 0.01, sl = 0.01;
  const bias = (b: Float32Array, scales: number[], sIn: number) => Int32Array.from(b, (v, i) => Math.round(v / (sIn * scales[i])));
  const b = new PlanBuilder();
  const xi = b.input('x', 'float32', [1, 16, 16, 3]);
  const xq = b.value('xq', 'int8', [1, 16, 16, 3], quant(sx, 0));
  const w1v = b.constant('w1', 'int8', [8, 3, 3, 3], w1.q, quant(w1.scales, 0, 0));
  const b1v = b.constant('b1', 'int32', [8], bias(randomFloat(8, 12, -0.1, 0.1), w1.scales, sx));
  const c1 = b.value('c1', 'int8', [1, 16, 16, 8], quant(s1, -128));
  const p1 = b.value('p1', 'int8', [1, 8, 8, 8], quant(s1, -128));
  const w2v = b.constant('w2', 'int8', [8, 3, 3, 8], w2.q, quant(w2.scales, 0, 0));
  const c2 = b.value('c2', 'int8', [1, 8, 8, 8], quant(s2, 0));
  const s = b.value('skip', 'int8', [1, 8, 8, 8], quant(ss, -128));
  const g = b.value('gap', 'int8', [1, 1, 1, 8], quant(sg, -128));
  const f = b.value('flat', 'int8', [1, 8], quant(sg, -128));
  const wfv = b.constant('wf', 'int8', [10, 8], wf.q, quant(wf.scales, 0, 0));
  const lq = b.value('logits_q', 'int8', [1, 10], quant(sl, 0));
  const l = b.value('logits', 'float32', [1, 10]);
  const prob = b.value('prob', 'float32', [1, 10]);
  b.node('QuantizeLinear', [xi], [xq])
    .node('Conv', [xq, w1v, b1v], [c1], { pads: [1, 1, 1, 1], activationMin: 0 }, backend)
    .node('MaxPool', [c1], [p1], { kernelShape: [2, 2], strides: [2, 2] })
    .node('Conv', [p1, w2v], [c2], { pads: [1, 1, 1, 1] }, backend)
    .node('Add', [c2, p1], [s], { activationMin: 0 })
    .node('GlobalAveragePool', [s], [g])
    .node('Reshape', [g], [f])
    .node('FullyConnected', [f, wfv], [lq], {}, backend)
    .node('DequantizeLinear', [lq], [l])
    .node('Softmax', [l], [prob]);
  b.output(lq).output(prob).output(c1);
  return { plan: b.build(), x };
}

describe.each(hasOnednn ? ([undefined, 'onednn'] as const) : ([undefined] as const))('an int8 QDQ chain (conv backend %s)', (backend) => {
  it('matches the reference within the int8 tolerance and reuses buffers', async () => {
    const { plan, x } = int8Cnn(backend);
    const p = createPlan(plan);
    const [lq, prob, c1] = await p.run([x]);
    const [wantLq, wantProb, wantC1] = runReference(plan, [x]);
    // First conv: ±1 on at most 2 %; later layers see those ±1s: ±2 on the logits.
    expectQuantClose(c1 as Int8Array, wantC1 as Int8Array, 0.02);
    expectQuantClose(lq as Int8Array, wantLq as Int8Array, 0.5, 2);
    expectClose(prob as Float32Array, wantProb as Float64Array, 0.05, 0.01);
    expect(new Set(Array.from(c1 as Int8Array)).size).toBeGreaterThan(50);
    if (backend === 'onednn') expect(p.implementations[1]).toMatch(/^onednn:/);
    else expect(p.implementations[1]).toBe('xnnpack:convolution2d_nhwc_qc8');
    p.release();
  });
});

describe('concurrency and the event loop', () => {
  it('concurrent run() calls on one plan are serialised and give the sequential results', async () => {
    const plan = floatCnn();
    const p = createPlan(plan);
    const inputs = Array.from({ length: 8 }, (_, i) => randomFloat(768, 100 + i));
    const sequential = inputs.map((x) => p.runSync([x])[1] as Float32Array);
    const concurrent = await Promise.all(inputs.map((x) => p.run([x])));
    concurrent.forEach((r, i) => expect(Array.from(r[1] as Float32Array)).toEqual(Array.from(sequential[i])));
    p.release();
  });

  it('release() during an in-flight run keeps the plan alive until it settles', async () => {
    const p = createPlan(floatCnn());
    const x = randomFloat(768, 5);
    const want = p.runSync([x])[0] as Float32Array;
    const pending = p.run([x]);
    p.release();
    const [got] = await pending;
    expect(Array.from(got as Float32Array)).toEqual(Array.from(want));
  });

  it('keeps the event loop free during a long run', async () => {
    // 12 large float32 convolutions (128 channels): a few hundred ms of work in one native call.
    const b = new PlanBuilder();
    let cur = b.input('x', 'float32', [1, 64, 64, 128]);
    for (let i = 0; i < 12; i++) {
      const w = b.constant(`w${i}`, 'float32', [128, 3, 3, 128], randomFloat(128 * 9 * 128, i, -0.05, 0.05));
      const y = b.value(`y${i}`, 'float32', [1, 64, 64, 128]);
      b.node('Conv', [cur, w], [y], { pads: [1, 1, 1, 1] });
      cur = y;
    }
    b.output(cur);
    const p = createPlan(b.build());
    const x = randomFloat(64 * 64 * 128, 9);
    const t0 = performance.now();
    p.runSync([x]);
    const syncMs = performance.now() - t0;
    const h = monitorEventLoopDelay({ resolution: 5 });
    h.enable();
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const s = performance.now();
    await p.run([x]);
    const asyncMs = performance.now() - s;
    clearInterval(timer);
    h.disable();
    expect(syncMs).toBeGreaterThan(50);
    // The loop kept ticking: roughly one tick per 5 ms of the run, and no stall near the run's length.
    expect(ticks).toBeGreaterThan(asyncMs / 5 / 4);
    expect(h.max / 1e6).toBeLessThan(Math.max(50, syncMs / 3));
    p.release();
  });
});
