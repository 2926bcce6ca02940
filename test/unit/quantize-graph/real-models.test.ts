/**
 * Real models, real data: static QDQ (per channel and per tensor) calibrated on three fixture photos and
 * evaluated on two others, SQNR of every output vs fp32 (fp32 run by onnxruntime-node, int8 by octet's runtime,
 * whose int8 arithmetic is exact on every CPU), and onnxruntime-node running the int8 file agrees with octet's
 * runtime (on x86 without VNNI onnxruntime's int8 GEMMs saturate, so there it runs a 7-bit-weight twin); dynamic
 * quantization of the Silero VAD judged by its speech/non-speech decisions over the fixture WAVs; and a
 * produced model fed back in (already quantized: a no-op).
 * The SQNR floors below are regression guards at the measured values minus a margin, not the 25 dB target
 * (see docs/quantization-results.md).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { loadModel, serializeModel } from '../../../src/onnx/io.js';
import { disagreement, sqnr } from '../../../src/quantize/metrics.js';
import { quantize } from '../../../src/quantize/quantize.js';
import { ortInt8Exact } from '../onnx/helpers/ort.js';
import { createOnnxruntimeExecutor, runModel, runOctet } from './helpers/ort-executor.js';
import { compareVads, MODELS_DIR, photoSample, type VadStep } from './helpers/real-data.js';

const CALIBRATION = ['astronaut.png', 'chelsea.png', 'coffee.png'];
const EVALUATION = ['page.png', 'motorcycle_left.png'];
/** Per model: the floor (dB) for the worst output over the evaluation photos, per channel / per tensor. */
const FLOORS: Record<string, [number, number]> = {
  ppocr_cls: [15, 8],
  blazeface_front: [9, 8],
  ppocr_det: [-9, -2],
};

/** Per model: the floor (dB, see disagreement()) for octet's runtime vs onnxruntime-node on the same int8 file; measured on AMD EPYC (AVX2, 7-bit twin): cls ≥ 147, BlazeFace 21–24, det 25 on page.png. */
const AGREEMENT: Record<string, number> = { ppocr_cls: 40, blazeface_front: 15, ppocr_det: 18 };

const results: string[] = [];


describe('static QDQ on the real vision models', () => {
  for (const name of Object.keys(FLOORS)) {
    it(`${name}: every output vs fp32, and onnxruntime-node agrees with octet on the int8 file`, async () => {
      const bytes = readFileSync(join(MODELS_DIR, `${name}.onnx`));
      const cal = CALIBRATION.map((p) => photoSample(name, p));
      for (const [k, perChannel] of [true, false].entries()) {
        const { model, report } = await quantize(bytes, { calibration: cal, executor: createOnnxruntimeExecutor, perChannel, progress: false });
        expect(report.calibration!.samples).toBe(3);
        const out = serializeModel(model);
        const forOrt = ortInt8Exact ? out : serializeModel((await quantize(bytes, { calibration: cal, executor: createOnnxruntimeExecutor, perChannel, reduceRange: true, progress: false })).model);
        let worst = Infinity;
        let worstAgreement = Infinity;
        for (const photo of EVALUATION) {
          const s = photoSample(name, photo);
          const ref = await runModel(bytes, s);
          const got = await runOctet(out, s);
          const line = Object.keys(ref).map((o) => {
            const db = sqnr(ref[o].data as Float32Array, got[o].data);
            worst = Math.min(worst, db);
            return `${o} ${db.toFixed(1)}`;
          });
          // onnxruntime and octet on the same int8 file: they differ only in requantization rounding. Not judged on
          // det's photo without text, whose fp32 map is empty: there any two int8 runs differ by noise alone.
          if (name === 'ppocr_det' && photo !== 'page.png') continue;
          const [inOrt, inOctet] = [await runModel(forOrt, s), forOrt === out ? got : await runOctet(forOrt, s)];
          for (const o of Object.keys(ref)) worstAgreement = Math.min(worstAgreement, disagreement(ref[o].data as Float32Array, inOctet[o].data, inOrt[o].data as Float32Array));
          results.push(`${name} ${perChannel ? 'per-channel' : 'per-tensor'} ${photo}: ${line.join(', ')}; octet vs onnxruntime ${worstAgreement.toFixed(1)}`);
        }
        expect(worst).toBeGreaterThan(FLOORS[name][k]);
        expect(worstAgreement).toBeGreaterThan(AGREEMENT[name]);
        if (perChannel) {
          // Feeding the result back: already quantized, left as it is.
          const again = await quantize(out, { calibration: cal, executor: createOnnxruntimeExecutor, progress: false });
          expect(again.report.mode).toBe('none');
          expect(again.report.notes[0]).toMatch(/^The model is already quantized \(\d+ QuantizeLinear, \d+ DequantizeLinear\); left unchanged$/);
          expect(serializeModel(again.model)).toEqual(serializeModel(loadModel(out)));
        }
      }
    }, 300_000);
  }
  it('prints the measured table', () => {
    console.log(results.join('\n'));
  });
});


