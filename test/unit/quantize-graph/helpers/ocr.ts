/**
 * The PP-OCR pipeline on the scanned page (skimage's page.png) for task-level checks of quantization:
 *
 *   page ─▶ det input (resized, ImageNet mean/std) ─▶ ppocr_det ─▶ probability map
 *        ─▶ text boxes (map > 0.3, connected components, mean probability ≥ 0.6, grown by area·1.5/perimeter as
 *           PaddleOCR's DB post-processing does; axis-aligned: the page is not rotated)
 *        ─▶ crops of the page, height 48, width by aspect ratio (≤ 960), zero-padded to 960 (PaddleOCR pads a batch to its widest line), (v/255 − 0.5)/0.5
 *        ─▶ ppocr_rec ─▶ CTC greedy decoding with ppocr_keys_v1.txt (class 0 = blank, last class = space)
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { CalibrationSample } from '../../../../src/quantize/executor.js';
import { decodePng, type Image } from '../../onnx/helpers/images.js';
import { IMAGES_DIR, MODELS_DIR } from '../../onnx/helpers/onnx.js';

export const REC_SHAPE = [1, 3, 48, 960] as const;
const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];

/** A box in page pixels: left, top, width, height. */
export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

export function page(): Image {
  return decodePng(join(IMAGES_DIR, 'page.png'));
}

function pixel(img: Image, x: number, y: number, c: number): number {
  return img.pixels[(y * img.width + x) * img.channels + (img.channels >= 3 ? c : 0)];
}

/** Bilinear sample of the region (x, y, w, h) of `img` into W x H, per channel through `norm`, NCHW. */
function resample(img: Image, r: Box, W: number, H: number, outW: number, norm: (v: number, c: number) => number): Float32Array {
  const out = new Float32Array(3 * H * outW);
  for (let j = 0; j < H; j++) {
    const sy = Math.min(Math.max(r.y + ((j + 0.5) * r.h) / H - 0.5, 0), img.height - 1);
    const y0 = Math.floor(sy);
    const y1 = Math.min(img.height - 1, y0 + 1);
    const fy = sy - y0;
    for (let i = 0; i < W; i++) {
      const sx = Math.min(Math.max(r.x + ((i + 0.5) * r.w) / W - 0.5, 0), img.width - 1);
      const x0 = Math.floor(sx);
      const x1 = Math.min(img.width - 1, x0 + 1);
      const fx = sx - x0;
      for (let c = 0; c < 3; c++) {
        const v = (1 - fy) * ((1 - fx) * pixel(img, x0, y0, c) + fx * pixel(img, x1, y0, c)) + fy * ((1 - fx) * pixel(img, x0, y1, c) + fx * pixel(img, x1, y1, c));
        out[(c * H + j) * outW + i] = norm(v, c);
      }
    }
  }
  return out;
}

/** The detector's input: `img` (or its region `r`) resized to W x H (multiples of 32), ImageNet mean/std. */
export function detInput(img: Image, W: number, H: number, r: Box = { x: 0, y: 0, w: img.width, h: img.height }): CalibrationSample {
  const data = resample(img, r, W, H, W, (v, c) => (v / 255 - MEAN[c]) / STD[c]);
  return { x: { data, dims: [1, 3, H, W] } };
}

/**
 * Text boxes from the detector's probability map (H x W) for an image of imgW x imgH, top to bottom, left to
 * right.
 */
