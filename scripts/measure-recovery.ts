// Measures the accuracy-recovering options of quantize() (equalize, biasCorrection, gptq) on the real vision models,
// every result run by octet's own runtime (InferenceSession), and prints the tables of
// docs/quantization-results.md. Not a test: it prints numbers; test/unit/recovery/ asserts the claims.
//
//   calibration: astronaut, chelsea, coffee (as test/unit/quantize-graph/real-models.test.ts)
//   held out:    page, motorcycle_left   -> worst-output SQNR (dB) over both photos
//                24 views: page, motorcycle_left, china, flower, grace_hopper, rocket, each whole and three
//                crops, resized with sharp -> SQNR of each output pooled over the views, worst output
//
// Usage: npx vite-node scripts/measure-recovery.ts [model ...]   (default: ppocr_cls blazeface_front ppocr_det)
// Needs the native addon (npm run build:native) and the fixtures (scripts/fetch-test-material.sh).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import sharp from 'sharp';

import { serializeModel } from '../src/onnx/io.js';
import { sqnr } from '../src/quantize/metrics.js';
import { quantize, type QuantizeOptions } from '../src/quantize/quantize.js';
import type { CalibrationSample } from '../src/quantize/executor.js';
import { InferenceSessionImpl } from '../src/runtime/inference-session-impl.js';
import { Tensor } from '../src/runtime/tensor.js';
import { IMAGES_DIR, MODELS_DIR, photoSample, VISION } from '../test/unit/quantize-graph/helpers/real-data.js';

const lib = { IMAGES_DIR, MODELS_DIR, photoSample, VISION, sqnr, quantize, serializeModel };
type Outputs = Record<string, { data: unknown }>;

const CALIBRATION = ['astronaut.png', 'chelsea.png', 'coffee.png'];
const TABLE = ['page.png', 'motorcycle_left.png'];
const VIEWS = ['page.png', 'motorcycle_left.png', 'china.jpg', 'flower.jpg', 'grace_hopper.jpg', 'rocket.jpg'];

/** The whole photo and three crops, resized with sharp, normalised as photoSample does ((v/255 − 0.5)/0.5). */
async function views(model: string): Promise<CalibrationSample[]> {
  const v = lib.VISION[model];
  const [w, h] = v.size;
  const out: CalibrationSample[] = [];
  for (const photo of VIEWS) {
    const file = join(lib.IMAGES_DIR, photo);
    const meta = await sharp(file).metadata();
    const W = meta.width!;
    const H = meta.height!;
    const half = { width: Math.floor(W / 2), height: Math.floor(H / 2) };
    const regions = [undefined, { left: 0, top: 0, ...half }, { left: half.width, top: half.height, ...half }, { left: Math.floor(W / 4), top: Math.floor(H / 3), width: half.width, height: Math.floor(H / 3) }];
    for (const r of regions) {
      let img = sharp(file);
      if (r) img = img.extract(r);
      const px = await img.resize(w, h, { fit: 'fill' }).removeAlpha().raw().toBuffer();
      const c = px.length / (w * h);
      const data = new Float32Array(3 * w * h);
      for (let p = 0; p < w * h; p++) for (let k = 0; k < 3; k++) data[v.nhwc ? p * 3 + k : k * w * h + p] = (px[p * c + Math.min(k, c - 1)] / 255 - 0.5) / 0.5;
      out.push({ [v.input]: { data, dims: v.nhwc ? [1, h, w, 3] : [1, 3, h, w] } });
    }
  }
  return out;
}

async function runAll(bytes: Uint8Array, samples: CalibrationSample[]): Promise<Outputs[]> {
  const session = await InferenceSessionImpl.create(bytes);
  const results: Outputs[] = [];
  for (const s of samples) {
    const feeds: Record<string, Tensor> = {};
    for (const [k, t] of Object.entries(s)) feeds[k] = new Tensor('float32', t.data as Float32Array, t.dims);
    results.push(await session.run(feeds));
  }
  await session.release();
  return results;
}

function worstSqnr(refs: Outputs[], gots: Outputs[]): number {
  let worst = Infinity;
  refs.forEach((r, i) => {
    for (const o of Object.keys(r)) worst = Math.min(worst, sqnr(r[o].data as Float32Array, gots[i][o].data as Float32Array));
  });
  return worst;
}

function pooledWorst(refs: Outputs[], gots: Outputs[]): number {
  let worst = Infinity;
  for (const o of Object.keys(refs[0])) {
    let signal = 0;
    let noise = 0;
    refs.forEach((r, i) => {
      const a = r[o].data as Float32Array;
      const b = gots[i][o].data as Float32Array;
      for (let k = 0; k < a.length; k++) {
        signal += a[k] * a[k];
        noise += (a[k] - b[k]) ** 2;
      }
    });
    worst = Math.min(worst, 10 * Math.log10(signal / noise));
  }
  return worst;
}

const CONFIGS: [string, QuantizeOptions][] = [
  ['plain PTQ', {}],
  ['+ bias correction', { biasCorrection: true }],
  ['+ CLE', { equalize: true }],
  ['+ both', { equalize: true, biasCorrection: true }],
  ['+ GPTQ', { gptq: true }],
];
const models = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['ppocr_cls', 'blazeface_front', 'ppocr_det'];
const rows: string[] = [];
const notes: string[] = [];
for (const model of models) {
  const bytes = readFileSync(join(lib.MODELS_DIR, `${model}.onnx`));
  const table = TABLE.map((p) => lib.photoSample(model, p));
  const many = await views(model);
  const refTable = await runAll(bytes, table);
  const refMany = await runAll(bytes, many);
  const calibration = CALIBRATION.map((p) => lib.photoSample(model, p));
  for (const [mode, extra] of [['static', {}], ['weight-only', { weightOnly: true }]] as [string, QuantizeOptions][]) {
    for (const perChannel of [true, false]) {
      const cells: string[] = [];
      for (const [label, options] of CONFIGS) {
        const { model: q, report } = await lib.quantize(bytes, { calibration, perChannel, progress: false, ...extra, ...options });
        const qb = lib.serializeModel(q);
        const a = worstSqnr(refTable, await runAll(qb, table));
        const b = pooledWorst(refMany, await runAll(qb, many));
        cells.push(`${a.toFixed(1)} / ${b.toFixed(1)}`);
        // What the report said, once per model and granularity (static mode, both options on).
        if (mode === 'static' && label === '+ both') for (const n of report.notes) if (/^(Bias correction|Cross-layer)/.test(n)) notes.push(`${model}, ${perChannel ? 'per-channel' : 'per-tensor'}: ${n}`);
        process.stderr.write(`${model} ${mode} ${perChannel ? 'per-channel' : 'per-tensor'} ${label}: ${cells.at(-1)}\n`);
      }
      rows.push(`| ${model} | ${mode} | ${perChannel ? 'per-channel' : 'per-tensor'} | ${cells.join(' | ')} |`);
    }
  }
}
console.log('| model | mode | weights | plain PTQ | + bias correction | + CLE | + both | + GPTQ |');
console.log('|---|---|---|---|---|---|---|---|');
console.log(rows.join('\n'));
console.log('');
for (const n of notes) console.log(`- ${n}`);
