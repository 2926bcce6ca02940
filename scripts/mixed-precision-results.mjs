#!/usr/bin/env node
// The numbers of docs/quantization-results.md "Mixed precision": for PP-OCR cls, PP-OCR det and BlazeFace,
// quantized from the fixture photos (test/.fixtures/images, every 4th held out), plain PTQ vs mixed precision
// at 25 and 30 dB: worst-output SQNR on the held-out photos and on the 7 calibration photos, fp32 MAC share,
// nodes kept in fp32, search time. Everything runs on octet's runtime. Needs dist/ (npm run build:ts).
// Usage: node scripts/mixed-precision-results.mjs [cls,det,blazeface] [25,30] ['{"gptq":true}' (more quantize() options)]
import { join } from 'node:path';

import { canonicalize, createOctetExecutor, loadModel, openCalibrationFolder, quantize, serializeModel } from '../dist/index.js';

const ROOT = join(import.meta.dirname, '..', 'test', '.fixtures');
const IMAGES = join(ROOT, 'images');
const MODELS = {
  cls: { file: 'ppocr_cls.onnx', input: 'x', dims: [1, 3, 48, 192], image: { mean: 0.5, std: 0.5 } },
  det: { file: 'ppocr_det.onnx', input: 'x', dims: [1, 3, 320, 320], image: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] } },
  blazeface: { file: 'blazeface_front.onnx', input: 'input:0', dims: [1, 128, 128, 3], image: { mean: 0.5, std: 0.5 } },
};
const which = (process.argv[2] ?? 'cls,det,blazeface').split(',');
const targets = (process.argv[3] ?? '25,30').split(',').map(Number);
const extra = JSON.parse(process.argv[4] ?? '{}');

/** Worst output SQNR of `model` against `refs` over the samples at `indices`. */
async function worst(model, samples, refs, outputs, indices) {
  const exec = await createOctetExecutor(serializeModel(model));
  const sums = outputs.map(() => [0, 0]);
  for (const i of indices) {
    const got = await exec.run(samples[i], outputs);
    outputs.forEach((o, k) => {
      const a = refs[i][o];
      const b = got[o].data;
      for (let j = 0; j < a.length; j++) {
        sums[k][0] += a[j] * a[j];
        sums[k][1] += (a[j] - b[j]) ** 2;
      }
    });
  }
  await exec.release();
  return Math.min(...sums.map(([s, n]) => 10 * Math.log10(s / n)));
}

for (const name of which) {
  const c = MODELS[name];
  const path = join(ROOT, 'models', c.file);
  const inputShapes = { [c.input]: c.dims };
  const m = loadModel(path);
  canonicalize(m, { inputShapes });
  const samples = [];
  for await (const s of openCalibrationFolder(IMAGES, m, c.image)) samples.push(s);
  const outputs = m.graph.outputs.map((v) => v.name);
  const fp = await createOctetExecutor(serializeModel(m));
  const refs = [];
  for (const s of samples) {
    const out = await fp.run(s, outputs);
    refs.push(Object.fromEntries(outputs.map((o) => [o, Float32Array.from(out[o].data)])));
  }
  await fp.release();
  const held = samples.map((_, i) => i).filter((i) => i % 4 === 3);
  const calibration = samples.map((_, i) => i).filter((i) => i % 4 !== 3);
  const plain = await quantize(path, { calibration: calibration.map((i) => samples[i]), inputShapes, progress: false, ...extra });
  const row = (label, model, extra) => console.log(`${name}\t${label}\t${extra}\theld-out ${held.length}: ${model.held.toFixed(1)} dB\tcalibration photos: ${model.cal.toFixed(1)} dB`);
  row('plain PTQ', { held: await worst(plain.model, samples, refs, outputs, held), cal: await worst(plain.model, samples, refs, outputs, calibration) }, '-');
  for (const target of targets) {
    const t = Date.now();
    const { model, report } = await quantize(path, { calibration: IMAGES, image: c.image, inputShapes, targetSqnr: target, progress: false, ...extra });
    const seconds = (Date.now() - t) / 1000;
    const mp = report.mixedPrecision;
    const result = { held: mp.after, cal: await worst(model, samples, refs, outputs, calibration) };
    row(`target ${target}`, result, `${mp.met ? 'met' : 'not met'}, ${mp.fp32Nodes.length} nodes, ${(100 * mp.fp32MacFraction).toFixed(1)} % MACs fp32, ${seconds.toFixed(0)} s, ${mp.steps.length} models verified`);
  }
}
