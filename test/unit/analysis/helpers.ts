/**
 * Samples for the analysis tests: fixture photos as model inputs, and text-line crops of the scanned page
 * (page.png), upright and turned 180°, which is what the PP-OCR orientation classifier is for.
 */
import { join } from 'node:path';

import type { CalibrationSample } from '../../../src/quantize/executor.js';
import { IMAGES_DIR } from '../onnx/helpers/onnx.js';
import { decodePng, photoTensor, toNhwc, type Image } from '../onnx/helpers/images.js';

export const PHOTOS = ['astronaut.png', 'chelsea.png', 'coffee.png', 'motorcycle_left.png', 'page.png'];

/** A fixture PNG photo as the sample of a single-input model (NCHW, or NHWC for channels-last models). */
export function photoSample(input: string, dims: readonly number[], name: string, mean = 0.5, std = 0.5): CalibrationSample {
  const nhwc = dims[3] === 3;
  const [c, h, w] = nhwc ? [dims[3], dims[1], dims[2]] : [dims[1], dims[2], dims[3]];
  const t = photoTensor(name, w, h, mean, std);
  return { [input]: { data: nhwc ? toNhwc(t, c, h, w) : t, dims: [...dims] } };
}

/** The region (x, y, w, h) of `img`, resized bilinearly to W x H, NCHW RGB, (v/255 − 0.5)/0.5, optionally turned 180°. */
function crop(img: Image, x: number, y: number, w: number, h: number, W: number, H: number, turned: boolean): Float32Array {
  const out = new Float32Array(3 * W * H);
  for (let j = 0; j < H; j++) {
    const sy = Math.min(y + ((j + 0.5) * h) / H - 0.5, img.height - 1);
    const y0 = Math.max(0, Math.floor(sy));
    const y1 = Math.min(img.height - 1, y0 + 1);
    const fy = Math.max(0, sy - y0);
    for (let i = 0; i < W; i++) {
      const sx = Math.min(x + ((i + 0.5) * w) / W - 0.5, img.width - 1);
      const x0 = Math.max(0, Math.floor(sx));
      const x1 = Math.min(img.width - 1, x0 + 1);
      const fx = Math.max(0, sx - x0);
      const p = (yy: number, xx: number): number => img.pixels[(yy * img.width + xx) * img.channels];
      const v = (1 - fy) * ((1 - fx) * p(y0, x0) + fx * p(y0, x1)) + fy * ((1 - fx) * p(y1, x0) + fx * p(y1, x1));
      const [oj, oi] = turned ? [H - 1 - j, W - 1 - i] : [j, i];
      for (let c = 0; c < 3; c++) out[(c * H + oj) * W + oi] = (v / 255 - 0.5) / 0.5;
    }
  }
  return out;
}

/**
 * Text-line crops of the scanned page for the orientation classifier (input [1, 3, 48, 192]): windows of 30 x 120
 * pixels stepping 20 down and 88 across, alternately upright and turned 180°.
 */
export function textLineCrops(): CalibrationSample[] {
  const img = decodePng(join(IMAGES_DIR, 'page.png'));
  const out: CalibrationSample[] = [];
  let k = 0;
  for (let y = 2; y + 30 <= img.height; y += 20) {
    for (let x = 0; x + 120 <= img.width; x += 88) {
      out.push({ x: { data: crop(img, x, y, 120, 30, 192, 48, k++ % 2 === 1), dims: [1, 3, 48, 192] } });
    }
  }
  return out;
}
