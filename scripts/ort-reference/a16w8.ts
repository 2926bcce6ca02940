// 16-bit activations (A16W8): onnxruntime's quantizer against octet's, SQNR of every output against fp32.
//
//   npx vite-node scripts/ort-reference/a16w8.ts DIR
//
// DIR holds onnxruntime's files from scripts/ort-reference.sh --a16w8: ppocr_cls.ort16.onnx and
// blazeface_front.ort16.onnx (calibrated on astronaut, chelsea, coffee; evaluated on page and motorcycle_left),
// ppocr_det.ort16.onnx (calibrated on four photos and page.png's halves at 384x192, as
// test/unit/quantize-graph/task-metrics.test.ts; evaluated on the whole page and its top and bottom halves).
// onnxruntime-node runs onnxruntime's files (com.microsoft 16-bit Q/DQ); octet quantizes the same data with
// activationType 'uint16' and each recovery option, and runs its files itself.

import { join } from 'node:path';

import * as ort from 'onnxruntime-node';

import { InferenceSession, Tensor } from '../../src/index.js';
import { serializeModel } from '../../src/onnx/io.js';
import type { CalibrationSample } from '../../src/quantize/executor.js';
import { sqnr } from '../../src/quantize/metrics.js';
import { quantize, type QuantizeOptions } from '../../src/quantize/quantize.js';
import { decodePng } from '../../test/unit/onnx/helpers/images.js';
import { IMAGES_DIR } from '../../test/unit/onnx/helpers/onnx.js';
import { detInput, page } from '../../test/unit/quantize-graph/helpers/ocr.js';
import { MODELS_DIR, photoSample } from '../../test/unit/quantize-graph/helpers/real-data.js';

const dir = process.argv[2];
if (!dir) throw new Error('usage: a16w8.ts DIR');

type Outputs = Float32Array[][];
const feedsOf = <T>(s: CalibrationSample, make: (data: Float32Array, dims: number[]) => T): Record<string, T> =>
  Object.fromEntries(Object.entries(s).map(([k, t]) => [k, make(t.data as Float32Array, [...t.dims])]));

async function ortRun(model: string | Uint8Array, samples: CalibrationSample[]): Promise<Outputs> {
  const s = await ort.InferenceSession.create(model as string, { logSeverityLevel: 3 });
  const out: Outputs = [];
  for (const x of samples) {
    const r = await s.run(feedsOf(x, (d, dims) => new ort.Tensor('float32', d, dims)));
    out.push(s.outputNames.map((o) => r[o].data as Float32Array));
  }
  return out;
}

async function octetRun(model: Uint8Array, samples: CalibrationSample[]): Promise<Outputs> {
  const s = await InferenceSession.create(model);
  const out: Outputs = [];
  for (const x of samples) {
    const r = await s.run(feedsOf(x, (d, dims) => new Tensor('float32', d, dims)));
    out.push(s.outputNames.map((o) => r[o].data as Float32Array));
  }
  await s.release();
  return out;
}

const VARIANTS: [string, Partial<QuantizeOptions>][] = [
  ['uint16, rangeMargin 1', { rangeMargin: 1 }],
  ['uint16', {}],
  ['uint16 + bias correction', { biasCorrection: true }],
  ['uint16 + GPTQ', { gptq: true }],
  ['uint16 + GPTQ + bias correction', { gptq: true, biasCorrection: true }],
];

async function compare(name: string, calibration: CalibrationSample[], evals: CalibrationSample[], views: string, inputShapes?: QuantizeOptions['inputShapes']): Promise<void> {
  const model = join(MODELS_DIR, `${name}.onnx`);
  const ref = await ortRun(model, evals);
  const cells = (got: Outputs): string => got.map((outs, i) => outs.map((o, j) => sqnr(ref[i][j], o).toFixed(1)).join('/')).join(' | ');
  console.log(`${name} (${views}):`);
  console.log(`  onnxruntime A16W8 (MinMax)              ${cells(await ortRun(join(dir, `${name}.ort16.onnx`), evals))}`);
  for (const [label, options] of VARIANTS) {
    const q = await quantize(model, { calibration, progress: false, activationType: 'uint16', ...(inputShapes ? { inputShapes } : {}), ...options });
    console.log(`  octet ${label.padEnd(34)} ${cells(await octetRun(serializeModel(q.model), evals))}`);
  }
}

const photos = ['astronaut.png', 'chelsea.png', 'coffee.png'];
for (const name of ['ppocr_cls', 'blazeface_front']) {
  await compare(name, photos.map((p) => photoSample(name, p)), ['page.png', 'motorcycle_left.png'].map((p) => photoSample(name, p)), 'page | motorcycle');
}
const img = page();
const [W, H] = [384, 192];
const detCalibration = [
  ...[...photos, 'motorcycle_left.png'].map((p) => detInput(decodePng(join(IMAGES_DIR, p)), W, H)),
  ...[0, 1].map((k) => detInput(img, W, H, { x: (k * img.width) / 2, y: 0, w: img.width / 2, h: img.height })),
];
const detViews = [detInput(img, W, H), ...[0, 1].map((k) => detInput(img, W, H, { x: 0, y: (k * img.height) / 2, w: img.width, h: img.height / 2 }))];
await compare('ppocr_det', detCalibration, detViews, 'page | top half | bottom half', { x: [1, 3, H, W] });
process.exit(0);
