/**
 * Real inputs for the real models: PNG photos decoded with node:zlib (8-bit grey/RGB/RGBA, not interlaced)
 * and resized bilinearly into NCHW float tensors; WAV audio as float samples.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';

import { IMAGES_DIR } from './onnx.js';

export interface Image {
  width: number;
  height: number;
  channels: number;
  pixels: Uint8Array;
}

export function decodePng(path: string): Image {
  const buf = readFileSync(path);
  if (buf.readUInt32BE(0) !== 0x89504e47) throw new Error(`${path} is not a PNG`);
  let pos = 8;
  let width = 0;
  let height = 0;
  let colorType = 0;
  const idat: Buffer[] = [];
  while (pos < buf.length) {
    const len = buf.readUInt32BE(pos);
    const type = buf.toString('latin1', pos + 4, pos + 8);
    const data = buf.subarray(pos + 8, pos + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      if (data[8] !== 8 || data[12] !== 0) throw new Error(`${path}: only 8-bit non-interlaced PNG is supported`);
      colorType = data[9];
    } else if (type === 'IDAT') idat.push(data);
    pos += 12 + len;
  }
  const channels = { 0: 1, 2: 3, 4: 2, 6: 4 }[colorType];
  if (channels === undefined) throw new Error(`${path}: PNG color type ${colorType} is not supported`);
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const pixels = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? pixels[y * stride + x - channels] : 0;
      const b = y > 0 ? pixels[(y - 1) * stride + x] : 0;
      const c = x >= channels && y > 0 ? pixels[(y - 1) * stride + x - channels] : 0;
      let v = line[x];
      if (filter === 1) v += a;
      else if (filter === 2) v += b;
      else if (filter === 3) v += (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      pixels[y * stride + x] = v & 255;
    }
  }
  return { width, height, channels, pixels };
}

/**
 * An NCHW float32 tensor of a fixture photo resized to width x height, RGB, scaled to (v/255 - mean)/std
 * (PaddleOCR's normalisation by default).
 */
export function photoTensor(name: string, width: number, height: number, mean = 0.5, std = 0.5): Float32Array {
  const img = decodePng(join(IMAGES_DIR, name));
  const out = new Float32Array(3 * width * height);
  for (let y = 0; y < height; y++) {
    const sy = Math.min(((y + 0.5) * img.height) / height - 0.5, img.height - 1);
    const y0 = Math.max(0, Math.floor(sy));
    const y1 = Math.min(img.height - 1, y0 + 1);
    const fy = Math.max(0, sy - y0);
    for (let x = 0; x < width; x++) {
      const sx = Math.min(((x + 0.5) * img.width) / width - 0.5, img.width - 1);
      const x0 = Math.max(0, Math.floor(sx));
      const x1 = Math.min(img.width - 1, x0 + 1);
      const fx = Math.max(0, sx - x0);
      for (let c = 0; c < 3; c++) {
        const ch = img.channels >= 3 ? c : 0;
        const p = (yy: number, xx: number): number => img.pixels[(yy * img.width + xx) * img.channels + ch];
        const v = (1 - fy) * ((1 - fx) * p(y0, x0) + fx * p(y0, x1)) + fy * ((1 - fx) * p(y1, x0) + fx * p(y1, x1));
        out[(c * height + y) * width + x] = (v / 255 - mean) / std;
      }
    }
  }
  return out;
}

/** NCHW -> NHWC (for channels-last models such as BlazeFace). */
export function toNhwc(nchw: Float32Array, c: number, h: number, w: number): Float32Array {
  const out = new Float32Array(nchw.length);
  for (let k = 0; k < c; k++) for (let i = 0; i < h * w; i++) out[i * c + k] = nchw[k * h * w + i];
  return out;
}

/** 16-bit PCM WAV, first channel, as floats in [-1, 1). */
export function readWav(path: string): { rate: number; samples: Float32Array } {
  const buf = readFileSync(path);
  let pos = 12;
  let rate = 0;
  let channels = 1;
  while (pos < buf.length) {
    const id = buf.toString('latin1', pos, pos + 4);
    const len = buf.readUInt32LE(pos + 4);
    if (id === 'fmt ') {
      channels = buf.readUInt16LE(pos + 10);
      rate = buf.readUInt32LE(pos + 12);
    } else if (id === 'data') {
      const n = Math.floor(len / 2 / channels);
      const samples = new Float32Array(n);
      for (let i = 0; i < n; i++) samples[i] = buf.readInt16LE(pos + 8 + i * 2 * channels) / 32768;
      return { rate, samples };
    }
    pos += 8 + len + (len & 1);
  }
  throw new Error(`${path}: no data chunk`);
}
