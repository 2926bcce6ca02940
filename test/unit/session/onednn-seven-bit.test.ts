/**
 * Sessions on x86 without an int8 dot product (AVX2): 'auto' runs the int8 Conv / FullyConnected layers oneDNN
 * computes exactly (uint8 sources, weights within [-64, 64], as quantize's reduceRange makes them) on oneDNN and
 * every other one on XNNPACK; both are exact integer arithmetic, so the outputs equal those of the same model
 * forced onto XNNPACK. An explicit backend 'onednn' takes such a model and refuses one with 8-bit weights, naming
 * the first layer. Real models, quantized on real photos.
 */
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { backends, canonicalize, createPlan, InferenceSession, loadModel, lowerModel, onednnInt8Support, serializeModel, Tensor } from '../../../src/index.js';
import { expandQOperator } from '../../../src/lower/expand-qoperator.js';
import { quantize } from '../../../src/quantize/quantize.js';
import { MODELS_DIR, PNG_PHOTOS, photoSample, VISION } from '../quantize-graph/helpers/real-data.js';

const support = onednnInt8Support();
const isa = backends().find((b) => b.name === 'onednn')?.isa;

/** The model quantized on three photos, with 7-bit weights or 8-bit ones. */
async function quantized(model: string, reduceRange: boolean): Promise<Uint8Array> {
  const calibration = PNG_PHOTOS.slice(0, 3).map((p) => photoSample(model, p));
  return serializeModel((await quantize(join(MODELS_DIR, `${model}.onnx`), { calibration, progress: false, reduceRange })).model);
}

/** Runs the model on a held-out photo: each output's data and the session's kernels. */
async function runOn(bytes: Uint8Array, model: string, backend: 'auto' | 'xnnpack' | 'onednn'): Promise<{ outputs: Float32Array[]; kernels: string[] }> {
  const session = await InferenceSession.create(bytes, { backend });
  const sample = heldOut(model);
  const out = await session.run({ [VISION[model].input]: new Tensor('float32', sample.data as Float32Array, sample.dims) });
  const kernels = session.implementations();
  await session.release();
  return { outputs: session.outputNames.map((n) => out[n].data as Float32Array), kernels };
}

function heldOut(model: string): { data: Float32Array; dims: number[] } {
  const s = photoSample(model, PNG_PHOTOS[PNG_PHOTOS.length - 1])[VISION[model].input];
  return { data: s.data as Float32Array, dims: [...s.dims] };
}

/**
 * The model lowered with its int8 layers on `int8Backend` and everything else as 'auto' has it (a session's
 * explicit backend also moves the float32 layers), run on the held-out photo.
 */
async function runPlan(bytes: Uint8Array, model: string, int8Backend: 'auto' | 'xnnpack'): Promise<{ outputs: Float32Array[]; kernels: string[] }> {
  const m = loadModel(bytes);
  expandQOperator(m.graph);
  const sample = heldOut(model);
  canonicalize(m, { inputShapes: { [VISION[model].input]: [...sample.dims] } });
  const lowered = lowerModel(m, { threads: 1, int8Backend });
  const plan = createPlan(lowered.plan);
  const outputs = (await plan.run([sample.data])) as Float32Array[];
  const kernels = plan.implementations;
  plan.release();
  return { outputs, kernels };
}

/** The int8 Conv / FullyConnected kernels. */
const dense = (kernels: string[]): string[] => kernels.filter((k) => /^(onednn:(?!conv_f32:|matmul_f32:|sgemm)|xnnpack:(convolution2d_nhwc_q|fully_connected_nc_q))/.test(k));

describe.runIf(support === 'sevenBit')('int8 sessions on oneDNN without an int8 dot product', () => {
  for (const model of ['ppocr_cls', 'blazeface_front']) {
    it(`${model} with 7-bit weights: 'auto' runs its int8 layers on oneDNN, with XNNPACK's outputs exactly`, async () => {
      const bytes = await quantized(model, true);
      const auto = await runPlan(bytes, model, 'auto');
      const xnn = await runPlan(bytes, model, 'xnnpack');
      const onAuto = dense(auto.kernels);
      console.log(`${model}: ${onAuto.filter((k) => k.startsWith('onednn:')).length}/${onAuto.length} int8 Conv/FC on oneDNN (${[...new Set(onAuto)].join(', ')})`);
      expect(onAuto.filter((k) => /^onednn:jit/.test(k)).length).toBeGreaterThan(onAuto.length / 2);
      expect(onAuto.some((k) => k.startsWith('onednn:ref'))).toBe(false);
      expect(dense(xnn.kernels).every((k) => k.startsWith('xnnpack:'))).toBe(true);
      expect(auto.outputs.length).toBe(xnn.outputs.length);
      auto.outputs.forEach((o, i) => expect(Array.from(o)).toEqual(Array.from(xnn.outputs[i])));
      // A session on 'auto' runs the same plan.
      const session = await runOn(bytes, model, 'auto');
      expect(session.kernels).toEqual(auto.kernels);
      session.outputs.forEach((o, i) => expect(Array.from(o)).toEqual(Array.from(auto.outputs[i])));
      // Explicit 'onednn' takes it too.
      const explicit = await runOn(bytes, model, 'onednn');
      explicit.outputs.forEach((o, i) => expect(Array.from(o)).toEqual(Array.from(auto.outputs[i])));
    });
  }

  let eight: Uint8Array;
  beforeAll(async () => {
    eight = await quantized('ppocr_cls', false);
  });
  it("8-bit weights stay on XNNPACK under 'auto'", async () => {
    const auto = await runOn(eight, 'ppocr_cls', 'auto');
    expect(dense(auto.kernels).length).toBeGreaterThan(20);
    expect(dense(auto.kernels).every((k) => k.startsWith('xnnpack:'))).toBe(true);
  });
  it("backend 'onednn' refuses 8-bit weights at create(), naming the first such layer", async () => {
    await expect(InferenceSession.create(eight, { backend: 'onednn' })).rejects.toMatchObject({
      code: 'ERR_OCTET_BACKEND_UNAVAILABLE',
      message: expect.stringMatching(new RegExp(`^backend 'onednn' cannot run node '[^']+' \\(Conv\\) exactly on this CPU \\(oneDNN ISA '${isa}'\\): its weights reach ±127\\. `)),
    });
  });
});
