// The PP-OCR orientation classifier and the fixture photos, as the demo and the soak use them: paths (checked),
// the model's input size and normalisation, a photo decoded to its input tensor, and its static int8
// quantization calibrated on the photos. Needs `npm run build` and `bash scripts/fetch-test-material.sh`.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

import sharp from 'sharp';

import { quantize } from '../dist/index.js';

export const root = join(import.meta.dirname, '..');
export const modelPath = join(root, 'test/.fixtures/models/ppocr_cls.onnx');
export const imageDir = join(root, 'test/.fixtures/images');
if (!existsSync(modelPath)) {
  console.error(`${modelPath} is missing: run bash scripts/fetch-test-material.sh first`);
  process.exit(1);
}
/** Input height and width ([1, 3, 48, 192], NCHW). */
export const [H, W] = [48, 192];
/** How quantize()/analyzeSensitivity() decode the photos for this model: resized, (pixel/255 − 0.5) / 0.5. */
export const image = { width: W, height: H, layout: 'nchw', mean: 0.5, std: 0.5 };

/** The fixture photos' file names, sorted. */
export function photoFiles() {
  return readdirSync(imageDir).filter((f) => /\.(png|jpe?g)$/.test(f)).sort();
}

/** A fixture photo as the model's input tensor data. */
export async function photo(file) {
  const { data } = await sharp(join(imageDir, file)).resize(W, H, { fit: 'fill' }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const x = new Float32Array(3 * H * W);
  for (let i = 0; i < H * W; i++) for (let c = 0; c < 3; c++) x[c * H * W + i] = (data[i * 3 + c] / 255 - 0.5) / 0.5;
  return x;
}

/** Static QDQ, per-channel int8 weights, activations calibrated on the photos; extra options are passed on. */
export function quantizeCls(options = {}) {
  return quantize(modelPath, { calibration: imageDir, image, inputShapes: { x: [1, 3, H, W] }, progress: false, ...options });
}
