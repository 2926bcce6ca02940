/**
 * BlazeFace (front, 128x128) on the fixture photos for task-level checks of quantization: the photo resized with
 * sharp (the whole photo, or a square region), NHWC, (v/255 − 0.5)/0.5; the best detection of its 896 anchors
 * (512 on a 16x16 grid, 2 per cell; 384 on an 8x8 grid, 6 per cell): its face score (sigmoid of the
 * classificator logit) and its box (the regressor's first four values, centre offset and size in input pixels,
 * around the anchor's centre), in units of the input side.
 */
import { join } from 'node:path';

import sharp from 'sharp';

import type { CalibrationSample } from '../../../../src/quantize/executor.js';
import { IMAGES_DIR } from '../../onnx/helpers/onnx.js';
import type { Box } from './ocr.js';

export const FACE_INPUT = 'input:0';

/** A fixture photo (or the square region `r` of it) as BlazeFace's input. */
export async function faceSample(photo: string, r?: { left: number; top: number; size: number }): Promise<CalibrationSample> {
  let img = sharp(join(IMAGES_DIR, photo));
  if (r) img = img.extract({ left: r.left, top: r.top, width: r.size, height: r.size });
  const px = await img.resize(128, 128, { fit: 'fill' }).removeAlpha().raw().toBuffer();
  const c = px.length / (128 * 128);
  const data = new Float32Array(128 * 128 * 3);
  for (let p = 0; p < 128 * 128; p++) for (let k = 0; k < 3; k++) data[p * 3 + k] = (px[p * c + Math.min(k, c - 1)] / 255 - 0.5) / 0.5;
  return { [FACE_INPUT]: { data, dims: [1, 128, 128, 3] } };
}

export interface Face {
  anchor: number;
  score: number;
  box: Box;
}

function anchorCentre(i: number): [number, number] {
  const [grid, per, k] = i < 512 ? [16, 2, i] : [8, 6, i - 512];
  const cell = Math.floor(k / per);
  return [((cell % grid) + 0.5) / grid, (Math.floor(cell / grid) + 0.5) / grid];
}

/** The box of anchor `i` from the regressors (outputs Identity_2:0 and Identity_3:0). */
export function faceBox(i: number, reg16: Float32Array, reg8: Float32Array): Box {
  const r = i < 512 ? reg16.subarray(i * 16, i * 16 + 4) : reg8.subarray((i - 512) * 16, (i - 512) * 16 + 4);
  const [ax, ay] = anchorCentre(i);
  const cx = ax + r[0] / 128;
  const cy = ay + r[1] / 128;
  const w = r[2] / 128;
  const h = r[3] / 128;
  return { x: cx - w / 2, y: cy - h / 2, w, h };
}

/** The best-scoring anchor of one run of BlazeFace. */
export function bestFace(out: Record<string, Float32Array>): Face {
  const logits = [...out['Identity:0'], ...out['Identity_1:0']];
  let anchor = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[anchor]) anchor = i;
  const box = faceBox(anchor, out['Identity_2:0'], out['Identity_3:0']);
  return { anchor, score: 1 / (1 + Math.exp(-logits[anchor])), box };
}
