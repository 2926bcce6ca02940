/**
 * Writes calibration and evaluation inputs as .npy files, with exactly the preprocessing octet's tests use
 * (test/unit/quantize-graph/helpers/real-data.ts photoSample and VISION sizes), so that onnxruntime's Python
 * quantizer (in the chroot) and octet calibrate on the same tensors. Developer tool, run by
 * scripts/ort-reference.sh through vite-node; not part of the package or of CI.
 *
 *   photos OUT MODEL PHOTO...        OUT/<photo stem>.npy for each photo, MODEL's input tensor ([1, ...])
 *   augmented OUT MODEL N [SEED]     OUT/00000.npy ... : N distinct inputs made from the fixture photos by
 *                                    deterministic random crops, flips and rotations (calibration-speed runs)
 *   image OUT WxH MEAN STD PHOTO...  OUT/<photo stem>.npy: [1, 3, H, W] of each photo (photoTensor: bilinear
 *                                    resize, (v/255 − MEAN)/STD), for the benchmark models
 *   tensor OUT DIMS COUNT            OUT/00000.npy ...: COUNT tensors of uniform [−1, 1) noise of shape DIMS
 *                                    (e.g. 1x128x256): random-data calibration of the Transformer benchmark model
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

import { writeNpy } from '../../src/quantize/data.js';
import { decodePng, photoTensor, toNhwc } from '../../test/unit/onnx/helpers/images.js';
import { IMAGES_DIR, PNG_PHOTOS, photoSample, VISION } from '../../test/unit/quantize-graph/helpers/real-data.js';

function fail(message: string): never {
  process.stderr.write(`data.ts: ${message}\n`);
  process.exit(2);
}

/** A deterministic generator in [0, 1) (32-bit LCG, the same constants as scripts/bench-calibration.mjs). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 0.5) / 4294967296;
}

/**
 * One augmented input: a crop of 40–100 % of the photo's shorter side at a random place, rotated by a random
 * angle in [−15°, 15°] about the crop's centre, optionally mirrored, bilinearly resampled to width x height and
 * normalised as photoTensor does ((v/255 − 0.5)/0.5), NCHW.
 */
function augmented(photo: string, width: number, height: number, rand: () => number): Float32Array {
  const img = decodePng(join(IMAGES_DIR, photo));
  const side = Math.min(img.width, img.height) * (0.4 + 0.6 * rand());
  const cw = Math.min(img.width, side * Math.max(1, width / height) * 0.999);
  const ch = Math.min(img.height, (cw * height) / width);
  const cx = cw / 2 + rand() * (img.width - cw);
  const cy = ch / 2 + rand() * (img.height - ch);
  const angle = ((rand() - 0.5) * Math.PI) / 6;
  const mirror = rand() < 0.5;
  const [cos, sin] = [Math.cos(angle), Math.sin(angle)];
  const out = new Float32Array(3 * width * height);
  const at = (x: number, y: number, c: number): number => {
    const xx = Math.min(img.width - 1, Math.max(0, x));
    const yy = Math.min(img.height - 1, Math.max(0, y));
    return img.pixels[(yy * img.width + xx) * img.channels + (img.channels >= 3 ? c : 0)];
  };
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const u = ((mirror ? width - 1 - x : x) + 0.5) / width - 0.5;
      const v = (y + 0.5) / height - 0.5;
      const sx = cx + cos * u * cw - sin * v * ch - 0.5;
      const sy = cy + sin * u * cw + cos * v * ch - 0.5;
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const fx = sx - x0;
      const fy = sy - y0;
      for (let c = 0; c < 3; c++) {
        const p = (1 - fy) * ((1 - fx) * at(x0, y0, c) + fx * at(x0 + 1, y0, c)) + fy * ((1 - fx) * at(x0, y0 + 1, c) + fx * at(x0 + 1, y0 + 1, c));
        out[(c * height + y) * width + x] = (p / 255 - 0.5) / 0.5;
      }
    }
  }
  return out;
}

const [mode, outDir, ...rest] = process.argv.slice(2);
if (!mode || !outDir) fail('usage: data.ts photos|augmented|image|tensor OUT ...');
mkdirSync(outDir, { recursive: true });

if (mode === 'photos') {
  const [model, ...photos] = rest;
  if (!VISION[model]) fail(`unknown model '${model}' (one of ${Object.keys(VISION).join(', ')})`);
  for (const photo of photos) {
    const sample = photoSample(model, photo);
    const t = sample[VISION[model].input];
    writeFileSync(join(outDir, `${basename(photo).replace(/\.[^.]+$/, '')}.npy`), writeNpy(t.data as Float32Array, t.dims));
  }
} else if (mode === 'augmented') {
  const [model, count, seed] = rest;
  const v = VISION[model];
  if (!v) fail(`unknown model '${model}' (one of ${Object.keys(VISION).join(', ')})`);
  const n = Number(count);
  if (!Number.isInteger(n) || n < 1) fail(`N must be a positive integer, got '${count}'`);
  const rand = lcg(Number(seed ?? 1));
  const [w, h] = v.size;
  for (let i = 0; i < n; i++) {
    const nchw = augmented(PNG_PHOTOS[i % PNG_PHOTOS.length], w, h, rand);
    const [data, dims] = v.nhwc ? [toNhwc(nchw, 3, h, w), [1, h, w, 3]] : [nchw, [1, 3, h, w]];
    writeFileSync(join(outDir, `${String(i).padStart(5, '0')}.npy`), writeNpy(data, dims));
  }
} else if (mode === 'image') {
  const [size, mean, std, ...photos] = rest;
  const [w, h] = (size ?? '').split('x').map(Number);
  if (!(w > 0 && h > 0)) fail(`WxH like 224x224, got '${size}'`);
  for (const photo of photos) {
    const data = photoTensor(photo, w, h, Number(mean), Number(std));
    writeFileSync(join(outDir, `${basename(photo).replace(/\.[^.]+$/, '')}.npy`), writeNpy(data, [1, 3, h, w]));
  }
} else if (mode === 'tensor') {
  const dims = (rest[0] ?? '').split('x').map(Number);
  if (dims.length < 1 || dims.some((d) => !Number.isInteger(d) || d < 1)) fail(`DIMS like 1x128x256, got '${rest[0]}'`);
  const count = Number(rest[1] ?? 8);
  const rand = lcg(7);
  const size = dims.reduce((a, b) => a * b, 1);
  for (let i = 0; i < count; i++) {
    const data = new Float32Array(size);
    for (let k = 0; k < size; k++) data[k] = 2 * rand() - 1;
    writeFileSync(join(outDir, `${String(i).padStart(5, '0')}.npy`), writeNpy(data, dims));
  }
} else fail(`unknown mode '${mode}'`);
