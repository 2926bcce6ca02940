/**
 * Observers on real data: the pixels of the fixture photos (skimage's astronaut, chelsea, coffee, motorcycle
 * and a scanned page), normalised to [−1, 1] as a vision model's input or first activations would be.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { createObserver, type CalibrationMethod } from '../../../src/calibration/index.js';
import { pngPixelsSigned, readPng } from '../../helpers/png.js';
import { roundTrip } from './distributions.js';

const IMAGES = join(import.meta.dirname, '..', '..', '.fixtures', 'images');

function photos(): string[] {
  if (!existsSync(IMAGES)) throw new Error(`${IMAGES} is missing: run 'bash scripts/fetch-test-material.sh' first`);
  const names = readdirSync(IMAGES).filter((f) => f.endsWith('.png')).sort();
  if (names.length === 0) throw new Error(`no PNG photos in ${IMAGES}: run 'bash scripts/fetch-test-material.sh' first`);
  return names;
}

describe('observers on real photo pixels', () => {
  it('the PNG helper decodes the fixtures', () => {
    const a = readPng(join(IMAGES, 'astronaut.png'));
    expect([a.width, a.height, a.channels, a.data.length]).toEqual([512, 512, 3, 512 * 512 * 3]);
    const page = readPng(join(IMAGES, 'page.png'));
    expect(page.channels).toBe(1);
  });

  for (const name of photos()) {
    it(`${name}: clipping methods stay inside MinMax, and int8 MinMax quantizes the pixels at ≥ 30 dB`, () => {
      const x = pngPixelsSigned(join(IMAGES, name));
      const ranges = {} as Record<CalibrationMethod, { min: number; max: number }>;
      for (const method of ['minmax', 'entropy', 'percentile', 'mse'] as const) {
        const o = createObserver(method);
        // Rows of the image arrive as separate batches, like samples of a calibration set.
        for (let i = 0; i < x.length; i += 65_536) o.observe(x.subarray(i, i + 65_536));
        ranges[method] = o.range();
        expect(o.count).toBe(x.length);
      }
      const mm = ranges.minmax;
      expect(mm.min).toBeGreaterThanOrEqual(-1);
      expect(mm.max).toBeLessThanOrEqual(1);
      for (const method of ['entropy', 'percentile', 'mse'] as const) {
        expect(ranges[method].min).toBeGreaterThanOrEqual(mm.min);
        expect(ranges[method].max).toBeLessThanOrEqual(mm.max);
        expect(ranges[method].max - ranges[method].min).toBeGreaterThan(0.5 * (mm.max - mm.min));
      }
      for (const dtype of ['int8', 'uint8'] as const) {
        expect(roundTrip(x, mm, { dtype }).sqnr).toBeGreaterThanOrEqual(30);
        // MSE's search includes the MinMax range, so it does not do worse on these pixels.
        expect(roundTrip(x, ranges.mse, { dtype }).mse).toBeLessThanOrEqual(roundTrip(x, mm, { dtype }).mse * 1.01);
      }
    });
  }

  it('all photos streamed into one observer: same ranges as the union, SQNR ≥ 30 dB', () => {
    const all = photos().map((n) => pngPixelsSigned(join(IMAGES, n)));
    const o = createObserver('entropy');
    const m = createObserver('minmax');
    for (const x of all) {
      o.observe(x);
      m.observe(x);
    }
    const r = o.range();
    expect(r.min).toBeGreaterThanOrEqual(m.range().min);
    expect(r.max).toBeLessThanOrEqual(m.range().max);
    for (const x of all) expect(roundTrip(x, r).sqnr).toBeGreaterThanOrEqual(30);
  });
});
