/**
 * PP-OCR cls on many held-out images: octet's MinMax quantization against onnxruntime's (and any other int8 files
 * named), all executed by octet's runtime, SQNR of the softmax output against fp32. cls has two outputs, so the
 * two-photo figures of docs/quantization-results.md are two draws of one scalar error; this puts a spread on them.
 * Developer tool (docs/quantization-results.md, "onnxruntime's quantizer vs octet's"):
 *
 *   vite-node scripts/ort-reference/cls-heldout.ts DIR [INT8.onnx ...]
 *
 * DIR holds PNG images (crops and 180° turns of the held-out photos: `prepare.py crops` in the ort-reference
 * chroot writes them, as JPEG decoding is not in octet). Calibration is the same three photos as evaluate.ts.
 * Without INT8 files, onnxruntime's committed test/fixtures/ort-quantized/ppocr_cls.minmax.onnx is compared.
 * Prints one line per image, then per quantization: mean and median SQNR (dB), the SQNR pooled over all images
 * (sum of signal over sum of noise), the mean |Δp| of the first class, and on how many images it beats octet.
 */
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';

import { InferenceSession, Tensor } from '../../src/index.js';
import { serializeModel } from '../../src/onnx/io.js';
import { sqnr } from '../../src/quantize/metrics.js';
import { quantize } from '../../src/quantize/quantize.js';
import { IMAGES_DIR, MODELS_DIR, photoSample } from '../../test/unit/quantize-graph/helpers/real-data.js';

const [dir, ...others] = process.argv.slice(2);
if (!dir) {
  process.stderr.write('usage: cls-heldout.ts DIR [INT8.onnx ...]\n');
  process.exit(2);
}
const MODEL = 'ppocr_cls';
const original = join(MODELS_DIR, `${MODEL}.onnx`);
const calibration = ['astronaut.png', 'chelsea.png', 'coffee.png'].map((p) => photoSample(MODEL, p));
const files: [string, string | Uint8Array][] = [
  ['octet minmax', serializeModel((await quantize(original, { calibration, method: 'minmax', progress: false })).model)],
  ...(others.length ? others : [join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'ort-quantized', `${MODEL}.minmax.onnx`)]).map((f): [string, string] => [f.replace(/.*\//, ''), f]),
];
// photoSample reads from the fixture folder: name the images relative to it.
const images = readdirSync(dir).filter((f) => f.endsWith('.png')).sort();

const sessions = await Promise.all([original, ...files.map(([, f]) => f)].map((f) => InferenceSession.create(f)));
const stats = files.map(() => ({ db: [] as number[], signal: 0, noise: 0, dp: 0, wins: 0 }));
for (const image of images) {
  const x = photoSample(MODEL, relative(IMAGES_DIR, join(dir, image))).x;
  const outs: Float32Array[] = [];
  for (const s of sessions) outs.push((await s.run({ x: new Tensor('float32', x.data as Float32Array, [...x.dims]) }))[s.outputNames[0]].data as Float32Array);
  const ref = outs[0];
  const cells = files.map(([label], i) => {
    const got = outs[i + 1];
    const st = stats[i];
    const v = sqnr(ref, got);
    st.db.push(v);
    for (let k = 0; k < ref.length; k++) {
      st.signal += ref[k] ** 2;
      st.noise += (ref[k] - got[k]) ** 2;
    }
    st.dp += Math.abs(ref[0] - got[0]);
    if (i > 0 && v > stats[0].db[stats[0].db.length - 1]) st.wins++;
    return `${label} ${v.toFixed(1)}`;
  });
  console.log(`${image.padEnd(28)} p0 ${ref[0].toFixed(3)} | ${cells.join(' | ')}`);
}
await Promise.all(sessions.map((s) => s.release()));

console.log(`\n${images.length} images: mean / median / pooled SQNR (dB), mean |Δp0|, images where better than octet`);
files.forEach(([label], i) => {
  const st = stats[i];
  const sorted = [...st.db].sort((a, b) => a - b);
  const median = (sorted[(sorted.length - 1) >> 1] + sorted[sorted.length >> 1]) / 2;
  const mean = st.db.reduce((a, b) => a + b, 0) / st.db.length;
  const pooled = 10 * Math.log10(st.signal / st.noise);
  console.log(`${label}: ${mean.toFixed(2)} / ${median.toFixed(2)} / ${pooled.toFixed(2)} dB, |Δp0| ${(st.dp / images.length).toFixed(4)}${i > 0 ? `, better on ${st.wins}/${images.length}` : ''}`);
});
