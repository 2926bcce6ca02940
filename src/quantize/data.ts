/**
 * Calibration data sources: NumPy .npy files (reader and writer), a folder of .npy samples, and a folder of
 * images decoded and resized with sharp. Every source is an async iterable of samples with a `length`, read
 * one sample at a time.
 *
 *   folder/0001.npy, 0002.npy, ...                    one sample per file (single-input models)
 *   folder/0001/<input>.npy, folder/0002/<input>.npy  one subfolder per sample (multi-input models)
 *   folder/*.jpg|*.jpeg|*.png                         images (single image input)
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { invalidParameterError, OctetError } from '../errors.js';
import type { Model } from '../ir/model.js';
import { expectKnownKeys, expectOneOf, isPlainObject } from '../validate.js';
import { checkSample, feedInputs, type CalibrationData } from './calibrate.js';
import type { CalibrationSample, CalibrationTensor } from './executor.js';

export type NpyArray = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Int8Array | Int16Array | Uint16Array;

export interface NpyData {
  data: NpyArray;
  dims: number[];
  /** numpy descr without byte order: 'f4', 'f8', 'i4', 'i8', 'u1', 'i1', 'i2', 'u2', 'b1'. */
  dtype: string;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

const DESCR: Record<string, { ctor: new (b: ArrayBuffer, o: number, n: number) => NpyArray; size: number }> = {
  f4: { ctor: Float32Array, size: 4 },
  f8: { ctor: Float64Array, size: 8 },
  i4: { ctor: Int32Array, size: 4 },
  i8: { ctor: BigInt64Array, size: 8 },
  u1: { ctor: Uint8Array, size: 1 },
  b1: { ctor: Uint8Array, size: 1 },
  i1: { ctor: Int8Array, size: 1 },
  i2: { ctor: Int16Array, size: 2 },
  u2: { ctor: Uint16Array, size: 2 },
};

function npyError(where: string, message: string): OctetError {
  return new OctetError('ERR_OCTET_NPY', `${where}: ${message}`);
}

/** Parses a .npy file (format 1.0–3.0, little-endian, C order). Throws an OctetError naming the file. */
export function readNpy(pathOrBytes: string | Uint8Array): NpyData {
  let bytes: Uint8Array;
  let where = 'npy data';
  if (typeof pathOrBytes === 'string') {
    where = pathOrBytes;
    try {
      bytes = readFileSync(pathOrBytes);
    } catch (err) {
      throw npyError(where, `cannot read: ${(err as Error).message}`);
    }
  } else if (pathOrBytes instanceof Uint8Array) bytes = pathOrBytes;
  else throw invalidParameterError('pathOrBytes', 'path string or Uint8Array', pathOrBytes);
  if (bytes.length < 10 || !MAGIC.every((b, i) => bytes[i] === b)) throw npyError(where, 'not a .npy file (bad magic)');
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let start: number;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw npyError(where, 'truncated header');
    headerLen = view.getUint32(8, true);
    start = 12;
  } else throw npyError(where, `unsupported .npy format version ${major}`);
  if (start + headerLen > bytes.length) throw npyError(where, 'truncated header');
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(start, start + headerLen));
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) throw npyError(where, `malformed header ${JSON.stringify(header.trim())}`);
  if (fortran === 'True') throw npyError(where, 'Fortran-order arrays are not supported (save with C order)');
  const order = descr[0];
  const code = descr.slice(1);
  const info = DESCR[code];
  if (!info || !['<', '|', '='].includes(order)) throw npyError(where, `unsupported dtype '${descr}' (supported: little-endian f4, f8, i4, i8, u1, i1, i2, u2, b1)`);
  const dims = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(Number);
  if (dims.some((d) => !Number.isSafeInteger(d) || d < 0)) throw npyError(where, `bad shape (${shapeText})`);
  const count = dims.reduce((a, b) => a * b, 1);
  const offset = start + headerLen;
  const need = count * info.size;
  if (bytes.length - offset !== need) throw npyError(where, `holds ${bytes.length - offset} data bytes but shape (${dims.join(', ')}) of ${descr} needs ${need}`);
  const copy = new Uint8Array(need);
  copy.set(bytes.subarray(offset, offset + need));
  return { data: new info.ctor(copy.buffer, 0, count), dims, dtype: code };
}

