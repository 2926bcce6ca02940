/**
 * Task metrics of octet's int8 models against fp32, everything run by octet's runtime (its int8 kernels):
 *
 * - OCR on skimage's page.png: ppocr_det (fp32) finds the text lines, ppocr_rec reads each crop (CTC greedy
 *   decoding); the text read by int8 rec against fp32 rec, and the lines found by int8 det against fp32 det.
 *   rec is calibrated on the other lines of the page (two folds: the even lines calibrate for the odd ones and
 *   back), det on four photos without text and the page's two halves, each stretched to the whole input.
 * - BlazeFace front on the photos with faces (astronaut, grace_hopper; whole and a square crop around the face):
 *   the best detection's face score within 0.02 of fp32, and its box. Calibrated on six photos without faces and
 *   the other person's photo (whole, or whole and three closer crops).
 * - Why static int8 rec does not read exactly as fp32: fp32's decision margins, and which part of the model
 *   (output head, Conv weights, one depthwise Conv, MatMuls) costs what.
 *
 * The figures are printed; docs/quantization-results.md has them with onnxruntime's quantizer's.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { serializeModel } from '../../../src/onnx/io.js';
import type { CalibrationSample } from '../../../src/quantize/executor.js';
import { sqnr } from '../../../src/quantize/metrics.js';
import { quantize, type QuantizeOptions } from '../../../src/quantize/quantize.js';
import { createOctetExecutor } from '../../../src/runtime/calibration-executor.js';
import { decodePng } from '../onnx/helpers/images.js';
import { IMAGES_DIR, MODELS_DIR } from '../onnx/helpers/onnx.js';
import { bestFace, faceSample } from './helpers/faces.js';
import { ctcDecode, decisionMargin, detInput, iou, page, recInput, REC_SHAPE, textBoxes, type Box } from './helpers/ocr.js';

type Outputs = Record<string, Float32Array>;

/** Runs a model on octet's runtime over samples (one session): each sample's outputs. */
async function runAll(model: string | Uint8Array, samples: readonly CalibrationSample[], outputs: string[]): Promise<Outputs[]> {
  const exec = await createOctetExecutor(typeof model === 'string' ? new Uint8Array(readFileSync(model)) : model);
  try {
    const res: Outputs[] = [];
    for (const s of samples) {
      const r = await exec.run(s, outputs);
      res.push(Object.fromEntries(outputs.map((o) => [o, Float32Array.from(r[o].data)])));
    }
    return res;
  } finally {
    await exec.release?.();
  }
}

const DET = join(MODELS_DIR, 'ppocr_det.onnx');
const REC = join(MODELS_DIR, 'ppocr_rec.onnx');
const DET_OUT = 'sigmoid_0.tmp_0';
const REC_OUT = 'softmax_11.tmp_0';
const [DET_W, DET_H] = [384, 192];

