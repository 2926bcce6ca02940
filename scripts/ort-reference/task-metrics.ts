// The task metrics of test/unit/quantize-graph/task-metrics.test.ts for onnxruntime's quantizer
// (docs/quantization-results.md, "Task metrics"), in two steps around ort-reference.sh's quantization:
//
//   task-metrics.ts data OUT       calibration .npy files with the test's preprocessing and splits:
//                                  OUT/rec0, OUT/rec1 (page lines: rec0 = odd lines, to evaluate the even ones; rec1
//                                  the reverse), OUT/det (four photos and the page's halves), OUT/faceA, OUT/faceB
//                                  (six photos without faces + grace_hopper / + astronaut)
//   task-metrics.ts evaluate DIR   DIR/ppocr_rec.ort0.onnx, ppocr_rec.ort1.onnx, ppocr_det.ort.onnx,
//                                  blazeface_front.ortA.onnx (scores astronaut), blazeface_front.ortB.onnx (grace_hopper):
//                                  each run by octet's runtime against the fp32 model; prints the figures
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { writeNpy } from '../../src/quantize/data.js';
import type { CalibrationSample } from '../../src/quantize/executor.js';
import { sqnr } from '../../src/quantize/metrics.js';
import { createOctetExecutor } from '../../src/runtime/calibration-executor.js';
import { decodePng } from '../../test/unit/onnx/helpers/images.js';
import { IMAGES_DIR, MODELS_DIR } from '../../test/unit/onnx/helpers/onnx.js';
import { bestFace, faceSample } from '../../test/unit/quantize-graph/helpers/faces.js';
import { ctcDecode, detInput, iou, page, recInput, textBoxes } from '../../test/unit/quantize-graph/helpers/ocr.js';

type Outputs = Record<string, Float32Array>;
const [mode, dir] = process.argv.slice(2);
if ((mode !== 'data' && mode !== 'evaluate') || !dir) {
  console.error('usage: task-metrics.ts data OUT | evaluate DIR');
  process.exit(1);
}

async function runAll(model: string, samples: readonly CalibrationSample[], outputs: string[]): Promise<Outputs[]> {
  const exec = await createOctetExecutor(new Uint8Array(readFileSync(model)));
  const res: Outputs[] = [];
  for (const s of samples) {
    const r = await exec.run(s, outputs);
    res.push(Object.fromEntries(outputs.map((o) => [o, Float32Array.from(r[o].data)])));
  }
  await exec.release?.();
  return res;
}

const NO_FACES = ['chelsea.png', 'coffee.png', 'motorcycle_left.png', 'rocket.jpg', 'china.jpg', 'flower.jpg'];
const VIEWS: [string, { left: number; top: number; size: number } | undefined, string][] = [
  ['astronaut.png', undefined, 'A'],
  ['astronaut.png', { left: 100, top: 0, size: 300 }, 'A'],
  ['grace_hopper.jpg', undefined, 'B'],
  ['grace_hopper.jpg', { left: 56, top: 30, size: 400 }, 'B'],
];
const FACE_OUT = ['Identity:0', 'Identity_1:0', 'Identity_2:0', 'Identity_3:0'];
const DET_OUT = 'sigmoid_0.tmp_0';
const REC_OUT = 'softmax_11.tmp_0';

const img = page();
const detRef = (await runAll(join(MODELS_DIR, 'ppocr_det.onnx'), [detInput(img, 384, 192)], [DET_OUT]))[0][DET_OUT];
const boxes = textBoxes(detRef, 384, 192, img.width, img.height);
const crops = boxes.map((b) => recInput(img, b));

if (mode === 'data') {
  const put = (sub: string, name: string, s: CalibrationSample): void => {
    mkdirSync(join(dir, sub), { recursive: true });
    const t = Object.values(s)[0];
    writeFileSync(join(dir, sub, `${name}.npy`), writeNpy(t.data as Float32Array, t.dims));
  };
  crops.forEach((c, i) => put(`rec${1 - (i % 2)}`, `line${i}`, c));
  for (const p of ['astronaut.png', 'chelsea.png', 'coffee.png', 'motorcycle_left.png']) put('det', p.split('.')[0], detInput(decodePng(join(IMAGES_DIR, p)), 384, 192));
  [0, 1].forEach((k) => put('det', `page_half${k}`, detInput(img, 384, 192, { x: (k * img.width) / 2, y: 0, w: img.width / 2, h: img.height })));
  for (const [sub, other] of [['faceA', 'grace_hopper.jpg'], ['faceB', 'astronaut.png']]) {
    for (const p of [...NO_FACES, other]) put(sub, p.split('.')[0], await faceSample(p));
  }
  console.log(`${crops.length} page lines; calibration folders in ${dir}`);
} else {
  const rec = join(MODELS_DIR, 'ppocr_rec.onnx');
  const ref = (await runAll(rec, crops, [REC_OUT])).map((o) => o[REC_OUT]);
  for (const fold of [0, 1]) {
    const idx = crops.map((_, i) => i).filter((i) => i % 2 === fold);
    const got = (await runAll(join(dir, `ppocr_rec.ort${fold}.onnx`), idx.map((i) => crops[i]), [REC_OUT])).map((o) => o[REC_OUT]);
    idx.forEach((i, k) => {
      const [a, b] = [ctcDecode(ref[i], 6625), ctcDecode(got[k], 6625)];
      console.log(`rec line ${i}: ${a === b ? 'same' : 'DIFF'}, SQNR ${sqnr(ref[i], got[k]).toFixed(1)} dB, ${JSON.stringify(b)}`);
    });
  }
  const map = (await runAll(join(dir, 'ppocr_det.ort.onnx'), [detInput(img, 384, 192)], [DET_OUT]))[0][DET_OUT];
  const found = textBoxes(map, 384, 192, img.width, img.height);
  const ious = boxes.map((b) => Math.max(0, ...found.map((g) => iou(b, g))));
  const read = new Set((await runAll(rec, found.map((b) => recInput(img, b)), [REC_OUT])).map((o) => ctcDecode(o[REC_OUT], 6625)));
  const same = ref.filter((p) => read.has(ctcDecode(p, 6625))).length;
  console.log(`det: ${found.length} lines (fp32 ${boxes.length}); IoU ${ious.map((v) => v.toFixed(2)).join(' ')}; fp32 rec reads ${same}/${boxes.length} identically`);
  for (const [photo, region, fold] of VIEWS) {
    const s = await faceSample(photo, region);
    const a = bestFace((await runAll(join(MODELS_DIR, 'blazeface_front.onnx'), [s], FACE_OUT))[0]);
    const b = bestFace((await runAll(join(dir, `blazeface_front.ort${fold}.onnx`), [s], FACE_OUT))[0]);
    console.log(`BlazeFace ${photo}${region ? ' (face crop)' : ''}: fp32 ${a.score.toFixed(4)}, int8 ${b.score.toFixed(4)} (${(b.score - a.score).toFixed(4)}); box IoU ${iou(a.box, b.box).toFixed(3)}`);
  }
}