function descrOf(data: NpyArray): string {
  if (data instanceof Float32Array) return '<f4';
  if (data instanceof Float64Array) return '<f8';
  if (data instanceof Int32Array) return '<i4';
  if (data instanceof BigInt64Array) return '<i8';
  if (data instanceof Uint8Array) return '|u1';
  if (data instanceof Int8Array) return '|i1';
  if (data instanceof Int16Array) return '<i2';
  if (data instanceof Uint16Array) return '<u2';
  throw invalidParameterError('data', 'Float32Array, Float64Array, Int32Array, BigInt64Array, Uint8Array, Int8Array, Int16Array or Uint16Array', data);
}

/** Encodes an array as .npy (format 1.0, C order, little-endian). */
export function writeNpy(data: NpyArray, dims: readonly number[]): Uint8Array {
  const descr = descrOf(data);
  if (!Array.isArray(dims) || dims.some((d) => !Number.isSafeInteger(d) || d < 0)) throw invalidParameterError('dims', 'array of non-negative integers', dims);
  const count = dims.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw invalidParameterError('dims', `shape with ${data.length} elements`, dims, true);
  const shape = dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
  return out;
}

function sourceError(message: string): OctetError {
  return new OctetError('ERR_OCTET_CALIBRATION', message);
}

/** Re-labels a sample check error with the file it came from. */
function checked(model: Model, sample: CalibrationSample, index: number, where: string): CalibrationSample {
  try {
    return checkSample(model, sample, index);
  } catch (err) {
    if (err instanceof OctetError) throw sourceError(`${where}: ${err.message.replace(/^Calibration sample \d+:? ?/, '')}`);
    throw err;
  }
}

/** A folder of .npy samples (see the file comment for the layout). */
export function npyFolderSource(dir: string, model: Model): CalibrationData {
  const inputs = feedInputs(model).map((v) => v.name);
  const entries = readdirSync(dir).sort();
  const files = entries.filter((e) => e.endsWith('.npy') && statSync(join(dir, e)).isFile());
  const folders = entries.filter((e) => statSync(join(dir, e)).isDirectory());
  let samples: (() => CalibrationSample)[];
  let names: string[];
  if (files.length > 0) {
    if (inputs.length !== 1) throw sourceError(`Calibration folder '${dir}' holds .npy files, but the model has ${inputs.length} inputs (${inputs.join(', ')}): use one subfolder per sample holding <input>.npy`);
    names = files.map((f) => join(dir, f));
    samples = names.map((p) => () => {
      const a = readNpy(p);
      return { [inputs[0]]: { data: a.data, dims: a.dims } };
    });
  } else {
    names = folders.map((f) => join(dir, f));
    samples = names.map((p) => () => {
      const s: CalibrationSample = {};
      for (const name of inputs) {
        const file = join(p, `${name}.npy`);
        if (!existsSync(file)) throw sourceError(`${p}: no ${name}.npy for input '${name}'`);
        const a = readNpy(file);
        s[name] = { data: a.data, dims: a.dims };
      }
      return s;
    });
  }
  return {
    length: samples.length,
    async *[Symbol.asyncIterator]() {
      for (let i = 0; i < samples.length; i++) yield checked(model, samples[i](), i, names[i]);
    },
  };
}

export interface ImageSourceOptions {
  /** Target size; default: the model input's static H and W. */
  width?: number;
  height?: number;
  /** Default: 'nhwc' when the input's last dim is 1 or 3 and its second is not, else 'nchw'. */
  layout?: 'nchw' | 'nhwc';
  /** Channel order (default 'rgb'); 'gray' for one channel. */
  channels?: 'rgb' | 'bgr' | 'gray';
  /** Pixel (0..255) · scale, then (· − mean) / std per channel. Defaults: scale 1/255, mean 0, std 1. */
  scale?: number;
  mean?: number | number[];
  std?: number | number[];
}

