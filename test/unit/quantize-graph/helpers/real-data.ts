/**
 * Real calibration and evaluation samples for the real models: fixture photos resized as each model expects,
 * and 512-sample windows of the fixture WAVs for the VAD.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

import type { CalibrationSample } from '../../../../src/quantize/executor.js';
import { sqnr } from '../../../../src/quantize/metrics.js';
import { photoTensor, readWav, toNhwc } from '../../onnx/helpers/images.js';
import { IMAGES_DIR, MODELS_DIR } from '../../onnx/helpers/onnx.js';

export const AUDIO_DIR = join(IMAGES_DIR, '..', 'audio');
export { IMAGES_DIR, MODELS_DIR };

export const PNG_PHOTOS = readdirSync(IMAGES_DIR).filter((f) => f.endsWith('.png')).sort();

/** Input size per vision model: [width, height]. */
export const VISION: Record<string, { input: string; size: [number, number]; nhwc?: boolean; mean?: number; std?: number }> = {
  ppocr_det: { input: 'x', size: [320, 320] },
  ppocr_cls: { input: 'x', size: [192, 48] },
  ppocr_rec: { input: 'x', size: [320, 48] },
  blazeface_front: { input: 'input:0', size: [128, 128], nhwc: true },
};

export function photoSample(model: string, photo: string): CalibrationSample {
  const v = VISION[model];
  const [w, h] = v.size;
  const nchw = photoTensor(photo, w, h);
  if (v.nhwc) return { [v.input]: { data: toNhwc(nchw, 3, h, w), dims: [1, h, w, 3] } };
  return { [v.input]: { data: nchw, dims: [1, 3, h, w] } };
}

/** Consecutive 512-sample windows at 16 kHz of a WAV fixture (48 kHz decimated). */
export function vadWindows(file: string, maxWindows = Infinity): Float32Array[] {
  const wav = readWav(join(AUDIO_DIR, file));
  const step = Math.round(wav.rate / 16000);
  const n = Math.floor(wav.samples.length / step);
  const out: Float32Array[] = [];
  for (let start = 0; start + 512 <= n && out.length < maxWindows; start += 512) {
    const w = new Float32Array(512);
    for (let i = 0; i < 512; i++) w[i] = wav.samples[(start + i) * step];
    out.push(w);
  }
  return out;
}

/** One VAD step: a 512-sample window and the carried state in, the speech probability and the next state out. */
export type VadStep = (sample: CalibrationSample) => Promise<{ output: Float32Array; stateN: Float32Array }>;

/**
 * Runs two Silero VADs side by side over 60 windows of each of the fixture WAVs Front_Center, Noise and
 * Rear_Center, each carrying its own state: how many frame decisions (p > 0.5) agree, the worst SQNR of the
 * carried state and the SQNR of the speech probabilities over all windows (the first as reference), and the
 * first VAD's inputs (with its own states).
 */
export async function compareVads(a: VadStep, b: VadStep): Promise<{ agree: number; total: number; worstState: number; outputSqnr: number; inputs: CalibrationSample[] }> {
  let agree = 0;
  let total = 0;
  let worstState = Infinity;
  const [pa, pb]: number[][] = [[], []];
  const inputs: CalibrationSample[] = [];
  for (const wav of ['Front_Center.wav', 'Noise.wav', 'Rear_Center.wav']) {
    let s1: Float32Array = new Float32Array(256);
    let s2: Float32Array = new Float32Array(256);
    for (const w of vadWindows(wav, 60)) {
      const base: CalibrationSample = { input: { data: w, dims: [1, 512] }, sr: { data: BigInt64Array.of(16000n), dims: [] } };
      inputs.push({ ...base, state: { data: s1, dims: [2, 1, 128] } });
      const x = await a({ ...base, state: { data: s1, dims: [2, 1, 128] } });
      const y = await b({ ...base, state: { data: s2, dims: [2, 1, 128] } });
      [s1, s2] = [x.stateN, y.stateN];
      if (x.output[0] > 0.5 === y.output[0] > 0.5) agree++;
      pa.push(x.output[0]);
      pb.push(y.output[0]);
      total++;
      worstState = Math.min(worstState, sqnr(s1, s2));
    }
  }
  return { agree, total, worstState, outputSqnr: sqnr(Float32Array.from(pa), Float32Array.from(pb)), inputs };
}
