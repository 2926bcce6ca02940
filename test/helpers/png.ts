/**
 * Minimal PNG reader for test material: 8-bit, non-interlaced, greyscale / grey+alpha / RGB / RGBA, all five
 * scanline filters; IDAT inflated with node:zlib. Enough for the fixture photos, not a general decoder.
 */
import { readFileSync } from 'node:fs';
import { inflateSync } from 'node:zlib';

export interface PngImage {
  width: number;
  height: number;
  /** 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA. */
  channels: number;
  /** Row-major, interleaved channels. */
  data: Uint8Array;
}

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const CHANNELS: Record<number, number> = { 0: 1, 4: 2, 2: 3, 6: 4 };

export function readPng(path: string): PngImage {
  const file = readFileSync(path);
  if (!SIGNATURE.every((b, i) => file[i] === b)) throw new Error(`${path}: not a PNG file`);
  let width = 0;
  let height = 0;
  let channels = 0;
  const chunks: Buffer[] = [];
  for (let at = 8; at + 8 <= file.length; ) {
    const length = file.readUInt32BE(at);
    const type = file.toString('ascii', at + 4, at + 8);
    const body = file.subarray(at + 8, at + 8 + length);
    if (type === 'IHDR') {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      const [depth, colour, , , interlace] = [body[8], body[9], body[10], body[11], body[12]];
      if (depth !== 8 || interlace !== 0 || CHANNELS[colour] === undefined) {
        throw new Error(`${path}: only 8-bit non-interlaced grey/RGB(A) PNGs are supported (depth ${depth}, colour ${colour}, interlace ${interlace})`);
      }
      channels = CHANNELS[colour];
    } else if (type === 'IDAT') chunks.push(body);
    else if (type === 'IEND') break;
    at += 12 + length; // length, type, body, CRC
  }
  const raw = inflateSync(Buffer.concat(chunks));
  const rowBytes = width * channels;
  if (raw.length < height * (rowBytes + 1)) throw new Error(`${path}: truncated image data`);
  const data = new Uint8Array(height * rowBytes);
  const bpp = channels; // bytes per pixel at 8 bits
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (rowBytes + 1)];
    const src = y * (rowBytes + 1) + 1;
    const row = y * rowBytes;
    const up = row - rowBytes;
    for (let x = 0; x < rowBytes; x++) {
      const left = x >= bpp ? data[row + x - bpp] : 0;
      const above = y > 0 ? data[up + x] : 0;
      const upperLeft = y > 0 && x >= bpp ? data[up + x - bpp] : 0;
      let predictor: number;
      switch (filter) {
        case 0:
          predictor = 0;
          break;
        case 1:
          predictor = left;
          break;
        case 2:
          predictor = above;
          break;
        case 3:
          predictor = (left + above) >>> 1;
          break;
        case 4: {
          const estimate = left + above - upperLeft;
          const dl = Math.abs(estimate - left);
          const da = Math.abs(estimate - above);
          const dul = Math.abs(estimate - upperLeft);
          predictor = dl <= da && dl <= dul ? left : da <= dul ? above : upperLeft;
          break;
        }
        default:
          throw new Error(`${path}: bad filter type ${filter} on row ${y}`);
      }
      data[row + x] = (raw[src + x] + predictor) & 0xff;
    }
  }
  return { width, height, channels, data };
}

/** The colour samples (alpha dropped) of a PNG as floats in [−1, 1]: v / 127.5 − 1. */
export function pngPixelsSigned(path: string): Float32Array {
  const img = readPng(path);
  const colour = img.channels === 2 || img.channels === 4 ? img.channels - 1 : img.channels;
  const out = new Float32Array(img.width * img.height * colour);
  let o = 0;
  for (let p = 0; p < img.width * img.height; p++) {
    for (let c = 0; c < colour; c++) out[o++] = img.data[p * img.channels + c] / 127.5 - 1;
  }
  return out;
}