const IMAGE_KEYS = ['width', 'height', 'layout', 'channels', 'scale', 'mean', 'std'] as const;
const IMAGE_EXT = /\.(jpe?g|png)$/i;

function perChannel(name: string, v: number | number[] | undefined, c: number, fallback: number): number[] {
  if (v === undefined) return new Array(c).fill(fallback);
  if (typeof v === 'number') return new Array(c).fill(v);
  if (!Array.isArray(v) || v.length !== c || v.some((x) => typeof x !== 'number' || !Number.isFinite(x))) {
    throw invalidParameterError(name, `number or array of ${c} numbers`, v);
  }
  return v;
}

/** A folder of .jpg/.png images as samples of the model's single image input. */
export function imageFolderSource(dir: string, model: Model, imageOptions: ImageSourceOptions = {}): CalibrationData {
  const raw: unknown = imageOptions;
  if (!isPlainObject(raw)) throw invalidParameterError('options.image', 'object', raw);
  expectKnownKeys('options.image', raw, IMAGE_KEYS);
  const options = imageOptions;
  const inputs = feedInputs(model);
  if (inputs.length !== 1) throw sourceError(`Image calibration needs a model with one input; it has ${inputs.length} (${inputs.map((v) => v.name).join(', ')})`);
  const input = inputs[0];
  const shape = input.shape ?? [];
  if (shape.length !== 4) throw sourceError(`Image calibration needs a 4-D input; '${input.name}' has shape [${shape.join(', ')}]`);
  const nhwcGuess = (shape[3] === 1 || shape[3] === 3) && shape[1] !== 1 && shape[1] !== 3;
  const layout = options.layout === undefined ? (nhwcGuess ? 'nhwc' : 'nchw') : expectOneOf('options.image.layout', options.layout, ['nchw', 'nhwc'] as const);
  const order = options.channels === undefined ? 'rgb' : expectOneOf('options.image.channels', options.channels, ['rgb', 'bgr', 'gray'] as const);
  const c = order === 'gray' ? 1 : 3;
  const [hDim, wDim] = layout === 'nchw' ? [shape[2], shape[3]] : [shape[1], shape[2]];
  const width = options.width ?? (typeof wDim === 'number' ? wDim : undefined);
  const height = options.height ?? (typeof hDim === 'number' ? hDim : undefined);
  if (width === undefined || height === undefined) throw sourceError(`Input '${input.name}' has no static height/width: pass options.image.width and options.image.height`);
  for (const [k, v] of [['width', width], ['height', height]] as const) {
    if (!Number.isInteger(v) || v < 1) throw invalidParameterError(`options.image.${k}`, 'positive integer', v, typeof v === 'number');
  }
  const scale = options.scale ?? 1 / 255;
  const mean = perChannel('options.image.mean', options.mean, c, 0);
  const std = perChannel('options.image.std', options.std, c, 1);
  if (std.some((s) => s === 0)) throw invalidParameterError('options.image.std', 'non-zero numbers', options.std, true);
  const files = readdirSync(dir).filter((f) => IMAGE_EXT.test(f)).sort().map((f) => join(dir, f));
  const dims = layout === 'nchw' ? [1, c, height, width] : [1, height, width, c];
  return {
    length: files.length,
    async *[Symbol.asyncIterator]() {
      const sharp = (await import('sharp')).default;
      for (let i = 0; i < files.length; i++) {
        let pixels: Buffer;
        try {
          let img = sharp(files[i]).resize(width, height, { fit: 'fill' }).removeAlpha();
          if (order === 'gray') img = img.greyscale();
          pixels = await img.raw().toBuffer();
        } catch (err) {
          throw sourceError(`${files[i]}: cannot decode image: ${(err as Error).message}`);
        }
        const src = pixels.length / (width * height);
        const out = new Float32Array(width * height * c);
        for (let p = 0; p < width * height; p++) {
          for (let k = 0; k < c; k++) {
            const from = order === 'bgr' ? 2 - k : k;
            const v = (pixels[p * src + Math.min(from, src - 1)] * scale - mean[k]) / std[k];
            out[layout === 'nchw' ? k * width * height + p : p * c + k] = v;
          }
        }
        const t: CalibrationTensor = { data: out, dims };
        yield checked(model, { [input.name]: t }, i, files[i]);
      }
    },
  };
}

