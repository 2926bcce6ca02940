/**
 * quantize({ targetSqnr, maxFp32Fraction }): bad arguments first, then the search on real models with real
 * images; every SQNR is measured on octet's runtime (its int8 kernels).
 */
import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { findQuantizedNodes } from '../../../src/analysis/isolate.js';
import { analyzeSensitivity } from '../../../src/analysis/sensitivity.js';
import type { Model } from '../../../src/ir/model.js';
import { serializeModel } from '../../../src/onnx/io.js';
import type { CalibrationSample } from '../../../src/quantize/executor.js';
import { openCalibrationFolder } from '../../../src/quantize/data.js';
import { quantize } from '../../../src/quantize/quantize.js';
import { createOctetExecutor } from '../../../src/runtime/calibration-executor.js';
import { IMAGES_DIR, realModel } from '../onnx/helpers/onnx.js';
import { photoSample, textLineCrops } from './helpers.js';

const CLS = realModel('ppocr_cls');
const BLAZEFACE = realModel('blazeface_front');
const CLS_SHAPE = { x: [1, 3, 48, 192] };

/** Worst output SQNR of `model` against the fp32 model over `samples`, both on octet's runtime. */
async function worstSqnr(fp32: string, model: Model, samples: readonly CalibrationSample[]): Promise<number> {
  const ref = await createOctetExecutor(new Uint8Array(readFileSync(fp32)));
  const got = await createOctetExecutor(serializeModel(model));
  const outputs = model.graph.outputs.map((v) => v.name);
  const sums = new Map(outputs.map((o) => [o, { signal: 0, noise: 0 }]));
  try {
    for (const s of samples) {
      const a = await ref.run(s, outputs);
      const b = await got.run(s, outputs);
      for (const o of outputs) {
        const x = a[o].data;
        const y = b[o].data;
        const acc = sums.get(o)!;
        for (let i = 0; i < x.length; i++) {
          acc.signal += x[i] * x[i];
          acc.noise += (x[i] - y[i]) ** 2;
        }
      }
    }
  } finally {
    await ref.release?.();
    await got.release?.();
  }
  return Math.min(...[...sums.values()].map((s) => 10 * Math.log10(s.signal / s.noise)));
}

describe('quantize() mixed precision: bad arguments', () => {
  const one = [photoSample('x', CLS_SHAPE.x, 'page.png')];
  const base = { calibration: one, inputShapes: CLS_SHAPE, progress: false as const };

  it('rejects bad targets, caps and hold-out steps, naming the option', async () => {
    await expect(quantize(CLS, { ...base, targetSqnr: 'high' as never })).rejects.toThrow(new TypeError("Expected finite number (dB) for options.targetSqnr but received 'high' of type string"));
    await expect(quantize(CLS, { ...base, targetSqnr: Number.NaN })).rejects.toThrow(new RangeError('Expected finite number (dB) for options.targetSqnr but received NaN of type number'));
    await expect(quantize(CLS, { ...base, maxFp32Fraction: 1.5 })).rejects.toThrow(new RangeError('Expected number between 0 and 1 for options.maxFp32Fraction but received 1.5 of type number'));
    await expect(quantize(CLS, { ...base, holdOutEvery: 3 })).rejects.toThrow(
      new RangeError('Expected undefined without options.targetSqnr or options.maxFp32Fraction for options.holdOutEvery but received 3 of type number'),
    );
    await expect(quantize(CLS, { ...base, targetSqnr: 25, holdOutEvery: 1 })).rejects.toThrow(new RangeError('Expected integer >= 2 for options.holdOutEvery but received 1 of type number'));
    await expect(quantize(CLS, { ...base, targetSqnr: 25, dynamic: true })).rejects.toThrow(
      new RangeError('Expected undefined in dynamic mode (mixed precision searches static quantization) for options.targetSqnr but received 25 of type number'),
    );
    await expect(quantize(CLS, { ...base, maxFp32Fraction: 0.1, weightOnly: true })).rejects.toThrow(
      new RangeError('Expected undefined in weight-only mode (mixed precision searches static quantization) for options.maxFp32Fraction but received 0.1 of type number'),
    );
    await expect(quantize(CLS, { ...base, targetSQNR: 25 } as never)).rejects.toThrow(new TypeError("Unknown option 'targetSQNR' in options; did you mean 'targetSqnr'?"));
  });

  it('needs a sample to calibrate on and one to verify on', async () => {
    await expect(quantize(CLS, { ...base, targetSqnr: 25 })).rejects.toEqual(
      expect.objectContaining({ code: 'ERR_OCTET_CALIBRATION', message: 'Mixed precision needs at least 2 calibration samples (1 to calibrate, 1 held out to verify); got 1' }),
    );
  });
});

