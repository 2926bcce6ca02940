/**
 * analyzeSensitivity(): bad arguments first, then real models quantized by octet from real photos, measured on
 * octet's runtime.
 */
import { beforeAll, describe, expect, it } from 'vitest';

import { analyzeSensitivity } from '../../../src/analysis/sensitivity.js';
import * as octet from '../../../src/index.js';
import type { SensitivityReport } from '../../../src/analysis/types.js';
import { OctetError } from '../../../src/errors.js';
import { serializeModel } from '../../../src/onnx/io.js';
import type { CalibrationSample } from '../../../src/quantize/executor.js';
import { quantize } from '../../../src/quantize/quantize.js';
import { realModel } from '../onnx/helpers/onnx.js';
import { photoSample, PHOTOS } from './helpers.js';

const CLS = realModel('ppocr_cls');
const BLAZEFACE = realModel('blazeface_front');
const CLS_DIMS = [1, 3, 48, 192];
const clsPhoto = (name: string): CalibrationSample => photoSample('x', CLS_DIMS, name);

describe('analyzeSensitivity: bad arguments', () => {
  let int8: Uint8Array;
  beforeAll(async () => {
    const { model } = await quantize(CLS, { calibration: [clsPhoto('astronaut.png')], inputShapes: { x: CLS_DIMS }, progress: false });
    int8 = serializeModel(model);
  });
  const samples = [clsPhoto('page.png')];

  it('is exported from the package', () => {
    expect(octet.analyzeSensitivity).toBe(analyzeSensitivity);
  });

  it('rejects models that are neither a Model, a path nor bytes', async () => {
    await expect(analyzeSensitivity(42 as never, int8, { samples })).rejects.toThrow(new TypeError('Expected Model, path string or Uint8Array for fp32Model but received 42 of type number'));
    await expect(analyzeSensitivity(CLS, null as never, { samples })).rejects.toThrow(new TypeError('Expected Model, path string or Uint8Array for int8Model but received null'));
  });

  it('rejects bad options, naming them', async () => {
    await expect(analyzeSensitivity(CLS, int8, 'x' as never)).rejects.toThrow(new TypeError("Expected object for options but received 'x' of type string"));
    await expect(analyzeSensitivity(CLS, int8, { sample: samples } as never)).rejects.toThrow(new TypeError("Unknown option 'sample' in options; did you mean 'samples'?"));
    await expect(analyzeSensitivity(CLS, int8, {})).rejects.toThrow(new TypeError('Expected folder path or iterable of samples for options.samples but received undefined'));
    await expect(analyzeSensitivity(CLS, int8, { samples: 3 as never })).rejects.toThrow(new TypeError('Expected folder path or iterable of samples for options.samples but received 3 of type number'));
    await expect(analyzeSensitivity(CLS, int8, { calibration: '' })).rejects.toThrow(new RangeError("Expected folder path or iterable of samples for options.calibration but received '' of type string"));
    await expect(analyzeSensitivity(CLS, int8, { samples, calibration: samples })).rejects.toThrow(
      new TypeError('Expected undefined when options.samples is given for options.calibration but received Array of length 1'),
    );
    await expect(analyzeSensitivity(CLS, int8, { samples, maxSamples: 0 })).rejects.toThrow(new RangeError('Expected positive integer for options.maxSamples but received 0 of type number'));
    await expect(analyzeSensitivity(CLS, int8, { samples, histogramBins: 1 })).rejects.toThrow(new RangeError('Expected positive integer for options.histogramBins but received 1 of type number'));
    await expect(analyzeSensitivity(CLS, int8, { samples, labels: { int9: 'a' } as never })).rejects.toThrow(new TypeError("Unknown option 'int9' in options.labels; did you mean 'int8'?"));
  });

  it('rejects models that do not make an fp32/int8 pair', async () => {
    const err = (message: string) => expect.objectContaining({ name: 'OctetError', code: 'ERR_OCTET_ANALYSIS', message });
    await expect(analyzeSensitivity(CLS, CLS, { samples })).rejects.toEqual(err('The int8 model holds no quantization ops (QuantizeLinear, DequantizeLinear, QLinearConv, ...)'));
    await expect(analyzeSensitivity(int8, int8, { samples })).rejects.toEqual(err(expect.stringMatching(/^The fp32 model is already quantized \(\d+ QuantizeLinear, \d+ DequantizeLinear\)$/) as never));
    await expect(analyzeSensitivity(BLAZEFACE, int8, { samples })).rejects.toEqual(err("The int8 model's input 'x' is not an input of the fp32 model (its inputs: input:0)"));
  });

  it('rejects empty or malformed samples', async () => {
    await expect(analyzeSensitivity(CLS, int8, { samples: [] })).rejects.toEqual(expect.objectContaining({ code: 'ERR_OCTET_ANALYSIS', message: 'The evaluation data is empty: no samples' }));
    await expect(analyzeSensitivity(CLS, int8, { samples: [{ y: samples[0].x }], inputShapes: { x: CLS_DIMS } })).rejects.toThrow(
      new OctetError('ERR_OCTET_CALIBRATION', "Calibration sample 0 has no input 'x' (the model's inputs: x)"),
    );
    await expect(analyzeSensitivity(CLS, int8, { samples: '/nonexistent/folder', inputShapes: { x: CLS_DIMS } })).rejects.toThrow("Calibration folder '/nonexistent/folder' does not exist");
  });
});