describe('dynamic quantization of the Silero VAD (op18, LSTM spelled out as Gemm)', () => {
  it('MatMulInteger in place of the Gemms; frame decisions agree with fp32 over the fixture WAVs', async () => {
    const bytes = readFileSync(join(MODELS_DIR, 'silero_vad_op18_ifless.onnx'));
    const { model, report } = await quantize(bytes, { dynamic: true, freezeInputs: { sr: 16000 } });
    expect(report.mode).toBe('dynamic');
    expect(report.counts.quantizedNodes).toBe(2);
    expect(report.counts.byOpType.MatMulInteger).toBe(2);
    expect(report.counts.byOpType.DynamicQuantizeLinear).toBeGreaterThanOrEqual(1);
    expect(report.notes).toContain('Conv: 6 nodes left in fp32 (dynamic mode quantizes MatMul and Gemm)');
    const out = serializeModel(model);
    const step = (bytesOf: Uint8Array): VadStep => async (sample) => {
      const r = await runModel(bytesOf, sample);
      return { output: r.output.data as Float32Array, stateN: r.stateN.data as Float32Array };
    };
    const { agree, total, worstState: worst } = await compareVads(step(bytes), step(out));
    results.push(`silero_vad_op18_ifless dynamic: ${agree}/${total} frame decisions agree, worst state SQNR ${worst.toFixed(1)} dB`);
    console.log(results[results.length - 1]);
    // The task target: ≥ 98 % of frame decisions as fp32 makes them (measured 129/129).
    expect(agree / total).toBeGreaterThanOrEqual(0.98);
  });

  it('weight-only with GPTQ (calibrated on every other window, fp32 states): every float output above 25 dB', async () => {
    const bytes = readFileSync(join(MODELS_DIR, 'silero_vad_op18_ifless.onnx'));
    const step = (bytesOf: Uint8Array): VadStep => async (sample) => {
      const r = await runModel(bytesOf, sample);
      return { output: r.output.data as Float32Array, stateN: r.stateN.data as Float32Array };
    };
    // fp32 against itself gives the inputs with fp32's own states.
    const { inputs } = await compareVads(step(bytes), step(bytes));
    const calibration = inputs.filter((_, i) => i % 2 === 0).map(({ input, state }) => ({ input, state }));
    const { model, report } = await quantize(bytes, { weightOnly: true, gptq: true, calibration, freezeInputs: { sr: 16000 }, progress: false });
    expect(report.gptq!.length).toBeGreaterThan(0);
    const r = await compareVads(step(bytes), step(serializeModel(model)));
    console.log(`silero_vad_op18_ifless weight-only + GPTQ: ${r.agree}/${r.total} decisions agree, speech probability ${r.outputSqnr.toFixed(1)} dB, worst state ${r.worstState.toFixed(1)} dB`);
    // Measured 129/129, 41.2 and 30.3 dB (dynamic int8: 17.0 and 16.8 dB; static activations cost more, the
    // probabilities sit near 0 where small absolute errors are large relative ones).
    expect(r.agree).toBe(r.total);
    expect(r.outputSqnr).toBeGreaterThan(25);
    expect(r.worstState).toBeGreaterThan(25);
  }, 120_000);
});
