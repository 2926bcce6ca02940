/**
 * Helpers for the accuracy-recovery tests: run a model on octet's runtime, compare outputs, build small Conv
 * chains, and the 24 held-out views of the real photos (whole and three crops of six photos, resized with
 * sharp) that give a steadier measure than two photos.
 */
import { join } from 'node:path';

import sharp from 'sharp';

import type { Graph } from '../../../src/ir/graph.js';
import type { Model } from '../../../src/ir/model.js';
import { loadModel, serializeModel } from '../../../src/onnx/io.js';
import type { CalibrationSample } from '../../../src/quantize/executor.js';
import { InferenceSessionImpl } from '../../../src/runtime/inference-session-impl.js';
import { Tensor } from '../../../src/runtime/tensor.js';
import { randomInput, randomTensor } from '../onnx/helpers/build.js';
import { IMAGES_DIR, VISION } from '../quantize-graph/helpers/real-data.js';

export type Outputs = Record<string, Float32Array>;

/** Runs `bytes` on octet's runtime over the samples; float32 outputs by name. */
export async function runOctet(bytes: Uint8Array, samples: CalibrationSample[]): Promise<Outputs[]> {
  const session = await InferenceSessionImpl.create(bytes);
  try {
    const out: Outputs[] = [];
    for (const s of samples) {
      const feeds: Record<string, Tensor> = {};
      for (const [k, t] of Object.entries(s)) feeds[k] = new Tensor('float32', t.data as Float32Array, t.dims);
      const r = await session.run(feeds);
      out.push(Object.fromEntries(Object.entries(r).map(([k, t]) => [k, t.data as Float32Array])));
    }
    return out;
  } finally {
    await session.release();
  }
}

/** max |a − b| / max |a|. */
export function maxRelative(a: Float32Array, b: Float32Array): number {
  let d = 0;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(a[i]));
  }
  return d / m;
}

/** SQNR (dB) of each output pooled over all samples (Σ signal / Σ noise), the worst output. */
export function pooledWorstSqnr(refs: Outputs[], gots: Outputs[]): number {
  let worst = Infinity;
  for (const o of Object.keys(refs[0])) {
    let signal = 0;
    let noise = 0;
    refs.forEach((r, i) => {
      const a = r[o];
      const b = gots[i][o];
      for (let k = 0; k < a.length; k++) {
        signal += a[k] * a[k];
        noise += (a[k] - b[k]) ** 2;
      }
    });
    worst = Math.min(worst, 10 * Math.log10(signal / noise));
  }
  return worst;
}

export const VIEW_PHOTOS = ['page.png', 'motorcycle_left.png', 'china.jpg', 'flower.jpg', 'grace_hopper.jpg', 'rocket.jpg'];

/** 24 held-out views for a vision model: each photo whole and three crops, normalised as photoSample does. */
export async function heldOutViews(model: string): Promise<CalibrationSample[]> {
  const v = VISION[model];
  const [w, h] = v.size;
  const out: CalibrationSample[] = [];
  for (const photo of VIEW_PHOTOS) {
    const file = join(IMAGES_DIR, photo);
    const meta = await sharp(file).metadata();
    const W = meta.width!;
    const H = meta.height!;
    const half = { width: Math.floor(W / 2), height: Math.floor(H / 2) };
    const regions = [undefined, { left: 0, top: 0, ...half }, { left: half.width, top: half.height, ...half }, { left: Math.floor(W / 4), top: Math.floor(H / 3), width: half.width, height: Math.floor(H / 3) }];
    for (const r of regions) {
      const img = r ? sharp(file).extract(r) : sharp(file);
      const px = await img.resize(w, h, { fit: 'fill' }).removeAlpha().raw().toBuffer();
      const c = px.length / (w * h);
      const data = new Float32Array(3 * w * h);
      for (let p = 0; p < w * h; p++) for (let k = 0; k < 3; k++) data[v.nhwc ? p * 3 + k : k * w * h + p] = (px[p * c + Math.min(k, c - 1)] / 255 - 0.5) / 0.5;
      out.push({ [v.input]: { data, dims: v.nhwc ? [1, h, w, 3] : [1, 3, h, w] } });
    }
  }
  return out;
}

/** A copy of `model` (bytes) with the named values added as graph outputs. */
export function withOutputs(model: Model | Uint8Array, names: readonly string[]): Uint8Array {
  const m = model instanceof Uint8Array ? loadModel(model) : loadModel(serializeModel(model));
  for (const n of names) {
    const v = m.graph.values.get(n);
    if (!v) throw new Error(`no value '${n}'`);
    if (!m.graph.outputs.includes(v)) m.graph.outputs.push(v);
  }
  return serializeModel(m);
}

/**
 * A Conv weight [cout, cin, k, k] whose output channel c is scaled by spread^(c / (cout − 1)): per-channel
 * ranges that differ by the factor `spread`, as after BatchNorm folding.
 */
export function unevenWeight(name: string, dims: number[], seed: number, spread: number): ReturnType<typeof randomTensor> {
  const t = randomTensor(name, dims, seed);
  const v = t.asFloat32();
  const per = v.length / dims[0];
  for (let i = 0; i < v.length; i++) v[i] *= spread ** (Math.floor(i / per) / Math.max(1, dims[0] - 1));
  return t;
}

export function sample(name: string, shape: number[], seed = 7): CalibrationSample {
  return { [name]: { data: randomInput(shape, seed), dims: shape } };
}

export type { Graph };
