/**
 * Test helpers for ONNX material: the Debian backend test suite, the real models, and a normalized view of a
 * ModelProto for lossless round-trip comparison.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

import { decodeModelProto } from '../../../../src/onnx/proto.js';
import { decodeTensor } from '../../../../src/onnx/tensor-proto.js';

export const TESTDATA = '/usr/share/libonnx-testdata/data';
export const MODELS_DIR = join(import.meta.dirname, '..', '..', '..', '.fixtures', 'models');
export const IMAGES_DIR = join(import.meta.dirname, '..', '..', '..', '.fixtures', 'images');
export const REAL_MODELS = ['ppocr_det', 'ppocr_rec', 'ppocr_cls', 'silero_vad_op18_ifless', 'silero_vad_v5', 'blazeface_front'] as const;

/** Every model.onnx of the backend test suite's node cases. Fails loudly when the package is missing. */
export function nodeTestCases(): { name: string; dir: string }[] {
  const root = join(TESTDATA, 'node');
  if (!existsSync(root)) throw new Error(`${root} is missing: install the Debian package libonnx-testdata (apt-get install libonnx-testdata)`);
  return readdirSync(root)
    .sort()
    .map((name) => ({ name, dir: join(root, name) }))
    .filter((c) => existsSync(join(c.dir, 'model.onnx')));
}

/** Path of a real model; throws a clear error when the fixtures were not fetched. */
export function realModel(name: string): string {
  const path = join(MODELS_DIR, `${name}.onnx`);
  if (!existsSync(path)) throw new Error(`Test model ${path} is missing: run 'bash scripts/fetch-test-material.sh' first`);
  return path;
}

/**
 * A plain, comparable view of a decoded protobuf message: Long -> decimal string, tensors -> {dtype, dims,
 * bytes as hex digest-ish}, absent/empty fields dropped, unknown fields as hex.
 */
export function normalizeProto(value: unknown, key = ''): unknown {
  if (value === null || value === undefined) return undefined;
  if (value instanceof Uint8Array) return value.length === 0 ? undefined : Buffer.from(value).toString('base64');
  if (typeof value === 'number') return key === 'f' || key === 'floats' ? value : value === 0 && key !== '' ? undefined : value;
  if (typeof value === 'string') return value === '' ? undefined : value;
  if (Array.isArray(value)) {
    const items = value.map((v) => normalizeProto(v, key));
    return items.length === 0 ? undefined : items;
  }
  if (typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    if ('low' in obj && 'high' in obj && typeof obj.low === 'number') {
      const big = (BigInt((obj.high as number) >>> 0) << 32n) | BigInt((obj.low as number) >>> 0);
      const s = (obj.unsigned ? big : BigInt.asIntN(64, big)).toString();
      return s === '0' ? undefined : s;
    }
    if ('dataType' in obj && ('rawData' in obj || 'floatData' in obj || 'int32Data' in obj || 'int64Data' in obj || 'doubleData' in obj || 'uint64Data' in obj || 'stringData' in obj || 'dims' in obj)) {
      return normalizeTensor(obj);
    }
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(obj).sort()) {
      const v = normalizeProto(obj[k], k);
      if (v !== undefined) out[k] = v;
    }
    const unknown = obj.$unknown as Uint8Array[] | undefined;
    if (unknown) out.$unknown = unknown.map((u) => Buffer.from(u).toString('hex'));
    return Object.keys(out).length === 0 ? undefined : out;
  }
  return value;
}

function normalizeTensor(obj: Record<string, unknown>): unknown {
  if (obj.dataLocation === 1) return normalizeProto({ ...obj, $tensor: true }, 'x');
  const t = decodeTensor(obj as never);
  return {
    name: t.name || undefined,
    dtype: t.dtype,
    dims: t.dims,
    bytes: t.dtype === 8 ? t.strings.map((s) => Buffer.from(s).toString('base64')) : Buffer.from(t.data).toString('base64'),
    docString: t.docString || undefined,
    $unknown: t.extras.unknown?.map((u) => Buffer.from(u).toString('hex')),
  };
}

export function normalizedModel(bytes: Uint8Array): unknown {
  return normalizeProto(decodeModelProto(bytes));
}