export function textBoxes(map: Float32Array, W: number, H: number, imgW: number, imgH: number): Box[] {
  const label = new Int32Array(W * H).fill(-1);
  const boxes: Box[] = [];
  const stack: number[] = [];
  for (let start = 0; start < W * H; start++) {
    if (map[start] <= 0.3 || label[start] >= 0) continue;
    let [x0, y0, x1, y1, sum, n] = [W, H, -1, -1, 0, 0];
    label[start] = boxes.length;
    stack.push(start);
    while (stack.length > 0) {
      const p = stack.pop()!;
      const px = p % W;
      const py = (p - px) / W;
      [x0, y0, x1, y1] = [Math.min(x0, px), Math.min(y0, py), Math.max(x1, px), Math.max(y1, py)];
      sum += map[p];
      n++;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const qx = px + dx;
          const qy = py + dy;
          if (qx < 0 || qy < 0 || qx >= W || qy >= H) continue;
          const q = qy * W + qx;
          if (map[q] > 0.3 && label[q] < 0) {
            label[q] = boxes.length;
            stack.push(q);
          }
        }
      }
    }
    const w = x1 - x0 + 1;
    const h = y1 - y0 + 1;
    if (Math.min(w, h) < 3 || sum / n < 0.6) {
      boxes.push({ x: 0, y: 0, w: 0, h: 0 });
      continue;
    }
    // DB's unclip: grow the shrunk text kernel by d = area · 1.5 / perimeter.
    const d = (w * h * 1.5) / (2 * (w + h));
    const sx = imgW / W;
    const sy = imgH / H;
    const bx = Math.max(0, (x0 - d) * sx);
    const by = Math.max(0, (y0 - d) * sy);
    boxes.push({ x: bx, y: by, w: Math.min(imgW, (x1 + 1 + d) * sx) - bx, h: Math.min(imgH, (y1 + 1 + d) * sy) - by });
  }
  return boxes.filter((b) => b.w > 0).sort((a, b) => (Math.abs(a.y - b.y) > a.h / 2 ? a.y - b.y : a.x - b.x));
}

/** A crop of `img` as the recogniser's input: height 48, width by aspect ratio up to 960, zero-padded. */
export function recInput(img: Image, box: Box): CalibrationSample {
  const [, , H, maxW] = REC_SHAPE;
  const W = Math.min(maxW, Math.ceil((H * box.w) / box.h));
  const data = resample(img, box, W, H, maxW, (v) => (v / 255 - 0.5) / 0.5);
  return { x: { data, dims: [...REC_SHAPE] } };
}

let keys: string[] | undefined;

/** CTC greedy decoding of the recogniser's output [1, T, classes]: best class per step, repeats merged, blanks dropped. */
export function ctcDecode(probs: Float32Array, classes: number): string {
  keys ??= readFileSync(join(MODELS_DIR, 'ppocr_keys_v1.txt'), 'utf8').split('\n').filter((k, i, a) => i < a.length - 1 || k !== '');
  const chars = ['', ...keys, ' '];
  if (chars.length !== classes) throw new Error(`ppocr_keys_v1.txt gives ${chars.length} classes, the model ${classes}`);
  let text = '';
  let prev = -1;
  for (let t = 0; t < probs.length / classes; t++) {
    let best = 0;
    for (let k = 1; k < classes; k++) if (probs[t * classes + k] > probs[t * classes + best]) best = k;
    if (best !== prev && best !== 0) text += chars[best];
    prev = best;
  }
  return text;
}

/**
 * How close fp32's reading is to another text: the smallest gap between the best and the second-best class's
 * probability over the time steps where taking the second-best instead changes the decoded text (a step whose
 * neighbour repeats its class changes nothing). A quantized model must move the probabilities by less than this
 * to read the same text.
 */
export function decisionMargin(probs: Float32Array, classes: number): number {
  const steps = probs.length / classes;
  const best: number[] = [];
  const second: number[] = [];
  const gap: number[] = [];
  for (let t = 0; t < steps; t++) {
    let a = 0;
    let b = 1;
    if (probs[t * classes + b] > probs[t * classes + a]) [a, b] = [b, a];
    for (let k = 2; k < classes; k++) {
      const v = probs[t * classes + k];
      if (v > probs[t * classes + a]) [a, b] = [k, a];
      else if (v > probs[t * classes + b]) b = k;
    }
    best.push(a);
    second.push(b);
    gap.push(probs[t * classes + a] - probs[t * classes + b]);
  }
  const collapse = (seq: readonly number[]): string => seq.filter((k, t) => k !== 0 && k !== seq[t - 1]).join(',');
  const text = collapse(best);
  let margin = Infinity;
  for (let t = 0; t < steps; t++) {
    if (gap[t] >= margin) continue;
    const flipped = [...best];
    flipped[t] = second[t];
    if (collapse(flipped) !== text) margin = gap[t];
  }
  return margin;
}

/** Intersection over union of two boxes. */
export function iou(a: Box, b: Box): number {
  const w = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  return inter / (a.w * a.h + b.w * b.h - inter);
}
