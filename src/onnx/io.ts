/**
 * loadModel / saveModel: files and bytes in, Model out and back.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

import { invalidParameterError } from '../errors.js';
import type { Model } from '../ir/model.js';
import type { Tensor } from '../ir/tensor.js';
import { assertValid } from '../ir/verify.js';
import { expectKnownKeys, isPlainObject } from '../validate.js';
import { decodeModel } from './decode.js';
import { encodeModel } from './encode.js';
import { OnnxError } from './errors.js';
import { checkLocation, ExternalDataReader, ExternalDataWriter } from './external-data.js';
import { decodeModelProto, encodeModelProto } from './proto.js';

export interface LoadOptions {
  /** Folder that external data locations are relative to. Default: the model file's folder (none for bytes). */
  baseDir?: string;
  /** Run the verifier and throw an OnnxError on the first error it finds. Default true. */
  verify?: boolean;
}

export interface SaveOptions {
  /**
   * Store initializers of at least `threshold` bytes (default 1024) in one file beside the model, named
   * `location` (default `<model file name>.data`). Only with a path.
   */
  externalData?: boolean | { location?: string; threshold?: number };
}

const LOAD_KEYS = ['baseDir', 'verify'] as const;
const SAVE_KEYS = ['externalData'] as const;

/**
 * Reads an ONNX model from a file path or from bytes. Throws an OnnxError for anything that is not a valid
 * model (naming the node or tensor at fault), a TypeError for wrong arguments.
 */
export function loadModel(pathOrBytes: string | Uint8Array, options: LoadOptions = {}): Model {
  if (typeof pathOrBytes !== 'string' && !(pathOrBytes instanceof Uint8Array)) {
    throw invalidParameterError('pathOrBytes', 'path string or Uint8Array', pathOrBytes);
  }
  if (!isPlainObject(options)) throw invalidParameterError('options', 'object', options);
  expectKnownKeys('options', options, LOAD_KEYS);
  if (options.baseDir !== undefined && typeof options.baseDir !== 'string') throw invalidParameterError('options.baseDir', 'string', options.baseDir);
  if (options.verify !== undefined && typeof options.verify !== 'boolean') throw invalidParameterError('options.verify', 'boolean', options.verify);

  let bytes: Uint8Array;
  let baseDir = options.baseDir;
  if (typeof pathOrBytes === 'string') {
    if (pathOrBytes === '') throw invalidParameterError('pathOrBytes', 'non-empty path string or Uint8Array', pathOrBytes, true);
    try {
      bytes = readFileSync(pathOrBytes);
    } catch (err) {
      throw new OnnxError(`Cannot read model file '${pathOrBytes}': ${(err as Error).message}`, { cause: err });
    }
    baseDir ??= dirname(resolve(pathOrBytes));
  } else bytes = pathOrBytes;
  if (bytes.length === 0) throw new OnnxError('Not an ONNX model: the input is empty');

  const external = new ExternalDataReader(baseDir);
  let model: Model;
  try {
    model = decodeModel(decodeModelProto(bytes), { external });
  } catch (err) {
    if (err instanceof OnnxError) throw err;
    // Anything else (a RangeError from deep recursion, ...) is still a bad file, not a crash.
    throw new OnnxError(`Not a valid ONNX model: ${(err as Error).message}`, { cause: err });
  } finally {
    external.close();
  }
  model.baseDir = baseDir;
  if (options.verify !== false) assertValid(model);
  return model;
}

/** Serializes a model to ONNX bytes (all tensors inline). */
export function serializeModel(model: Model): Uint8Array {
  return encodeModelProto(encodeModel(model));
}

/**
 * Writes a model to `path`, or returns its bytes when no path is given.
 */
export function saveModel(model: Model): Uint8Array;
export function saveModel(model: Model, path: string, options?: SaveOptions): void;
export function saveModel(model: Model, path?: string, options: SaveOptions = {}): Uint8Array | void {
  if (typeof model !== 'object' || model === null || !('graph' in model)) throw invalidParameterError('model', 'Model', model);
  if (path === undefined) return serializeModel(model);
  if (typeof path !== 'string' || path === '') throw invalidParameterError('path', 'non-empty path string', path, typeof path === 'string');
  if (!isPlainObject(options)) throw invalidParameterError('options', 'object', options);
  expectKnownKeys('options', options, SAVE_KEYS);
  const ext = options.externalData;
  if (!ext) {
    writeFileSync(path, serializeModel(model));
    return;
  }
  const settings: { location?: string; threshold?: number } = typeof ext === 'object' ? ext : {};
  const location = settings.location ?? `${basename(path)}.data`;
  checkLocation(location, '(save)');
  const threshold = settings.threshold ?? 1024;
  const writer = new ExternalDataWriter(join(dirname(resolve(path)), location), location);
  try {
    const proto = encodeModel(model, {
      externalize: (t: Tensor) => (t.byteLength >= threshold ? { location, ...writer.write(t.data) } : undefined),
    });
    writeFileSync(path, encodeModelProto(proto));
  } finally {
    writer.close();
  }
}