describe('OCR of the scanned page: int8 against fp32', () => {
  const img = page();
  const lines = async (detModel: string | Uint8Array): Promise<Box[]> => {
    const [out] = await runAll(detModel, [detInput(img, DET_W, DET_H)], [DET_OUT]);
    return textBoxes(out[DET_OUT], DET_W, DET_H, img.width, img.height);
  };
  const read = async (recModel: string | Uint8Array, crops: readonly CalibrationSample[]): Promise<{ texts: string[]; probs: Float32Array[] }> => {
    const probs = (await runAll(recModel, crops, [REC_OUT])).map((o) => o[REC_OUT]);
    return { texts: probs.map((p) => ctcDecode(p, 6625)), probs };
  };

  /** rec quantized twice (each fold's crops calibrate for the other's): per line, the int8 text and SQNR. */
  async function twoFolds(crops: CalibrationSample[], options: Partial<QuantizeOptions>): Promise<{ texts: string[]; sqnrs: number[]; fp32Share: number[] }> {
    const texts: string[] = [];
    const sqnrs: number[] = [];
    const fp32Share: number[] = [];
    const ref = await read(REC, crops);
    for (const fold of [0, 1]) {
      const evaluate = crops.map((_, i) => i).filter((i) => i % 2 === fold);
      const calibration = crops.filter((_, i) => i % 2 !== fold);
      const { model, report } = await quantize(REC, { calibration, inputShapes: { x: [...REC_SHAPE] }, progress: false, ...options });
      fp32Share.push(report.mixedPrecision?.fp32MacFraction ?? 0);
      const got = await read(serializeModel(model), evaluate.map((i) => crops[i]));
      evaluate.forEach((i, k) => {
        texts[i] = got.texts[k];
        sqnrs[i] = sqnr(ref.probs[i], got.probs[k]);
      });
    }
    return { texts, sqnrs, fp32Share };
  }

  it('det (fp32) finds the seven text lines; fp32 rec reads them', async () => {
    const boxes = await lines(DET);
    const { texts } = await read(REC, boxes.map((b) => recInput(img, b)));
    console.log(`fp32 OCR of page.png:\n${texts.map((t) => `  ${JSON.stringify(t)}`).join('\n')}`);
    expect(texts).toHaveLength(7);
    expect(texts[0]).toBe('Region-based segmentation');
    expect(texts[5]).toBe('histogram of grey values:');
  }, 60_000);

  it('static int8 rec (MinMax, calibrated on the other lines): the text read against fp32', async () => {
    const crops = (await lines(DET)).map((b) => recInput(img, b));
    const ref = (await read(REC, crops)).texts;
    const { texts, sqnrs } = await twoFolds(crops, { method: 'minmax' });
    const same = texts.filter((t, i) => t === ref[i]).length;
    console.log(
      `rec static int8: ${same}/${texts.length} lines read as fp32 reads them; SQNR ${sqnrs.map((s) => s.toFixed(1)).join(' ')} dB\n` +
        texts.map((t, i) => `  ${t === ref[i] ? 'same' : 'DIFF'} ${JSON.stringify(t)}`).join('\n'),
    );
    // Plain static int8 does not meet the target (exactly fp32's text) on this page: it loses spaces between words.
    // Measured 1/7, SQNR 10.7-12.8 dB; guarded against getting worse.
    expect(same).toBeGreaterThanOrEqual(1);
    expect(Math.min(...sqnrs)).toBeGreaterThan(9);
  }, 300_000);

  it('static A16W8 rec (16-bit activations, int8 weights; each fold calibrates the other): the text read against fp32', async () => {
    const crops = (await lines(DET)).map((b) => recInput(img, b));
    const ref = (await read(REC, crops)).texts;
    const result: Record<string, { same: number; worst: number }> = {};
    const variants = [
      ['uint16', { activationType: 'uint16' }],
      ['uint16 + GPTQ', { activationType: 'uint16', gptq: true }],
    ] as const;
    for (const [label, options] of variants) {
      const { texts, sqnrs } = await twoFolds(crops, options);
      const same = texts.filter((t, i) => t === ref[i]).length;
      result[label] = { same, worst: Math.min(...sqnrs) };
      console.log(
        `rec static ${label}: ${same}/${texts.length} lines read as fp32 reads them; SQNR ${sqnrs.map((s) => s.toFixed(1)).join(' ')} dB\n` +
          texts.map((t, i) => `  ${t === ref[i] ? 'same' : 'DIFF'} ${JSON.stringify(t)}${t === ref[i] ? '' : ` (fp32 ${JSON.stringify(ref[i])})`}`).join('\n'),
      );
    }
    // Measured: uint16 3/7, 9.1-18.9 dB (the Conv weights' error, as weight-only int8 shows); uint16 + GPTQ 6/7,
    // 21.2-45.8 dB, the last line losing one space ("histogram ofgrey values:"). Neither bias correction (5/7),
    // the classifier in fp32 (6/7) nor mixed precision at 30 dB (5/7) reads all seven; dynamic int8 with the
    // classifier in fp32 does (above).
    expect(result.uint16.same).toBeGreaterThanOrEqual(2);
    expect(result['uint16 + GPTQ'].same).toBeGreaterThanOrEqual(6);
    expect(result['uint16 + GPTQ'].worst).toBeGreaterThan(18);
    expect(result['uint16 + GPTQ'].worst).toBeGreaterThan(result.uint16.worst + 6);
  }, 600_000);

  it('where static int8 rec loses the text: fp32 decisions close to a tie, the Conv weights; the classifier only once the Convs are fp32', async () => {
    const crops = (await lines(DET)).map((b) => recInput(img, b));
    const ref = await read(REC, crops);
    // fp32's own reading is fragile: on each line, the smallest probability gap (best − second-best class) at a
    // step where the other choice changes the text. Measured 0.98, 0.21, 0.10, 0.049, 0.11, 0.070, 0.037.
    const margins = ref.probs.map((p) => decisionMargin(p, 6625));
    console.log(`fp32 decision margins per line: ${margins.map((m) => m.toFixed(3)).join(' ')}`);
    expect(margins.filter((m) => m < 0.05).length).toBeGreaterThanOrEqual(2);
    expect(Math.min(...margins)).toBeGreaterThan(0.01);

    const convs = Array.from({ length: 38 }, (_, i) => `p2o.Conv.${i}`);
    const settings: [string, Partial<QuantizeOptions>][] = [
      // The classifier (the last MatMul and its bias Add over 6,625 classes) in fp32: still 10.8-13.1 dB, 0/7
      // (it matters only once the backbone is exact enough: see the dynamic test).
      ['output head fp32', { method: 'minmax', exclude: ['p2o.MatMul.24', 'p2o.Add.276'] }],
      // Only the Convs' weights int8 (activations fp32): 9.3-19.2 dB, 3/7. The first depthwise Conv alone
      // (p2o.Conv.1, BatchNorm folded in): 9.1-22.5 dB, 1/7; every other Conv alone ≥ 27.2 dB.
      ['Conv weights only', { weightOnly: true, opTypes: ['Conv'] }],
      ['p2o.Conv.1 weights only', { weightOnly: true, opTypes: ['Conv'], exclude: convs.filter((c) => c !== 'p2o.Conv.1') }],
      // Bias correction (removes the mean shift of each layer's output) repairs most of the weights' error: 28.1-39.1 dB, 4/7.
      ['all weights only + bias correction', { weightOnly: true, biasCorrection: true }],
      // The classifier's weights alone (p2o.MatMul.24): 30.4-38.7 dB, 6/7, the line dynamic misses. Every other
      // MatMul's weights alone: ≥ 50.9 dB, 7/7.
      ['p2o.MatMul.24 weights only', { weightOnly: true, opTypes: ['MatMul'], exclude: ['p2o.MatMul.0', 'p2o.MatMul.6', 'p2o.MatMul.8', 'p2o.MatMul.10', 'p2o.MatMul.12', 'p2o.MatMul.18', 'p2o.MatMul.20', 'p2o.MatMul.22'] }],
      // Static int8 MatMuls (activations too), Convs fp32 (94 % of the MACs): 29.3-40.7 dB, 6/7.
      ['static MatMul only', { method: 'minmax', opTypes: ['MatMul', 'Gemm'] }],
    ];
    const got: Record<string, { same: number; sqnrs: number[] }> = {};
    for (const [label, options] of settings) {
      const { texts, sqnrs } = await twoFolds(crops, options);
      got[label] = { same: texts.filter((t, i) => t === ref.texts[i]).length, sqnrs };
      console.log(`rec, ${label}: ${got[label].same}/7 lines as fp32; SQNR ${sqnrs.map((v) => v.toFixed(1)).join(' ')} dB`);
    }
    const lo = (k: string): number => Math.min(...got[k].sqnrs);
    const hi = (k: string): number => Math.max(...got[k].sqnrs);
    expect(hi('output head fp32')).toBeLessThan(16);
    expect(hi('Conv weights only')).toBeLessThan(22);
    expect(lo('p2o.Conv.1 weights only')).toBeLessThan(15);
    expect(lo('all weights only + bias correction')).toBeGreaterThan(26);
    expect(got['all weights only + bias correction'].same).toBeGreaterThanOrEqual(3);
    expect(hi('p2o.MatMul.24 weights only')).toBeLessThan(42);
    expect(got['p2o.MatMul.24 weights only'].same).toBeLessThan(7);
    expect(lo('static MatMul only')).toBeGreaterThan(27);
    expect(got['static MatMul only'].same).toBeGreaterThanOrEqual(6);
  }, 300_000);

  it('dynamic int8 rec (MatMul/Gemm only): the text read against fp32; with the classifier MatMul in fp32, all seven lines', async () => {
    const crops = (await lines(DET)).map((b) => recInput(img, b));
    const ref = await read(REC, crops);
    const same: Record<string, number> = {};
    const worst: Record<string, number> = {};
    // The classifier (p2o.MatMul.24, 120 → 6,625 classes per step: 95.4 M of the 2,112 M MACs, 4.5 %) is the one
    // MatMul whose int8 weights move the probabilities by more than fp32's 0.049 decision gap on one line.
    for (const [label, exclude] of [['all MatMuls', []], ['classifier fp32', ['p2o.MatMul.24']]] as const) {
      const { model } = await quantize(REC, { dynamic: true, exclude: [...exclude] });
      const got = await read(serializeModel(model), crops);
      same[label] = got.texts.filter((t, i) => t === ref.texts[i]).length;
      const sqnrs = got.probs.map((p, i) => sqnr(ref.probs[i], p));
      worst[label] = Math.min(...sqnrs);
      console.log(
        `rec dynamic int8, ${label}: ${same[label]}/${crops.length} lines read as fp32 reads them; SQNR ${sqnrs.map((s) => s.toFixed(1)).join(' ')} dB\n` +
          got.texts.map((t, i) => `  ${t === ref.texts[i] ? 'same' : 'DIFF'} ${JSON.stringify(t)}${t === ref.texts[i] ? '' : ` (fp32 ${JSON.stringify(ref.texts[i])})`}`).join('\n'),
      );
    }
    // Measured: 6/7 (29.9-38.7 dB; "background. Here," for "background.Here") and 7/7 (42.8-59.5 dB).
    expect(same['all MatMuls']).toBeGreaterThanOrEqual(6);
    expect(worst['all MatMuls']).toBeGreaterThan(25);
    expect(same['classifier fp32']).toBe(crops.length);
    expect(worst['classifier fp32']).toBeGreaterThan(38);
  }, 120_000);

  it('dynamic int8 rec with GPTQ weights (each fold calibrates the other): the same text, the probabilities closer to fp32', async () => {
    const crops = (await lines(DET)).map((b) => recInput(img, b));
    const ref = (await read(REC, crops)).texts;
    const { texts, sqnrs } = await twoFolds(crops, { dynamic: true, gptq: true });
    const same = texts.filter((t, i) => t === ref[i]).length;
    console.log(`rec dynamic int8 + GPTQ: ${same}/${texts.length} lines read as fp32 reads them; SQNR ${sqnrs.map((s) => s.toFixed(1)).join(' ')} dB`);
    // Measured 6/7, 37.7-52.9 dB (nearest rounding: 6/7, 29.8-38.7 dB): GPTQ's weights move the probabilities
    // about 8 dB less, but the line with fp32's 0.049 gap still flips.
    expect(same).toBeGreaterThanOrEqual(6);
    expect(Math.min(...sqnrs)).toBeGreaterThan(35);
  }, 120_000);

  it('static int8 det finds the same lines (calibrated on four photos and the two halves of the page, enlarged)', async () => {
    // Photos without text alone give ranges that lose every line (0 of 7 found); the page's halves, each
    // stretched to the whole input (text twice as wide as in the evaluated view), give the text's ranges.
    const photos = ['astronaut.png', 'chelsea.png', 'coffee.png', 'motorcycle_left.png'].map((p) => detInput(decodePng(join(IMAGES_DIR, p)), DET_W, DET_H));
    const halves = [0, 1].map((k) => detInput(img, DET_W, DET_H, { x: (k * img.width) / 2, y: 0, w: img.width / 2, h: img.height }));
    const { model } = await quantize(DET, { calibration: [...photos, ...halves], inputShapes: { x: [1, 3, DET_H, DET_W] }, progress: false });
    const ref = await lines(DET);
    const got = await lines(serializeModel(model));
    // Each fp32 line matched with the int8 line that overlaps it most.
    const ious = ref.map((b) => Math.max(0, ...got.map((g) => iou(b, g))));
    const texts = await read(REC, got.map((b) => recInput(img, b)));
    const refTexts = await read(REC, ref.map((b) => recInput(img, b)));
    const same = refTexts.texts.filter((t) => texts.texts.includes(t)).length;
    console.log(
      `det static int8 (MinMax): ${got.length} lines (fp32 ${ref.length}); IoU with fp32's ${ious.map((v) => v.toFixed(2)).join(' ')}; ` +
        `fp32 rec reads ${same}/${ref.length} of fp32's lines identically on int8 det's boxes`,
    );
    // Measured with fp32 on XNNPACK: 8 lines (one more than fp32), IoU 0.83-0.94, 2 of 7 lines read identically
    // (the crops shift). With fp32 on oneDNN (x86's default since 2026-12-01; outputs agree with XNNPACK's to
    // < 1e-4), calibration ranges move by ulps and one line splits in two: 9 lines, IoU 0.88-0.94 and 0.40, 3 of 7
    // read identically. int8 det's boxes sit that close to the binarisation threshold.
    expect(got.length).toBeGreaterThanOrEqual(ref.length);
    expect(ious.filter((v) => v > 0.75).length).toBeGreaterThanOrEqual(ref.length - 1);
    expect(Math.min(...ious)).toBeGreaterThan(0.3);
  }, 300_000);
});