describe('analyzeSensitivity on the PP-OCR classifier quantized by octet', () => {
  // Calibrated on three photos; tensor 'relu_4.tmp_0' (the output of p2o.Conv.7, read by p2o.Conv.8) gets a
  // deliberately bad range ([0, 0.5]; its values reach ~9); p2o.Conv.12 is left in fp32.
  const BAD = 'relu_4.tmp_0';
  let report: SensitivityReport;
  let plain: SensitivityReport;
  beforeAll(async () => {
    const calibration = PHOTOS.slice(0, 3).map(clsPhoto);
    const samples = PHOTOS.slice(3).map(clsPhoto);
    const base = { calibration, inputShapes: { x: CLS_DIMS }, progress: false as const };
    const bad = await quantize(CLS, { ...base, exclude: ['p2o.Conv.12'], overrides: { [BAD]: { range: [0, 0.5] } } });
    const good = await quantize(CLS, base);
    report = await analyzeSensitivity(CLS, bad.model, { samples, inputShapes: { x: CLS_DIMS }, progress: false });
    plain = await analyzeSensitivity(CLS, good.model, { samples, inputShapes: { x: CLS_DIMS }, progress: false, histograms: 0 });
  });

  it('ranks every quantized node, worst isolated SQNR first', () => {
    expect(report.samples).toBe(2);
    expect(report.models).toEqual({ fp32: 'ppocr_cls.onnx', int8: 'int8' });
    expect(report.layers.length).toBeGreaterThan(100);
    for (let i = 1; i < report.layers.length; i++) expect(report.layers[i].isolated.sqnr).toBeGreaterThanOrEqual(report.layers[i - 1].isolated.sqnr);
    const ops = new Set(report.layers.map((l) => l.opType));
    for (const op of ['Conv', 'Add', 'Mul', 'GlobalAveragePool', 'MatMul']) expect(ops).toContain(op);
  });

  it('puts the nodes around the badly quantized tensor at the top, far below where plain quantization has them', () => {
    const top2 = report.layers.slice(0, 2);
    expect(new Set(top2.map((l) => l.node))).toEqual(new Set(['p2o.Conv.7', 'p2o.Conv.8']));
    expect(top2.find((l) => l.node === 'p2o.Conv.7')!.tensor).toBe(BAD);
    for (const l of top2) {
      const before = plain.layers.find((p) => p.node === l.node)!;
      expect(before.isolated.sqnr).toBeGreaterThan(25);
      expect(l.isolated.sqnr).toBeLessThan(before.isolated.sqnr - 15);
    }
    // The rest of the model is as good as it was: no other node is that bad.
    expect(report.layers[2].isolated.sqnr).toBeGreaterThan(15);
  });

  it('leaves the excluded node out, and the drawing marks it fp32', () => {
    expect(report.layers.find((l) => l.node === 'p2o.Conv.12')).toBeUndefined();
    expect(plain.layers.find((l) => l.node === 'p2o.Conv.12')).toBeDefined();
    const g = new Map(report.graph.map((n) => [n.name, n]));
    expect(g.get('p2o.Conv.12')!.precision).toBe('fp32');
    expect(g.get('p2o.Conv.7')!.precision).toBe('int8');
    expect(report.graph.filter((n) => n.precision === 'qdq').length).toBeGreaterThan(100);
    for (const l of report.layers) expect(g.get(l.node)!.precision).toBe('int8');
  });

  it('measures the first layer alone and in the whole model alike (same input, same Q/DQ, same kernels)', () => {
    const first = report.layers.find((l) => l.node === 'p2o.Conv.0')!;
    expect(first.isolated.mse).toBeGreaterThan(0);
    expect(first.accumulated.mse).toBeCloseTo(first.isolated.mse, 12);
    expect(first.accumulated.maxAbsError).toBeCloseTo(first.isolated.maxAbsError, 5);
    // Later layers carry the errors of earlier ones.
    const later = report.layers.filter((l) => l.opType === 'Conv' && l.node !== 'p2o.Conv.0');
    expect(later.filter((l) => l.accumulated.sqnr < l.isolated.sqnr).length).toBeGreaterThan(later.length * 0.8);
  });

  it('counts MACs from shapes', () => {
    // 3x3 conv, 3 -> 8 channels, stride 2 on 48x192: 8·24·96 outputs x 27.
    expect(report.layers.find((l) => l.node === 'p2o.Conv.0')!.macs).toBe(8 * 24 * 96 * 27);
    expect(report.layers.filter((l) => l.opType === 'Add').every((l) => l.macs === 0)).toBe(true);
    // Every MAC of the model is in a quantized node but those of the excluded conv.
    const excluded = plain.layers.find((l) => l.node === 'p2o.Conv.12')!.macs;
    expect(excluded).toBeGreaterThan(0);
    expect(report.layers.reduce((s, l) => s + l.macs, 0) + excluded).toBe(report.totalMacs);
    expect(report.totalMacs).toBe(plain.totalMacs);
  });

  it('draws fp32 and int8 histograms of the worst layers over shared bins; the bad range shows as clipping', () => {
    expect(report.histograms.length).toBe(4);
    expect(report.histograms.map((h) => h.node)).toEqual(report.layers.slice(0, 4).map((l) => l.node));
    for (const h of report.histograms) {
      expect(h.fp32.length).toBe(64);
      const total = (a: number[]) => a.reduce((x, y) => x + y, 0);
      expect(total(h.fp32)).toBe(total(h.int8));
      expect(total(h.fp32)).toBeGreaterThan(0);
    }
    const h = report.histograms.find((x) => x.node === 'p2o.Conv.7')!;
    const width = (h.range[1] - h.range[0]) / h.fp32.length;
    const above = (counts: number[]) => counts.reduce((s, c, i) => s + (h.range[0] + i * width > 0.6 ? c : 0), 0);
    expect(above(h.fp32)).toBeGreaterThan(100);
    expect(above(h.int8)).toBe(0);
    expect(plain.histograms).toEqual([]);
  });

  it('compares every graph output', () => {
    expect(report.outputs.map((o) => o.name)).toEqual(['softmax_0.tmp_0']);
    const o = report.outputs[0];
    expect(Number.isFinite(o.sqnr)).toBe(true);
    expect(o.mse).toBeGreaterThan(0);
    expect(o.maxAbsError).toBeLessThanOrEqual(1);
    // The bad range costs accuracy at the output too.
    expect(o.sqnr).toBeLessThan(plain.outputs[0].sqnr);
    expect(report.seconds).toBeGreaterThan(0);
  });
});

