/**
 * Runs models in onnxruntime-node, to check that a rewritten model computes what the original does.
 */
import * as ort from 'onnxruntime-node';

import { onednnHasInt8Dot } from '../../../../src/backends.js';

export type Feeds = Record<string, ort.Tensor>;

export async function runOrt(bytes: Uint8Array, feeds: Feeds): Promise<Record<string, ort.Tensor>> {
  const session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'disabled', intraOpNumThreads: 1 });
  try {
    const inputs: Feeds = {};
    for (const name of session.inputNames) inputs[name] = feeds[name];
    return await session.run(inputs);
  } finally {
    await session.release();
  }
}

/** Largest |a-b| / max(|a|, |b|, floor) over all elements; throws when shapes or types differ. */
export function maxRelativeError(a: ort.Tensor, b: ort.Tensor, floor = 1e-3): number {
  if (a.type !== b.type) throw new Error(`type ${a.type} vs ${b.type}`);
  if (a.dims.join(',') !== b.dims.join(',')) throw new Error(`dims [${a.dims}] vs [${b.dims}]`);
  const x = a.data as ArrayLike<number | bigint>;
  const y = b.data as ArrayLike<number | bigint>;
  let worst = 0;
  for (let i = 0; i < x.length; i++) {
    const p = Number(x[i]);
    const q = Number(y[i]);
    if (Number.isNaN(p) && Number.isNaN(q)) continue;
    const err = Math.abs(p - q) / Math.max(Math.abs(p), Math.abs(q), floor);
    if (!(err <= worst)) worst = Number.isNaN(err) ? Infinity : err;
  }
  return worst;
}

export { ort };

/**
 * max |a - b| over max |a| (the reference's scale), per output: "relative error" of a tensor. Zero when
 * both are identical.
 */
export function scaledError(a: ort.Tensor, b: ort.Tensor): number {
  if (a.type !== b.type) throw new Error(`type ${a.type} vs ${b.type}`);
  if (a.dims.join(',') !== b.dims.join(',')) throw new Error(`dims [${a.dims}] vs [${b.dims}]`);
  const x = a.data as ArrayLike<number | bigint>;
  const y = b.data as ArrayLike<number | bigint>;
  let scale = 0;
  let diff = 0;
  for (let i = 0; i < x.length; i++) {
    const p = Number(x[i]);
    const q = Number(y[i]);
    scale = Math.max(scale, Math.abs(p));
    const d = Math.abs(p - q);
    if (!(d <= diff)) diff = Number.isNaN(d) ? (Number.isNaN(p) && Number.isNaN(q) ? diff : Infinity) : d;
  }
  return diff === 0 ? 0 : diff / Math.max(scale, 1e-30);
}

/** Runs both models on the same feeds; returns the error of each output of the original (by name). */
export async function compareModels(original: Uint8Array, rewritten: Uint8Array, feeds: Feeds): Promise<Record<string, number>> {
  const a = await runOrt(original, feeds);
  const b = await runOrt(rewritten, feeds);
  const out: Record<string, number> = {};
  for (const name of Object.keys(a)) {
    if (!(name in b)) throw new Error(`output '${name}' missing from the rewritten model (has ${Object.keys(b).join(', ')})`);
    out[name] = scaledError(a[name], b[name]);
  }
  return out;
}

/**
 * Whether onnxruntime-node's int8 kernels are exact on this CPU. On x86 its u8·s8 GEMMs add pairs of products in
 * saturating 16-bit arithmetic (vpmaddubsw) unless the CPU has VNNI (the same ISA oneDNN needs, see
 * onednnHasInt8Dot), so int8 models with full 8-bit weights lose accuracy there; 7-bit weights (quantize's
 * `reduceRange`) keep the pair sums in range. Tests that run octet's int8 models in onnxruntime quantize with
 * `reduceRange: !ortInt8Exact`.
 */
export const ortInt8Exact = process.arch !== 'x64' || onednnHasInt8Dot();