describe('ppocr_det with 16-bit activations (A16W8)', () => {
  it('static A16W8 det (calibrated on four photos and the page halves): with GPTQ the probability map above 25 dB on the page and 24 dB on unseen halves; the same lines', async () => {
    const img = page();
    const photos = ['astronaut.png', 'chelsea.png', 'coffee.png', 'motorcycle_left.png'].map((p) => detInput(decodePng(join(IMAGES_DIR, p)), DET_W, DET_H));
    const halves = [0, 1].map((k) => detInput(img, DET_W, DET_H, { x: (k * img.width) / 2, y: 0, w: img.width / 2, h: img.height }));
    // Views the calibration has not seen: the whole page, and its top and bottom halves (text stretched 2x in height).
    const views = [detInput(img, DET_W, DET_H), ...[0, 1].map((k) => detInput(img, DET_W, DET_H, { x: 0, y: (k * img.height) / 2, w: img.width, h: img.height / 2 }))];
    const ref = await runAll(DET, views, [DET_OUT]);
    const refLines = textBoxes(ref[0][DET_OUT], DET_W, DET_H, img.width, img.height);
    const variants = [
      ['uint8', {}],
      ['uint16', { activationType: 'uint16' }],
      ['uint16 + bias correction', { activationType: 'uint16', biasCorrection: true }],
      ['uint16 + GPTQ', { activationType: 'uint16', gptq: true }],
    ] as const;
    const db: Record<string, number[]> = {};
    const found: Record<string, number[]> = {};
    for (const [label, options] of variants) {
      const { model } = await quantize(DET, { calibration: [...photos, ...halves], inputShapes: { x: [1, 3, DET_H, DET_W] }, progress: false, ...options });
      const got = await runAll(serializeModel(model), views, [DET_OUT]);
      db[label] = got.map((g, i) => sqnr(ref[i][DET_OUT], g[DET_OUT]));
      const lines = textBoxes(got[0][DET_OUT], DET_W, DET_H, img.width, img.height);
      found[label] = refLines.map((b) => Math.max(0, ...lines.map((l) => iou(b, l))));
      console.log(
        `det static ${label}: page ${db[label][0].toFixed(1)}, top half ${db[label][1].toFixed(1)}, bottom half ${db[label][2].toFixed(1)} dB; ` +
          `${lines.length} lines (fp32 ${refLines.length}), IoU ${found[label].map((v) => v.toFixed(2)).join(' ')}`,
      );
    }
    // Measured (page / top half / bottom half, dB): uint8 5.1 / 11.2 / 12.2 (9 lines, one IoU 0.40); uint16
    // 22.6 / 17.8 / 20.8; + bias correction 27.5 / 26.1 / 21.7; + GPTQ 28.7 / 26.1 / 26.7 (onnxruntime's own A16W8
    // on the same data: 24.1 / 13.0 / 16.3, docs/quantization-results.md). Every 16-bit variant finds fp32's
    // seven lines (IoU 0.99-1.00). 16 bits end the activations' resolution limit; what remains is the int8
    // weights' error, which bias correction and GPTQ reduce.
    expect(db.uint8[0]).toBeLessThan(15);
    expect(db['uint16 + bias correction'][0]).toBeGreaterThan(25);
    expect(db['uint16 + GPTQ'][0]).toBeGreaterThan(25);
    expect(Math.min(...db['uint16 + GPTQ'])).toBeGreaterThan(24);
    for (const label of ['uint16', 'uint16 + bias correction', 'uint16 + GPTQ']) expect(Math.min(...found[label]), label).toBeGreaterThan(0.9);
  }, 600_000);
});