describe('analyzeSensitivity on BlazeFace (channels-last, four outputs)', () => {
  it('gives the last quantized node of each head exactly the SQNR of the graph output it produces', async () => {
    const dims = [1, 128, 128, 3];
    const { model } = await quantize(BLAZEFACE, { calibration: PHOTOS.slice(0, 3).map((p) => photoSample('input:0', dims, p)), progress: false });
    let yielded = 0;
    async function* photos(): AsyncGenerator<CalibrationSample> {
      for (const p of PHOTOS.slice(2)) {
        yielded++;
        yield photoSample('input:0', dims, p);
      }
    }
    const report = await analyzeSensitivity(BLAZEFACE, model, { samples: photos(), maxSamples: 2, progress: false, labels: { int8: 'blazeface int8' } });
    expect(report.samples).toBe(2);
    expect(yielded).toBe(3); // the generator is read once, and no further than needed
    expect(report.models.int8).toBe('blazeface int8');
    expect(report.outputs.length).toBe(4);
    for (const o of report.outputs) {
      const layer = report.layers.find((l) => l.tensor === o.name);
      expect(layer, o.name).toBeDefined();
      expect(layer!.accumulated).toEqual({ sqnr: o.sqnr, mse: o.mse, maxAbsError: o.maxAbsError });
    }
  }, 60_000);
});