describe('quantize() mixed precision on the PP-OCR classifier, text-line crops of a scanned page', () => {
  it('reaches a target plain PTQ misses, with a small share of the MACs in fp32, and the model verifies', async () => {
    const crops = textLineCrops();
    expect(crops.length).toBe(32);
    // holdOutEvery 2: crops 1, 3, 5, ... verify; the others calibrate.
    const heldOut = crops.filter((_, i) => i % 2 === 1);
    const calibrationPart = crops.filter((_, i) => i % 2 === 0);
    const plain = await quantize(CLS, { calibration: calibrationPart, inputShapes: CLS_SHAPE, progress: false });
    const plainHeld = await worstSqnr(CLS, plain.model, heldOut);

    const warnings: string[] = [];
    const { model, report } = await quantize(CLS, { calibration: crops, inputShapes: CLS_SHAPE, targetSqnr: 25, holdOutEvery: 2, progress: false, onWarning: (w) => warnings.push(w) });
    const mp = report.mixedPrecision!;
    expect(report.calibration).toMatchObject({ samples: calibrationPart.length, heldOutSamples: heldOut.length });
    // "before" is plain PTQ from the same calibration samples, measured on the same held-out samples.
    expect(mp.before).toBeCloseTo(plainHeld, 6);
    expect(plainHeld).toBeLessThan(25);
    expect(mp).toMatchObject({ targetSqnr: 25, met: true });
    expect(mp.after).toBeGreaterThanOrEqual(25);
    expect(warnings).toEqual([]);
    // The model returned is the one verified.
    expect(await worstSqnr(CLS, model, heldOut)).toBeCloseTo(mp.after, 6);
    // And it is better on the calibration crops too, which the prefix search never scored.
    expect(await worstSqnr(CLS, model, calibrationPart)).toBeGreaterThan(await worstSqnr(CLS, plain.model, calibrationPart));

    expect(mp.fp32Nodes.length).toBeGreaterThan(0);
    expect(mp.fp32MacFraction).toBeGreaterThan(0);
    expect(mp.fp32MacFraction).toBeLessThan(0.3);
    expect(mp.steps[0]).toEqual({ fp32Nodes: [], sqnr: mp.before });
    expect(mp.steps.slice(1).every((step) => step.fp32Nodes.length > 0)).toBe(true);
    expect(mp.steps.some((s) => s.sqnr === mp.after && s.fp32Nodes.join() === mp.fp32Nodes.join())).toBe(true);

    // The kept nodes are fp32 in the model and say why in the report.
    const quantized = new Set(findQuantizedNodes(model.graph).map((q) => q.node.name));
    for (const n of mp.fp32Nodes) {
      expect(quantized.has(n), n).toBe(false);
      expect(report.skipped).toContainEqual(expect.objectContaining({ node: n, reason: 'kept in fp32 by mixed precision' }));
    }
    // The MAC share is that of the kept nodes, as the analysis counts them on the plain model.
    const analysis = await analyzeSensitivity(CLS, plain.model, { samples: heldOut.slice(0, 1), inputShapes: CLS_SHAPE, progress: false, histograms: 0 });
    const kept = new Set(mp.fp32Nodes);
    const keptMacs = analysis.layers.filter((l) => kept.has(l.node)).reduce((s, l) => s + l.macs, 0);
    expect(mp.fp32MacFraction).toBeCloseTo(keptMacs / analysis.totalMacs, 9);
  }, 120_000);
});

describe('quantize() mixed precision on BlazeFace, a folder of photos', () => {
  const image = { mean: 0.5, std: 0.5 };

  it('stays within the fp32 cap, keeps the best model found, and warns that the target was missed', async () => {
    const warnings: string[] = [];
    const { report } = await quantize(BLAZEFACE, { calibration: IMAGES_DIR, image, targetSqnr: 25, maxFp32Fraction: 0.25, progress: false, onWarning: (w) => warnings.push(w) });
    const mp = report.mixedPrecision!;
    // Nine photos, every fourth held out.
    expect(report.calibration).toMatchObject({ samples: 7, heldOutSamples: 2 });
    expect(mp).toMatchObject({ targetSqnr: 25, maxFp32Fraction: 0.25, met: false });
    expect(mp.before).toBeLessThan(25);
    expect(mp.fp32MacFraction).toBeLessThanOrEqual(0.25);
    expect(mp.after).toBeGreaterThan(mp.before);
    expect(mp.after).toBe(Math.max(...mp.steps.map((s) => s.sqnr)));
    expect(warnings).toContain(`Mixed precision did not reach 25 dB within 0.25 of the MACs in fp32: the best found gives ${mp.after.toFixed(1)} dB`);
  }, 120_000);

  it('reaches the target without a cap, by keeping much more in fp32', async () => {
    const { model, report } = await quantize(BLAZEFACE, { calibration: IMAGES_DIR, image, targetSqnr: 22, progress: false });
    const mp = report.mixedPrecision!;
    expect(mp.before).toBeLessThan(22);
    expect(mp.met).toBe(true);
    expect(mp.after).toBeGreaterThanOrEqual(22);
    expect(mp.fp32MacFraction).toBeGreaterThan(0.25);
    // The held-out photos are the 4th and 8th of the folder (coffee, page), decoded the same way.
    const photos: CalibrationSample[] = [];
    for await (const p of openCalibrationFolder(IMAGES_DIR, model, image)) photos.push(p);
    expect(await worstSqnr(BLAZEFACE, model, [photos[3], photos[7]])).toBeCloseTo(mp.after, 6);
  }, 120_000);
});