/** A calibration folder: .npy files or subfolders, or images. Throws an OctetError for a missing or empty one. */
export function openCalibrationFolder(dir: string, model: Model, imageOptions?: ImageSourceOptions): CalibrationData {
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    throw sourceError(`Calibration folder '${dir}' does not exist`);
  }
  if (!isDir) throw sourceError(`Calibration path '${dir}' is not a folder`);
  const entries = readdirSync(dir);
  const npy = entries.some((e) => e.endsWith('.npy')) || entries.some((e) => statSync(join(dir, e)).isDirectory());
  if (npy) {
    const src = npyFolderSource(dir, model);
    if (src.length === 0) throw sourceError(`Calibration folder '${dir}' holds no .npy files or images`);
    return src;
  }
  if (entries.some((e) => IMAGE_EXT.test(e))) return imageFolderSource(dir, model, imageOptions);
  throw sourceError(`Calibration folder '${dir}' holds no .npy files or images`);
}

export interface HoldOutOptions {
  /** Sample i is held out when i % every === every − 1. */
  every: number;
  /** Read at most this many samples. */
  maxSamples?: number;
  /** Receives the held-out samples (checked). */
  heldOut: CalibrationSample[];
  /** Receives the first `keepCount` calibration samples too (mixed precision ranks nodes on them). */
  kept?: CalibrationSample[];
  keepCount?: number;
}

/**
 * Splits samples for mixed precision: sample i (counting from 0, at most `maxSamples`) is held out when
 * i % every === every − 1 and pushed, checked, onto `heldOut`; the others are yielded for calibration. With
 * fewer than `every` samples the last one is held out, so at least one is. Samples holding NaN or Infinity are
 * passed to calibration (which skips and counts them), never held out or kept.
 */
export function holdOut(source: CalibrationData, model: Model, options: HoldOutOptions): CalibrationData {
  const { every, maxSamples, heldOut } = options;
  const n = typeof source.length === 'number' ? Math.min(source.length, maxSamples ?? Infinity) : undefined;
  const held = n === undefined ? undefined : Math.max(1, Math.floor(n / every));
  const finite = (s: CalibrationSample): boolean =>
    Object.values(s).every((t) => !(t.data instanceof Float32Array || t.data instanceof Float64Array) || t.data.every((x) => Number.isFinite(x)));
  const keep = (s: CalibrationSample): void => {
    if (options.kept && options.kept.length < (options.keepCount ?? 0) && finite(s)) options.kept.push(s);
  };
  return {
    ...(n !== undefined ? { length: n - held! } : {}),
    async *[Symbol.asyncIterator]() {
      let index = 0;
      let pending: CalibrationSample | undefined;
      let yielded = 0;
      for await (const raw of source as AsyncIterable<CalibrationSample>) {
        if (maxSamples !== undefined && index >= maxSamples) break;
        const sample = checkSample(model, raw, index);
        if (index % every === every - 1 && finite(sample)) heldOut.push(sample);
        else {
          if (pending) {
            yielded++;
            keep(pending);
            yield pending;
          }
          pending = sample;
        }
        index++;
      }
      if (pending && heldOut.length === 0 && finite(pending)) {
        if (yielded === 0) throw sourceError(`Mixed precision needs at least 2 calibration samples (1 to calibrate, 1 held out to verify); got ${index}`);
        heldOut.push(pending);
      } else if (pending) {
        keep(pending);
        yield pending;
      }
    },
  };
}