describe('BlazeFace on photos with faces: int8 against fp32', () => {
  const MODEL = join(MODELS_DIR, 'blazeface_front.onnx');
  const OUTPUTS = ['Identity:0', 'Identity_1:0', 'Identity_2:0', 'Identity_3:0'];
  const VIEWS: [string, { left: number; top: number; size: number } | undefined][] = [
    ['astronaut.png', undefined],
    ['astronaut.png', { left: 100, top: 0, size: 300 }],
    ['grace_hopper.jpg', undefined],
    ['grace_hopper.jpg', { left: 56, top: 30, size: 400 }],
  ];

  /** The two classificator heads (1x1 Convs, 81,920 of 30,760,960 MACs: 0.27 %). */
  const HEADS = ['StatefulPartitionedCall/functional_1/conv2d_17/BiasAdd', 'StatefulPartitionedCall/functional_1/conv2d_18/BiasAdd'];

  /** The other person's photo as calibration data: whole, or whole and three centred square crops (0.8, 0.6, 0.45 of the short side, from the top). */
  const SIZES: Record<string, [number, number]> = { 'astronaut.png': [512, 512], 'grace_hopper.jpg': [512, 600] };
  async function facesOf(photo: string, scales: boolean): Promise<CalibrationSample[]> {
    const out = [await faceSample(photo)];
    if (!scales) return out;
    const [w, h] = SIZES[photo];
    for (const f of [0.8, 0.6, 0.45]) {
      const size = Math.round(Math.min(w, h) * f);
      out.push(await faceSample(photo, { left: Math.round((w - size) / 2), top: 0, size }));
    }
    return out;
  }

  it('the best face score against fp32 (target: within 0.02): all int8, score heads fp32, a face at four scales in calibration; boxes overlap', async () => {
    const noFaces = await Promise.all(['chelsea.png', 'coffee.png', 'motorcycle_left.png', 'rocket.jpg', 'china.jpg', 'flower.jpg'].map((p) => faceSample(p)));
    const views = await Promise.all(VIEWS.map(([p, r]) => faceSample(p, r)));
    const ref = (await runAll(MODEL, views, OUTPUTS)).map(bestFace);
    const result: Record<string, ReturnType<typeof bestFace>[]> = {};
    // (Entropy and percentile calibration with the heads in fp32 were tried too: no better, entropy far worse.)
    const settings = [
      ['plain', [], false],
      ['heads fp32', HEADS, false],
      ['face at four scales', [], true],
    ] as const;
    for (const [label, exclude, scales] of settings) {
      // Photos without faces alone leave the score's range below any face's logit (every face then scores the
      // clipped 0.593), so each person's views are scored by a model calibrated on them and the other person
      // (never on the evaluated person).
      const got: ReturnType<typeof bestFace>[] = (result[label] = []);
      for (const [person, other] of [['astronaut.png', 'grace_hopper.jpg'], ['grace_hopper.jpg', 'astronaut.png']]) {
        const { model } = await quantize(MODEL, { calibration: [...noFaces, ...(await facesOf(other, scales))], method: 'minmax', exclude: [...exclude], progress: false });
        const mine = VIEWS.map((v, i) => i).filter((i) => VIEWS[i][0] === person);
        const out = await runAll(serializeModel(model), mine.map((i) => views[i]), OUTPUTS);
        mine.forEach((i, k) => (got[i] = bestFace(out[k])));
      }
      const lines = VIEWS.map(([p, r], i) => {
        const d = got[i].score - ref[i].score;
        return `  ${p}${r ? ' (face crop)' : ''}: fp32 ${ref[i].score.toFixed(4)}, int8 ${got[i].score.toFixed(4)} (${d >= 0 ? '+' : ''}${d.toFixed(4)}); same anchor ${got[i].anchor === ref[i].anchor}; box IoU ${iou(ref[i].box, got[i].box).toFixed(3)}`;
      });
      console.log(`BlazeFace static int8 (MinMax), ${label}:\n${lines.join('\n')}`);
    }
    const drift = (k: string): number[] => result[k].map((f, i) => Math.abs(f.score - ref[i].score));
    for (let i = 0; i < VIEWS.length; i++) {
      expect(ref[i].score).toBeGreaterThan(0.85);
      // The boxes agree in both settings (measured IoU 0.85-0.98).
      expect(iou(ref[i].box, result.plain[i].box)).toBeGreaterThan(0.8);
      expect(iou(ref[i].box, result['heads fp32'][i].box)).toBeGreaterThan(0.8);
      // With the face at four scales, IoU 0.81-0.95 (the astronaut crop's best anchor moves to a neighbour).
      expect(iou(ref[i].box, result['face at four scales'][i].box)).toBeGreaterThan(0.75);
    }
    // All int8: the score's calibrated range ends near the calibration face's logit, so a more confident face is
    // clipped; the 8x8 head, never positive on the calibration photos, clips at logit 0 (score 0.5). Measured
    // drift 0.017, 0.034, 0.019, 0.390: the 0.02 target is met on two views of four.
    expect(drift('plain').filter((d) => d <= 0.02).length).toBeGreaterThanOrEqual(2);
    // With the two heads in fp32 (0.27 % of the MACs): 0.003, 0.008 (astronaut), 0.034, 0.038 (grace_hopper): the
    // target is met on astronaut only; the backbone's int8 error moves grace_hopper's logit.
    expect(drift('heads fp32').slice(0, 2).every((d) => d <= 0.02)).toBe(true);
    expect(Math.max(...drift('heads fp32'))).toBeLessThan(0.05);
    // The target is met on all four views, all int8, when the calibration face is also seen closer (crops): its
    // larger face fires the 8x8 head (grace_hopper's whole photo, −0.390 before) and widens the score range.
    // Measured drift 0.018, 0.015, 0.009, 0.002.
    expect(drift('face at four scales').every((d) => d <= 0.02)).toBe(true);
  }, 120_000);
});
