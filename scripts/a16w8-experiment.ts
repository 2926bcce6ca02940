// An experiment, not a feature: how far 16-bit activations would take static quantization (the #5 targets that
// int8 activations miss). octet quantizes the model as usual (static QDQ, uint8 activations, int8 per-channel
// weights, MinMax), then every activation Q/DQ pair is rewritten onto a 16-bit grid over the same calibrated range
// (uint16 codes, onnxruntime's com.microsoft QuantizeLinear/DequantizeLinear, which take 16-bit types); weights stay
// int8. onnxruntime-node runs the result (octet's runtime has no 16-bit activations) against the fp32 model.
//
//   npx vite-node scripts/a16w8-experiment.ts [ppocr_det|ppocr_cls|blazeface_front] [--gptq] [--text]
//
// Calibration: astronaut, chelsea, coffee (as docs/quantization-results.md); --text adds the top half of page.png
// (det's own kind of input). Evaluated on page, motorcycle_left and the bottom half of page.png (text the
// calibration has not seen); SQNR (dB) of every output against fp32.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import * as ort from 'onnxruntime-node';

import { Tensor } from '../src/ir/tensor.js';
import { DataType } from '../src/onnx/dtype.js';
import { serializeModel } from '../src/onnx/io.js';
import type { CalibrationSample } from '../src/quantize/executor.js';
import { sqnr } from '../src/quantize/metrics.js';
import { quantize } from '../src/quantize/quantize.js';
import { detInput, page } from '../test/unit/quantize-graph/helpers/ocr.js';
import { MODELS_DIR, photoSample, VISION } from '../test/unit/quantize-graph/helpers/real-data.js';

const name = process.argv.slice(2).find((a) => !a.startsWith('--')) ?? 'ppocr_det';
const gptq = process.argv.includes('--gptq');
const text = process.argv.includes('--text');
const [W, H] = VISION[name].size;
const img = page();
/** A half of page.png stretched to the model's input (det only: the others take photos as they are). */
const half = (top: boolean): CalibrationSample => detInput(img, W, H, { x: 0, y: top ? 0 : Math.floor(img.height / 2), w: img.width, h: Math.floor(img.height / 2) });

const bytes = new Uint8Array(readFileSync(join(MODELS_DIR, `${name}.onnx`)));
const calibration = ['astronaut.png', 'chelsea.png', 'coffee.png'].map((p) => photoSample(name, p));
if (text) calibration.push(half(true));
const { model } = await quantize(bytes, { calibration, gptq, progress: false });

// Activation pairs (uint8 zero point, scalar scale) onto 16 bits over the same range: S16 = 255·S/65535,
// Z16 = round(Z·65535/255). Shared scale/zero-point initializers are rewritten once.
const g = model.graph;
const rewritten = new Set<string>();
let nodes = 0;
for (const n of g.nodes) {
  if (n.opType !== 'QuantizeLinear' && n.opType !== 'DequantizeLinear') continue;
  const [sv, zv] = [n.input(1), n.input(2)];
  const [s, z] = [sv ? g.constantOf(sv) : undefined, zv ? g.constantOf(zv) : undefined];
  if (!s || !z || !(rewritten.has(zv!.name) || (z.dtype === DataType.UINT8 && s.size === 1))) continue;
  if (!rewritten.has(zv!.name)) {
    g.setInitializer(sv!, Tensor.fromFloat32(sv!.name, s.dims, [(s.asFloat32()[0] * 255) / 65535]));
    g.setInitializer(zv!, Tensor.fromNumbers(zv!.name, DataType.UINT16, z.dims, [Math.round((z.asUint8()[0] * 65535) / 255)]));
    rewritten.add(zv!.name);
  }
  n.domain = 'com.microsoft';
  nodes++;
}
model.setOpsetVersion('com.microsoft', 1);
for (const v of g.values.values()) {
  if (v.elemType === DataType.UINT8 && v.producer?.opType === 'QuantizeLinear') v.type = { ...(v.type as object), elemType: DataType.UINT16 } as never;
}

const [fp32, a16] = await Promise.all([bytes, serializeModel(model)].map((m) => ort.InferenceSession.create(m)));
const cells: string[] = [];
const evals: [string, CalibrationSample][] = [
  ['page', photoSample(name, 'page.png')],
  ['motorcycle', photoSample(name, 'motorcycle_left.png')],
  ...(name === 'ppocr_det' ? ([['page bottom half', half(false)]] as [string, CalibrationSample][]) : []),
];
for (const [label, s] of evals) {
  const feeds = Object.fromEntries(Object.entries(s).map(([k, t]) => [k, new ort.Tensor('float32', t.data as Float32Array, [...t.dims])]));
  const [r, q] = [await fp32.run(feeds), await a16.run(feeds)];
  cells.push(`${label} ${Object.keys(r).map((o) => sqnr(r[o].data as Float32Array, q[o].data as Float32Array).toFixed(1)).join('/')}`);
}
console.log(`${name} A16W8${gptq ? ' + GPTQ' : ''}${text ? ', text in calibration' : ''} (${nodes} Q/DQ nodes on 16 bits): ${cells.join(', ')} dB`);
process.exit(0);
